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
	"gonum.org/v1/plot/plotter"
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
	// Skipped, when not "", says why the figure is not drawn.
	Skipped string
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
)

// Plots returns the figures of a report, drawn or skipped, for each benchmark:
// latency, peak memory, throughput, TTFT distribution, throughput against
// parameter count. The first benchmark's files are latency, memory, …; another
// benchmark's carry its name: latency-load.
func Plots(s *Set) []Plot {
	var out []Plot
	avg := s.Averaged("prompt")
	for i, b := range s.benchmarks() {
		suffix := ""
		if i > 0 {
			suffix = "-" + strings.ToLower(b)
		}
		rows, _ := splitStages(bench(avg, b))
		for _, p := range []Plot{
			barPlot(rows, "latency", b+": latency by model", "ns/op"),
			memoryPlot(rows, b),
			barPlot(rows, "throughput", b+": decode throughput by model", "tokens/s"),
			ttftPlot(rows, b),
			paramsPlot(rows, b),
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
		if len(xys) > 0 {
			eb, err := plotter.NewYErrorBars(struct {
				plotter.XYs
				plotter.YErrors
			}{xys, errs})
			if err != nil {
				return err
			}
			eb.CapWidth = width / 3
			eb.LineStyle.Width = vg.Points(1.2)
			pl.Add(eb)
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
	labels, err := plotter.NewLabels(plotter.XYLabels{XYs: xys, Labels: p.Labels})
	if err != nil {
		return err
	}
	for i := range labels.TextStyle {
		labels.TextStyle[i].Font.Size = vg.Points(9)
	}
	labels.Offset = vg.Point{X: vg.Points(6), Y: vg.Points(4)}
	pl.Add(labels)
	var exys plotter.XYs
	var errs plotter.YErrors
	for i := range s.X {
		if finite(s.Lo[i]) && finite(s.Hi[i]) {
			exys = append(exys, xys[i])
			errs = append(errs, struct{ Low, High float64 }{s.Values[i] - s.Lo[i], s.Hi[i] - s.Values[i]})
		}
	}
	if len(exys) > 0 {
		eb, err := plotter.NewYErrorBars(struct {
			plotter.XYs
			plotter.YErrors
		}{exys, errs})
		if err != nil {
			return err
		}
		pl.Add(eb)
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
