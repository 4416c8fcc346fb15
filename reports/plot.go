package reports

import (
	"fmt"
	"image/color"
	"io"
	"math"
	"os"
	"path/filepath"
	"slices"
	"strings"

	"gonum.org/v1/plot"
	"gonum.org/v1/plot/font"
	"gonum.org/v1/plot/plotter"
	"gonum.org/v1/plot/text"
	"gonum.org/v1/plot/vg"
	"gonum.org/v1/plot/vg/draw"
	"gonum.org/v1/plot/vg/vgimg"
	"gonum.org/v1/plot/vg/vgsvg"
)

// Size of every plot. PNGs are drawn at PlotDPI: 960×600 pixels.
const (
	PlotWidth  = 8 * vg.Inch
	PlotHeight = 5 * vg.Inch
	PlotDPI    = 120
)

// A Plot is the data of one figure, before drawing: tests and other renderers
// can read what would be drawn.
type Plot struct {
	// Name is the file name without extension: "latency".
	Name string
	// Title names the figure; Subtitle says what is drawn (a second title line).
	Title, Subtitle string
	// XLabel and YLabel label the axes, with units.
	XLabel, YLabel string
	// Labels name the categories (bars, boxes) or the points (scatter).
	Labels []string
	// Series are the data: one per colour.
	Series []Series
	// Kind is how to draw it.
	Kind PlotKind
	// LogX draws the x axis on a log scale (Lines); otherwise the axes of
	// Lines start at zero.
	LogX bool
	// Steps draws each line as a step function (an empirical CDF).
	Steps bool
	// Refs are horizontal reference lines, such as an SLO (Lines).
	Refs []Ref
	// Marks are points ringed over the data, such as change points (Trend).
	Marks []Mark
	// Skipped, when not "", says why the figure is not drawn.
	Skipped string
}

// A Ref is a horizontal reference line of a Lines plot.
type Ref struct {
	// Y is where it is drawn, in the axis unit.
	Y float64
	// Label is its legend entry: "SLO: TTFT ≤ 300 ms".
	Label string
}

// A Series is one colour of a Plot.
type Series struct {
	// Name is the legend entry ("" for none).
	Name string
	// Values are bar heights (one per label) or point y values; NaN is no bar.
	Values []float64
	// Lo and Hi bound each value's interval; NaN or ±Inf for none. Nil when
	// the series has no intervals.
	Lo, Hi []float64
	// X are the points' x values (scatter, horizontal intervals).
	X []float64
	// Samples are the distributions of a box plot, one per label.
	Samples [][]float64
	// Color picks the series' colour from the palette (Lines); Dashed draws
	// its line dashed (the p99 beside a solid p50 of the same colour).
	Color  int
	Dashed bool
}

// PlotKind says how a Plot is drawn.
type PlotKind int

// Plot kinds.
const (
	// Bars: one bar per label for each series, side by side, with whiskers.
	Bars PlotKind = iota
	// Boxes: a Tukey box plot per label of Series[0].Samples.
	Boxes
	// Scatter: labelled points, log x axis.
	Scatter
	// Changes: horizontal relative changes with intervals, one row per label;
	// Series are regression, improvement, other.
	Changes
	// Lines: one line per series through (X, Values) with points and
	// whiskers; axes from zero unless LogX.
	Lines
	// Trend: Lines over commits, x = 1, 2, … named by Labels, with Marks
	// ringed; the y axis logarithmic when the data span more than 20×
	// (drawTrend).
	Trend
)

