package reports

import (
	"bufio"
	"errors"
	"fmt"
	"io"
	"slices"
	"strings"
)

// DefaultMaxRegression is the worsening the gate tolerates by default: 5%.
const DefaultMaxRegression = 0.05

// ErrMetric is returned (wrapped) when a metric the gate was asked to check
// is missing from an input or has no direction, or when there is no metric
// with a direction at all.
var ErrMetric = errors.New("metric unusable for the gate")

// ErrSamples is returned (wrapped) when the samples are too small for any
// checked comparison to ever be significant: such a gate could not fail.
var ErrSamples = errors.New("too few samples for the gate")

// GateOptions configures Gate. The zero value checks every metric with a
// known direction against a 5% threshold.
type GateOptions struct {
	// MaxRegression is the largest tolerated worsening as a fraction: 0.05
	// lets a metric get 5% worse. Zero or less means DefaultMaxRegression; to
	// fail on any significant worsening use a tiny positive value.
	MaxRegression float64
	// Metrics are the metrics to check, by unit ("ttft-ns/op") or results.csv
	// column prefix ("ttft_ns"). Each must be in both inputs and have a
	// direction. Empty means every metric of the comparison with a direction
	// (a `Unit … better=` line, or DefaultBetter), except the quality metrics
	// of synthetic models.
	Metrics []string
}

// A Verdict is the gate's decision.
type Verdict struct {
	// Options are the options in effect (defaults filled in).
	Options GateOptions
	// Old and New name the inputs.
	Old, New string
	// Checked are the comparisons the gate looked at.
	Checked []Delta
	// Regressions are the checked comparisons that are significantly worse
	// (p < Alpha) by more than MaxRegression.
	Regressions []Delta
	// OnlyOld and OnlyNew are benchmarks present on one side only.
	OnlyOld, OnlyNew []string
	// Warnings are statistical notes, such as samples too small to ever
	// detect a difference.
	Warnings []string
}

// Pass reports whether there is no regression.
func (v *Verdict) Pass() bool { return len(v.Regressions) == 0 }

// Gate compares old and new and judges the comparison; see
// Comparison.Gate.
func Gate(old, new *Set, opts GateOptions) (*Verdict, error) {
	c, err := Compare(old, new)
	if err != nil {
		return nil, err
	}
	return c.Gate(opts)
}

// Gate judges c: a regression is a checked metric of a benchmark whose change
// is significant (p < Alpha) and worse, in the metric's bad direction, by more
// than opts.MaxRegression. It returns an error wrapping ErrMetric when a
// requested metric is missing or has no direction, or when no metric can be
// checked.
func (c *Comparison) Gate(opts GateOptions) (*Verdict, error) {
	if opts.MaxRegression <= 0 {
		opts.MaxRegression = DefaultMaxRegression
	}
	v := &Verdict{Options: opts, Old: c.Old, New: c.New, OnlyOld: c.OnlyOld, OnlyNew: c.OnlyNew}
	match := func(d Delta, name string) bool { return d.Metric == name || Column(d.Metric) == name }
	for _, name := range opts.Metrics {
		i := slices.IndexFunc(c.Deltas, func(d Delta) bool { return match(d, name) })
		if i < 0 {
			return nil, fmt.Errorf("%s: not in both %s and %s: %w", name, base(c.Old), base(c.New), ErrMetric)
		}
		if c.Deltas[i].Better == 0 {
			return nil, fmt.Errorf("%s: no direction; add a line `Unit %s better=higher` (or lower) to the benchmark output: %w",
				name, c.Deltas[i].Metric, ErrMetric)
		}
	}
	for _, d := range c.Deltas {
		if len(opts.Metrics) > 0 {
			if !slices.ContainsFunc(opts.Metrics, func(n string) bool { return match(d, n) }) {
				continue
			}
		} else if d.Better == 0 || d.Synthetic && isQuality(d.Metric) {
			continue
		}
		v.Checked = append(v.Checked, d)
		if v.regression(d) {
			v.Regressions = append(v.Regressions, d)
		}
	}
	if len(v.Checked) == 0 {
		return nil, fmt.Errorf("%s vs %s: no metric with a direction (better=higher or lower) to check: %w",
			base(c.Old), base(c.New), ErrMetric)
	}
	if !slices.ContainsFunc(v.Checked, Delta.Detectable) {
		d := v.Checked[0]
		return nil, fmt.Errorf("%s vs %s: with %d+%d samples no difference can be significant (smallest p %.3f); run at least 4 iterations per side: %w",
			base(c.Old), base(c.New), d.Old.N, d.New.N, minP(d.Old.N, d.New.N), ErrSamples)
	}
	cc := Comparison{Deltas: v.Checked}
	v.Warnings = cc.notes()
	return v, nil
}

