package quality

import (
	"fmt"
	"math"
	"math/rand"
	"slices"
	"strings"
	"testing"
)

func TestAgreement(t *testing.T) {
	tests := []struct {
		name      string
		texts     []string
		exact, rl float64
	}{
		{"none", nil, nan, nan},
		{"one", []string{"only"}, nan, nan},
		{"two equal", []string{"a b", "a b"}, 1, 1},
		{"two different", []string{"a b", "c d"}, 0, 0},
		{"exact is byte for byte", []string{"a b", "A b!"}, 0, 1},
		{"trailing space differs", []string{"a b ", "a b"}, 0, 1},
		// Later ones equal to the first: 2 of 3. Pairs: (0,1) 1, (0,2) 0, (0,3) 1,
		// (1,2) 0, (1,3) 1, (2,3) 0: mean 1/2.
		{"mixed", []string{"x y", "x y", "z w", "x y"}, 2.0 / 3, 0.5},
		// Pairs (0,1) "the cat"/"the dog" 2·1/4, (0,2) 1, (1,2) 1/2: mean 2/3.
		{"soft", []string{"the cat", "the dog", "the cat"}, 0.5, 2.0 / 3},
		{"all empty", []string{"", ""}, 1, 1},
		{"empty and not", []string{"", "x"}, 0, 0},
		{"wordless differ", []string{"...", "!!"}, 0, 1},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			checkFloat(t, "Agreement", Agreement(tt.texts), tt.exact, tol)
			checkFloat(t, "AgreementRougeL", AgreementRougeL(tt.texts), tt.rl, tol)
		})
	}
}

func TestMetrics(t *testing.T) {
	tests := []struct {
		name string
		in   Input
		want []Metric
	}{
		{"empty: lengths only", Input{}, []Metric{
			{Unit: "out-words/op", Value: 0}, {Unit: "out-chars/op", Value: 0},
		}},
		{"blank reference is none", Input{Text: "...", Reference: " \n"}, []Metric{
			{Unit: "out-words/op", Value: 0}, {Unit: "out-chars/op", Value: 3},
		}},
		{"empty text against a reference", Input{Reference: "ref"}, []Metric{
			{Unit: "out-words/op", Value: 0}, {Unit: "out-chars/op", Value: 0}, {Unit: "rouge-l", Value: 0}, {Unit: "chrf", Value: 0},
		}},
		{"one word", Input{Text: "word"}, []Metric{
			{Unit: "out-words/op", Value: 1}, {Unit: "out-chars/op", Value: 4}, {Unit: "ttr", Value: 1}, {Unit: "mattr", Value: 1},
			{Unit: "distinct1", Value: 1}, {Unit: "max-rep-run", Value: 0},
		}},
		{"repeated", Input{Text: "a a a a"}, []Metric{
			{Unit: "out-words/op", Value: 4}, {Unit: "out-chars/op", Value: 7}, {Unit: "ttr", Value: 0.25}, {Unit: "mattr", Value: 0.25},
			{Unit: "mtld", Value: 2}, {Unit: "distinct1", Value: 0.25}, {Unit: "distinct2", Value: 1.0 / 3}, {Unit: "rep4", Value: 0},
			{Unit: "max-rep-run", Value: 3},
		}},
		{"window", Input{Text: "a a a a", Window: 2}, []Metric{
			{Unit: "out-words/op", Value: 4}, {Unit: "out-chars/op", Value: 7}, {Unit: "ttr", Value: 0.25}, {Unit: "mattr", Value: 0.5},
			{Unit: "mtld", Value: 2}, {Unit: "distinct1", Value: 0.25}, {Unit: "distinct2", Value: 1.0 / 3}, {Unit: "rep4", Value: 0},
			{Unit: "max-rep-run", Value: 3},
		}},
		{"unicode, equal to its reference", Input{Text: unicodeText, Reference: unicodeText}, []Metric{
			{Unit: "out-words/op", Value: 3}, {Unit: "out-chars/op", Value: 14}, {Unit: "ttr", Value: 1}, {Unit: "mattr", Value: 1},
			{Unit: "distinct1", Value: 1}, {Unit: "distinct2", Value: 1}, {Unit: "max-rep-run", Value: 0},
			{Unit: "rouge-l", Value: 1}, {Unit: "chrf", Value: 100},
		}},
		{"nothing shared with its reference", Input{Text: "abc def", Reference: "xyz"}, []Metric{
			{Unit: "out-words/op", Value: 2}, {Unit: "out-chars/op", Value: 7}, {Unit: "ttr", Value: 1}, {Unit: "mattr", Value: 1},
			{Unit: "distinct1", Value: 1}, {Unit: "distinct2", Value: 1}, {Unit: "max-rep-run", Value: 0},
			{Unit: "rouge-l", Value: 0}, {Unit: "chrf", Value: 0},
		}},
		{"iterations", Input{Text: "x y", Iterations: []string{"x y", "x y", "z w"}}, []Metric{
			{Unit: "out-words/op", Value: 2}, {Unit: "out-chars/op", Value: 3}, {Unit: "ttr", Value: 1}, {Unit: "mattr", Value: 1},
			{Unit: "distinct1", Value: 1}, {Unit: "distinct2", Value: 1}, {Unit: "max-rep-run", Value: 0},
			{Unit: "agreement", Value: 0.5}, {Unit: "agreement-rouge-l", Value: 1.0 / 3},
		}},
		{"one iteration is no agreement", Input{Text: "x", Iterations: []string{"x"}}, []Metric{
			{Unit: "out-words/op", Value: 1}, {Unit: "out-chars/op", Value: 1}, {Unit: "ttr", Value: 1}, {Unit: "mattr", Value: 1},
			{Unit: "distinct1", Value: 1}, {Unit: "max-rep-run", Value: 0},
		}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got := Metrics(tt.in)
			gotNames := make([]string, len(got))
			for i, m := range got {
				gotNames[i] = m.Unit
			}
			wantNames := make([]string, len(tt.want))
			for i, m := range tt.want {
				wantNames[i] = m.Unit
			}
			if !slices.Equal(gotNames, wantNames) {
				t.Fatalf("Metrics names = %q, want %q", gotNames, wantNames)
			}
			for i, m := range got {
				checkFloat(t, m.Unit, m.Value, tt.want[i].Value, tol)
			}
		})
	}
}

