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
			{"out-words/op", 0}, {"out-chars/op", 0},
		}},
		{"blank reference is none", Input{Text: "...", Reference: " \n"}, []Metric{
			{"out-words/op", 0}, {"out-chars/op", 3},
		}},
		{"empty text against a reference", Input{Reference: "ref"}, []Metric{
			{"out-words/op", 0}, {"out-chars/op", 0}, {"rouge-l", 0}, {"chrf", 0},
		}},
		{"one word", Input{Text: "word"}, []Metric{
			{"out-words/op", 1}, {"out-chars/op", 4}, {"ttr", 1}, {"mattr", 1},
			{"distinct1", 1}, {"max-rep-run", 0},
		}},
		{"repeated", Input{Text: "a a a a"}, []Metric{
			{"out-words/op", 4}, {"out-chars/op", 7}, {"ttr", 0.25}, {"mattr", 0.25},
			{"mtld", 2}, {"distinct1", 0.25}, {"distinct2", 1.0 / 3}, {"rep4", 0},
			{"max-rep-run", 3},
		}},
		{"window", Input{Text: "a a a a", Window: 2}, []Metric{
			{"out-words/op", 4}, {"out-chars/op", 7}, {"ttr", 0.25}, {"mattr", 0.5},
			{"mtld", 2}, {"distinct1", 0.25}, {"distinct2", 1.0 / 3}, {"rep4", 0},
			{"max-rep-run", 3},
		}},
		{"unicode, equal to its reference", Input{Text: unicodeText, Reference: unicodeText}, []Metric{
			{"out-words/op", 3}, {"out-chars/op", 14}, {"ttr", 1}, {"mattr", 1},
			{"distinct1", 1}, {"distinct2", 1}, {"max-rep-run", 0},
			{"rouge-l", 1}, {"chrf", 100},
		}},
		{"nothing shared with its reference", Input{Text: "abc def", Reference: "xyz"}, []Metric{
			{"out-words/op", 2}, {"out-chars/op", 7}, {"ttr", 1}, {"mattr", 1},
			{"distinct1", 1}, {"distinct2", 1}, {"max-rep-run", 0},
			{"rouge-l", 0}, {"chrf", 0},
		}},
		{"iterations", Input{Text: "x y", Iterations: []string{"x y", "x y", "z w"}}, []Metric{
			{"out-words/op", 2}, {"out-chars/op", 3}, {"ttr", 1}, {"mattr", 1},
			{"distinct1", 1}, {"distinct2", 1}, {"max-rep-run", 0},
			{"agreement", 0.5}, {"agreement-rouge-l", 1.0 / 3},
		}},
		{"one iteration is no agreement", Input{Text: "x", Iterations: []string{"x"}}, []Metric{
			{"out-words/op", 1}, {"out-chars/op", 1}, {"ttr", 1}, {"mattr", 1},
			{"distinct1", 1}, {"max-rep-run", 0},
		}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got := Metrics(tt.in)
			gotNames := make([]string, len(got))
			for i, m := range got {
				gotNames[i] = m.Name
			}
			wantNames := make([]string, len(tt.want))
			for i, m := range tt.want {
				wantNames[i] = m.Name
			}
			if !slices.Equal(gotNames, wantNames) {
				t.Fatalf("Metrics names = %q, want %q", gotNames, wantNames)
			}
			for i, m := range got {
				checkFloat(t, m.Name, m.Value, tt.want[i].Value, tol)
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
		if m.Name != want[i] {
			t.Errorf("metric %d is %q, want %q", i, m.Name, want[i])
		}
		if math.IsNaN(m.Value) || math.IsInf(m.Value, 0) {
			t.Errorf("%s = %v", m.Name, m.Value)
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