// Plots returns the figures of a report, drawn or skipped, for each benchmark.
// A benchmark of cases gets latency, peak memory, throughput, the TTFT box
// plot, throughput against parameter count and the CDFs of TTFT and TPOT;
// the first benchmark's files are latency, memory, …, another benchmark's
// carry its name: latency-generate2. A load sweep (concurrency= or rate=
// points) gets its curves instead (sweepPlots): load-tokens, load-ttft, ….
func Plots(s *Set) []Plot {
	var out []Plot
	avg := s.Averaged("prompt")
	cases := 0
	for _, b := range s.benchmarks() {
		rows, _ := splitStages(bench(avg, b))
		if len(rows) == 0 {
			continue
		}
		if sweepKey(rows) != "" {
			out = append(out, sweepPlots(rows, b)...)
			continue
		}
		suffix := ""
		if cases > 0 {
			suffix = "-" + strings.ToLower(b)
		}
		cases++
		for _, p := range []Plot{
			barPlot(rows, "latency", b+": latency by model", "ns/op"),
			memoryPlot(rows, b),
			barPlot(rows, "throughput", b+": decode throughput by model", "tokens/s"),
			ttftPlot(rows, b),
			paramsPlot(rows, b),
			cdfPlot(rows, "ttft-cdf", b+": distribution of time to first token", "ttft-ns/op", "TTFT"),
			cdfPlot(rows, "tpot-cdf", b+": distribution of time per output token", "tpot-ns/op", "TPOT"),
		} {
			p.Name += suffix
			out = append(out, p)
		}
	}
	return out
}

// rowLabel names a row on an axis: the model, other keys as k=v, and
// "(synthetic)" on a second line.
func rowLabel(g *Group) string {
	parts := []string{}
	if m := g.Model(); m != "" {
		parts = append(parts, m)
	}
	for _, l := range g.Labels {
		if l.Key != "model" {
			parts = append(parts, l.Key+"="+l.Value)
		}
	}
	s := strings.Join(parts, " ")
	if s == "" {
		s = g.Benchmark
	}
	if g.Synthetic {
		s += "\n(synthetic)"
	}
	return s
}

// medianNote is the subtitle of a plot of Estimates.
func medianNote(rows []Row) string {
	const ci = "whiskers: 95% CI (none with fewer than 6 samples)"
	if averaged(rows) {
		return "median of each prompt, mean over prompts; " + ci
	}
	return "median; " + ci
}

func averaged(rows []Row) bool {
	return slices.ContainsFunc(rows, func(r Row) bool { return r.Prompts > 1 })
}

func barPlot(rows []Row, name, title, metric string) Plot {
	p := Plot{Name: name, Kind: Bars, XLabel: "model"}
	if !has(rows, metric) {
		p.Title = title
		p.Skipped = "no " + metric + " metric"
		return p
	}
	var max float64
	for _, r := range rows {
		if e, ok := r.Est[metric]; ok {
			max = math.Max(max, e.Center)
			if e.HasCI() {
				max = math.Max(max, e.Hi)
			}
		}
	}
	scale, unit := axisScale(metric, max)
	ser := Series{Name: ""}
	for _, r := range rows {
		e, ok := r.Est[metric]
		if !ok {
			continue
		}
		p.Labels = append(p.Labels, rowLabel(r.Group))
		ser.Values = append(ser.Values, e.Center/scale)
		ser.Lo = append(ser.Lo, e.Lo/scale)
		ser.Hi = append(ser.Hi, e.Hi/scale)
	}
	p.Series = []Series{ser}
	p.Title = title
	p.Subtitle = medianNote(rows)
	p.YLabel = Title(metric) + " (" + unit + ")"
	if metric == "tokens/s" {
		p.YLabel = "decode throughput (tokens/s)"
	}
	return p
}

func memoryPlot(rows []Row, b string) Plot {
	p := Plot{Name: "memory", Kind: Bars, XLabel: "model", Title: b + ": peak memory by model"}
	metrics := []string{"peak-rss-B", "peak-vram-B"}
	names := []string{"RAM (peak RSS)", "GPU memory (peak)"}
	var max float64
	for _, r := range rows {
		for _, m := range metrics {
			if e, ok := r.Est[m]; ok {
				max = math.Max(max, e.Center)
			}
		}
	}
	present := 0
	for _, m := range metrics {
		if has(rows, m) {
			present++
		}
	}
	if present == 0 {
		p.Skipped = "no peak-rss-B or peak-vram-B metric"
		return p
	}
	scale, unit := axisScale("B", max)
	for i, m := range metrics {
		if !has(rows, m) {
			continue
		}
		ser := Series{Name: names[i]}
		for _, r := range rows {
			v, lo, hi := math.NaN(), math.NaN(), math.NaN()
			if e, ok := r.Est[m]; ok {
				v, lo, hi = e.Center/scale, e.Lo/scale, e.Hi/scale
			}
			ser.Values = append(ser.Values, v)
			ser.Lo = append(ser.Lo, lo)
			ser.Hi = append(ser.Hi, hi)
		}
		p.Series = append(p.Series, ser)
	}
	for _, r := range rows {
		p.Labels = append(p.Labels, rowLabel(r.Group))
	}
	p.Subtitle = medianNote(rows)
	if !has(rows, "peak-vram-B") {
		p.Title += " (no GPU memory measured)"
	}
	p.YLabel = "peak memory (" + unit + ")"
	return p
}

