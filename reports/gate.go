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
	// of synthetic models and the one-shot figures (MetricInfo.OneShot: one
	// sample per model, which no test can judge).
	Metrics []string
	// AllowMissing lets the gate pass when the new run lacks a benchmark or
	// metric of the old run that it would have checked. By default each such
	// loss fails the gate: a run that drops tokens/s, or a whole model, has
	// not been shown to be no worse.
	AllowMissing bool
}

// checks reports whether the gate judges metric (of a benchmark of a
// synthetic model, or not) with direction better.
func (o GateOptions) checks(metric string, better int, synthetic bool) bool {
	if len(o.Metrics) > 0 {
		return slices.ContainsFunc(o.Metrics, func(n string) bool { return metric == n || Column(metric) == n })
	}
	return better != 0 && !(synthetic && isQuality(metric)) && !IsOneShot(metric)
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
	// Missing are the benchmarks and metrics of the old run that the gate
	// would have checked and the new run lacks: each fails the gate unless
	// Options.AllowMissing.
	Missing []Missing
	// OnlyOld and OnlyNew are everything present on one side only (Missing
	// among them).
	OnlyOld, OnlyNew []Missing
	// Warnings are statistical notes, such as samples too small to ever
	// detect a difference.
	Warnings []string
}

// Pass reports whether there is no regression and nothing checked is
// missing (or missing is allowed).
func (v *Verdict) Pass() bool {
	return len(v.Regressions) == 0 && (len(v.Missing) == 0 || v.Options.AllowMissing)
}

// failsMissing reports whether Missing fails the verdict.
func (v *Verdict) failsMissing() bool { return len(v.Missing) > 0 && !v.Options.AllowMissing }

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
// than opts.MaxRegression; a checked metric or benchmark of the old run that
// the new run lacks is Missing. It returns an error wrapping ErrMetric when a
// requested metric is in neither input or has no direction, or when no
// metric can be checked, and one wrapping ErrSamples when the samples are too
// small for any checked comparison to be significant (unless something
// missing already fails the gate).
func (c *Comparison) Gate(opts GateOptions) (*Verdict, error) {
	if opts.MaxRegression <= 0 {
		opts.MaxRegression = DefaultMaxRegression
	}
	v := &Verdict{Options: opts, Old: c.Old, New: c.New, OnlyOld: c.OnlyOld, OnlyNew: c.OnlyNew}
	for _, name := range opts.Metrics {
		is := func(metric string) bool { return metric == name || Column(metric) == name }
		i := slices.IndexFunc(c.Deltas, func(d Delta) bool { return is(d.Metric) })
		j := slices.IndexFunc(c.OnlyOld, func(m Missing) bool { return is(m.Metric) })
		switch {
		case i < 0 && j < 0:
			return nil, fmt.Errorf("%s: not in both %s and %s: %w", name, base(c.Old), base(c.New), ErrMetric)
		case i >= 0 && c.Deltas[i].Better == 0:
			return nil, fmt.Errorf("%s: no direction; add a line `Unit %s better=higher` (or lower) to the benchmark output: %w",
				name, c.Deltas[i].Metric, ErrMetric)
		}
	}
	for _, d := range c.Deltas {
		if !opts.checks(d.Metric, d.Better, d.Synthetic) {
			continue
		}
		v.Checked = append(v.Checked, d)
		if v.regression(d) {
			v.Regressions = append(v.Regressions, d)
		}
	}
	for _, m := range c.OnlyOld {
		if opts.checks(m.Metric, m.Better, m.Synthetic) {
			v.Missing = append(v.Missing, m)
		}
	}
	cc := Comparison{Deltas: v.Checked}
	v.Warnings = cc.notes()
	if v.failsMissing() {
		return v, nil
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
	return v, nil
}

// WriteMarkdown writes the verdict as markdown fit for $GITHUB_STEP_SUMMARY:
// a PASS/FAIL heading, the rule, a table of each regression with old and new
// medians, delta, p and n, the benchmarks compared on one side only, the
// warnings, and every checked comparison in a collapsed section.
func (v *Verdict) WriteMarkdown(w io.Writer) error {
	bw := bufio.NewWriter(w)
	fmt.Fprintf(bw, "## Benchmark gate: %s\n", v.Headline())
	metrics := []string{}
	for _, d := range v.Checked {
		if !slices.Contains(metrics, d.Metric) {
			metrics = append(metrics, d.Metric)
		}
	}
	checked := "Checked nothing in common."
	if len(metrics) > 0 {
		checked = fmt.Sprintf("Checked %s of %s: %s.", plural(len(v.Checked), "comparison"),
			plural(len(metrics), "metric"), "`"+strings.Join(metrics, "`, `")+"`")
	}
	fmt.Fprintf(bw, "\n%s (new) against %s (old). A regression is a change worse by more than %s in the metric's bad direction "+
		"with p < %.2f (Mann-Whitney U test, as benchstat). %s\n",
		base(v.New), base(v.Old), trimPct(v.Options.MaxRegression*100), Alpha, checked)

	if len(v.Regressions) > 0 {
		fmt.Fprintln(bw)
		writeDeltaTable(bw, v.Regressions, nil)
	}
	if len(v.Missing) > 0 {
		if v.Options.AllowMissing {
			fmt.Fprintf(bw, "\nMissing from %s, allowed by `--allow-missing`:\n\n", base(v.New))
		} else {
			fmt.Fprintf(bw, "\nMissing from %s, each a failure (`--allow-missing` lets them pass):\n\n", base(v.New))
		}
		writeMissing(bw, v.Missing, base(v.Old))
	}
	rest := slices.DeleteFunc(slices.Clone(v.OnlyOld), func(m Missing) bool {
		return slices.ContainsFunc(v.Missing, func(n Missing) bool {
			return n.ID() == m.ID() && (n.Metric == m.Metric || n.Whole && m.Whole)
		})
	})
	if len(rest)+len(v.OnlyNew) > 0 {
		fmt.Fprintln(bw, "\nNot compared (not checked):")
		fmt.Fprintln(bw)
		writeMissing(bw, rest, base(v.Old))
		writeMissing(bw, v.OnlyNew, base(v.New))
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

// Headline is "PASS", or "FAIL, " with the count of regressions and of what
// is missing from the new run: "FAIL, 2 regressions", "FAIL, 1 benchmark and
// 1 metric missing".
func (v *Verdict) Headline() string {
	if v.Pass() {
		return "PASS"
	}
	var parts []string
	if len(v.Regressions) > 0 {
		parts = append(parts, plural(len(v.Regressions), "regression"))
	}
	if v.failsMissing() {
		var whole, metrics []string
		for _, m := range v.Missing {
			switch {
			case !m.Whole:
				metrics = append(metrics, m.ID()+" "+m.Metric)
			case !slices.Contains(whole, m.ID()):
				whole = append(whole, m.ID())
			}
		}
		var what []string
		if len(whole) > 0 {
			what = append(what, plural(len(whole), "benchmark"))
		}
		if len(metrics) > 0 {
			what = append(what, plural(len(metrics), "metric"))
		}
		parts = append(parts, strings.Join(what, " and ")+" missing")
	}
	return "FAIL, " + strings.Join(parts, ", ")
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
