package synth

import (
	"fmt"
	"slices"
	"sync"
	"unicode/utf8"
)

// vocab is one tokenizer's metadata.
type vocab struct {
	tokens []string
	scores []float32 // llama only
	types  []int32   // 1 normal, 2 unknown, 3 control, 6 byte
	merges []string  // gpt2 only: "a b", rank order
	bos    uint32
	eos    uint32
	unk    uint32 // llama only

	// words are the ids that decode to a space and a word: the tokens greedy decoding
	// walks through (llama: successors; gpt2: what each position predicts).
	words []int
}

// Token types of tokenizer.ggml.token_type.
const (
	tokNormal  = 1
	tokUnknown = 2
	tokControl = 3
	tokByte    = 6
)

// llama layout: <unk>, <s>, </s>, 256 byte tokens, then pieces; and markers.
const (
	llamaUnk               = 0
	llamaBOS               = 1
	llamaEOS               = 2
	llamaFirstPiece        = 3 + 256
	spmSpace               = "▁"
	gpt2EndOfText          = "<|endoftext|>"
	vocabSeed       uint64 = 0x9e3779b97f4a7c15
)

var vocabCache sync.Map // "arch/size" → *vocab

// vocabOf returns the (cached) tokenizer of p.
func vocabOf(p Preset) *vocab {
	key := fmt.Sprintf("%s/%d", p.Arch, p.Vocab)
	if v, ok := vocabCache.Load(key); ok {
		return v.(*vocab)
	}
	var v *vocab
	switch p.Arch {
	case ArchLlama:
		v = llamaVocab(p.Vocab)
	case ArchGPT2:
		v = gpt2Vocab(p.Vocab)
	default:
		panic("synth: unknown architecture " + p.Arch)
	}
	actual, _ := vocabCache.LoadOrStore(key, v)
	return actual.(*vocab)
}

// llamaVocab builds a SentencePiece vocabulary of n pieces: <unk>, <s>, </s>, the 256
// byte pieces <0x00>…<0xFF>, "▁", the letters, then every prefix of "▁word" for
// English-looking words, so that each piece is reachable by merging smaller ones.
func llamaVocab(n int) *vocab {
	v := &vocab{bos: llamaBOS, eos: llamaEOS, unk: llamaUnk}
	add := func(tok string, typ int32) {
		v.tokens = append(v.tokens, tok)
		v.types = append(v.types, typ)
		v.scores = append(v.scores, -float32(max(0, len(v.tokens)-1-llamaFirstPiece)))
	}
	add("<unk>", tokUnknown)
	add("<s>", tokControl)
	add("</s>", tokControl)
	for b := range 256 {
		add(fmt.Sprintf("<0x%02X>", b), tokByte)
	}
	add(spmSpace, tokNormal)
	for c := 'a'; c <= 'z'; c++ {
		add(string(c), tokNormal)
	}
	// Earlier pieces score higher, so they merge first.
	addWords(v, n, spmSpace, func(tok string) { add(tok, tokNormal) })
	return v
}

// gpt2Vocab builds a byte-level BPE vocabulary of n tokens: GPT-2's 256 byte symbols in
// GPT-2's order, then merged tokens (each the concatenation of two earlier tokens, its
// merge "a b" listed), then <|endoftext|>.
func gpt2Vocab(n int) *vocab {
	v := &vocab{}
	for _, b := range byteOrder() {
		v.tokens = append(v.tokens, byteSymbol[b])
		v.types = append(v.types, tokNormal)
	}
	// A token is its prefix merged with its last symbol (ASCII past the space symbol,
	// so the last symbol is the last byte).
	addWords(v, n-1, byteSymbol[' '], func(tok string) {
		last := len(tok) - 1
		v.tokens = append(v.tokens, tok)
		v.types = append(v.types, tokNormal)
		v.merges = append(v.merges, tok[:last]+" "+tok[last:])
	})
	v.bos = uint32(len(v.tokens))
	v.eos = v.bos
	v.tokens = append(v.tokens, gpt2EndOfText)
	v.types = append(v.types, tokControl)
	return v
}

// addWords adds tokens with add until v has n: for each generated word, every prefix
// of space+word not yet in v, shortest first. The ids of whole words go to v.words.
func addWords(v *vocab, n int, space string, add func(tok string)) {
	ids := make(map[string]int, n)
	for i, t := range v.tokens {
		ids[t] = i
	}
	isWord := make(map[int]bool)
	words := newWordGen()
	for len(v.tokens) < n {
		w := space + words.next()
		prefixes(w, func(tok string) bool {
			if _, ok := ids[tok]; !ok {
				ids[tok] = len(v.tokens)
				add(tok)
			}
			return len(v.tokens) < n
		})
		if id, ok := ids[w]; ok && !isWord[id] {
			isWord[id] = true
			v.words = append(v.words, id)
		}
	}
}

