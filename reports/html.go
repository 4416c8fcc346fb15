package reports

import (
	"bufio"
	"bytes"
	_ "embed"
	"fmt"
	"html/template"
	"io"
	"math"
	"path/filepath"
	"slices"
	"strconv"
	"strings"

	"gonum.org/v1/plot/vg/draw"
	"gonum.org/v1/plot/vg/vgsvg"
)

// HTML report file names.
const (
	HTMLFile        = "report.html"
	CompareHTMLFile = "compare.html"
)

// SyntheticNotice is the banner of an HTML page about synthetic models.
const SyntheticNotice = "Random weights: speed and memory are faithful, the text is meaningless."

//go:embed html.tmpl
var htmlTemplate string

var pageTemplate = template.Must(template.New("page").Parse(htmlTemplate))

// A page is what html.tmpl renders: one self-contained document.
type page struct {
	Title, Lead string
	// Synthetic names the synthetic models; empty when there are none.
	Synthetic []string
	Notice    string
	// Facts are the configuration lines every result shares (machine and
	// engine); Models the ones that differ, a row per model.
	Facts  [][2]string
	Models *htmlTable
	// Verdict is the gate's, for a comparison.
	Verdict  *htmlVerdict
	Sections []htmlSection
}

type htmlSection struct {
	ID, Title string
	Tables    []htmlTable
	Plots     []htmlPlot
	// Lists are notes in bullets, such as what one side lacks.
	Lists []htmlList
}

type htmlList struct {
	Title string
	Items []string
}

type htmlTable struct {
	Title, Note string
	Head        []string
	// Align marks the numeric columns (right-aligned).
	Align []bool
	Rows  [][]htmlCell
}

// An htmlCell is a table cell: Text, then Sub in small type (the interval),
// Tip on hover, Sort the value sorting uses (the raw number), Class a style
// (better, worse, regression).
type htmlCell struct {
	Text, Sub, Tip, Sort, Class string
}

type htmlPlot struct {
	ID, Title string
	SVG       template.HTML
	Skipped   string
}

type htmlVerdict struct {
	Pass      bool
	Headline  string
	Rule      string
	Items     []string
	Error     string
	Allowance string
}

// WriteHTML writes report.html: one self-contained page (inline CSS and SVG,
// a few lines of script to sort tables, nothing fetched) with the synthetic
// banner, the machine and engine facts from the configuration lines, the
// tables of summary.md in human units with their 95% intervals, and every
// plot. plots are from Plots(s); nil draws none.
func WriteHTML(w io.Writer, s *Set, plots []Plot) error {
	p, err := reportPage(s, plots)
	if err != nil {
		return err
	}
	return render(w, p)
}

// reportPage is report.html's page of s and its plots.
func reportPage(s *Set, plots []Plot) (page, error) {
	p := page{Title: "Benchmark report", Notice: SyntheticNotice}
	names := make([]string, len(s.Files))
	for i, f := range s.Files {
		names[i] = filepath.Base(f)
	}
	p.Lead = fmt.Sprintf("Input: %s (%d results). Each cell is a median in human units; the small figure is the "+
		"half-width of its 95%% confidence interval (±∞: fewer than 6 samples; hover for the interval). "+
		"Rows per model average their prompts. Click a column head to sort.", strings.Join(names, ", "), s.Results)
	for _, g := range s.Groups {
		if g.Synthetic && !slices.Contains(p.Synthetic, g.Model()) {
			p.Synthetic = append(p.Synthetic, g.Model())
		}
	}
	p.Facts, p.Models = configFacts(s)
	avg, per := s.Averaged("prompt"), s.Rows()
	for _, b := range s.benchmarks() {
		sec := htmlSection{ID: "bench-" + strings.ToLower(b), Title: b}
		for _, t := range summaryTables(s, avg, per, b) {
			sec.Tables = append(sec.Tables, t.html())
		}
		p.Sections = append(p.Sections, sec)
	}
	if len(plots) > 0 {
		sec := htmlSection{ID: "plots", Title: "Plots"}
		for _, pl := range plots {
			hp, err := pl.html()
			if err != nil {
				return p, err
			}
			sec.Plots = append(sec.Plots, hp)
		}
		p.Sections = append(p.Sections, sec)
	}
	return p, nil
}

