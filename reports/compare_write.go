package reports

import (
	"bufio"
	"encoding/csv"
	"fmt"
	"io"
	"math"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
)

// Comparison file names.
const (
	CompareCSVFile = "compare.csv"
	CompareMDFile  = "compare.md"
)

func betterWord(b int) string {
	switch {
	case b > 0:
		return "higher"
	case b < 0:
		return "lower"
	}
	return ""
}

// keys returns the name keys of the deltas in first-seen order.
func (c *Comparison) keys() []string {
	var keys []string
	for _, d := range c.Deltas {
		for _, l := range d.Labels {
			if !slices.Contains(keys, l.Key) {
				keys = append(keys, l.Key)
			}
		}
	}
	return keys
}

// WriteCSV writes compare.csv: one row per benchmark × metric. Columns:
//
//	benchmark, <key>…            as in results.csv (model, prompt, …)
//	metric                       the unit as written: ttft-ns/op
//	better                       higher, lower or empty (unknown)
//	old_n, old_median, old_ci_low, old_ci_high   in the metric's unit
//	new_n, new_median, new_ci_low, new_ci_high
//	change_pct                   (new/old − 1) × 100 of the medians
//	change_ci_low_pct, change_ci_high_pct        conservative bounds
//	p                            Mann-Whitney U p-value (0: exact unit)
//	verdict                      better, worse, changed, same or ~
//
// Unknown values (intervals of fewer than 6 samples) are empty cells.
func (c *Comparison) WriteCSV(w io.Writer) error {
	cw := csv.NewWriter(w)
	keys := c.keys()
	head := append([]string{"benchmark"}, keys...)
	head = append(head, "metric", "better",
		"old_n", "old_median", "old_ci_low", "old_ci_high",
		"new_n", "new_median", "new_ci_low", "new_ci_high",
		"change_pct", "change_ci_low_pct", "change_ci_high_pct", "p", "verdict")
	if err := cw.Write(head); err != nil {
		return err
	}
	for _, d := range c.Deltas {
		g := Group{Labels: d.Labels}
		row := []string{d.Benchmark}
		for _, k := range keys {
			row = append(row, g.Get(k))
		}
		row = append(row, d.Metric, betterWord(d.Better),
			strconv.Itoa(d.Old.N), num(d.Old.Center), num(d.Old.Lo), num(d.Old.Hi),
			strconv.Itoa(d.New.N), num(d.New.Center), num(d.New.Lo), num(d.New.Hi),
			pctNum(d.Change), pctNum(d.ChangeLo), pctNum(d.ChangeHi),
			strconv.FormatFloat(d.P, 'f', -1, 64), d.Verdict())
		if err := cw.Write(row); err != nil {
			return err
		}
	}
	cw.Flush()
	return cw.Error()
}

// pctNum is 100·v rounded to 4 decimals; "" for NaN and ±Inf.
func pctNum(v float64) string {
	if !finite(v) {
		return ""
	}
	return strconv.FormatFloat(math.Round(v*1e6)/1e4, 'f', -1, 64)
}

// fmtDelta is benchstat's delta cell: "~" when not significant, else the
// signed percent change ("?" when the old median is 0).
func fmtDelta(d Delta) string {
	switch {
	case !d.Significant:
		return "~"
	case d.Change == 0:
		return "0.00%"
	case math.IsNaN(d.Change):
		return "?"
	}
	return fmt.Sprintf("%+.2f%%", d.Change*100)
}

func fmtN(d Delta) string {
	if d.Old.N == d.New.N {
		return strconv.Itoa(d.Old.N)
	}
	return fmt.Sprintf("%d+%d", d.Old.N, d.New.N)
}

func estCell(metric string, e Estimate) string {
	return Human(metric, e.Center) + " " + Stats{Median: e.Center, Lo: e.Lo, Hi: e.Hi}.pctRange()
}

func metricHeading(metric string, better int) string {
	h := Title(metric)
	if h != metric {
		h += " (" + metric + ")"
	}
	switch better {
	case 1:
		h += ", higher is better"
	case -1:
		h += ", lower is better"
	}
	return h
}

