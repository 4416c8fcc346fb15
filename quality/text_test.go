package quality

import (
	"fmt"
	"math"
	"slices"
	"strings"
	"testing"
)

// nan marks an expected NaN ("does not apply") in the tables below.
var nan = math.NaN()

// checkFloat fails unless got equals want within tol, NaN matching only NaN.
func checkFloat(t *testing.T, what string, got, want, tol float64) {
	t.Helper()
	switch {
	case math.IsNaN(want):
		if !math.IsNaN(got) {
			t.Errorf("%s = %v, want NaN", what, got)
		}
	case math.IsNaN(got) || math.Abs(got-want) > tol:
		t.Errorf("%s = %v, want %v (±%g)", what, got, want, tol)
	}
}

const (
	unicodeText = "na\u00efve caf\u00e9 \u65e5\u672c\u8a9e" // "naïve café 日本語", precomposed
	tol         = 1e-12
)

func TestWords(t *testing.T) {
	tests := []struct {
		name, text string
		want       []string
	}{
		{"empty", "", nil},
		{"blank", " \t\n\u00a0\u3000", nil},
		{"one word", "word", []string{"word"}},
		{"lowercased", "Hello WORLD", []string{"hello", "world"}},
		{"repeated", "a a a a", []string{"a", "a", "a", "a"}},
		{"edge punctuation stripped", "Hello, world! (yes)", []string{"hello", "world", "yes"}},
		{"inner punctuation kept", "don't well-known 3.14 U.S.", []string{"don't", "well-known", "3.14", "u.s"}},
		{"punctuation-only fields dropped", "a — ... ** b", []string{"a", "b"}},
		{"symbols and emoji stripped", "**Note:** `go test` \U0001F642 -> $5", []string{"note", "go", "test", "5"}},
		{"guillemets", "\u00abBonjour\u00bb, dit-il.", []string{"bonjour", "dit-il"}},
		{"unicode", unicodeText, []string{"na\u00efve", "caf\u00e9", "\u65e5\u672c\u8a9e"}},
		{"unicode upper", "NA\u00cfVE CAF\u00c9", []string{"na\u00efve", "caf\u00e9"}},
		{"no normalisation", "cafe\u0301", []string{"cafe\u0301"}},
		{"python separators", "a\x1cb\x1fc", []string{"a", "b", "c"}},
		{"all whitespace kinds", "a\tb\nc\rd\u2003e\u2028f", []string{"a", "b", "c", "d", "e", "f"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got := Words(tt.text)
			if !slices.Equal(got, tt.want) {
				t.Errorf("Words(%q) = %q, want %q", tt.text, got, tt.want)
			}
			if n := WordCount(tt.text); n != len(tt.want) {
				t.Errorf("WordCount(%q) = %d, want %d", tt.text, n, len(tt.want))
			}
		})
	}
}

func TestCharCount(t *testing.T) {
	tests := []struct {
		text string
		want int
	}{
		{"", 0},
		{"word", 4},
		{"a a a a", 7},
		{unicodeText, 14}, // 5 + 1 + 4 + 1 + 3
		{"cafe\u0301", 5}, // e + combining acute: two runes
		{"\U0001F642!", 2},
		{"\xff\xfe", 2}, // invalid UTF-8: one per byte
	}
	for _, tt := range tests {
		if got := CharCount(tt.text); got != tt.want {
			t.Errorf("CharCount(%q) = %d, want %d", tt.text, got, tt.want)
		}
	}
}

func TestTTR(t *testing.T) {
	tests := []struct {
		text string
		want float64
	}{
		{"", nan},
		{" ... ", nan},
		{"word", 1},
		{"a a a a", 0.25},
		{"The cat and the dog", 0.8},
		{unicodeText, 1},
		{"caf\u00e9 cafe\u0301", 1}, // not normalised: two types
		{"Caf\u00e9 CAF\u00c9 caf\u00e9!", 1.0 / 3},
	}
	for _, tt := range tests {
		checkFloat(t, "TTR("+tt.text+")", TTR(tt.text), tt.want, tol)
	}
}