// WriteHTML writes compare.html: the comparison as one self-contained page
// with the gate's verdict (v; nil when the gate could not judge, gateErr
// then says why) highlighted, the overview per metric, a benchstat-style
// table per metric with deltas and p-values (regressions marked), what one
// side lacks, and the plot of relative change.
func (c *Comparison) WriteHTML(w io.Writer, v *Verdict, gateErr error) error {
	p := page{Title: "Comparison: " + base(c.New) + " vs " + base(c.Old), Notice: SyntheticNotice}
	p.Lead = fmt.Sprintf("Medians with the half-width of their 95%% confidence interval (±∞: fewer than 6 samples). "+
		"Delta is new/old − 1 when the Mann-Whitney U test gives p < %.2f, as benchstat; ~ otherwise.", Alpha)
	for _, d := range c.Deltas {
		if m := (&Group{Labels: d.Labels}).Model(); d.Synthetic && !slices.Contains(p.Synthetic, m) {
			p.Synthetic = append(p.Synthetic, m)
		}
	}
	p.Verdict = verdictHTML(v, gateErr)
	regression := func(d Delta) bool { return v != nil && v.regression(d) && slices.ContainsFunc(v.Checked, sameDelta(d)) }

	over := htmlTable{Title: "Overview", Head: []string{"Metric", "Better is", "Benchmarks", "Worse", "Better", "Geomean change"},
		Align: []bool{false, false, true, true, true, true}}
	for _, mc := range c.ByMetric() {
		geo := htmlCell{Text: "–"}
		if !math.IsNaN(mc.Geomean) {
			geo = htmlCell{Text: fmt.Sprintf("%+.2f%%", mc.Geomean*100), Sort: num(mc.Geomean)}
		}
		better := betterWord(mc.Better)
		if better == "" {
			better = "?"
		}
		over.Rows = append(over.Rows, []htmlCell{{Text: metricName(mc.Metric)}, {Text: better},
			intCell(mc.NBetter + mc.NWorse + mc.NOther), intCell(mc.NWorse), intCell(mc.NBetter), geo})
	}
	sec := htmlSection{ID: "comparison", Title: "Comparison", Tables: []htmlTable{over}}
	for _, mc := range c.ByMetric() {
		t := htmlTable{Title: metricHeading(mc.Metric, mc.Better), Head: []string{"Benchmark", "Old", "New", "Delta", "p", "n", "Verdict"},
			Align: []bool{false, true, true, true, true, true, false}}
		for _, d := range c.Deltas {
			if d.Metric != mc.Metric {
				continue
			}
			verdict := d.Verdict()
			class := map[string]string{"better": "better", "worse": "worse"}[verdict]
			if regression(d) {
				verdict, class = "regression", "regression"
			}
			delta := htmlCell{Text: fmtDelta(d), Class: class}
			if finite(d.Change) {
				delta.Sort = num(d.Change)
			}
			t.Rows = append(t.Rows, []htmlCell{{Text: d.ID()}, estHTML(d.Metric, d.Old), estHTML(d.Metric, d.New), delta,
				{Text: fmt.Sprintf("%.3f", d.P), Sort: num(d.P)}, {Text: fmtN(d), Sort: strconv.Itoa(d.New.N)},
				{Text: verdict, Class: class}})
		}
		sec.Tables = append(sec.Tables, t)
	}
	var lacks []string
	lacks = append(lacks, missingLines(c.OnlyOld, base(c.Old))...)
	lacks = append(lacks, missingLines(c.OnlyNew, base(c.New))...)
	if len(lacks) > 0 {
		sec.Lists = append(sec.Lists, htmlList{Title: "Not compared", Items: lacks})
	}
	if notes := c.notes(); len(notes) > 0 {
		sec.Lists = append(sec.Lists, htmlList{Title: "Notes", Items: notes})
	}
	p.Sections = append(p.Sections, sec)
	hp, err := c.Plot().html()
	if err != nil {
		return err
	}
	p.Sections = append(p.Sections, htmlSection{ID: "plots", Title: "Plot", Plots: []htmlPlot{hp}})
	return render(w, p)
}

func sameDelta(d Delta) func(Delta) bool {
	return func(e Delta) bool { return e.ID() == d.ID() && e.Metric == d.Metric }
}