func ttftPlot(rows []Row, b string) Plot {
	const metric = "ttft-ns/op"
	p := Plot{Name: "ttft", Kind: Boxes, XLabel: "model", Title: b + ": time to first token by model"}
	var max float64
	for _, r := range rows {
		for _, v := range r.Group.Samples[metric] {
			max = math.Max(max, v)
		}
	}
	if max == 0 && !has(rows, metric) {
		p.Skipped = "no " + metric + " metric"
		return p
	}
	scale, unit := axisScale(metric, max)
	ser := Series{}
	for _, r := range rows {
		vs := r.Group.Samples[metric]
		if len(vs) == 0 {
			continue
		}
		scaled := make([]float64, len(vs))
		for i, v := range vs {
			scaled[i] = v / scale
		}
		p.Labels = append(p.Labels, rowLabel(r.Group))
		ser.Samples = append(ser.Samples, scaled)
	}
	p.Series = []Series{ser}
	p.Subtitle = "all samples; box: quartiles and median, whiskers: 1.5 IQR"
	if averaged(rows) {
		p.Subtitle = "all samples of all prompts; box: quartiles and median, whiskers: 1.5 IQR"
	}
	p.YLabel = "TTFT (" + unit + ")"
	return p
}

func paramsPlot(rows []Row, b string) Plot {
	const metric = "tokens/s"
	p := Plot{Name: "throughput-params", Kind: Scatter, Title: b + ": decode throughput against model size",
		XLabel: "parameters (log scale)", YLabel: "decode throughput (tokens/s)"}
	if !has(rows, metric) {
		p.Skipped = "no " + metric + " metric"
		return p
	}
	ser := Series{}
	for _, r := range rows {
		e, ok := r.Est[metric]
		if !ok || r.Group.Params <= 0 {
			continue
		}
		p.Labels = append(p.Labels, strings.ReplaceAll(rowLabel(r.Group), "\n", " "))
		ser.X = append(ser.X, r.Group.Params)
		ser.Values = append(ser.Values, e.Center)
		ser.Lo = append(ser.Lo, e.Lo)
		ser.Hi = append(ser.Hi, e.Hi)
	}
	if len(ser.X) == 0 {
		p.Skipped = "no model-params config lines"
		return p
	}
	p.Series = []Series{ser}
	p.Subtitle = medianNote(rows)
	return p
}

// axisScale picks the axis unit for metric's values up to max: ms or s for
// time, MiB or GiB for bytes, else the unit itself.
func axisScale(metric string, max float64) (scale float64, unit string) {
	switch unitKind(metric) {
	case kindTime:
		if max >= 10e9 {
			return 1e9, "s"
		}
		return 1e6, "ms"
	case kindBytes:
		if max >= 1<<30 {
			return 1 << 30, "GiB"
		}
		return 1 << 20, "MiB"
	}
	return 1, strings.TrimSuffix(metric, "/op")
}

