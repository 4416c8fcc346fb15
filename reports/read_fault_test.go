package reports_test

import (
	"io"
	"strings"
	"testing"
	"time"

	"github.com/llmbench/llmbench/reports"
)

// TestParseOddKey checks that one result line whose name has a key benchproc
// cannot project ("(", found by FuzzParse; "a,b", which it would read as two
// fields) costs that line only: the other results are kept and the line is a
// malformed-line record, as benchfmt does for lines it cannot read.
func TestParseOddKey(t *testing.T) {
	for _, key := range []string{"(", "a,b"} {
		in := "BenchmarkGenerate/model=a/prompt=p 1 100 ns/op\nBenchmarkGenerate/" + key + "=x 1 100 ns/op\nBenchmarkGenerate/model=a/prompt=p 1 110 ns/op\n"
		var warn strings.Builder
		s, err := reports.Parse(strings.NewReader(in), "odd.txt", &warn)
		if err != nil {
			t.Fatalf("key %q: %v", key, err)
		}
		if len(s.Groups) != 1 || len(s.Groups[0].Samples["ns/op"]) != 2 || len(s.Errors) != 1 {
			t.Errorf("key %q: groups %d, errors %d: want the two good lines in one group and one malformed line", key, len(s.Groups), len(s.Errors))
		}
		if !strings.Contains(warn.String(), "odd.txt:2: ") {
			t.Errorf("key %q: warnings %q do not name odd.txt:2", key, warn.String())
		}
	}
}

// TestNaNSample checks that a result value written as NaN (benchfmt reads it as
// a number) neither hangs `llmbench report` or `gate` nor feeds statistics: it
// must be a malformed-line record, the line's other values kept. Found by
// FuzzParse: with the NaN kept, Compare spins forever inside the Mann-Whitney
// U test.
func TestNaNSample(t *testing.T) {
	in := "BenchmarkGenerate/model=a 1 NaN ns/op 5 ttft-ns/op\nBenchmarkGenerate/model=a 1 3 ns/op 6 ttft-ns/op\n"
	s, err := reports.Parse(strings.NewReader(in), "nan.txt", io.Discard)
	if err != nil {
		t.Fatal(err)
	}
	if hasNaN(s) {
		t.Fatal("the NaN sample is kept: Compare(s, s) would never return")
	}
	if len(s.Errors) != 1 || len(s.Groups[0].Samples["ns/op"]) != 1 || len(s.Groups[0].Samples["ttft-ns/op"]) != 2 {
		t.Errorf("errors %d, samples %v: want the NaN value as one malformed-line record and every other value kept", len(s.Errors), s.Groups[0].Samples)
	}
	done := make(chan error, 1)
	go func() { _, err := reports.Compare(s, s); done <- err }()
	select {
	case <-done:
	case <-time.After(30 * time.Second):
		t.Fatal("Compare did not return in 30 s")
	}
}