func TestNamesAndDirection(t *testing.T) {
	want := []string{
		"out-words/op", "out-chars/op", "ttr", "mattr", "mtld", "distinct1", "distinct2",
		"rep4", "max-rep-run", "rouge-l", "chrf", "agreement", "agreement-rouge-l",
	}
	got := Names()
	if !slices.Equal(got, want) {
		t.Fatalf("Names() = %q, want %q", got, want)
	}
	got[0] = "changed"
	if Names()[0] != want[0] {
		t.Error("Names() returned the package's own slice")
	}
	wantDir := map[string]string{
		"out-words/op": "", "out-chars/op": "",
		"rep4": "lower", "max-rep-run": "lower",
		"no-such-metric": "", "": "",
	}
	for _, name := range want {
		if _, ok := wantDir[name]; !ok {
			wantDir[name] = "higher"
		}
	}
	for name, dir := range wantDir {
		if got := Direction(name); got != dir {
			t.Errorf("Direction(%q) = %q, want %q", name, got, dir)
		}
	}

	// Every returned name is one of Names, in its order; the names are lowercase
	// and free of spaces, as a benchmark unit must be.
	all := Metrics(Input{Text: loop + " end", Reference: loop, Iterations: []string{"a", "b"}})
	if len(all) != len(want) {
		t.Fatalf("Metrics with everything given returned %d metrics, want %d", len(all), len(want))
	}
	for i, m := range all {
		if m.Unit != want[i] {
			t.Errorf("metric %d is %q, want %q", i, m.Unit, want[i])
		}
		if math.IsNaN(m.Value) || math.IsInf(m.Value, 0) {
			t.Errorf("%s = %v", m.Unit, m.Value)
		}
	}
}

// longText is n words from a vocabulary of 500, deterministic.
func longText(n int, seed int64) string {
	r := rand.New(rand.NewSource(seed))
	var b strings.Builder
	for range n {
		fmt.Fprintf(&b, "w%d ", r.Intn(500))
	}
	return b.String()
}

// BenchmarkMetrics measures one generation of 2,000 words against a reference, and
// the agreement of 5 such iterations.
func BenchmarkMetrics(b *testing.B) {
	text := longText(2000, 1)
	in := Input{Text: text, Reference: longText(2000, 2)}
	b.Run("text=2000w", func(b *testing.B) {
		for b.Loop() {
			Metrics(Input{Text: text})
		}
	})
	b.Run("text=2000w/reference", func(b *testing.B) {
		for b.Loop() {
			Metrics(in)
		}
	})
	iters := []string{text, longText(2000, 3), longText(2000, 4), longText(2000, 5), longText(2000, 6)}
	b.Run("iterations=5x2000w", func(b *testing.B) {
		for b.Loop() {
			AgreementRougeL(iters)
		}
	})
}