var (
	colorBlue   = color.RGBA{R: 0x1f, G: 0x77, B: 0xb4, A: 0xff}
	colorOrange = color.RGBA{R: 0xff, G: 0x7f, B: 0x0e, A: 0xff}
	colorRed    = color.RGBA{R: 0xd6, G: 0x27, B: 0x28, A: 0xff}
	colorGreen  = color.RGBA{R: 0x2c, G: 0xa0, B: 0x2c, A: 0xff}
	colorGrey   = color.RGBA{R: 0x7f, G: 0x7f, B: 0x7f, A: 0xff}
	seriesColor = []color.Color{colorBlue, colorOrange, colorGrey}
	// palette colours the lines of a Lines plot, one per model.
	palette = []color.Color{colorBlue, colorOrange, colorGreen, colorRed,
		color.RGBA{R: 0x94, G: 0x67, B: 0xbd, A: 0xff}, color.RGBA{R: 0x8c, G: 0x56, B: 0x4b, A: 0xff},
		color.RGBA{R: 0xe3, G: 0x77, B: 0xc2, A: 0xff}, color.RGBA{R: 0x17, G: 0xbe, B: 0xcf, A: 0xff}}
)

// Draw builds the gonum plot of p.
func (p Plot) Draw() (*plot.Plot, error) {
	if p.Skipped != "" {
		return nil, fmt.Errorf("plot %s not drawn: %s", p.Name, p.Skipped)
	}
	pl := plot.New()
	pl.Title.Text = p.Title
	if p.Subtitle != "" {
		pl.Title.Text += "\n" + p.Subtitle
	}
	pl.X.Label.Text = p.XLabel
	pl.Y.Label.Text = p.YLabel
	pl.Title.TextStyle.Font.Size = vg.Points(13)
	pl.Legend.Top = true
	var err error
	switch p.Kind {
	case Bars:
		err = p.drawBars(pl)
	case Boxes:
		err = p.drawBoxes(pl)
	case Scatter:
		err = p.drawScatter(pl)
	case Changes:
		err = p.drawChanges(pl)
	case Lines:
		err = p.drawLines(pl)
	case Trend:
		err = p.drawTrend(pl)
	}
	if err != nil {
		return nil, fmt.Errorf("plot %s: %w", p.Name, err)
	}
	return pl, nil
}

func (p Plot) drawBars(pl *plot.Plot) error {
	n := len(p.Series)
	width := vg.Points(math.Min(60, 360/float64(max(1, len(p.Labels)*n))))
	pl.Y.Min = 0
	for i, s := range p.Series {
		vals := make(plotter.Values, len(s.Values))
		for j, v := range s.Values {
			if !math.IsNaN(v) {
				vals[j] = v
			}
		}
		bars, err := plotter.NewBarChart(vals, width)
		if err != nil {
			return err
		}
		bars.Color = seriesColor[i%len(seriesColor)]
		bars.LineStyle.Width = 0
		// Offset in data units, so that the whiskers below line up exactly.
		off := (float64(i) - float64(n-1)/2) * barFraction(width, len(p.Labels))
		bars.XMin = off
		pl.Add(bars)
		if s.Name != "" {
			pl.Legend.Add(s.Name, bars)
		}
		// Whiskers where there is an interval.
		var xys plotter.XYs
		var errs plotter.YErrors
		for j, v := range s.Values {
			if j >= len(s.Lo) || math.IsNaN(v) || !finite(s.Lo[j]) || !finite(s.Hi[j]) {
				continue
			}
			xys = append(xys, plotter.XY{X: float64(j) + off, Y: v})
			errs = append(errs, struct{ Low, High float64 }{v - s.Lo[j], s.Hi[j] - v})
		}
		if err := addWhiskers(pl, xys, errs, func(eb *plotter.YErrorBars) {
			eb.CapWidth = width / 3
			eb.LineStyle.Width = vg.Points(1.2)
		}); err != nil {
			return err
		}
	}
	pl.NominalX(p.Labels...)
	pl.X.Min, pl.X.Max = -0.5, float64(len(p.Labels))-0.5
	// Headroom above the tallest whisker, more with a legend.
	top := 0.0
	for _, s := range p.Series {
		for j, v := range s.Values {
			if finite(v) {
				top = math.Max(top, v)
			}
			if j < len(s.Hi) && finite(s.Hi[j]) {
				top = math.Max(top, s.Hi[j])
			}
		}
	}
	if n > 1 {
		pl.Y.Max = top * 1.2
	} else {
		pl.Y.Max = top * 1.08
	}
	pl.Add(plotter.NewGrid())
	return nil
}

