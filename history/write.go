package history

import (
	"bytes"
	"encoding/csv"
	"fmt"
	"io"
	"math"
	"os"
	"slices"
	"strconv"
	"strings"

	"github.com/llmbench/llmbench/reports"
)

// File names Write writes.
const (
	CSVFile      = "trend.csv"
	MarkdownFile = "trend.md"
)

// Write writes the trend into dir, creating it: trend.csv, trend.md, a plot
// per metric (trend-<column>.png and .svg) and report.html, the newest
// commit's report with a Trend section. It returns the paths written.
func Write(dir string, t *Trend) ([]string, error) {
	if err := os.MkdirAll(dir, 0o755); err != nil {
		return nil, err
	}
	files, err := reports.WriteFiles(dir, []reports.File{{Name: CSVFile, Write: t.WriteCSV},
		{Name: MarkdownFile, Write: t.WriteMarkdown}, {Name: reports.HTMLFile, Write: t.WriteHTML}})
	if err != nil {
		return files, err
	}
	plots, err := reports.SavePlots(dir, t.Plots())
	return append(files, plots...), err
}

// keys are the name keys of every commit's benchmarks, in order first seen.
func (t *Trend) keys() []string {
	var keys []string
	for _, c := range t.Commits {
		for _, k := range c.Set.Keys {
			if !slices.Contains(keys, k) {
				keys = append(keys, k)
			}
		}
	}
	return keys
}

// WriteCSV writes trend.csv: one row per benchmark × metric × commit that
// has it. Columns:
//
//	benchmark, <key>…       as in results.csv (Generate; model, prompt, …)
//	metric, better          the unit as written; higher, lower
//	commit, commit_time     the commit's hash and time (RFC 3339)
//	n, median, ci_low, ci_high   the commit's samples, in the metric's unit
//	ratio, ratio_low, ratio_high  median over the baseline commit's, 95% bootstrap
//	step, step_low, step_high     median over the previous commit's, 95% bootstrap
//	score                   benchseries' change score against the previous commit
//	change                  regression, improvement or change at a change point
//
// Unknown values (no baseline, first point, an interval of fewer than 6
// samples) are empty cells.
func (t *Trend) WriteCSV(w io.Writer) error {
	keys := t.keys()
	cw := csv.NewWriter(w)
	head := append([]string{"benchmark"}, keys...)
	head = append(head, "metric", "better", "commit", "commit_time", "n", "median", "ci_low", "ci_high",
		"ratio", "ratio_low", "ratio_high", "step", "step_low", "step_high", "score", "change")
	if err := cw.Write(head); err != nil {
		return err
	}
	for _, s := range t.Series {
		for _, p := range s.Points {
			c := t.Commits[p.Commit]
			row := []string{s.Group.Benchmark}
			for _, k := range keys {
				row = append(row, s.Group.Get(k))
			}
			row = append(row, s.Metric, reports.BetterWord(s.Better), c.Hash, c.Time.UTC().Format("2006-01-02T15:04:05Z07:00"),
				strconv.Itoa(p.Stats.N), reports.Decimal(p.Stats.Median), reports.Decimal(p.Stats.Lo), reports.Decimal(p.Stats.Hi),
				reports.Decimal(p.Ratio), reports.Decimal(p.RatioLo), reports.Decimal(p.RatioHi), reports.Decimal(p.Step), reports.Decimal(p.StepLo), reports.Decimal(p.StepHi),
				reports.Decimal(p.Score), s.Verdict(p))
			if err := cw.Write(row); err != nil {
				return err
			}
		}
	}
	cw.Flush()
	return cw.Error()
}

// pct writes a ratio as a signed percentage change: 1.15 is +15.0%.
func pct(r float64) string {
	if math.IsNaN(r) || math.IsInf(r, 0) {
		return "–"
	}
	return fmt.Sprintf("%+.1f%%", (r-1)*100)
}

// lead says what the numbers are.
func (t *Trend) lead() string {
	b := t.Commits[t.Baseline]
	return fmt.Sprintf("Baseline: commit %d, %s (%s). Each point is benchseries' bootstrapped estimate of a commit's "+
		"median over the baseline commit's, with its 95%% interval. A change point is a commit whose interval is "+
		"disjoint from the previous commit's (benchseries' change score, |score| ≥ %s); its step is its median over "+
		"the previous commit's, with its own 95%% interval.", t.Baseline+1, b.Short(), b.Time.UTC().Format("2006-01-02 15:04"),
		strconv.FormatFloat(t.MinScore, 'g', -1, 64))
}

// changeRows are the change points as table rows: #, commit, benchmark,
// metric, step, interval, score, verdict.
func (t *Trend) changeRows() [][]string {
	var rows [][]string
	for _, c := range t.Changes() {
		p := c.Point
		rows = append(rows, []string{strconv.Itoa(p.Commit + 1), t.Commits[p.Commit].Short(), c.Series.Benchmark,
			reports.Title(c.Series.Metric), pct(p.Step), pct(p.StepLo) + " … " + pct(p.StepHi),
			fmt.Sprintf("%.2f", p.Score), c.Series.Verdict(p)})
	}
	return rows
}

var changeHead = []string{"#", "commit", "benchmark", "metric", "step", "95% interval", "score", "verdict"}