func TestMATTR(t *testing.T) {
	tests := []struct {
		text   string
		window int
		want   float64
	}{
		{"", 2, nan},
		{"word", 2, 1},            // shorter than the window: TTR
		{"a a a a", 0, 0.25},      // default window 50 > 4 words: TTR
		{"a a a a", 4, 0.25},      // one window
		{"a a a a", 2, 0.5},       // three windows of TTR 1/2
		{"a b a b", 2, 1},         // ab ba ab
		{"a b a b", 3, 2.0 / 3},   // aba bab
		{"a a b b", 2, 2.0 / 3},   // aa ab bb: (1/2 + 1 + 1/2)/3
		{"a b c d e", 3, 1},       // all distinct
		{"a b a c a", 2, 1},       // ab ba ac ca
		{"a b a c a", 3, 7.0 / 9}, // aba bac aca: (2/3 + 1 + 2/3)/3
	}
	for _, tt := range tests {
		checkFloat(t, "MATTR("+tt.text+")", MATTR(tt.text, tt.window), tt.want, tol)
	}

	// 60 distinct words, then the same 60 again: a word and its repeat are 60 apart,
	// so no window of 50 holds both. Every window is all distinct (MATTR 1) while
	// the whole text's TTR is 1/2: MATTR does not fall just because a text is long.
	var b strings.Builder
	for i := range 120 {
		fmt.Fprintf(&b, "w%d ", i%60)
	}
	text := b.String()
	checkFloat(t, "MATTR(two copies)", MATTR(text, 0), 1, tol)
	checkFloat(t, "TTR(two copies)", TTR(text), 0.5, tol)
}

func TestMTLD(t *testing.T) {
	tests := []struct {
		text string
		want float64
	}{
		{"", nan},
		{"word", nan},      // all distinct: no factor
		{"a b c d e", nan}, // all distinct: no factor
		// Each pass: "a a" completes a factor (TTR 1/2) twice, no remainder: 4/2.
		{"a a a a", 2},
		// Each pass: "a b a" completes one (TTR 2/3), "b" remains at TTR 1: 4/1.
		{"a b a b", 4},
		// Forward: "a a" is a factor, "b c d" remains at TTR 1: 5/1 = 5.
		// Backward: "d c b a a" ends at TTR 4/5, partial (1−0.8)/0.28 = 5/7: 5/(5/7) = 7.
		{"a a b c d", 6},
	}
	for _, tt := range tests {
		checkFloat(t, "MTLD("+tt.text+")", MTLD(tt.text), tt.want, 1e-9)
	}
}

func TestDistinct(t *testing.T) {
	tests := []struct {
		text string
		n    int
		want float64
	}{
		{"", 1, nan},
		{"word", 0, nan},
		{"word", 1, 1},
		{"word", 2, nan},
		{"a a a a", 1, 0.25},
		{"a a a a", 2, 1.0 / 3}, // "a a" ×3
		{"the cat the cat", 1, 0.5},
		{"the cat the cat", 2, 2.0 / 3}, // "the cat", "cat the", "the cat"
		{"the cat the cat", 4, 1},
		{unicodeText, 2, 1},
	}
	for _, tt := range tests {
		checkFloat(t, "Distinct("+tt.text+")", Distinct(tt.text, tt.n), tt.want, tol)
	}
}

const loop = "the cat sat on the mat the cat sat on the mat" // 12 words, period 6

func TestRepetition(t *testing.T) {
	tests := []struct {
		text string
		n    int
		want float64
	}{
		{"", 4, nan},
		{"a b c", 4, nan},
		{"a a a a", 4, 0},     // a single 4-gram repeats nothing
		{"a a a a a", 4, 0.5}, // "a a a a" twice
		{"a b c d e f", 4, 0},
		// 9 4-grams, of which "the cat sat on", "cat sat on the" and
		// "sat on the mat" come twice: 1 − 6/9.
		{loop, 4, 1.0 / 3},
		{"a a a a", 1, 0.75},
	}
	for _, tt := range tests {
		checkFloat(t, "Repetition("+tt.text+")", Repetition(tt.text, tt.n), tt.want, tol)
	}
}

func TestMaxRepRun(t *testing.T) {
	tests := []struct {
		text string
		want int
	}{
		{"", 0},
		{"word", 0},
		{"a b c", 0},
		{"a a", 1},
		{"a a a a", 3},     // "a a a" at 0 and 1 (overlapping)
		{"a b a b a b", 4}, // loop of 2 over 6 words: 6 − 2
		{"x y z x y", 2},
		{"A, a. A!", 2}, // words "a a a"
		{loop, 6},
		{unicodeText + " " + unicodeText, 3},
		{"a b c a b d a b c", 3}, // "a b c"
	}
	for _, tt := range tests {
		if got := MaxRepRun(tt.text); got != tt.want {
			t.Errorf("MaxRepRun(%q) = %d, want %d", tt.text, got, tt.want)
		}
	}
}
