package reports

import (
	"bufio"
	"fmt"
	"io"
	"path/filepath"
	"slices"
	"strings"
)

// speedMetrics are the columns of the speed and memory tables, when present.
var speedMetrics = []string{
	"ns/op", "ttft-ns/op", "tpot-ns/op", "itl-p50-ns", "itl-p99-ns",
	"tokens/s", "prompt-tokens/s",
	"peak-rss-B", "peak-vram-B", "J/token",
}

// loadMetrics are the columns of a load sweep's table, when present.
var loadMetrics = []string{
	"ns/op", "ttft-ns/op", "tpot-ns/op", "tokens/s", "req/s", "goodput-req/s", "error-rate",
	"ttft-p50-ns", "ttft-p99-ns", "tpot-p50-ns", "tpot-p99-ns", "itl-p99-ns", "e2e-p50-ns", "e2e-p99-ns",
	"lag-p99-ns", "peak-rss-B", "peak-vram-B",
}

// SyntheticBanner opens summary.md when any model is synthetic.
const SyntheticBanner = "> **Synthetic models** (marked *synthetic*): %s. Their weights are random: " +
	"they measure speed and memory faithfully, but the text they produce is meaningless, " +
	"so their quality metrics mean nothing."

// WriteSummary writes summary.md: the synthetic-model banner when it applies,
// then for each benchmark a table of every model (the prompts averaged: the
// mean of the per-prompt medians) with latency, TTFT, TPOT, tokens/s, peak RAM
// and GPU memory, a quality table, and the same per prompt; then the plots.
// Cells are medians in human units with benchstat's ± (the 95% confidence
// interval); "±∞" means fewer than 6 samples. plots may be nil.
func WriteSummary(w io.Writer, s *Set, plots []Plot) error {
	bw := bufio.NewWriter(w)
	fmt.Fprintln(bw, "# Benchmark summary")
	fmt.Fprintln(bw)
	var synth []string
	for _, g := range s.Groups {
		if g.Synthetic && !slices.Contains(synth, g.Model()) {
			synth = append(synth, g.Model())
		}
	}
	if len(synth) > 0 {
		fmt.Fprintf(bw, SyntheticBanner+"\n\n", strings.Join(synth, ", "))
	}
	names := make([]string, len(s.Files))
	for i, f := range s.Files {
		names[i] = filepath.Base(f)
	}
	fmt.Fprintf(bw, "Input: %s (%d results). Each cell is a median in human units with the half-width "+
		"of its 95%% confidence interval (±∞: fewer than 6 samples); rows per model average their "+
		"prompts (mean of the per-prompt medians and bounds). Every metric, in its benchmark unit, is in results.csv.\n",
		strings.Join(names, ", "), s.Results)

	avg, per := s.Averaged("prompt"), s.Rows()
	for _, b := range s.benchmarks() {
		fmt.Fprintf(bw, "\n## %s\n", b)
		for _, t := range summaryTables(s, avg, per, b) {
			fmt.Fprintf(bw, "\n### %s\n\n", t.title)
			if t.note != "" {
				fmt.Fprintf(bw, "%s\n\n", t.note)
			}
			writeTable(bw, t.rows, t.keys, t.metrics)
		}
	}

	if len(plots) > 0 {
		fmt.Fprintln(bw, "\n## Plots")
		fmt.Fprintln(bw)
		for _, p := range plots {
			if p.Skipped != "" {
				fmt.Fprintf(bw, "- %s: not drawn, %s.\n", p.Title, p.Skipped)
			}
		}
		for _, p := range plots {
			if p.Skipped == "" {
				fmt.Fprintf(bw, "\n![%s](%s.png)\n", p.Title, p.Name)
			}
		}
	}
	return bw.Flush()
}

// rowKeys are the name keys that the rows use, in Set order.
func rowKeys(s *Set, rows []Row) []string {
	var keys []string
	for _, k := range s.Keys {
		if slices.ContainsFunc(rows, func(r Row) bool { return r.Group.Get(k) != "" }) {
			keys = append(keys, k)
		}
	}
	return keys
}

// A table is one table of a report.
type table struct {
	title, note string
	// keys are the name keys of the row label columns; metrics the value
	// columns.
	keys, metrics []string
	rows          []Row
}

