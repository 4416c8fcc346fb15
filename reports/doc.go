// Package reports turns Go benchmark output from llmbench into tables, plots,
// comparisons and a regression gate.
//
// Reading uses golang.org/x/perf: benchfmt parses the format (a malformed line
// is a *benchfmt.SyntaxError record, reported and skipped), benchproc groups the
// results by benchmark name and sub-benchmark keys (model=, prompt=,
// concurrency=, …), and benchmath summarises and compares samples the way
// benchstat does.
//
// A metric is named by its unit exactly as the benchmark wrote it ("ns/op",
// "ttft-ns/op", "tokens/s", "peak-rss-B"), and its values stay in that unit:
// reports never convert ns to seconds or B to MB in data files; only the
// markdown and plots show human units (ms, MiB, GiB).
//
// The pieces:
//
//	set, err := reports.Read([]string{"bench.txt"}, os.Stderr)
//	files, err := reports.WriteReport("outputs", set, os.Stderr)  // results.csv, summary.md, plots
//
//	cmp, err := reports.Compare(oldSet, newSet)                  // Mann-Whitney U, like benchstat
//	err = cmp.WriteMarkdown(os.Stdout)
//
//	v, err := reports.Gate(oldSet, newSet, reports.GateOptions{}) // 5% and p < 0.05
//	if !v.Pass() { … }
package reports