// barFraction converts a bar width on the canvas into x data units, assuming
// the plot area of a PlotWidth figure spans the categories.
func barFraction(width vg.Length, categories int) float64 {
	area := float64(PlotWidth) * 0.85
	return float64(width) * float64(max(1, categories)) / area
}

func (p Plot) drawBoxes(pl *plot.Plot) error {
	width := vg.Points(math.Min(50, 300/float64(max(1, len(p.Labels)))))
	for i, vs := range p.Series[0].Samples {
		box, err := plotter.NewBoxPlot(width, float64(i), plotter.Values(vs))
		if err != nil {
			return err
		}
		box.FillColor = color.RGBA{R: 0xc6, G: 0xdb, B: 0xef, A: 0xff}
		pl.Add(box)
	}
	pl.NominalX(p.Labels...)
	pl.X.Min, pl.X.Max = -0.5, float64(len(p.Labels))-0.5
	pl.Add(plotter.NewGrid())
	return nil
}

func (p Plot) drawScatter(pl *plot.Plot) error {
	s := p.Series[0]
	xys := make(plotter.XYs, len(s.X))
	for i := range s.X {
		xys[i] = plotter.XY{X: s.X[i], Y: s.Values[i]}
	}
	sc, err := plotter.NewScatter(xys)
	if err != nil {
		return err
	}
	sc.GlyphStyle.Color = colorBlue
	sc.GlyphStyle.Radius = vg.Points(4)
	sc.GlyphStyle.Shape = draw.CircleGlyph{}
	pl.Add(sc)
	labels := &placedLabels{xys: xys, labels: p.Labels, radius: sc.GlyphStyle.Radius,
		style: text.Style{Font: font.From(plotter.DefaultFont, vg.Points(9)), Handler: plot.DefaultTextHandler}}
	pl.Add(labels)
	var exys plotter.XYs
	var errs plotter.YErrors
	for i := range s.X {
		if finite(s.Lo[i]) && finite(s.Hi[i]) {
			exys = append(exys, xys[i])
			errs = append(errs, struct{ Low, High float64 }{s.Values[i] - s.Lo[i], s.Hi[i] - s.Values[i]})
		}
	}
	if err := addWhiskers(pl, exys, errs, nil); err != nil {
		return err
	}
	lo, hi := slices.Min(s.X), slices.Max(s.X)
	pl.X.Scale = plot.LogScale{}
	pl.X.Tick.Marker = countTicks{}
	pl.X.Min, pl.X.Max = lo/2, hi*3
	pl.Y.Min = 0
	pl.Add(plotter.NewGrid())
	return nil
}

func (p Plot) drawChanges(pl *plot.Plot) error {
	// Rows top to bottom in label order: y = n-1-i.
	n := len(p.Labels)
	colors := []color.Color{colorRed, colorGreen, colorGrey}
	for si, s := range p.Series {
		var xys plotter.XYs
		var exys plotter.XYs
		var errs plotter.XErrors
		for i, v := range s.Values {
			if math.IsNaN(v) {
				continue
			}
			pt := plotter.XY{X: v, Y: float64(n - 1 - i)}
			xys = append(xys, pt)
			if i < len(s.Lo) && finite(s.Lo[i]) && finite(s.Hi[i]) {
				exys = append(exys, pt)
				errs = append(errs, struct{ Low, High float64 }{v - s.Lo[i], s.Hi[i] - v})
			}
		}
		if len(xys) == 0 {
			continue
		}
		sc, err := plotter.NewScatter(xys)
		if err != nil {
			return err
		}
		sc.GlyphStyle.Color = colors[si%len(colors)]
		sc.GlyphStyle.Radius = vg.Points(3.5)
		sc.GlyphStyle.Shape = draw.CircleGlyph{}
		pl.Add(sc)
		if s.Name != "" {
			pl.Legend.Add(s.Name, sc)
		}
		if len(exys) > 0 {
			eb, err := plotter.NewXErrorBars(struct {
				plotter.XYs
				plotter.XErrors
			}{exys, errs})
			if err != nil {
				return err
			}
			eb.LineStyle.Color = colors[si%len(colors)]
			pl.Add(eb)
		}
	}
	// Symmetric x range around 0; room at the top for the legend.
	span := 1.0
	legend := 0
	for _, s := range p.Series {
		seen := false
		for i, v := range s.Values {
			if !finite(v) {
				continue
			}
			seen = true
			span = math.Max(span, math.Abs(v))
			if i < len(s.Lo) && finite(s.Lo[i]) && finite(s.Hi[i]) {
				span = math.Max(span, math.Max(math.Abs(s.Lo[i]), math.Abs(s.Hi[i])))
			}
		}
		if seen && s.Name != "" {
			legend++
		}
	}
	pl.X.Min, pl.X.Max = -span*1.1, span*1.1
	pl.Y.Min, pl.Y.Max = -0.5, float64(n)-0.5+0.45*float64(legend)
	pl.Legend.TextStyle.Font.Size = vg.Points(10)
	zero, err := plotter.NewLine(plotter.XYs{{X: 0, Y: -0.5}, {X: 0, Y: float64(n) - 0.5}})
	if err != nil {
		return err
	}
	zero.LineStyle.Dashes = []vg.Length{vg.Points(3), vg.Points(3)}
	pl.Add(zero)
	names := make([]string, n)
	for i, l := range p.Labels {
		names[n-1-i] = l
	}
	pl.NominalY(names...)
	pl.Add(plotter.NewGrid())
	return nil
}

