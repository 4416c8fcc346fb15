package reports

import (
	"bytes"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	"gonum.org/v1/plot"
)

// TestTrendPlot: a Trend names each commit on the x axis (every k-th past
// 16), rings its marks, and turns its y axis logarithmic only when the data
// span more than 20×.
func TestTrendPlot(t *testing.T) {
	trend := func(hi float64, commits int) Plot {
		p := Plot{Name: "trend-x", Kind: Trend, Marks: []Mark{{X: 2, Y: hi}}}
		s := Series{Name: "m"}
		for i := range commits {
			p.Labels = append(p.Labels, string(rune('a'+i)))
			v := 1.0
			if i > 0 {
				v = hi
			}
			s.X, s.Values = append(s.X, float64(i+1)), append(s.Values, v)
			s.Lo, s.Hi = append(s.Lo, v*0.9), append(s.Hi, v*1.1)
		}
		p.Series = []Series{s}
		return p
	}
	pl, err := trend(1.15, 3).Draw()
	require.NoError(t, err)
	_, isLog := pl.Y.Scale.(plot.LogScale)
	assert.False(t, isLog, "1.15× is drawn linear")
	var named []string
	for _, tk := range pl.X.Tick.Marker.Ticks(pl.X.Min, pl.X.Max) {
		named = append(named, tk.Label)
	}
	assert.Equal(t, []string{"a", "b", "c"}, named)
	assert.Equal(t, 0.5, pl.X.Min)
	assert.Equal(t, 3.5, pl.X.Max)

	pl, err = trend(25, 3).Draw()
	require.NoError(t, err)
	_, isLog = pl.Y.Scale.(plot.LogScale)
	assert.True(t, isLog, "25× (0.9 … 27.5) is drawn on a log axis")
	assert.Less(t, pl.Y.Min, 0.9)

	pl, err = trend(1, 40).Draw()
	require.NoError(t, err)
	n := 0
	for _, tk := range pl.X.Tick.Marker.Ticks(pl.X.Min, pl.X.Max) {
		if tk.Label != "" {
			n++
		}
	}
	assert.Equal(t, 14, n, "40 commits: every 3rd named, and the last")

	var buf bytes.Buffer
	require.NoError(t, WriteHTMLSections(&buf, mustParse(t), nil, []HTMLSection{{ID: "trend", Title: "Trend",
		Tables: []HTMLTable{{Title: "T", Head: []string{"a", "b"}, Align: []bool{true}, Rows: [][]string{{"1", "x"}}}},
		Notes:  []string{"note"}, Plots: []Plot{trend(1.15, 3)}}}))
	for _, want := range []string{`<section id="trend">`, `<td class="num">1</td><td>x</td>`, "<li>note</li>", `<figure id="plot-trend-x">`} {
		assert.Contains(t, buf.String(), want)
	}
}

func mustParse(t *testing.T) *Set {
	t.Helper()
	s, err := Parse(bytes.NewReader([]byte("BenchmarkGenerate/model=a/prompt=p 1 100 ns/op\n")), "x", nil)
	require.NoError(t, err)
	return s
}
