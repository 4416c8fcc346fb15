package reports_test

import (
	"bytes"
	"errors"
	"io"
	"math"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"

	"golang.org/x/perf/benchfmt"

	"github.com/llmbench/llmbench/reports"
)

// addTestdata adds the first lines (up to 2 KiB) of each file matching glob
// under testdata to the seeds: real output, kept small so that mutations are
// quick. The committed corpus in testdata/fuzz holds the rest.
func addTestdata(f *testing.F, glob string) {
	f.Helper()
	paths, err := filepath.Glob(filepath.Join("testdata", glob))
	if err != nil || len(paths) == 0 {
		f.Fatalf("no seed files match testdata/%s (%v)", glob, err)
	}
	for _, p := range paths {
		data, err := os.ReadFile(p)
		if err != nil {
			f.Fatal(err)
		}
		if len(data) > 2048 {
			data = data[:bytes.LastIndexByte(data[:2048], '\n')+1]
		}
		f.Add(data)
	}
}

// FuzzParse feeds arbitrary bytes to the benchmark-output reader that
// `llmbench report` and `gate` use, then writes everything report and gate
// write from what it read. Nothing may panic; the only error of Parse is
// ErrNoResults; the set must hold every malformed line that benchfmt itself
// reads, and every result and finite value of it, except that each value
// that is not a finite number is one more malformed-line record, and a
// result skipped whole (for an odd name key, one more record, or for having
// no finite value) has no samples; and a set gated against itself must pass.
func FuzzParse(f *testing.F) {
	addTestdata(f, "*.txt")
	f.Fuzz(func(t *testing.T, data []byte) {
		s, err := reports.Parse(bytes.NewReader(data), "fuzz.txt", io.Discard)
		if err != nil {
			if !errors.Is(err, reports.ErrNoResults) || !strings.HasPrefix(err.Error(), "fuzz.txt") {
				t.Fatalf("error %v: want fuzz.txt: ErrNoResults", err)
			}
			return
		}
		errsAt := map[int]int{} // the set's malformed-line records by line
		for _, e := range s.Errors {
			errsAt[e.Line]++
		}
		results, values, errs := 0, 0, 0
		br := benchfmt.NewReader(bytes.NewReader(data), "fuzz.txt")
		for br.Scan() {
			switch r := br.Result().(type) {
			case *benchfmt.Result:
				_, line := r.Pos()
				finite := 0
				for _, v := range r.Values {
					if !math.IsNaN(v.Value) && !math.IsInf(v.Value, 0) {
						finite++
					}
				}
				bad := len(r.Values) - finite
				if n := errsAt[line]; n != bad && n != bad+1 {
					t.Fatalf("line %d: %d malformed-line records for %d values that are not finite numbers", line, n, bad)
				}
				errs += errsAt[line]
				if errsAt[line] == bad && finite > 0 {
					results++
					values += finite
				}
			case *benchfmt.SyntaxError:
				errs++
			}
		}
		samples := 0
		for _, g := range s.Groups {
			for _, vs := range g.Samples {
				samples += len(vs)
			}
		}
		if s.Results != results || samples != values || len(s.Errors) != errs {
			t.Fatalf("set holds %d results, %d values, %d malformed lines; want %d, %d, %d from what benchfmt reads",
				s.Results, samples, len(s.Errors), results, values, errs)
		}
		if err := reports.WriteCSV(io.Discard, s); err != nil {
			t.Fatalf("WriteCSV: %v", err)
		}
		if err := reports.WriteSummary(io.Discard, s, reports.Plots(s)); err != nil {
			t.Fatalf("WriteSummary: %v", err)
		}
		if hasNaN(s) {
			t.Fatal("a NaN sample is kept: Compare would never return on it")
		}
		c, err := reports.Compare(s, s)
		if err != nil {
			return
		}
		writeComparison(t, c)
		v, err := c.Gate(reports.GateOptions{})
		if err != nil {
			return
		}
		if err := v.WriteMarkdown(io.Discard); err != nil {
			t.Fatalf("Verdict.WriteMarkdown: %v", err)
		}
		if len(v.Regressions) > 0 {
			t.Fatalf("a set gated against itself has regressions: %+v", v.Regressions)
		}
	})
}

// FuzzReadBenchstatCSV feeds arbitrary bytes to the reader of
// `benchstat -format csv` output that `llmbench gate` accepts, then writes and
// gates what it read. Nothing may panic, and every error must name the file.
func FuzzReadBenchstatCSV(f *testing.F) {
	addTestdata(f, "*.csv")
	f.Fuzz(func(t *testing.T, data []byte) {
		reports.IsBenchstatCSV(data)
		c, err := reports.ReadBenchstatCSV(bytes.NewReader(data), "fuzz.csv")
		if err != nil {
			if !strings.Contains(err.Error(), "fuzz.csv") {
				t.Fatalf("error %q does not name the file", err)
			}
			return
		}
		writeComparison(t, c)
		if v, err := c.Gate(reports.GateOptions{}); err == nil {
			if err := v.WriteMarkdown(io.Discard); err != nil {
				t.Fatalf("Verdict.WriteMarkdown: %v", err)
			}
		}
	})
}

func writeComparison(t *testing.T, c *reports.Comparison) {
	t.Helper()
	if err := c.WriteMarkdown(io.Discard); err != nil {
		t.Fatalf("Comparison.WriteMarkdown: %v", err)
	}
	if err := c.WriteCSV(io.Discard); err != nil {
		t.Fatalf("Comparison.WriteCSV: %v", err)
	}
	c.ByMetric()
	c.Plot()
}

// hasNaN reports whether any sample of s is NaN.
func hasNaN(s *reports.Set) bool {
	for _, g := range s.Groups {
		for _, vs := range g.Samples {
			if slices.ContainsFunc(vs, math.IsNaN) {
				return true
			}
		}
	}
	return false
}