func (p Plot) drawLines(pl *plot.Plot) error {
	top := 0.0
	for _, s := range p.Series {
		var xys plotter.XYs
		var exys plotter.XYs
		var errs plotter.YErrors
		for i, v := range s.Values {
			if !finite(v) || !finite(s.X[i]) || p.LogX && s.X[i] <= 0 {
				continue
			}
			pt := plotter.XY{X: s.X[i], Y: v}
			xys = append(xys, pt)
			top = math.Max(top, v)
			if i < len(s.Lo) && finite(s.Lo[i]) && finite(s.Hi[i]) {
				exys = append(exys, pt)
				errs = append(errs, struct{ Low, High float64 }{v - s.Lo[i], s.Hi[i] - v})
				top = math.Max(top, s.Hi[i])
			}
		}
		if len(xys) == 0 {
			continue
		}
		col := palette[s.Color%len(palette)]
		line, pts, err := plotter.NewLinePoints(xys)
		if err != nil {
			return err
		}
		line.LineStyle.Color = col
		line.LineStyle.Width = vg.Points(1.5)
		if s.Dashed {
			line.LineStyle.Dashes = []vg.Length{vg.Points(5), vg.Points(3)}
		}
		pl.Add(line)
		if p.Steps {
			line.StepStyle = plotter.PostStep
		} else {
			pts.GlyphStyle.Color = col
			pts.GlyphStyle.Radius = vg.Points(2.5)
			pts.GlyphStyle.Shape = draw.CircleGlyph{}
			if s.Dashed {
				pts.GlyphStyle.Shape = draw.RingGlyph{}
			}
			pl.Add(pts)
		}
		if s.Name != "" {
			pl.Legend.Add(s.Name, line)
		}
		if err := addWhiskers(pl, exys, errs, func(eb *plotter.YErrorBars) { eb.LineStyle.Color = col }); err != nil {
			return err
		}
	}
	for _, r := range p.Refs {
		f := plotter.NewFunction(func(float64) float64 { return r.Y })
		f.LineStyle.Color = colorRed
		f.LineStyle.Dashes = []vg.Length{vg.Points(2), vg.Points(2)}
		pl.Add(f)
		pl.Legend.Add(r.Label, f)
		top = math.Max(top, r.Y)
	}
	right := 0.0
	for _, s := range p.Series {
		for _, x := range s.X {
			if finite(x) {
				right = math.Max(right, x)
			}
		}
	}
	if p.LogX {
		pl.X.Scale = plot.LogScale{}
		pl.X.Tick.Marker = plot.LogTicks{Prec: -1}
		pl.X.Max = right * 1.15
	} else {
		pl.X.Min = 0
		pl.X.Max = right * 1.04
	}
	pl.Y.Min = 0
	// Room above the data for the legend, one line per entry.
	entries := len(p.Refs)
	for _, s := range p.Series {
		if s.Name != "" {
			entries++
		}
	}
	pl.Y.Max = top * (1.08 + 0.06*float64(entries))
	if p.Steps {
		pl.Y.Max = 1 + 0.06*float64(entries)
	}
	pl.Legend.Left = true
	pl.Legend.XOffs = vg.Points(10)
	pl.Legend.Padding = vg.Points(1.5)
	pl.Legend.TextStyle.Font.Size = vg.Points(9)
	pl.Add(plotter.NewGrid())
	return nil
}

