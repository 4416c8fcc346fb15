package quality

import (
	"math"
	"math/rand"
	"reflect"
	"slices"
	"strings"
	"testing"
	"testing/quick"
)

// text is a random generated text for testing/quick: words from a small vocabulary
// (so that repeats are common), mixed case and Unicode, with punctuation and assorted
// whitespace between them.
type text string

var (
	vocabulary = []string{"a", "b", "the", "The", "cat", "na\u00efve", "CAF\u00c9", "\u65e5\u672c", "x1", "don't"}
	edges      = []string{"", "", "", ",", ".", "!", "**", "(", "\U0001F642"}
	spaces     = []string{" ", " ", " ", "  ", "\n", "\t", "\u00a0"}
)

func (text) Generate(r *rand.Rand, size int) reflect.Value {
	var b strings.Builder
	for range r.Intn(size + 1) {
		b.WriteString(edges[r.Intn(len(edges))])
		b.WriteString(vocabulary[r.Intn(len(vocabulary))])
		b.WriteString(edges[r.Intn(len(edges))])
		b.WriteString(spaces[r.Intn(len(spaces))])
	}
	return reflect.ValueOf(text(b.String()))
}

var quickConfig = &quick.Config{MaxCount: 300}

func check(t *testing.T, name string, f any) {
	t.Helper()
	if err := quick.Check(f, quickConfig); err != nil {
		t.Errorf("%s: %v", name, err)
	}
}

func inUnit(v float64) bool { return 0 <= v && v <= 1 }

func TestProperties(t *testing.T) {
	check(t, "distinct-n in (0,1], NaN only below n words", func(s text, n uint8) bool {
		n = n%4 + 1
		d := Distinct(string(s), int(n))
		if WordCount(string(s)) < int(n) {
			return math.IsNaN(d)
		}
		return d > 0 && d <= 1
	})
	check(t, "distinct-1 equals TTR", func(s text) bool {
		d, r := Distinct(string(s), 1), TTR(string(s))
		return d == r || math.IsNaN(d) && math.IsNaN(r)
	})
	check(t, "repetition is 1 − distinct", func(s text) bool {
		r, d := Repetition(string(s), 4), Distinct(string(s), 4)
		return math.IsNaN(r) && math.IsNaN(d) || r == 1-d
	})
	check(t, "MATTR in (0,1], TTR once the window covers the text", func(s text, w uint8) bool {
		w = w%8 + 1
		m := MATTR(string(s), int(w))
		n := WordCount(string(s))
		if n == 0 {
			return math.IsNaN(m)
		}
		if n <= int(w) && m != TTR(string(s)) {
			return false
		}
		return m > 0 && m <= 1
	})
	check(t, "MTLD at least 1 or NaN", func(s text) bool {
		m := MTLD(string(s))
		return math.IsNaN(m) || m >= 1
	})
	check(t, "MaxRepRun equals the brute force", func(s text) bool {
		return MaxRepRun(string(s)) == bruteRepeat(Words(string(s)))
	})
	check(t, "identical texts: ROUGE-L 1", func(s text) bool {
		r := RougeL(string(s), string(s))
		if WordCount(string(s)) == 0 {
			return math.IsNaN(r)
		}
		return r == 1
	})
	check(t, "ROUGE-L symmetric, in [0,1]", func(a, b text) bool {
		ab, ba := RougeL(string(a), string(b)), RougeL(string(b), string(a))
		if math.IsNaN(ab) {
			return math.IsNaN(ba)
		}
		return ab == ba && inUnit(ab)
	})
	check(t, "ROUGE-L LCS equals the brute force", func(a, b text) bool {
		wa, wb := Words(string(a)), Words(string(b))
		if len(wa) > 8 || len(wb) > 8 {
			wa, wb = wa[:min(len(wa), 8)], wb[:min(len(wb), 8)]
		}
		index := map[string]int{}
		return lcs(ids(index, wa), ids(index, wb)) == bruteLCS(wa, wb)
	})
	check(t, "identical texts: chrF 100", func(s text) bool {
		c := ChrF(string(s), string(s))
		if stripSpace(string(s)) == "" {
			return math.IsNaN(c)
		}
		return c == 100
	})
	check(t, "chrF in [0,100]", func(a, b text) bool {
		c := ChrF(string(a), string(b))
		return math.IsNaN(c) || 0 <= c && c <= 100
	})
	check(t, "agreement in [0,1]", func(a, b, c text) bool {
		texts := []string{string(a), string(b), string(c)}
		return inUnit(Agreement(texts)) && inUnit(AgreementRougeL(texts))
	})
}

// bruteRepeat is MaxRepRun by definition: the longest L for which two different
// start positions begin the same L words.
func bruteRepeat(w []string) int {
	for l := len(w) - 1; l > 0; l-- {
		for i := 0; i+l <= len(w); i++ {
			for j := i + 1; j+l <= len(w); j++ {
				if slices.Equal(w[i:i+l], w[j:j+l]) {
					return l
				}
			}
		}
	}
	return 0
}

// bruteLCS is the longest common subsequence by exhaustive recursion.
func bruteLCS(a, b []string) int {
	if len(a) == 0 || len(b) == 0 {
		return 0
	}
	if a[0] == b[0] {
		return 1 + bruteLCS(a[1:], b[1:])
	}
	return max(bruteLCS(a[1:], b), bruteLCS(a, b[1:]))
}

// FuzzMetrics checks, for any text, reference and iterations, that Metrics never
// panics and returns only finite values, in range, named and ordered as Names says.
func FuzzMetrics(f *testing.F) {
	f.Add("", "", "")
	f.Add("a a a a", "a a a a", "a a")
	f.Add(unicodeText, "Na\u00efve!", unicodeText)
	f.Add(loop, "", loop)
	f.Add("\xff\xfe \x1c ...", "\u0301", "")
	f.Fuzz(func(t *testing.T, text, ref, other string) {
		ms := Metrics(Input{Text: text, Reference: ref, Iterations: []string{text, other}})
		order := Names()
		last := -1
		for _, m := range ms {
			i := slices.Index(order, m.Unit)
			if i <= last {
				t.Fatalf("metric %q out of order or unknown in %v", m.Unit, ms)
			}
			last = i
			v := m.Value
			if math.IsNaN(v) || math.IsInf(v, 0) || v < 0 {
				t.Fatalf("%s = %v", m.Unit, v)
			}
			switch m.Unit {
			case "ttr", "mattr", "distinct1", "distinct2", "rep4", "rouge-l", "agreement", "agreement-rouge-l":
				if v > 1 {
					t.Fatalf("%s = %v > 1", m.Unit, v)
				}
			case "chrf":
				if v > 100 {
					t.Fatalf("chrf = %v > 100", v)
				}
			case "max-rep-run":
				if words := WordCount(text); v >= float64(words) {
					t.Fatalf("max-rep-run = %v for %d words", v, words)
				}
			}
		}
	})
}
