package synth

import (
	"fmt"
	"sync"
)

// Standard deviations of the random values.
const (
	// weightSigma is every weight matrix's, as in GPT-2's initialisation.
	weightSigma = 0.02
	// llamaEmbedSigma is llama's token embedding's: large enough that the last
	// position's residual stream stays closest to its own token's embedding through
	// every block, so that output.weight decides the next token (see doc.go). Measured
	// margins are in doc.go (TestGreedy, TestGreedySimulation in forward_test.go).
	llamaEmbedSigma = 4.0
	// gpt2PosSigma is gpt2's position embedding's: it dominates the residual stream,
	// so each position predicts its own word (see doc.go).
	gpt2PosSigma = 2.0
)

const (
	alignment      = 32
	normEpsilon    = 1e-5
	synthVersion   = 1
	tokenEmbdName  = "token_embd.weight"
	quantVersion   = 2
	generatorName  = "llmbench synth"
	keyPreset      = "llmbench.synth.preset"
	keyParamCount  = "llmbench.synth.parameter_count"
	keySynthVer    = "llmbench.synth.version"
	keyArch        = "general.architecture"
	keyAlignment   = "general.alignment"
	keyFileType    = "general.file_type"
	keyQuantVer    = "general.quantization_version"
	keyName        = "general.name"
	keyTokModel    = "tokenizer.ggml.model"
	keyTokens      = "tokenizer.ggml.tokens"
	keyTokenType   = "tokenizer.ggml.token_type"
	keyScores      = "tokenizer.ggml.scores"
	keyMerges      = "tokenizer.ggml.merges"
	keyBOS         = "tokenizer.ggml.bos_token_id"
	keyEOS         = "tokenizer.ggml.eos_token_id"
	keyUnk         = "tokenizer.ggml.unknown_token_id"
	keyAddBOS      = "tokenizer.ggml.add_bos_token"
	keyAddEOS      = "tokenizer.ggml.add_eos_token"
	keyPre         = "tokenizer.ggml.pre"
	gpt2PreDefault = "gpt-2"
)

// fillKind says how a tensor's values are made.
type fillKind int

const (
	fillZero fillKind = iota
	fillOne
	fillRandom
)

// tensor is one tensor of a file.
type tensor struct {
	name  string
	dims  []int // innermost first
	typ   Type
	kind  fillKind
	sigma float64 // fillRandom: standard deviation
	seed  uint64  // fillRandom: base seed of the rows
	// src maps a row to the row whose seed it uses (a negative row is all zeros);
	// nil is the identity.
	src    []int32
	offset int64 // from the start of the data section
}

func (t *tensor) elements() int64 {
	n := int64(1)
	for _, d := range t.dims {
		n *= int64(d)
	}
	return n
}

func (t *tensor) rows() int     { return int(t.elements() / int64(t.dims[0])) }
func (t *tensor) rowBytes() int { return t.typ.rowBytes(t.dims[0]) }
func (t *tensor) size() int64   { return int64(t.rows()) * int64(t.rowBytes()) }
func (t *tensor) rowSource(r int) int {
	if t.src == nil {
		return r
	}
	return int(t.src[r])
}

// kv is one metadata entry; value is uint32, int32, float32, bool, string, uint64,
// []string, []float32 or []int32.
type kv struct {
	key   string
	value any
}

// layout is everything about a file but its tensor data.
type layout struct {
	kvs        []kv
	tensors    []*tensor
	headerSize int64 // up to the data section, padding included
	dataSize   int64
}

var layoutCache sync.Map // Spec.String() → *layout

// layoutOf returns the (cached) layout of s.
func layoutOf(s Spec) *layout {
	key := s.String()
	if l, ok := layoutCache.Load(key); ok {
		return l.(*layout)
	}
	l := &layout{tensors: tensorsOf(s)}
	var off int64
	for _, t := range l.tensors {
		off = alignUp(off)
		t.offset = off
		off += t.size()
	}
	l.dataSize = off
	var params int64
	for _, t := range l.tensors {
		params += t.elements()
	}
	l.kvs = metadataOf(s, params)
	cw := newCountWriter()
	writeHeader(cw, l)
	l.headerSize = cw.n
	actual, _ := layoutCache.LoadOrStore(key, l)
	return actual.(*layout)
}