// placedLabels draws the labels of points where they overlap neither each
// other nor the points nor the canvas edge, as far as placeLabels can.
type placedLabels struct {
	xys    plotter.XYs
	labels []string
	style  text.Style
	radius vg.Length // of the points' glyphs
}

func (l *placedLabels) Plot(c draw.Canvas, p *plot.Plot) {
	trX, trY := p.Transforms(&c)
	pts := make([]vg.Point, len(l.xys))
	boxes := make([]vg.Rectangle, len(l.labels))
	for i, xy := range l.xys {
		pts[i] = vg.Point{X: trX(xy.X), Y: trY(xy.Y)}
		boxes[i] = l.style.Rectangle(l.labels[i])
	}
	for i, at := range placeLabels(pts, boxes, l.radius, c.Rectangle) {
		c.FillText(l.style, at, l.labels[i])
	}
}

// DataRange is that of the points.
func (l *placedLabels) DataRange() (xmin, xmax, ymin, ymax float64) { return plotter.XYRange(l.xys) }

// placeLabels picks where to draw each label (the point to draw its text at,
// boxes[i] being its bounds when drawn at the origin) next to pts[i]: the
// first of a list of spots around the point — right, left, above, below,
// then farther up and down — whose box stays inside area and overlaps no
// point (a square of radius r) and no label placed before it; failing that,
// the spot of least overlap.
func placeLabels(pts []vg.Point, boxes []vg.Rectangle, r vg.Length, area vg.Rectangle) []vg.Point {
	gap := r + vg.Points(2)
	var placed []vg.Rectangle
	out := make([]vg.Point, len(pts))
	for i, p := range pts {
		b := boxes[i]
		w, h := b.Max.X-b.Min.X, b.Max.Y-b.Min.Y
		// Lower-left corners of the candidate boxes.
		cands := []vg.Point{
			{X: p.X + gap, Y: p.Y - h/2},
			{X: p.X + gap, Y: p.Y + gap/2},
			{X: p.X + gap, Y: p.Y - h - gap/2},
			{X: p.X - gap - w, Y: p.Y - h/2},
			{X: p.X - gap - w, Y: p.Y + gap/2},
			{X: p.X - gap - w, Y: p.Y - h - gap/2},
			{X: p.X - w/2, Y: p.Y + gap},
			{X: p.X - w/2, Y: p.Y - gap - h},
		}
		for k := vg.Length(1); k <= 4; k++ {
			cands = append(cands,
				vg.Point{X: p.X + gap, Y: p.Y + gap/2 + k*h}, vg.Point{X: p.X + gap, Y: p.Y - h - gap/2 - k*h},
				vg.Point{X: p.X - gap - w, Y: p.Y + gap/2 + k*h}, vg.Point{X: p.X - gap - w, Y: p.Y - h - gap/2 - k*h})
		}
		best, bestCost := cands[0], math.Inf(1)
		for _, ll := range cands {
			box := vg.Rectangle{Min: ll, Max: vg.Point{X: ll.X + w, Y: ll.Y + h}}
			cost := 0.0
			if box.Min.X < area.Min.X || box.Min.Y < area.Min.Y || box.Max.X > area.Max.X || box.Max.Y > area.Max.Y {
				cost += 1e6
			}
			for _, q := range placed {
				cost += overlap(box, q)
			}
			for _, q := range pts {
				cost += overlap(box, vg.Rectangle{Min: vg.Point{X: q.X - r, Y: q.Y - r}, Max: vg.Point{X: q.X + r, Y: q.Y + r}})
			}
			if cost < bestCost {
				best, bestCost = ll, cost
			}
			if cost == 0 {
				break
			}
		}
		placed = append(placed, vg.Rectangle{Min: best, Max: vg.Point{X: best.X + w, Y: best.Y + h}})
		out[i] = best.Sub(b.Min)
	}
	return out
}

