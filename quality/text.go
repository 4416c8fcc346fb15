package quality

import (
	"cmp"
	"math"
	"slices"
	"strings"
	"unicode"
	"unicode/utf8"
)

// DefaultWindow is the MATTR window, in words, used when none is given: short
// enough for generations of a few hundred tokens. MATTR values are comparable only
// at the same window.
const DefaultWindow = 50

// MTLDThreshold is the TTR at which an MTLD factor is complete (McCarthy & Jarvis
// 2010).
const MTLDThreshold = 0.72

// isSpace reports whether r separates words: Unicode White_Space (unicode.IsSpace)
// plus the ASCII separators U+001C..U+001F, which is the set Python's str.split()
// splits on, so that [ChrF] removes exactly what sacreBLEU removes.
func isSpace(r rune) bool {
	return unicode.IsSpace(r) || ('\x1c' <= r && r <= '\x1f')
}

// isEdge reports whether r is stripped from the ends of a word: Unicode punctuation
// (general category P) or symbol (category S, which includes $ + < = > ^ ` | ~ and
// emoji).
func isEdge(r rune) bool {
	return unicode.IsPunct(r) || unicode.IsSymbol(r)
}

// Words is the tokenisation behind every word-level metric. It
//
//  1. splits text into fields at runs of whitespace (Unicode White_Space plus
//     U+001C..U+001F, the set Python's str.split() uses);
//  2. strips from both ends of each field every rune in Unicode category P
//     (punctuation) or S (symbols, emoji included); inner ones stay, so "don't",
//     "well-known" and "3.14" are one word each;
//  3. drops fields left empty (a lone "—", "...", "**" or emoji is not a word);
//  4. lowercases the rest with [strings.ToLower] (Unicode default case mapping).
//
// Scripts written without spaces (Chinese, Japanese, Thai) come out as one word per
// space-separated run. There is no Unicode normalisation. Words returns nil when
// text has no words.
func Words(text string) []string {
	var words []string
	for _, f := range strings.FieldsFunc(text, isSpace) {
		if f = strings.TrimFunc(f, isEdge); f != "" {
			words = append(words, strings.ToLower(f))
		}
	}
	return words
}

// WordCount is len(Words(text)): the number of words, as [Words] defines them.
func WordCount(text string) int { return len(Words(text)) }

// CharCount is the number of Unicode code points (runes) in text, whitespace and
// punctuation included; each byte of invalid UTF-8 counts as one.
func CharCount(text string) int { return utf8.RuneCountInString(text) }

// tokens is one text tokenised once: its words and each word's type id (ids are
// dense, 0..types-1, in order of first appearance).
type tokens struct {
	words []string
	ids   []int
	types int
}

func tokenize(text string) tokens {
	words := Words(text)
	index := make(map[string]int, len(words))
	return tokens{words: words, ids: ids(index, words), types: len(index)}
}

// TTR is the type-token ratio of text: distinct words ÷ words, over [Words]. It is
// in (0, 1], and NaN when text has no words.
func TTR(text string) float64 { return tokenize(text).ttr() }

func (t tokens) ttr() float64 {
	if len(t.ids) == 0 {
		return math.NaN()
	}
	return float64(t.types) / float64(len(t.ids))
}

// MATTR is the moving-average type-token ratio (Covington & McFall 2010): the mean
// of the TTRs of every window of window consecutive words, windows starting at word
// 1, 2, ..., N−window+1. window ≤ 0 means [DefaultWindow]. When text has fewer words
// than window, MATTR is the TTR of the whole text. It is in (0, 1], and NaN when text
// has no words.
func MATTR(text string, window int) float64 { return tokenize(text).mattr(window) }

func (t tokens) mattr(window int) float64 {
	if window <= 0 {
		window = DefaultWindow
	}
	n := len(t.ids)
	if n < window {
		return t.ttr()
	}
	count := make([]int, t.types)
	distinct := 0
	for _, id := range t.ids[:window] {
		if count[id]++; count[id] == 1 {
			distinct++
		}
	}
	sum := distinct
	for i := window; i < n; i++ {
		if count[t.ids[i]]++; count[t.ids[i]] == 1 {
			distinct++
		}
		if count[t.ids[i-window]]--; count[t.ids[i-window]] == 0 {
			distinct--
		}
		sum += distinct
	}
	windows := n - window + 1
	return float64(sum) / float64(windows) / float64(window)
}

// MTLD is the measure of textual lexical diversity (McCarthy & Jarvis 2010), the
// mean of a forward and a backward pass over [Words]. A pass reads words in order,
// keeping the TTR of the current segment; when it falls to [MTLDThreshold] or below
// the factor count goes up by 1 and a new segment starts. At the end, a segment left
// over adds the partial factor (1 − TTR)/(1 − 0.72). The pass's value is
// words ÷ factors. The result is the mean of the two passes; it is ≥ 1, higher for
// more diverse text, and NaN when no factor (whole or partial) was counted, which is
// when text has no words or all its words are distinct.
//
// McCarthy & Jarvis validate MTLD on texts of 100 words and more; on shorter ones it
// is noisy.
func MTLD(text string) float64 { return tokenize(text).mtld() }