// summaryTables are the tables of benchmark b: by model (the prompts
// averaged, rows from avg) with speed and memory, then quality; the same by
// prompt (from per) when there are prompts; then one per stage (the
// one-shot figures once per model). A table without columns is left out.
func summaryTables(s *Set, avg, per []Row, b string) []table {
	var out []table
	rows, stageRows := splitStages(bench(avg, b))
	hasPrompt := slices.ContainsFunc(s.Groups, func(g *Group) bool { return g.Benchmark == b && g.Get("prompt") != "" })
	add := func(title string, rows []Row) {
		keys := rowKeys(s, rows)
		speed, quality := tableMetrics(rows)
		if len(speed) > 0 {
			out = append(out, table{title: title, keys: keys, metrics: speed, rows: rows})
		}
		if len(quality) > 0 {
			out = append(out, table{title: title + ": quality", keys: keys, metrics: quality, rows: rows})
		}
	}
	if len(rows) > 0 {
		title := "By " + strings.Join(rowKeys(s, rows), " and ")
		if hasPrompt {
			title += " (prompts averaged)"
		}
		add(title, rows)
	}
	if hasPrompt {
		prows, _ := splitStages(bench(per, b))
		add("By prompt", prows)
	}
	for _, stage := range stages(stageRows) {
		srows := slices.DeleteFunc(slices.Clone(stageRows), func(r Row) bool { return r.Group.Stage() != stage })
		out = append(out, table{
			title:   "Once per model: " + stage,
			note:    "Measured once per model load (n: the loads), not per case; the gate leaves them out unless named in --metrics.",
			keys:    slices.DeleteFunc(rowKeys(s, srows), func(k string) bool { return k == StageKey }),
			metrics: rowMetrics(srows),
			rows:    srows,
		})
	}
	return out
}

// tableMetrics are the speed and memory columns (speedMetrics, loadMetrics for
// a load sweep, embedMetrics for embeddings) and the quality columns that rows
// have.
func tableMetrics(rows []Row) (speed, quality []string) {
	list := speedMetrics
	switch {
	case sweepKey(rows) != "":
		list = loadMetrics
	case has(rows, "inputs/s"):
		list = embedMetrics
	}
	for _, m := range list {
		if has(rows, m) {
			speed = append(speed, m)
		}
	}
	for _, mi := range KnownMetrics {
		if mi.Quality && has(rows, mi.Unit) {
			quality = append(quality, mi.Unit)
		}
	}
	return speed, quality
}

func writeTable(w io.Writer, rows []Row, keys, metrics []string) {
	head := make([]string, 0, len(keys)+len(metrics)+1)
	align := make([]string, 0, cap(head))
	for _, k := range keys {
		head = append(head, headKey(k))
		align = append(align, "---")
	}
	head = append(head, "n")
	align = append(align, "--:")
	for _, m := range metrics {
		head = append(head, columnTitle(m, rows))
		align = append(align, "--:")
	}
	fmt.Fprintf(w, "| %s |\n|%s|\n", strings.Join(head, " | "), strings.Join(align, "|"))
	for _, r := range rows {
		cells := make([]string, 0, len(head))
		for i, k := range keys {
			v := mdEscape(r.Group.Get(k))
			if i == 0 && k == "model" && r.Group.Synthetic {
				v += " *(synthetic)*"
			}
			cells = append(cells, v)
		}
		n := 0
		for _, m := range metrics {
			n = max(n, r.Est[m].N)
		}
		cells = append(cells, fmt.Sprint(n))
		for _, m := range metrics {
			e, ok := r.Est[m]
			if !ok {
				cells = append(cells, "")
				continue
			}
			cells = append(cells, Human(m, e.Center)+" "+Stats{Median: e.Center, Lo: e.Lo, Hi: e.Hi}.pctRange())
		}
		fmt.Fprintf(w, "| %s |\n", strings.Join(cells, " | "))
	}
}

// columnTitle heads a table column of metric: its title, with the unit when
// the cells show bare numbers of a unit the title does not name. In the rows
// of a load sweep, tokens/s is output tokens over the wall time of the run,
// not a decode rate.
func columnTitle(metric string, rows []Row) string {
	if metric == "tokens/s" && sweepKey(rows) != "" {
		return "Output tokens/s"
	}
	if u := plainUnit(metric); u != "" {
		return Title(metric) + " (" + u + ")"
	}
	return Title(metric)
}

// plainUnit is the unit to show in a header for a metric Human prints bare.
func plainUnit(m string) string {
	switch m {
	case "J/token":
		return "J/token"
	case "avg-power-W":
		return "W"
	}
	return ""
}

func headKey(k string) string {
	if k == "" {
		return k
	}
	return strings.ToUpper(k[:1]) + k[1:]
}

// mdEscape keeps a value from breaking a markdown table.
func mdEscape(s string) string {
	return strings.NewReplacer("|", `\|`, "*", `\*`, "_", `\_`).Replace(s)
}