func alignUp(n int64) int64 { return (n + alignment - 1) / alignment * alignment }

// metadataOf is the metadata of s, whose tensors hold params values.
func metadataOf(s Spec, params int64) []kv {
	p := s.Preset
	v := vocabOf(p)
	a := p.Arch + "."
	kvs := []kv{
		{keyArch, p.Arch},
		{keyName, generatorName + " " + p.Name},
		{keyAlignment, uint32(alignment)},
		{keyFileType, s.Type.fileType()},
		{keyQuantVer, uint32(quantVersion)},
		{keyPreset, s.String()},
		{keySynthVer, uint32(synthVersion)},
		{keyParamCount, uint64(params)},
		{a + "context_length", uint32(p.Context)},
		{a + "embedding_length", uint32(p.Embedding)},
		{a + "block_count", uint32(p.Layers)},
		{a + "feed_forward_length", uint32(p.FFN)},
		{a + "attention.head_count", uint32(p.Heads)},
	}
	switch p.Arch {
	case ArchLlama:
		kvs = append(kvs,
			kv{a + "attention.head_count_kv", uint32(p.KVHeads)},
			kv{a + "attention.layer_norm_rms_epsilon", float32(normEpsilon)},
			kv{a + "rope.dimension_count", uint32(p.HeadDim())},
			kv{a + "rope.freq_base", p.RopeBase},
			kv{a + "vocab_size", uint32(p.Vocab)},
			kv{keyTokModel, "llama"},
			kv{keyTokens, v.tokens},
			kv{keyScores, v.scores},
			kv{keyTokenType, v.types},
			kv{keyBOS, v.bos},
			kv{keyEOS, v.eos},
			kv{keyUnk, v.unk},
			kv{keyAddBOS, true},
			kv{keyAddEOS, false},
		)
	case ArchGPT2:
		kvs = append(kvs,
			kv{a + "attention.layer_norm_epsilon", float32(normEpsilon)},
			kv{keyTokModel, "gpt2"},
			kv{keyPre, gpt2PreDefault},
			kv{keyTokens, v.tokens},
			kv{keyTokenType, v.types},
			kv{keyMerges, v.merges},
			kv{keyBOS, v.bos},
			kv{keyEOS, v.eos},
		)
	}
	return kvs
}