// overlap is the area two rectangles share.
func overlap(a, b vg.Rectangle) float64 {
	w := math.Min(float64(a.Max.X), float64(b.Max.X)) - math.Max(float64(a.Min.X), float64(b.Min.X))
	h := math.Min(float64(a.Max.Y), float64(b.Max.Y)) - math.Max(float64(a.Min.Y), float64(b.Min.Y))
	if w <= 0 || h <= 0 {
		return 0
	}
	return w * h
}

// addWhiskers adds vertical intervals at xys (none when empty), styled by
// style (which may be nil).
func addWhiskers(pl *plot.Plot, xys plotter.XYs, errs plotter.YErrors, style func(*plotter.YErrorBars)) error {
	if len(xys) == 0 {
		return nil
	}
	eb, err := plotter.NewYErrorBars(struct {
		plotter.XYs
		plotter.YErrors
	}{xys, errs})
	if err != nil {
		return err
	}
	if style != nil {
		style(eb)
	}
	pl.Add(eb)
	return nil
}

func finite(v float64) bool { return !math.IsNaN(v) && !math.IsInf(v, 0) }

// countTicks marks a log axis of counts at powers of ten: 10M, 100M, 1B.
type countTicks struct{}

func (countTicks) Ticks(min, max float64) []plot.Tick {
	var ticks []plot.Tick
	for e := math.Floor(math.Log10(min)); e <= math.Ceil(math.Log10(max)); e++ {
		base := math.Pow(10, e)
		if base >= min && base <= max {
			ticks = append(ticks, plot.Tick{Value: base, Label: humanCount(base)})
		}
		for k := 2.0; k < 10; k++ {
			if v := k * base; v >= min && v <= max {
				ticks = append(ticks, plot.Tick{Value: v})
			}
		}
	}
	return ticks
}

// humanCount writes a count with k, M, B (billion) and T suffixes.
func humanCount(v float64) string {
	for _, u := range []struct {
		f float64
		s string
	}{{1e12, "T"}, {1e9, "B"}, {1e6, "M"}, {1e3, "k"}} {
		if v >= u.f {
			return strings.TrimSuffix(strings.TrimRight(fmt.Sprintf("%.2f", v/u.f), "0"), ".") + u.s
		}
	}
	return fmt.Sprintf("%.0f", v)
}

// SavePlots draws each plot not skipped into dir as NAME.png and NAME.svg and
// returns the paths written.
func SavePlots(dir string, plots []Plot) ([]string, error) {
	var files []string
	for _, p := range plots {
		if p.Skipped != "" {
			continue
		}
		pl, err := p.Draw()
		if err != nil {
			return files, err
		}
		png := filepath.Join(dir, p.Name+".png")
		if err := savePNG(pl, png); err != nil {
			return files, err
		}
		svg := filepath.Join(dir, p.Name+".svg")
		if err := saveSVG(pl, svg); err != nil {
			return files, err
		}
		files = append(files, png, svg)
	}
	return files, nil
}

func savePNG(pl *plot.Plot, path string) error {
	c := vgimg.NewWith(vgimg.UseWH(PlotWidth, PlotHeight), vgimg.UseDPI(PlotDPI))
	pl.Draw(draw.New(c))
	return writeFile(path, vgimg.PngCanvas{Canvas: c})
}

func saveSVG(pl *plot.Plot, path string) error {
	c := vgsvg.New(PlotWidth, PlotHeight)
	pl.Draw(draw.New(c))
	return writeFile(path, c)
}

func writeFile(path string, c interface {
	WriteTo(w io.Writer) (int64, error)
}) error {
	f, err := os.Create(path)
	if err != nil {
		return err
	}
	if _, err := c.WriteTo(f); err != nil {
		f.Close()
		return fmt.Errorf("writing %s: %w", path, err)
	}
	return f.Close()
}
