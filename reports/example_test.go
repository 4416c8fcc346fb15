package reports_test

import (
	"fmt"
	"os"
	"strings"

	"github.com/llmbench/llmbench/reports"
)

// run makes benchmark output with one TTFT sample per line.
func run(ms ...int) string {
	var b strings.Builder
	b.WriteString("Unit ttft-ns better=lower\nmodel-params: 1300000000\n")
	for _, m := range ms {
		fmt.Fprintf(&b, "BenchmarkGenerate/model=a/prompt=p 1 %d ttft-ns/op\n", m*1_000_000)
	}
	return b.String()
}

// The gate fails on a significant worsening beyond the threshold: here TTFT
// went from about 100 ms to about 120 ms, six samples each.
func ExampleGate() {
	old, _ := reports.Parse(strings.NewReader(run(99, 100, 101, 100, 102, 98)), "base.txt", os.Stderr)
	new, _ := reports.Parse(strings.NewReader(run(121, 119, 120, 122, 118, 120)), "head.txt", os.Stderr)
	v, err := reports.Gate(old, new, reports.GateOptions{MaxRegression: 0.05})
	if err != nil {
		fmt.Println(err)
		return
	}
	fmt.Println("pass:", v.Pass())
	for _, d := range v.Regressions {
		fmt.Printf("%s %s %+.1f%% p=%.4f n=%d+%d\n", d.ID(), d.Metric, d.Change*100, d.P, d.Old.N, d.New.N)
	}
	// Output:
	// pass: false
	// Generate/model=a/prompt=p ttft-ns/op +20.0% p=0.0022 n=6+6
}

// Summaries keep the benchmark's unit (ns); Human shows it to people.
func ExampleSummarize() {
	st := reports.Summarize([]float64{99e6, 100e6, 101e6, 100e6, 102e6, 98e6})
	fmt.Println(st.N, st.Median, st.Lo, st.Hi)
	fmt.Println(reports.Human("ttft-ns/op", st.Median), reports.Column("ttft-ns/op")+"_median")
	// Output:
	// 6 1e+08 9.8e+07 1.02e+08
	// 100 ms ttft_ns_median
}
