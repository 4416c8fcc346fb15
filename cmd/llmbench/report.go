package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"strconv"
	"strings"

	"github.com/llmbench/llmbench/reports"
)

func init() {
	commands["report"] = runReport
	commands["compare"] = runCompare
	commands["gate"] = runGate
}

const reportUsage = `usage: llmbench report [-o DIR] FILE…

Reads Go benchmark output (FILE "-" is standard input) and writes DIR/results.csv,
DIR/summary.md, DIR/report.html (one self-contained page) and the plots (PNG and
SVG); prints summary.md. A malformed line is reported as FILE:LINE and skipped.
`

const compareUsage = `usage: llmbench compare [-o DIR] OLD NEW
       llmbench compare [-o DIR] BENCHSTAT.csv

Compares two runs like benchstat (medians, Mann-Whitney U test, p < 0.05) and writes
DIR/compare.csv, DIR/compare.md, DIR/compare.html (with the default gate's verdict)
and DIR/compare.png/.svg; prints compare.md. A single argument is the output of
'benchstat -format csv OLD NEW'.
`

const gateUsage = `usage: llmbench gate [--max-regression 5%] [--metrics M,…] [--allow-missing] OLD NEW
       llmbench gate [flags] BENCHSTAT.csv

Exits 1 when a metric of a benchmark is significantly worse (p < 0.05) by more than
the threshold, or when NEW lacks a benchmark or metric of OLD that the gate checks
(unless --allow-missing); prints a markdown verdict for $GITHUB_STEP_SUMMARY. The
one-shot figures (load-ns, rss-after-load-B: one sample per model) are checked only
when named in --metrics. Exits 2 on unusable input: a missing or malformed file, no
benchmarks in common, a requested metric in neither input, samples too small for any
difference to be significant.
`

// usageErr is a command-line mistake: exit status 2.
func usageErr(format string, args ...any) error {
	return &exitError{code: 2, err: fmt.Errorf(format, args...)}
}

// inputErr is unusable input: exit status 2.
func inputErr(err error) error {
	return &exitError{code: 2, err: err}
}

// newFlags is a FlagSet that reports to stderr and never exits.
func newFlags(name, usage string, stderr io.Writer) *flag.FlagSet {
	fs := flag.NewFlagSet(name, flag.ContinueOnError)
	fs.SetOutput(stderr)
	fs.Usage = func() {
		fmt.Fprint(stderr, usage)
		fmt.Fprintln(stderr, "\nflags:")
		fs.PrintDefaults()
	}
	return fs
}

// parseArgs parses flags placed anywhere among the arguments (the flag package
// alone stops at the first non-flag) and returns the others; everything after
// "--" is an argument.
func parseArgs(fs *flag.FlagSet, args []string) ([]string, error) {
	var rest []string
	if i := indexOf(args, "--"); i >= 0 {
		args, rest = args[:i], args[i+1:]
	}
	var pos []string
	for {
		if err := fs.Parse(args); err != nil {
			if errors.Is(err, flag.ErrHelp) {
				return nil, err
			}
			return nil, &exitError{code: 2}
		}
		args = fs.Args()
		if len(args) == 0 {
			return append(pos, rest...), nil
		}
		pos = append(pos, args[0])
		args = args[1:]
	}
}

func indexOf(ss []string, s string) int {
	for i, x := range ss {
		if x == s {
			return i
		}
	}
	return -1
}

// helpOK turns -h into a clean exit.
func helpOK(err error) error {
	if errors.Is(err, flag.ErrHelp) {
		return nil
	}
	return err
}

func runReport(ctx context.Context, stdout, stderr io.Writer, args []string) error {
	fs := newFlags("report", reportUsage, stderr)
	out := fs.String("o", "outputs", "write the report into `DIR`")
	files, err := parseArgs(fs, args)
	if err != nil {
		return helpOK(err)
	}
	if len(files) == 0 {
		fs.Usage()
		return usageErr("report: no input files")
	}
	for _, f := range files {
		if isCSV, err := benchstatCSV(f); err != nil {
			return inputErr(err)
		} else if isCSV {
			return usageErr("%s is benchstat CSV, which holds a comparison, not samples: use llmbench compare", f)
		}
	}
	set, err := reports.Read(files, stderr)
	if err != nil {
		return inputErr(err)
	}
	written, err := reports.WriteReport(*out, set, stderr)
	if err != nil {
		return err
	}
	if err := printFile(stdout, filepath.Join(*out, reports.SummaryFile)); err != nil {
		return err
	}
	fmt.Fprintf(stderr, "wrote %s\n", strings.Join(written, ", "))
	return nil
}

func runCompare(ctx context.Context, stdout, stderr io.Writer, args []string) error {
	fs := newFlags("compare", compareUsage, stderr)
	out := fs.String("o", "outputs", "write the comparison into `DIR`")
	files, err := parseArgs(fs, args)
	if err != nil {
		return helpOK(err)
	}
	c, err := loadComparison(files, stderr, false)
	if err != nil {
		return err
	}
	written, err := reports.WriteComparison(*out, c, stderr)
	if err != nil {
		return err
	}
	if err := printFile(stdout, filepath.Join(*out, reports.CompareMDFile)); err != nil {
		return err
	}
	fmt.Fprintf(stderr, "wrote %s\n", strings.Join(written, ", "))
	return nil
}

