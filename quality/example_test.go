package quality_test

import (
	"fmt"

	"github.com/llmbench/llmbench/quality"
)

func ExampleWords() {
	fmt.Printf("%q\n", quality.Words("**Note:** Don't panic — it's naïve, café-style. 日本語!"))
	// Output:
	// ["note" "don't" "panic" "it's" "naïve" "café-style" "日本語"]
}

func ExampleTTR() {
	fmt.Println(quality.TTR("The cat and the dog"))
	fmt.Println(quality.TTR("")) // no words: does not apply
	// Output:
	// 0.8
	// NaN
}

func ExampleMATTR() {
	// Windows of 2 words: "a a", "a b", "b b".
	fmt.Printf("%.4f\n", quality.MATTR("a a b b", 2))
	// Output:
	// 0.6667
}

func ExampleRepetition() {
	// 9 4-grams, 3 of them repeats.
	fmt.Printf("%.4f\n", quality.Repetition("the cat sat on the mat the cat sat on the mat", 4))
	// Output:
	// 0.3333
}

func ExampleMaxRepRun() {
	fmt.Println(quality.MaxRepRun("I think I think I think so"))
	// Output:
	// 4
}

func ExampleRougeL() {
	// Lin (2004): LCS "police ... the gunman", 3 of 4 words each side.
	fmt.Println(quality.RougeL("police kill the gunman", "police killed the gunman"))
	// Output:
	// 0.75
}

func ExampleChrF() {
	fmt.Printf("%.4f\n", quality.ChrF(
		"The relationship between Obama and Netanyahu is not exactly friendly.",
		"The ties between Obama and Netanyahu are not particularly friendly."))
	fmt.Println(quality.ChrF("a b c", "abc")) // whitespace is removed
	// Output:
	// 61.5764
	// 100
}

func ExampleAgreement() {
	texts := []string{"Paris.", "Paris.", "Paris, France."}
	fmt.Println(quality.Agreement(texts))
	fmt.Printf("%.4f\n", quality.AgreementRougeL(texts))
	// Output:
	// 0.5
	// 0.7778
}

func ExampleMetrics() {
	ms := quality.Metrics(quality.Input{
		Text:       "the cat sat on the mat the cat sat on the mat",
		Reference:  "the cat sat on the mat",
		Iterations: []string{"the cat sat", "the cat sat"},
	})
	for _, m := range ms {
		// In a benchmark: b.ReportMetric(m.Value, m.Unit), after the b.Loop loop.
		fmt.Printf("%s %.4g\n", m.Unit, m.Value)
	}
	// Output:
	// out-words/op 12
	// out-chars/op 45
	// ttr 0.4167
	// mattr 0.4167
	// mtld 9.5
	// distinct1 0.4167
	// distinct2 0.5455
	// rep4 0.3333
	// max-rep-run 6
	// rouge-l 0.6667
	// chrf 80.91
	// agreement 1
	// agreement-rouge-l 1
}

func ExampleDirection() {
	// From TestMain, before m.Run: the lines benchstat-based reports read.
	for _, name := range quality.Names() {
		if dir := quality.Direction(name); dir != "" {
			fmt.Printf("Unit %s better=%s\n", name, dir)
		}
	}
	// Output:
	// Unit ttr better=higher
	// Unit mattr better=higher
	// Unit mtld better=higher
	// Unit distinct1 better=higher
	// Unit distinct2 better=higher
	// Unit rep4 better=lower
	// Unit max-rep-run better=lower
	// Unit rouge-l better=higher
	// Unit chrf better=higher
	// Unit agreement better=higher
	// Unit agreement-rouge-l better=higher
}