func (t tokens) mtld() float64 {
	n := len(t.ids)
	forward := mtldFactors(t.ids, t.types, false)
	backward := mtldFactors(t.ids, t.types, true)
	if forward == 0 || backward == 0 {
		return math.NaN()
	}
	return (float64(n)/forward + float64(n)/backward) / 2
}

// mtldFactors is one MTLD pass: the number of factors, partial one included.
func mtldFactors(ids []int, types int, reverse bool) float64 {
	seen := make([]bool, types)
	var used []int // ids marked in seen, to reset them
	factors, tokens, distinct := 0.0, 0, 0
	ttr := 1.0
	for k := range ids {
		id := ids[k]
		if reverse {
			id = ids[len(ids)-1-k]
		}
		tokens++
		if !seen[id] {
			seen[id] = true
			used = append(used, id)
			distinct++
		}
		ttr = float64(distinct) / float64(tokens)
		if ttr <= MTLDThreshold {
			factors++
			for _, u := range used {
				seen[u] = false
			}
			used, tokens, distinct, ttr = used[:0], 0, 0, 1
		}
	}
	return factors + (1-ttr)/(1-MTLDThreshold)
}

// Distinct is distinct-n (Li et al. 2016) over [Words]: the number of distinct word
// n-grams ÷ the number of word n-grams, N−n+1 for N words. Distinct(text, 1) equals
// [TTR]. It is in (0, 1], and NaN when n < 1 or text has fewer than n words.
//
// Li et al. divide by the number of generated words rather than n-grams, and count
// over a whole corpus of responses; this is the per-text, per-n-gram form most
// implementations use.
func Distinct(text string, n int) float64 { return tokenize(text).distinct(n) }

func (t tokens) distinct(n int) float64 {
	total := len(t.words) - n + 1
	if n < 1 || total < 1 {
		return math.NaN()
	}
	if n == 1 {
		return t.ttr()
	}
	seen := make(map[string]struct{}, total)
	for i := range total {
		// Words contain no whitespace, so joining with a space is unambiguous.
		seen[strings.Join(t.words[i:i+n], " ")] = struct{}{}
	}
	return float64(len(seen)) / float64(total)
}

// Repetition is the share of word n-grams that repeat an earlier one:
// 1 − distinct n-grams ÷ n-grams, that is 1 − [Distinct](text, n) — seq-rep-n of
// Welleck et al. 2019 ("Neural text generation with unlikelihood training",
// ICLR 2020), over
// [Words]. Metrics reports it for n = 4 as "rep4". It is in [0, 1): 0 when no n-gram
// occurs twice, near 1 for a text stuck in a loop; NaN when n < 1 or text has fewer
// than n words.
func Repetition(text string, n int) float64 { return tokenize(text).repetition(n) }

func (t tokens) repetition(n int) float64 { return 1 - t.distinct(n) }

// MaxRepRun is the length, in words, of the longest contiguous sequence of [Words]
// that occurs at least twice in text, the occurrences allowed to overlap (the longest
// repeated substring, over words). It is 0 when no word occurs twice. For a text that
// is a loop of p words repeated to N words in all it is N − p, so it grows with the
// part of the output spent looping. Computed with a suffix array in O(N log² N).
func MaxRepRun(text string) int { return longestRepeat(tokenize(text).ids) }

// longestRepeat is the longest common prefix of two different suffixes of ids:
// a suffix array by prefix doubling, then Kasai's LCP array.
func longestRepeat(ids []int) int {
	n := len(ids)
	if n < 2 {
		return 0
	}
	sa := make([]int, n)
	rank := make([]int, n)
	next := make([]int, n)
	for i := range n {
		sa[i], rank[i] = i, ids[i]
	}
	for k := 1; ; k *= 2 {
		second := func(i int) int {
			if i+k < n {
				return rank[i+k]
			}
			return -1 // a suffix that ends first sorts first
		}
		compare := func(a, b int) int {
			if c := cmp.Compare(rank[a], rank[b]); c != 0 {
				return c
			}
			return cmp.Compare(second(a), second(b))
		}
		slices.SortFunc(sa, compare)
		next[sa[0]] = 0
		for i := 1; i < n; i++ {
			next[sa[i]] = next[sa[i-1]]
			if compare(sa[i-1], sa[i]) < 0 {
				next[sa[i]]++
			}
		}
		rank, next = next, rank
		if rank[sa[n-1]] == n-1 {
			break // all ranks distinct: rank is the inverse of sa
		}
	}
	best, h := 0, 0
	for i := range n {
		if rank[i] == 0 {
			h = 0
			continue
		}
		j := sa[rank[i]-1]
		for i+h < n && j+h < n && ids[i+h] == ids[j+h] {
			h++
		}
		best = max(best, h)
		if h > 0 {
			h--
		}
	}
	return best
}