func runGate(ctx context.Context, stdout, stderr io.Writer, args []string) error {
	fs := newFlags("gate", gateUsage, stderr)
	var opts reports.GateOptions
	fs.Func("max-regression", "tolerated worsening: `PCT` like 5% or a fraction like 0.05 (default 5%)", func(s string) error {
		v, err := parseFraction(s)
		opts.MaxRegression = v
		return err
	})
	fs.Func("metrics", "comma-separated `METRICS` to check, as units (ttft-ns/op) or CSV columns (ttft_ns); default: all with a direction", func(s string) error {
		for _, m := range strings.Split(s, ",") {
			if m = strings.TrimSpace(m); m != "" {
				opts.Metrics = append(opts.Metrics, m)
			}
		}
		return nil
	})
	fs.BoolVar(&opts.AllowMissing, "allow-missing", false, "pass even when NEW lacks benchmarks or metrics of OLD that the gate checks (they are listed)")
	files, err := parseArgs(fs, args)
	if err != nil {
		return helpOK(err)
	}
	c, err := loadComparison(files, stderr, true)
	if err != nil {
		return err
	}
	v, err := c.Gate(opts)
	if err != nil {
		return inputErr(err)
	}
	if err := v.WriteMarkdown(stdout); err != nil {
		return err
	}
	for _, w := range v.Warnings {
		fmt.Fprintln(stderr, "warning:", w)
	}
	if !v.Pass() {
		return &exitError{code: 1}
	}
	return nil
}

// loadComparison reads OLD NEW (benchmark output) or one benchstat CSV.
// strict refuses malformed lines instead of skipping them.
func loadComparison(files []string, stderr io.Writer, strict bool) (*reports.Comparison, error) {
	switch len(files) {
	case 1:
		isCSV, err := benchstatCSV(files[0])
		if err != nil {
			return nil, inputErr(err)
		}
		if !isCSV {
			return nil, usageErr("one input must be benchstat CSV ('benchstat -format csv OLD NEW'); %s is not: pass OLD and NEW", files[0])
		}
		f, err := os.Open(files[0])
		if err != nil {
			return nil, inputErr(err)
		}
		defer f.Close()
		c, err := reports.ReadBenchstatCSV(f, files[0])
		if err != nil {
			return nil, inputErr(err)
		}
		return c, nil
	case 2:
	default:
		return nil, usageErr("want OLD NEW (or one benchstat CSV), got %d arguments", len(files))
	}
	var sets [2]*reports.Set
	for i, name := range files {
		isCSV, err := benchstatCSV(name)
		if err != nil {
			return nil, inputErr(err)
		}
		if isCSV {
			return nil, usageErr("%s is benchstat CSV, which already compares two runs: pass it alone", name)
		}
		warn := stderr
		if strict {
			warn = io.Discard // the error below says it
		}
		s, err := reports.Read([]string{name}, warn)
		if err != nil {
			return nil, inputErr(err)
		}
		if strict && len(s.Errors) > 0 {
			more := ""
			if n := len(s.Errors) - 1; n > 0 {
				more = fmt.Sprintf(" (and %d more malformed lines)", n)
			}
			return nil, inputErr(fmt.Errorf("%w%s; the gate refuses malformed input", s.Errors[0], more))
		}
		sets[i] = s
	}
	c, err := reports.Compare(sets[0], sets[1])
	if err != nil {
		return nil, inputErr(err)
	}
	return c, nil
}

// benchstatCSV reports whether the named file is benchstat CSV. "-" (stdin)
// is never.
func benchstatCSV(name string) (bool, error) {
	if name == "-" {
		return false, nil
	}
	data, err := os.ReadFile(name)
	if err != nil {
		return false, err
	}
	return reports.IsBenchstatCSV(data), nil
}

// parseFraction reads "5%" as 0.05 and "0.05" as 0.05.
func parseFraction(s string) (float64, error) {
	s = strings.TrimSpace(s)
	pct := strings.HasSuffix(s, "%")
	v, err := strconv.ParseFloat(strings.TrimSuffix(s, "%"), 64)
	if err != nil {
		return 0, fmt.Errorf("%q: want a percentage like 5%% or a fraction like 0.05", s)
	}
	if pct {
		v /= 100
	} else if v > 1 {
		return 0, fmt.Errorf("%q: a fraction above 1; did you mean %s%%?", s, s)
	}
	if v < 0 {
		return 0, fmt.Errorf("%q: negative", s)
	}
	if v == 0 {
		// Any significant worsening fails.
		v = 1e-12
	}
	return v, nil
}

func printFile(w io.Writer, path string) error {
	data, err := os.ReadFile(path)
	if err != nil {
		return err
	}
	_, err = w.Write(data)
	return err
}