// verdictHTML is the verdict box: PASS or FAIL with the rule and what failed.
func verdictHTML(v *Verdict, gateErr error) *htmlVerdict {
	if v == nil {
		if gateErr == nil {
			return nil
		}
		return &htmlVerdict{Error: gateErr.Error()}
	}
	hv := &htmlVerdict{Pass: v.Pass(), Headline: "Benchmark gate: " + v.Headline(),
		Rule: fmt.Sprintf("A regression is a change worse by more than %s in the metric's bad direction with p < %.2f; "+
			"a checked benchmark or metric of the old run missing from the new one fails too. Checked %s.",
			trimPct(v.Options.MaxRegression*100), Alpha, plural(len(v.Checked), "comparison"))}
	for _, d := range v.Regressions {
		hv.Items = append(hv.Items, fmt.Sprintf("%s %s: %s → %s (%s, p %.3f)", d.ID(), d.Metric,
			estCell(d.Metric, d.Old), estCell(d.Metric, d.New), fmtDelta(d), d.P))
	}
	for _, l := range missingLines(v.Missing, base(v.Old)) {
		hv.Items = append(hv.Items, "missing from "+base(v.New)+": "+strings.ReplaceAll(l, `\`, ""))
	}
	if v.Options.AllowMissing && len(v.Missing) > 0 {
		hv.Allowance = "Missing benchmarks and metrics allowed (--allow-missing)."
	}
	return hv
}

func intCell(n int) htmlCell { return htmlCell{Text: strconv.Itoa(n), Sort: strconv.Itoa(n)} }

// estHTML is an estimate's cell: the median in human units, the interval's
// half-width as benchstat writes it, the interval itself on hover.
func estHTML(metric string, e Estimate) htmlCell {
	c := htmlCell{Text: Human(metric, e.Center), Sort: num(e.Center),
		Sub: Stats{Median: e.Center, Lo: e.Lo, Hi: e.Hi}.pctRange()}
	if e.HasCI() {
		c.Tip = fmt.Sprintf("95%% CI %s … %s (n=%d)", Human(metric, e.Lo), Human(metric, e.Hi), e.N)
	} else {
		c.Tip = fmt.Sprintf("n=%d: fewer than 6 samples, no 95%% interval", e.N)
	}
	return c
}

// html renders a summary table.
func (t table) html() htmlTable {
	ht := htmlTable{Title: t.title, Note: t.note}
	for _, k := range t.keys {
		ht.Head = append(ht.Head, headKey(k))
		ht.Align = append(ht.Align, false)
	}
	ht.Head = append(ht.Head, "n")
	ht.Align = append(ht.Align, true)
	for _, m := range t.metrics {
		ht.Head = append(ht.Head, columnTitle(m, t.rows))
		ht.Align = append(ht.Align, true)
	}
	for _, r := range t.rows {
		var cells []htmlCell
		for i, k := range t.keys {
			c := htmlCell{Text: r.Group.Get(k)}
			if i == 0 && k == "model" && r.Group.Synthetic {
				c.Sub = "synthetic"
			}
			if f, err := strconv.ParseFloat(c.Text, 64); err == nil {
				c.Sort = num(f)
			}
			cells = append(cells, c)
		}
		n := 0
		for _, m := range t.metrics {
			n = max(n, r.Est[m].N)
		}
		cells = append(cells, intCell(n))
		for _, m := range t.metrics {
			e, ok := r.Est[m]
			if !ok {
				cells = append(cells, htmlCell{})
				continue
			}
			cells = append(cells, estHTML(m, e))
		}
		ht.Rows = append(ht.Rows, cells)
	}
	return ht
}

// html draws the plot as inline SVG, scaled to the page's width.
func (p Plot) html() (htmlPlot, error) {
	hp := htmlPlot{ID: "plot-" + p.Name, Title: p.Title, Skipped: p.Skipped}
	if p.Skipped != "" {
		return hp, nil
	}
	pl, err := p.Draw()
	if err != nil {
		return hp, err
	}
	c := vgsvg.New(PlotWidth, PlotHeight)
	pl.Draw(draw.New(c))
	var buf bytes.Buffer
	if _, err := c.WriteTo(&buf); err != nil {
		return hp, fmt.Errorf("plot %s: %w", p.Name, err)
	}
	svg := buf.String()
	i := strings.Index(svg, "<svg")
	if i < 0 {
		return hp, fmt.Errorf("plot %s: no <svg> element in the drawing", p.Name)
	}
	// The XML prolog and generator comment go; the size becomes the page's.
	svg = svg[i:]
	svg = strings.Replace(svg, `<svg width="576pt" height="360pt"`,
		`<svg role="img" aria-label="`+template.HTMLEscapeString(p.Title)+`" width="960" height="600"`, 1)
	hp.SVG = template.HTML(svg) // drawn by vgsvg, which escapes its text
	return hp, nil
}

// configFacts splits the configuration lines into those every group shares
// (the machine, the engine) and a table of those that differ, a row per
// model (its first group's).
func configFacts(s *Set) (facts [][2]string, models *htmlTable) {
	var varying []string
	for _, k := range s.ConfigKeys {
		v, same := s.Groups[0].Config[k], true
		for _, g := range s.Groups[1:] {
			if g.Config[k] != v {
				same = false
				break
			}
		}
		if same {
			facts = append(facts, [2]string{k, v})
		} else {
			varying = append(varying, k)
		}
	}
	if len(varying) == 0 {
		return facts, nil
	}
	t := &htmlTable{Title: "Per model", Head: append([]string{"Benchmark", "Model"}, varying...)}
	t.Align = make([]bool, len(t.Head))
	seen := map[string]bool{}
	for _, g := range s.Groups {
		id := g.Benchmark + "\x00" + g.Model()
		if seen[id] {
			continue
		}
		seen[id] = true
		row := []htmlCell{{Text: g.Benchmark}, {Text: g.Model()}}
		for _, k := range varying {
			row = append(row, htmlCell{Text: g.Config[k]})
		}
		t.Rows = append(t.Rows, row)
	}
	return facts, t
}

func render(w io.Writer, p page) error {
	bw := bufio.NewWriter(w)
	if err := pageTemplate.Execute(bw, p); err != nil {
		return err
	}
	return bw.Flush()
}