// tensorsOf lists the tensors of s in file order, without offsets.
func tensorsOf(s Spec) []*tensor {
	p := s.Preset
	if err := p.validate(s.Type); err != nil {
		panic(err)
	}
	E, F, V := p.Embedding, p.FFN, p.Vocab
	matrix := func(name string, in, out int) *tensor {
		return &tensor{name: name, dims: []int{in, out}, typ: s.Type, kind: fillRandom,
			sigma: weightSigma, seed: nameSeed(name)}
	}
	vector := func(name string, n int, kind fillKind) *tensor {
		return &tensor{name: name, dims: []int{n}, typ: F32, kind: kind}
	}
	v := vocabOf(p)
	words := v.words
	stride := coprimeStride(len(words))
	var ts []*tensor
	switch p.Arch {
	case ArchLlama:
		Ekv := E / p.Heads * p.KVHeads
		embd := matrix(tokenEmbdName, E, V)
		embd.sigma = llamaEmbedSigma
		ts = append(ts, embd)
		for i := range p.Layers {
			b := fmt.Sprintf("blk.%d.", i)
			ts = append(ts,
				vector(b+"attn_norm.weight", E, fillOne),
				matrix(b+"attn_q.weight", E, E),
				matrix(b+"attn_k.weight", E, Ekv),
				matrix(b+"attn_v.weight", E, Ekv),
				matrix(b+"attn_output.weight", E, E),
				vector(b+"ffn_norm.weight", E, fillOne),
				matrix(b+"ffn_gate.weight", E, F),
				matrix(b+"ffn_up.weight", E, F),
				matrix(b+"ffn_down.weight", F, E),
			)
		}
		// Row words[k] of the output is the embedding row of words[k-stride]: after
		// that word the model predicts words[k]. Every other row is zero, so control,
		// byte and partial-word tokens are never predicted.
		out := matrix("output.weight", E, V)
		out.seed = embd.seed
		out.src = make([]int32, V)
		for i := range out.src {
			out.src[i] = -1
		}
		for k, w := range words {
			out.src[w] = int32(words[(k-stride+len(words))%len(words)])
		}
		ts = append(ts, vector("output_norm.weight", E, fillOne), out)
	case ArchGPT2:
		embd := matrix(tokenEmbdName, E, V)
		embd.src = make([]int32, V)
		for i := range embd.src {
			embd.src[i] = int32(i)
		}
		embd.src[v.eos] = -1 // the tied output gives <|endoftext|> a logit of 0
		// Row p of the position embedding is a larger copy of word σ(p)'s embedding
		// row, σ(p) = words[p·stride mod len(words)]: position p predicts σ(p).
		pos := matrix("position_embd.weight", E, p.Context)
		pos.sigma = gpt2PosSigma
		pos.seed = embd.seed
		if s.Type != F32 {
			pos.typ = F16
		}
		pos.src = make([]int32, p.Context)
		for i := range pos.src {
			pos.src[i] = int32(words[i*stride%len(words)])
		}
		ts = append(ts, embd, pos)
		for i := range p.Layers {
			b := fmt.Sprintf("blk.%d.", i)
			ts = append(ts,
				vector(b+"attn_norm.weight", E, fillOne),
				vector(b+"attn_norm.bias", E, fillZero),
				matrix(b+"attn_qkv.weight", E, 3*E),
				vector(b+"attn_qkv.bias", 3*E, fillZero),
				matrix(b+"attn_output.weight", E, E),
				vector(b+"attn_output.bias", E, fillZero),
				vector(b+"ffn_norm.weight", E, fillOne),
				vector(b+"ffn_norm.bias", E, fillZero),
				matrix(b+"ffn_up.weight", E, F),
				vector(b+"ffn_up.bias", F, fillZero),
				matrix(b+"ffn_down.weight", F, E),
				vector(b+"ffn_down.bias", E, fillZero),
			)
		}
		ts = append(ts,
			vector("output_norm.weight", E, fillOne),
			vector("output_norm.bias", E, fillZero),
		)
	}
	return ts
}

// coprimeStride is a step near n/φ that visits all of 0..n-1 before repeating.
func coprimeStride(n int) int {
	if n < 2 {
		return 1
	}
	s := max(1, int(float64(n)*0.6180339887))
	for gcd(s, n) != 1 {
		s++
	}
	return s % n
}

func gcd(a, b int) int {
	for b != 0 {
		a, b = b, a%b
	}
	return a
}

// validate reports a preset the writer cannot produce.
func (p Preset) validate(t Type) error {
	bs := t.blockSize()
	switch {
	case p.Arch != ArchLlama && p.Arch != ArchGPT2:
		return fmt.Errorf("synth: preset %s: unknown architecture %q", p.Name, p.Arch)
	case p.Layers < 1 || p.Embedding < 1 || p.Heads < 1 || p.FFN < 1 || p.Context < 1:
		return fmt.Errorf("synth: preset %s: dimensions must be positive", p.Name)
	case p.Embedding%p.Heads != 0:
		return fmt.Errorf("synth: preset %s: embedding %d not a multiple of heads %d", p.Name, p.Embedding, p.Heads)
	case p.Arch == ArchLlama && (p.KVHeads < 1 || p.Heads%p.KVHeads != 0):
		return fmt.Errorf("synth: preset %s: heads %d not a multiple of kv heads %d", p.Name, p.Heads, p.KVHeads)
	case p.Embedding%bs != 0 || p.FFN%bs != 0:
		return fmt.Errorf("synth: preset %s: embedding and ffn must be multiples of %d for %s", p.Name, bs, t)
	case p.Vocab < 512:
		return fmt.Errorf("synth: preset %s: vocab %d below 512", p.Name, p.Vocab)
	}
	return nil
}