// WriteMarkdown writes the verdict as markdown fit for $GITHUB_STEP_SUMMARY:
// a PASS/FAIL heading, the rule, a table of each regression with old and new
// medians, delta, p and n, the benchmarks compared on one side only, the
// warnings, and every checked comparison in a collapsed section.
func (v *Verdict) WriteMarkdown(w io.Writer) error {
	bw := bufio.NewWriter(w)
	if v.Pass() {
		fmt.Fprintln(bw, "## Benchmark gate: PASS")
	} else {
		s := "s"
		if len(v.Regressions) == 1 {
			s = ""
		}
		fmt.Fprintf(bw, "## Benchmark gate: FAIL, %d regression%s\n", len(v.Regressions), s)
	}
	metrics := []string{}
	for _, d := range v.Checked {
		if !slices.Contains(metrics, d.Metric) {
			metrics = append(metrics, d.Metric)
		}
	}
	fmt.Fprintf(bw, "\n%s (new) against %s (old). A regression is a change worse by more than %s in the metric's bad direction "+
		"with p < %.2f (Mann-Whitney U test, as benchstat). Checked %s of %s: %s.\n",
		base(v.New), base(v.Old), trimPct(v.Options.MaxRegression*100), Alpha, plural(len(v.Checked), "comparison"),
		plural(len(metrics), "metric"), "`"+strings.Join(metrics, "`, `")+"`")

	if !v.Pass() {
		fmt.Fprintln(bw)
		writeDeltaTable(bw, v.Regressions, nil)
	}
	if len(v.OnlyOld)+len(v.OnlyNew) > 0 {
		fmt.Fprintln(bw, "\nNot compared:")
		fmt.Fprintln(bw)
		for _, id := range v.OnlyOld {
			fmt.Fprintf(bw, "- %s: only in %s\n", mdEscape(id), base(v.Old))
		}
		for _, id := range v.OnlyNew {
			fmt.Fprintf(bw, "- %s: only in %s\n", mdEscape(id), base(v.New))
		}
	}
	if len(v.Warnings) > 0 {
		fmt.Fprintln(bw, "\nWarnings:")
		fmt.Fprintln(bw)
		for _, w := range v.Warnings {
			fmt.Fprintf(bw, "- %s\n", w)
		}
	}
	fmt.Fprintf(bw, "\n<details><summary>All checked comparisons (%d)</summary>\n\n", len(v.Checked))
	writeDeltaTable(bw, v.Checked, func(d Delta) string {
		if v.regression(d) {
			return "**regression**"
		}
		return d.Verdict()
	})
	fmt.Fprintln(bw, "\n</details>")
	return bw.Flush()
}

// regression is the gate's rule.
func (v *Verdict) regression(d Delta) bool {
	return d.Significant && d.Worsening() > v.Options.MaxRegression
}

func plural(n int, noun string) string {
	if n == 1 {
		return "1 " + noun
	}
	return fmt.Sprintf("%d %ss", n, noun)
}

// trimPct formats a percentage without trailing zeros: 5%, 2.5%.
func trimPct(p float64) string {
	return strings.TrimSuffix(strings.TrimRight(fmt.Sprintf("%.2f", p), "0"), ".") + "%"
}

func writeDeltaTable(w io.Writer, ds []Delta, verdict func(Delta) string) {
	head := "| Benchmark | Metric | Old | New | Delta | p | n |"
	align := "|---|---|--:|--:|--:|--:|--:|"
	if verdict != nil {
		head += " Verdict |"
		align += "---|"
	}
	fmt.Fprintln(w, head)
	fmt.Fprintln(w, align)
	for _, d := range ds {
		fmt.Fprintf(w, "| %s | %s | %s | %s | %s | %.3f | %s |", mdEscape(d.ID()), "`"+d.Metric+"`",
			estCell(d.Metric, d.Old), estCell(d.Metric, d.New), fmtDelta(d), d.P, fmtN(d))
		if verdict != nil {
			fmt.Fprintf(w, " %s |", verdict(d))
		}
		fmt.Fprintln(w)
	}
}