// WriteMarkdown writes compare.md: an overview per metric (geomean change,
// counts of significantly better and worse benchmarks), then a table per
// metric with old and new medians ±CI, the change ("~": not significant at
// p < 0.05) and the p-value, then benchmarks found on one side only and the
// statistical warnings.
func (c *Comparison) WriteMarkdown(w io.Writer) error {
	bw := bufio.NewWriter(w)
	fmt.Fprintf(bw, "# Comparison: %s vs %s\n\n", base(c.New), base(c.Old))
	fmt.Fprintf(bw, "Medians with the half-width of their 95%% confidence interval (±∞: fewer than 6 samples). "+
		"Delta is new/old − 1 when the Mann-Whitney U test gives p < %.2f, as benchstat; ~ otherwise.", Alpha)
	if c.FromBenchstat {
		fmt.Fprint(bw, " Read from benchstat CSV: its p-values and intervals, rounded.")
	}
	fmt.Fprintln(bw)
	fmt.Fprintln(bw, "\n## Overview")
	fmt.Fprintln(bw)
	fmt.Fprintln(bw, "| Metric | Better is | Benchmarks | Worse | Better | Geomean change |")
	fmt.Fprintln(bw, "|---|---|--:|--:|--:|--:|")
	for _, mc := range c.ByMetric() {
		geo := "–"
		if !math.IsNaN(mc.Geomean) {
			geo = fmt.Sprintf("%+.2f%%", mc.Geomean*100)
		}
		better := betterWord(mc.Better)
		if better == "" {
			better = "?"
		}
		fmt.Fprintf(bw, "| %s | %s | %d | %d | %d | %s |\n", metricName(mc.Metric), better,
			mc.NBetter+mc.NWorse+mc.NOther, mc.NWorse, mc.NBetter, geo)
	}
	for _, mc := range c.ByMetric() {
		metric := mc.Metric
		fmt.Fprintf(bw, "\n## %s\n\n", metricHeading(metric, mc.Better))
		fmt.Fprintln(bw, "| Benchmark | Old | New | Delta | p | n |")
		fmt.Fprintln(bw, "|---|--:|--:|--:|--:|--:|")
		for _, d := range c.Deltas {
			if d.Metric != metric {
				continue
			}
			delta := fmtDelta(d)
			if v := d.Verdict(); v == "better" || v == "worse" {
				delta += " (" + v + ")"
			}
			fmt.Fprintf(bw, "| %s | %s | %s | %s | %.3f | %s |\n", mdEscape(d.ID()),
				estCell(metric, d.Old), estCell(metric, d.New), delta, d.P, fmtN(d))
		}
	}
	if len(c.OnlyOld)+len(c.OnlyNew) > 0 {
		fmt.Fprintln(bw, "\n## Not compared")
		fmt.Fprintln(bw)
		writeMissing(bw, c.OnlyOld, base(c.Old))
		writeMissing(bw, c.OnlyNew, base(c.New))
	}
	if notes := c.notes(); len(notes) > 0 {
		fmt.Fprintln(bw, "\n## Notes")
		fmt.Fprintln(bw)
		for _, n := range notes {
			fmt.Fprintf(bw, "- %s\n", n)
		}
	}
	return bw.Flush()
}

// writeMissing lists ms, what only side has, as markdown items: a whole
// benchmark once, a metric of a benchmark both sides have on its own.
func writeMissing(w io.Writer, ms []Missing, side string) {
	for _, l := range missingLines(ms, side) {
		fmt.Fprintf(w, "- %s\n", l)
	}
}

// missingLines words ms, what only side has, one line per whole benchmark
// and per metric of a benchmark both sides have, in markdown.
func missingLines(ms []Missing, side string) []string {
	var out []string
	whole := map[string]bool{}
	for _, m := range ms {
		id := m.ID()
		switch {
		case !m.Whole:
			out = append(out, fmt.Sprintf("%s: `%s` only in %s", mdEscape(id), m.Metric, side))
		case !whole[id]:
			whole[id] = true
			out = append(out, fmt.Sprintf("%s: only in %s", mdEscape(id), side))
		}
	}
	return out
}

func metricName(m string) string {
	if t := Title(m); t != m {
		return t + " (" + m + ")"
	}
	return m
}

// notes are the distinct warnings with how many comparisons they concern.
func (c *Comparison) notes() []string {
	count := map[string]int{}
	var order []string
	for _, d := range c.Deltas {
		for _, w := range d.Warnings {
			if count[w] == 0 {
				order = append(order, w)
			}
			count[w]++
		}
	}
	out := make([]string, len(order))
	for i, w := range order {
		out[i] = fmt.Sprintf("%s (%d of %d comparisons)", w, count[w], len(c.Deltas))
	}
	return out
}

// base shortens comma-separated paths to their file names.
func base(paths string) string {
	parts := strings.Split(paths, ",")
	for i, p := range parts {
		parts[i] = filepath.Base(p)
	}
	return strings.Join(parts, ",")
}
