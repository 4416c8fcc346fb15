package reports

import (
	"io"
	"math"

	"gonum.org/v1/plot"
	"gonum.org/v1/plot/plotter"
	"gonum.org/v1/plot/vg"
	"gonum.org/v1/plot/vg/draw"
)

// A Mark is a point ringed over a plot's data: a change point of a Trend.
type Mark struct {
	X, Y float64
}

// trendTicks is how many commits a Trend's x axis names at most; beyond it
// every k-th is named.
const trendTicks = 16

// trendLogSpan is the span of a Trend's values and intervals beyond which its
// y axis is logarithmic: a 5× change, or one wild interval, still leaves the
// other points readable.
const trendLogSpan = 20

// trendRange is the smallest and largest positive finite value or interval
// bound of the series.
func trendRange(series []Series) (lo, hi float64) {
	lo, hi = math.Inf(1), 0
	for _, s := range series {
		for _, vs := range [][]float64{s.Values, s.Lo, s.Hi} {
			for _, v := range vs {
				if finite(v) && v > 0 {
					lo, hi = math.Min(lo, v), math.Max(hi, v)
				}
			}
		}
	}
	return lo, hi
}

// drawTrend draws p as Lines over commits 1…len(Labels), each commit named
// on the x axis, the y axis logarithmic when the data span more than
// trendLogSpan times, and rings p.Marks in red.
func (p Plot) drawTrend(pl *plot.Plot) error {
	if err := p.drawLines(pl); err != nil {
		return err
	}
	n := len(p.Labels)
	every := max(1, (n+trendTicks-1)/trendTicks)
	var ticks []plot.Tick
	for i, l := range p.Labels {
		t := plot.Tick{Value: float64(i + 1)}
		if i%every == 0 || i == n-1 {
			t.Label = l
		}
		ticks = append(ticks, t)
	}
	pl.X.Tick.Marker = plot.ConstantTicks(ticks)
	pl.X.Tick.Label.Rotation = math.Pi / 6
	pl.X.Tick.Label.XAlign = draw.XRight
	pl.X.Tick.Label.YAlign = draw.YTop
	pl.X.Min, pl.X.Max = 0.5, float64(n)+0.5
	if lo, hi := trendRange(p.Series); hi > trendLogSpan*lo {
		pl.Y.Scale = plot.LogScale{}
		pl.Y.Tick.Marker = plot.LogTicks{Prec: -1}
		entries := 0 // legend lines, each given room above the data
		for _, s := range p.Series {
			if s.Name != "" {
				entries++
			}
		}
		if len(p.Marks) > 0 {
			entries++
		}
		pl.Y.Min, pl.Y.Max = lo/1.5, hi*math.Pow(2.5, float64(entries+1))
	}
	if len(p.Marks) == 0 {
		return nil
	}
	xys := make(plotter.XYs, len(p.Marks))
	for i, m := range p.Marks {
		xys[i] = plotter.XY{X: m.X, Y: m.Y}
	}
	sc, err := plotter.NewScatter(xys)
	if err != nil {
		return err
	}
	sc.GlyphStyle = draw.GlyphStyle{Color: colorRed, Radius: vg.Points(7), Shape: draw.RingGlyph{}}
	pl.Add(sc)
	pl.Legend.Add("change point", sc)
	if _, ok := pl.Y.Scale.(plot.LogScale); !ok {
		pl.Y.Max *= 1.06 // the legend's extra line
	}
	return nil
}

// An HTMLSection is a section another package adds to report.html, drawn by
// its template like the report's own: tables of text cells, then plots.
type HTMLSection struct {
	// ID is the section's anchor; Title its heading.
	ID, Title string
	Tables    []HTMLTable
	// Notes are bullets after the tables.
	Notes []string
	Plots []Plot
}

// An HTMLTable is a table of an HTMLSection.
type HTMLTable struct {
	Title, Note string
	Head        []string
	// Align marks the numeric columns (right-aligned, sorted as numbers).
	Align []bool
	// Rows are the cells' text.
	Rows [][]string
}

// WriteHTMLSections writes report.html as WriteHTML does, with sections
// after the report's own.
func WriteHTMLSections(w io.Writer, s *Set, plots []Plot, sections []HTMLSection) error {
	p, err := reportPage(s, plots)
	if err != nil {
		return err
	}
	for _, sec := range sections {
		hs := htmlSection{ID: sec.ID, Title: sec.Title}
		for _, t := range sec.Tables {
			ht := htmlTable{Title: t.Title, Note: t.Note, Head: t.Head, Align: make([]bool, len(t.Head))}
			copy(ht.Align, t.Align)
			for _, row := range t.Rows {
				cells := make([]htmlCell, len(row))
				for i, text := range row {
					cells[i] = htmlCell{Text: text}
				}
				ht.Rows = append(ht.Rows, cells)
			}
			hs.Tables = append(hs.Tables, ht)
		}
		if len(sec.Notes) > 0 {
			hs.Lists = append(hs.Lists, htmlList{Title: "Notes", Items: sec.Notes})
		}
		for _, pl := range sec.Plots {
			hp, err := pl.html()
			if err != nil {
				return err
			}
			hs.Plots = append(hs.Plots, hp)
		}
		p.Sections = append(p.Sections, hs)
	}
	return render(w, p)
}

// Decimal formats v as results.csv does: the shortest plain decimal that
// reads back exactly; NaN and ±Inf are "".
func Decimal(v float64) string { return num(v) }

// BetterWord is a direction as the CSV files write it: "higher" (+1),
// "lower" (-1), "" (0).
func BetterWord(better int) string { return betterWord(better) }