// prefixes calls add with every prefix of s longer than its first rune, shortest
// first, and stops when add returns false. s is a marker ("▁" or "Ġ") and ASCII letters.
//
// Only space-led words are added: merges that join letters inside a word ("h e") would
// compete with the chain "▁h", "▁he", … and split words that are in the vocabulary.
func prefixes(s string, add func(string) bool) {
	_, first := utf8.DecodeRuneInString(s)
	for end := first + 1; end <= len(s); end++ {
		if !add(s[:end]) {
			return
		}
	}
}

// byteSymbol is GPT-2's bytes_to_unicode: printable Latin-1 bytes stand for themselves,
// the others for U+0100 onwards in byte order.
var byteSymbol = func() (m [256]string) {
	next := rune(256)
	for b := range 256 {
		if printableByte(b) {
			m[b] = string(rune(b))
		} else {
			m[b] = string(next)
			next++
		}
	}
	return m
}()

func printableByte(b int) bool {
	return (b >= '!' && b <= '~') || (b >= 0xA1 && b <= 0xAC) || (b >= 0xAE && b <= 0xFF)
}

// byteOrder is the order of the 256 symbols in GPT-2's vocabulary: printable bytes first.
func byteOrder() []int {
	order := make([]int, 0, 256)
	for b := range 256 {
		if printableByte(b) {
			order = append(order, b)
		}
	}
	for b := range 256 {
		if !printableByte(b) {
			order = append(order, b)
		}
	}
	return order
}

// wordGen yields English-looking lower-case words: common words first, then
// deterministic pseudo-words of one to three syllables.
type wordGen struct {
	rng   uint64
	count int
}

func newWordGen() *wordGen { return &wordGen{rng: vocabSeed} }

var commonWords = []string{
	"the", "of", "and", "to", "in", "is", "that", "for", "it", "as", "was", "with", "be",
	"by", "on", "not", "he", "this", "are", "or", "his", "from", "at", "which", "but",
	"have", "an", "had", "they", "you", "were", "their", "one", "all", "we", "can", "her",
	"has", "there", "been", "if", "more", "when", "will", "would", "who", "so", "no",
	"hello", "world", "model", "token", "time", "first", "new", "year", "day", "way",
	"people", "water", "story", "write", "about", "long", "little", "house", "small",
	"large", "number", "system", "question", "answer", "quick", "brown", "fox", "jumps",
	"over", "lazy", "dog", "once", "upon", "city", "river", "light", "night", "morning",
}

// CommonWords returns the common English words every synthetic vocabulary
// starts with, in order: one token each after a space in a synthetic model
// (whose vocabulary holds them whole), and in most real tokenizers too.
// loadgen's exact-length prompts are made of those that are.
func CommonWords() []string { return slices.Clone(commonWords) }

var (
	onsets = []string{"", "", "b", "c", "d", "f", "g", "h", "j", "k", "l", "m", "n", "p", "r",
		"s", "t", "v", "w", "y", "z", "bl", "br", "ch", "cl", "cr", "dr", "fl", "fr", "gl", "gr",
		"pl", "pr", "sc", "sh", "sk", "sl", "sm", "sn", "sp", "st", "str", "sw", "th", "tr", "wh"}
	vowels = []string{"a", "e", "i", "o", "u", "a", "e", "i", "o", "ai", "ea", "ee", "ie",
		"oa", "oo", "ou", "y"}
	codas = []string{"", "", "", "b", "ck", "d", "ft", "g", "k", "l", "ld", "ll", "m", "mp",
		"n", "nd", "ng", "nt", "p", "r", "rd", "rk", "rm", "rn", "rt", "s", "sh", "sk", "ss",
		"st", "t", "th", "x"}
	suffixes = []string{"", "", "", "", "s", "ed", "er", "ing", "ly", "tion", "ment", "ness",
		"est", "al", "ish", "able"}
)

func (g *wordGen) next() string {
	g.count++
	if g.count <= len(commonWords) {
		return commonWords[g.count-1]
	}
	pick := func(list []string) string {
		g.rng = xorshift(g.rng)
		return list[(g.rng>>32)%uint64(len(list))]
	}
	g.rng = xorshift(g.rng)
	syllables := 1 // 1: 50%, 2: 37.5%, 3: 12.5%
	switch r := (g.rng >> 40) % 8; {
	case r >= 7:
		syllables = 3
	case r >= 4:
		syllables = 2
	}
	w := ""
	for range syllables {
		w += pick(onsets) + pick(vowels) + pick(codas)
	}
	return w + pick(suffixes)
}