// commitRows are the commits as table rows: #, commit, time, uploads, results.
func (t *Trend) commitRows() [][]string {
	var rows [][]string
	for i, c := range t.Commits {
		rows = append(rows, []string{strconv.Itoa(i + 1), c.Short(), c.Time.UTC().Format("2006-01-02 15:04"),
			strconv.Itoa(len(c.Uploads)), strconv.Itoa(c.Set.Results)})
	}
	return rows
}

var commitHead = []string{"#", "commit", "time", "runs", "results"}

// synthetic names the synthetic models of the history.
func (t *Trend) synthetic() []string {
	var names []string
	for _, c := range t.Commits {
		for _, g := range c.Set.Groups {
			if g.Synthetic && !slices.Contains(names, g.Model()) {
				names = append(names, g.Model())
			}
		}
	}
	return names
}

// WriteMarkdown writes trend.md: the synthetic banner when it applies, what
// the numbers are, the change points, the commits and the plots.
func (t *Trend) WriteMarkdown(w io.Writer) error {
	var b bytes.Buffer
	fmt.Fprintf(&b, "# Trend over %d commits\n\n", len(t.Commits))
	if names := t.synthetic(); len(names) > 0 {
		fmt.Fprintf(&b, reports.SyntheticBanner+"\n\n", strings.Join(names, ", "))
	}
	fmt.Fprintf(&b, "%s\n\n", t.lead())
	rows := t.changeRows()
	fmt.Fprintf(&b, "## Change points: %d\n\n", len(rows))
	if len(rows) == 0 {
		b.WriteString("None: no commit's interval is disjoint from the previous commit's.\n\n")
	} else {
		mdTable(&b, changeHead, rows)
	}
	b.WriteString("## Commits\n\n")
	mdTable(&b, commitHead, t.commitRows())
	for _, p := range t.Plots() {
		fmt.Fprintf(&b, "![%s](%s.png)\n", p.Title, p.Name)
	}
	_, err := w.Write(b.Bytes())
	return err
}

func mdTable(b *bytes.Buffer, head []string, rows [][]string) {
	fmt.Fprintf(b, "| %s |\n|%s\n", strings.Join(head, " | "), strings.Repeat("---|", len(head)))
	for _, r := range rows {
		fmt.Fprintf(b, "| %s |\n", strings.Join(r, " | "))
	}
	b.WriteString("\n")
}

// Plots are the trend plots, one per metric: each benchmark's ratio to the
// baseline over the commits, coloured by model, change points ringed.
func (t *Trend) Plots() []reports.Plot {
	var metrics []string
	for _, s := range t.Series {
		if !slices.Contains(metrics, s.Metric) {
			metrics = append(metrics, s.Metric)
		}
	}
	labels := make([]string, len(t.Commits))
	for i, c := range t.Commits {
		labels[i] = c.Short()
	}
	var plots []reports.Plot
	for _, m := range metrics {
		p := reports.Plot{Name: "trend-" + reports.Column(m), Title: reports.Title(m) + " over commits",
			Subtitle: fmt.Sprintf("median ÷ baseline commit %s's, whiskers: 95%% bootstrap interval; %s is better",
				t.Commits[t.Baseline].Short(), reports.BetterWord(reports.DefaultBetter(m))),
			XLabel: "commit (oldest first)", YLabel: "ratio to the baseline commit", Labels: labels, Kind: reports.Trend}
		var models []string
		for _, s := range t.Series {
			if s.Metric != m {
				continue
			}
			ps := reports.Series{}
			model := s.Group.Model()
			if !slices.Contains(models, model) {
				models = append(models, model)
				ps.Name = model
				if s.Group.Synthetic {
					ps.Name += " (synthetic)"
				}
			}
			ps.Color = slices.Index(models, model)
			for _, pt := range s.Points {
				x := float64(pt.Commit + 1)
				ps.X = append(ps.X, x)
				ps.Values = append(ps.Values, pt.Ratio)
				ps.Lo = append(ps.Lo, pt.RatioLo)
				ps.Hi = append(ps.Hi, pt.RatioHi)
				if pt.Change {
					p.Marks = append(p.Marks, reports.Mark{X: x, Y: pt.Ratio})
				}
			}
			p.Series = append(p.Series, ps)
		}
		plots = append(plots, p)
	}
	return plots
}

// WriteHTML writes report.html: the newest commit's report (reports'
// page) with a Trend section: what the numbers are, the change points,
// the commits and the trend plots.
func (t *Trend) WriteHTML(w io.Writer) error {
	newest := t.Commits[len(t.Commits)-1].Set
	rows := t.changeRows()
	changes := reports.HTMLTable{Title: fmt.Sprintf("Change points: %d", len(rows)), Head: changeHead,
		Align: []bool{true, false, false, false, true, true, true, false}, Rows: rows}
	if len(rows) == 0 {
		changes.Note = "None: no commit's interval is disjoint from the previous commit's."
	}
	sec := reports.HTMLSection{ID: "trend", Title: fmt.Sprintf("Trend over %d commits", len(t.Commits)),
		Notes: []string{t.lead()},
		Tables: []reports.HTMLTable{changes, {Title: "Commits", Head: commitHead,
			Align: []bool{true, false, false, true, true}, Rows: t.commitRows()}},
		Plots: t.Plots()}
	return reports.WriteHTMLSections(w, newest, reports.Plots(newest), []reports.HTMLSection{sec})
}
