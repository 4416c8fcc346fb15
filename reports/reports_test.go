package reports

import (
	"bytes"
	"flag"
	"fmt"
	"image/png"
	"math"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	"gonum.org/v1/plot/vg"
)

var update = flag.Bool("update", false, "rewrite the golden files in testdata")

// golden compares got with testdata/name; -update rewrites it. A mismatch
// leaves testdata/name.got- for a human to diff.
func golden(t *testing.T, name string, got []byte) {
	t.Helper()
	goldenFunc(t, name, got, func(want, got []byte) string {
		if bytes.Equal(got, want) {
			return ""
		}
		return "differs from the golden file"
	})
}

// goldenFunc is golden with a comparison of its own: differ says how got
// differs from want, "" when it matches.
func goldenFunc(t *testing.T, name string, got []byte, differ func(want, got []byte) string) {
	t.Helper()
	path := filepath.Join("testdata", name)
	if *update {
		require.NoError(t, os.WriteFile(path, got, 0o644))
		return
	}
	want, err := os.ReadFile(path)
	require.NoError(t, err, "run go test -update to create it")
	if d := differ(want, got); d != "" {
		_ = os.WriteFile(path+".got-", got, 0o644)
		t.Errorf("%s %s; see %s.got- (go test -update accepts it)", path, d, path)
	}
}

func readBench(t *testing.T) *Set {
	t.Helper()
	var warn bytes.Buffer
	s, err := Read([]string{"testdata/bench.txt"}, &warn)
	require.NoError(t, err)
	require.Empty(t, warn.String())
	return s
}

func TestRead(t *testing.T) {
	s := readBench(t)
	assert.Equal(t, []string{"model", "prompt", "concurrency", "rate"}, s.Keys)
	assert.Equal(t, 84, s.Results, "36 Generate lines, 48 Load lines")
	require.Len(t, s.Groups, 14)

	g := s.Groups[0]
	assert.Equal(t, "Generate", g.Benchmark)
	assert.Equal(t, "Generate/model=synth-tiny/prompt=short", g.ID())
	assert.Equal(t, 1.3e8, g.Params)
	assert.True(t, g.Synthetic)
	assert.Len(t, g.Samples["ttft-ns/op"], 6)
	assert.NotContains(t, g.Samples, "peak-vram-B", "no GPU metric for the synthetic model")
	// Values stay in the unit as written: ns, not benchfmt's tidied seconds.
	assert.Greater(t, g.Samples["ns/op"][0], 1e8)

	q := s.Groups[2]
	assert.Equal(t, "qwen2.5-0.5b", q.Model())
	assert.False(t, q.Synthetic, "model-synthetic: false after a synthetic model")
	assert.Len(t, q.Samples["peak-vram-B"], 6)

	load := s.Groups[10]
	assert.Equal(t, "Load/model=qwen2.5-0.5b/concurrency=1", load.ID())
	rate := s.Groups[6]
	assert.Equal(t, "Load/model=synth-tiny/rate=1", rate.ID())
	assert.Equal(t, "300000000", rate.Config[ConfigSLOTTFT])
	assert.Equal(t, "AMD EPYC 7B13", rate.Config["cpu"])
	assert.NotContains(t, load.Config, ConfigSLOTTFT)

	// Known metrics in canonical order, whatever the column order.
	assert.Equal(t, []string{"ns/op", "ttft-ns/op", "tpot-ns/op", "itl-p50-ns", "itl-p99-ns", "tokens/s", "prompt-tokens/s",
		"gen-tokens/op", "prompt-tokens/op", "peak-rss-B", "peak-vram-B",
		"req/s", "goodput-req/s", "error-rate", "ttft-p50-ns", "ttft-p90-ns", "ttft-p99-ns",
		"tpot-p50-ns", "tpot-p90-ns", "tpot-p99-ns", "itl-p90-ns", "e2e-p50-ns", "e2e-p90-ns", "e2e-p99-ns",
		"lag-p50-ns", "lag-p99-ns",
		"out-words/op", "ttr", "distinct2", "rouge-l"}, s.Metrics)
	assert.True(t, s.Synthetic())
}

func TestReadMalformed(t *testing.T) {
	in := `goos: linux
Unit tokens/s better=higher
BenchmarkGenerate/model=a/prompt=p 1 100 ns/op 5 tokens/s
BenchmarkGenerate/model=a/prompt=p 1 abc ns/op
BenchmarkGenerate/model=a/prompt=p 1 120 ns/op 6 tokens/s
Unit tokens/s better
`
	var warn bytes.Buffer
	s, err := Parse(strings.NewReader(in), "bad.txt", &warn)
	require.NoError(t, err)
	assert.Equal(t, 2, s.Results, "the good lines are kept")
	require.Len(t, s.Errors, 2)
	assert.Equal(t, "bad.txt", s.Errors[0].FileName)
	assert.Equal(t, 4, s.Errors[0].Line)
	assert.Contains(t, warn.String(), "bad.txt:4: parsing measurement")
	assert.Contains(t, warn.String(), "bad.txt:6: expected key=value")
	assert.Equal(t, []float64{100, 120}, s.Groups[0].Samples["ns/op"])
}

func TestReadErrors(t *testing.T) {
	_, err := Parse(strings.NewReader("goos: linux\nPASS\n"), "empty.txt", nil)
	assert.ErrorIs(t, err, ErrNoResults)
	assert.ErrorContains(t, err, "empty.txt")

	_, err = Read([]string{"testdata/no-such-file.txt"}, nil)
	assert.ErrorIs(t, err, os.ErrNotExist)
}

func TestReadGomaxprocs(t *testing.T) {
	// A -N suffix alone does not make a key, so go test and llmbench run
	// output pair up; differing values do.
	s, err := Parse(strings.NewReader("BenchmarkGenerate/model=a-8 1 100 ns/op\nBenchmarkGenerate/model=a-8 1 110 ns/op\n"), "x", nil)
	require.NoError(t, err)
	assert.Equal(t, "Generate/model=a", s.Groups[0].ID())

	s, err = Parse(strings.NewReader("BenchmarkGenerate/model=a-8 1 100 ns/op\nBenchmarkGenerate/model=a-4 1 110 ns/op\n"), "x", nil)
	require.NoError(t, err)
	require.Len(t, s.Groups, 2)
	assert.Equal(t, "Generate/model=a/gomaxprocs=8", s.Groups[0].ID())
}

func TestReadResidue(t *testing.T) {
	in := "engine: ollama v0.17.4\nBenchmarkGenerate/model=a 1 100 ns/op\nengine: ollama v0.18.0\nBenchmarkGenerate/model=a 1 100 ns/op\n"
	var warn bytes.Buffer
	_, err := Parse(strings.NewReader(in), "x", &warn)
	require.NoError(t, err)
	assert.Equal(t, "Generate/model=a: results differ in engine\n", warn.String())
}

func TestSummarize(t *testing.T) {
	st := Summarize([]float64{6, 1, 5, 2, 4, 3})
	assert.Equal(t, 6, st.N)
	assert.Equal(t, 3.5, st.Median)
	assert.Equal(t, 3.5, st.Mean)
	assert.InDelta(t, 1.8708287, st.Stddev, 1e-6)
	assert.Equal(t, 1.0, st.Min)
	assert.Equal(t, 6.0, st.Max)
	// With 6 values the 95% interval of the median is the whole range.
	assert.Equal(t, 1.0, st.Lo)
	assert.Equal(t, 6.0, st.Hi)
	assert.True(t, st.HasCI())

	st = Summarize([]float64{2, 1})
	assert.False(t, st.HasCI(), "no interval under 6 samples")
	assert.True(t, math.IsInf(st.Lo, -1))

	st = Summarize([]float64{7})
	assert.True(t, math.IsNaN(st.Stddev))
}

func TestColumn(t *testing.T) {
	for metric, want := range map[string]string{
		"ns/op":           "latency_ns",
		"ttft-ns/op":      "ttft_ns",
		"tokens/s":        "tokens_per_s",
		"prompt-tokens/s": "prompt_tokens_per_s",
		"peak-rss-B":      "peak_rss_B",
		"J/token":         "J_per_token",
		"gen-tokens/op":   "gen_tokens",
		"rouge-l":         "rouge_l",
		"B/op":            "alloc_B",
	} {
		assert.Equal(t, want, Column(metric), metric)
	}
}

func TestBetter(t *testing.T) {
	for metric, want := range map[string]int{
		"ns/op": -1, "ttft-ns/op": -1, "load-ns": -1, "itl-p99-ns": -1, "peak-vram-B": -1, "J/token": -1,
		"tokens/s": 1, "server-prompt-tokens/s": 1, "widgets/s": 1,
		"gen-tokens/op": 0, "rouge-l": 0, "ttr": 0, "avg-power-W": 0,
		"queue-ns/op": -1, "cache-B": -1,
	} {
		assert.Equal(t, want, DefaultBetter(metric), metric)
	}
	// A Unit line wins, with or without "/op".
	s, err := Parse(strings.NewReader("Unit rouge-l better=higher\nUnit ttft-ns better=higher\n"+
		"BenchmarkGenerate/model=a 1 100 ns/op 5 ttft-ns/op 0.3 rouge-l\n"), "x", nil)
	require.NoError(t, err)
	assert.Equal(t, 1, s.Better("rouge-l"))
	assert.Equal(t, 1, s.Better("ttft-ns/op"))
	assert.Equal(t, -1, s.Better("ns/op"))
}

func TestHuman(t *testing.T) {
	for _, c := range []struct {
		metric string
		v      float64
		want   string
	}{
		{"ns/op", 1_234_567_890, "1235 ms"},
		{"ttft-ns/op", 29_800_000, "29.8 ms"},
		{"tpot-ns/op", 512_000, "512 µs"},
		{"load-ns", 250e9, "250 s"},
		{"peak-rss-B", 326 << 20, "326 MiB"},
		{"peak-vram-B", 1.5 * (1 << 30), "1.50 GiB"},
		{"tokens/s", 82.66, "82.7"},
		{"ttr", 0.6105, "0.611"},
		{"ns/op", math.Inf(1), "–"},
	} {
		assert.Equal(t, c.want, Human(c.metric, c.v), "%s %v", c.metric, c.v)
	}
}

func TestGoldenReport(t *testing.T) {
	s := readBench(t)
	var csv bytes.Buffer
	require.NoError(t, WriteCSV(&csv, s))
	golden(t, "results.csv.golden", csv.Bytes())

	var md bytes.Buffer
	require.NoError(t, WriteSummary(&md, s, Plots(s)))
	golden(t, "summary.md.golden", md.Bytes())
	assert.True(t, strings.HasPrefix(md.String(), "# Benchmark summary\n\n> **Synthetic models**"),
		"the banner comes first")
}

func TestSummaryNoSynthetic(t *testing.T) {
	s, err := Parse(strings.NewReader("BenchmarkGenerate/model=a/prompt=p 1 100 ns/op\n"), "x", nil)
	require.NoError(t, err)
	var md bytes.Buffer
	require.NoError(t, WriteSummary(&md, s, nil))
	assert.NotContains(t, md.String(), "Synthetic")
}

func TestAveraged(t *testing.T) {
	s := readBench(t)
	rows := s.Averaged("prompt")
	require.Len(t, rows, 11, "3 Generate models, 8 load points")
	r := rows[0]
	assert.Equal(t, "Generate/model=synth-tiny", r.Group.ID())
	assert.Equal(t, 2, r.Prompts)
	short, _ := s.Groups[0].Stats("ns/op")
	long, _ := s.Groups[1].Stats("ns/op")
	e := r.Est["ns/op"]
	assert.Equal(t, 12, e.N)
	assert.InDelta(t, (short.Median+long.Median)/2, e.Center, 1e-6)
	assert.InDelta(t, (short.Lo+long.Lo)/2, e.Lo, 1e-6)
	assert.Len(t, r.Group.Samples["ttft-ns/op"], 12, "samples pooled for the box plot")
}

func TestPlotData(t *testing.T) {
	s := readBench(t)
	plots := Plots(s)
	byName := map[string]Plot{}
	for _, p := range plots {
		byName[p.Name] = p
	}
	lat := byName["latency"]
	require.Empty(t, lat.Skipped)
	require.Len(t, lat.Series, 1)
	assert.Len(t, lat.Series[0].Values, 3, "one bar per model")
	assert.Equal(t, []string{"synth-tiny\n(synthetic)", "qwen2.5-0.5b", "llama3.2-1b"}, lat.Labels)
	assert.Equal(t, "Latency (ms)", lat.YLabel)
	for i, v := range lat.Series[0].Values {
		assert.Less(t, lat.Series[0].Lo[i], v)
		assert.Greater(t, lat.Series[0].Hi[i], v)
	}

	mem := byName["memory"]
	require.Len(t, mem.Series, 2, "RAM and GPU side by side")
	assert.Len(t, mem.Series[0].Values, 3)
	assert.Len(t, mem.Series[1].Values, 3)
	assert.True(t, math.IsNaN(mem.Series[1].Values[0]), "no GPU bar for the CPU-only synthetic model")
	assert.Equal(t, "peak memory (GiB)", mem.YLabel)

	ttft := byName["ttft"]
	require.Len(t, ttft.Series[0].Samples, 3)
	assert.Len(t, ttft.Series[0].Samples[0], 12, "box over all samples of both prompts")

	tp := byName["throughput-params"]
	assert.Len(t, tp.Series[0].X, 3)
	assert.Equal(t, []float64{1.3e8, 4.94e8, 1.24e9}, tp.Series[0].X)

	cdf := byName["tpot-cdf"]
	require.Len(t, cdf.Series, 3, "one step line per model")
	assert.True(t, cdf.Steps)
	assert.False(t, cdf.LogX, "TPOT spans less than 20×")
	assert.Equal(t, "synth-tiny (synthetic) (n=12)", cdf.Series[0].Name)
	assert.Equal(t, []float64{0, 1.0 / 12}, cdf.Series[0].Values[:2], "from 0, a step per sample")
	assert.Equal(t, 1.0, cdf.Series[0].Values[12])
	assert.True(t, slices.IsSorted(cdf.Series[0].X))
	assert.Equal(t, "TPOT (ms)", cdf.XLabel)
	assert.True(t, byName["ttft-cdf"].LogX, "TTFT spans 40 ms to 700 ms: log scale")
	assert.Equal(t, "TTFT (ms, log scale)", byName["ttft-cdf"].XLabel)

	// The load sweep: curves, not bars; the concurrency and the rate sweep apart.
	tok := byName["load-tokens-concurrency"]
	require.Empty(t, tok.Skipped)
	require.Len(t, tok.Series, 1)
	assert.Equal(t, []float64{1, 2, 4, 8}, tok.Series[0].X)
	assert.Equal(t, "concurrency (requests in flight)", tok.XLabel)
	assert.InDelta(t, 38.9, tok.Series[0].Values[0], 1, "tokens/s at concurrency 1")
	for i, v := range tok.Series[0].Values {
		assert.Less(t, tok.Series[0].Lo[i], v, "whiskers with 6 samples")
	}
	lt := byName["load-ttft-rate"]
	require.Len(t, lt.Series, 2, "p50 and p99 of the one rate model")
	assert.False(t, lt.Series[0].Dashed)
	assert.True(t, lt.Series[1].Dashed)
	assert.Equal(t, lt.Series[0].Color, lt.Series[1].Color)
	assert.Equal(t, "TTFT (ms)", lt.YLabel)
	assert.Equal(t, []Ref{{Y: 300, Label: "SLO: TTFT ≤ 300 ms"}}, lt.Refs)
	assert.True(t, slices.IsSorted(lt.Series[0].X), "achieved throughput grows with the rate")
	assert.Equal(t, "offered load (requests/s)", byName["load-goodput-rate"].XLabel)
	assert.Contains(t, byName["load-goodput-rate"].Subtitle, "TTFT ≤ 300 ms")
	assert.Equal(t, "no goodput-req/s metric", byName["load-goodput-concurrency"].Skipped)
	assert.NotContains(t, byName, "latency-load", "no bars for a sweep")
}

func TestPlaceLabels(t *testing.T) {
	// The H200 throughput-against-size plot: two long labels of points 5
	// tokens/s apart printed over each other; and one at the right edge.
	area := vg.Rectangle{Max: vg.Point{X: 500, Y: 300}}
	pts := []vg.Point{{X: 200, Y: 150}, {X: 260, Y: 152}, {X: 480, Y: 100}, {X: 260, Y: 140}}
	boxes := make([]vg.Rectangle, len(pts))
	for i := range boxes {
		boxes[i] = vg.Rectangle{Min: vg.Point{Y: -2}, Max: vg.Point{X: 120, Y: 9}}
	}
	at := placeLabels(pts, boxes, 4, area)
	placed := make([]vg.Rectangle, len(at))
	for i, p := range at {
		placed[i] = boxes[i].Add(p)
		assert.True(t, placed[i].Min.X >= 0 && placed[i].Max.X <= 500, "label %d inside: %v", i, placed[i])
	}
	for i := range placed {
		for j := range i {
			assert.Zero(t, overlap(placed[i], placed[j]), "labels %d and %d overlap", j, i)
		}
		for j, p := range pts {
			dot := vg.Rectangle{Min: vg.Point{X: p.X - 4, Y: p.Y - 4}, Max: vg.Point{X: p.X + 4, Y: p.Y + 4}}
			assert.Zero(t, overlap(placed[i], dot), "label %d covers point %d", i, j)
		}
	}
}

func TestPlotSkippedWithoutParams(t *testing.T) {
	s, err := Parse(strings.NewReader("BenchmarkGenerate/model=a/prompt=p 1 100 ns/op 5 tokens/s\n"), "x", nil)
	require.NoError(t, err)
	for _, p := range Plots(s) {
		switch p.Name {
		case "throughput-params":
			assert.Equal(t, "no model-params config lines", p.Skipped)
		case "ttft":
			assert.Equal(t, "no ttft-ns/op metric", p.Skipped)
		case "latency", "throughput":
			assert.Empty(t, p.Skipped)
		}
	}
}

func TestWriteReport(t *testing.T) {
	s := readBench(t)
	dir := t.TempDir()
	var warn bytes.Buffer
	files, err := WriteReport(dir, s, &warn)
	require.NoError(t, err)
	assert.Equal(t, "plot load-goodput-concurrency not drawn: no goodput-req/s metric\n", warn.String())
	var pngs int
	for _, f := range files {
		data, err := os.ReadFile(f)
		require.NoError(t, err)
		switch filepath.Ext(f) {
		case ".png":
			pngs++
			cfg, err := png.DecodeConfig(bytes.NewReader(data))
			require.NoError(t, err, f)
			assert.Equal(t, 960, cfg.Width, f)
			assert.Equal(t, 600, cfg.Height, f)
		case ".svg":
			assert.Contains(t, string(data[:min(len(data), 400)]), "<svg", f)
		}
	}
	assert.Equal(t, 18, pngs, "7 Generate plots, 6 of the rate sweep, 5 of the concurrency sweep")
	assert.Contains(t, files, filepath.Join(dir, "results.csv"))
	assert.Contains(t, files, filepath.Join(dir, "summary.md"))
}

// sample makes n values around center with a fixed ±1% spread.
func sample(center float64, n int, phase int) []float64 {
	vs := make([]float64, n)
	for i := range vs {
		vs[i] = center * (1 + 0.01*math.Sin(float64(i*7+phase)))
	}
	return vs
}

func set(metric string, values []float64, units string) *Set {
	in := units
	for _, v := range values {
		in += "BenchmarkGenerate/model=a/prompt=p 1 " + formatNum(v) + " " + metric + "\n"
	}
	s, err := Parse(strings.NewReader(in), "x.txt", nil)
	if err != nil {
		panic(err)
	}
	return s
}

func formatNum(v float64) string { return num(v) }

func TestCompare(t *testing.T) {
	old := set("ttft-ns/op", sample(100e6, 6, 0), "")
	slow := set("ttft-ns/op", sample(120e6, 6, 3), "")
	c, err := Compare(old, slow)
	require.NoError(t, err)
	require.Len(t, c.Deltas, 1)
	d := c.Deltas[0]
	assert.InDelta(t, 0.2, d.Change, 0.02)
	assert.InDelta(t, 2.0/924, d.P, 1e-9, "complete separation of 6+6: smallest p")
	assert.True(t, d.Significant)
	assert.Equal(t, "worse", d.Verdict())
	assert.Less(t, d.ChangeLo, d.Change)
	assert.Greater(t, d.ChangeHi, d.Change)

	same := set("ttft-ns/op", sample(100e6, 6, 1), "")
	c, err = Compare(old, same)
	require.NoError(t, err)
	assert.Equal(t, "~", c.Deltas[0].Verdict())
}

func TestCompareNoCommon(t *testing.T) {
	a := set("ns/op", []float64{1, 2}, "")
	b, err := Parse(strings.NewReader("BenchmarkGenerate/model=b/prompt=p 1 5 ns/op\n"), "y.txt", nil)
	require.NoError(t, err)
	_, err = Compare(a, b)
	assert.ErrorIs(t, err, ErrNoCommon)
	assert.ErrorContains(t, err, "old has Generate/model=a/prompt=p; new has Generate/model=b/prompt=p")
}

func TestGate(t *testing.T) {
	base := sample(100e6, 6, 0)
	for _, c := range []struct {
		name   string
		metric string
		units  string
		new    []float64
		opts   GateOptions
		pass   bool
	}{
		{"20% slower", "ttft-ns/op", "", sample(120e6, 6, 2), GateOptions{}, false},
		{"20% slower, 25% allowed", "ttft-ns/op", "", sample(120e6, 6, 2), GateOptions{MaxRegression: 0.25}, true},
		{"3% slower, significant but under 5%", "ttft-ns/op", "", sample(103e6, 6, 2), GateOptions{}, true},
		{"20% faster", "ttft-ns/op", "", sample(80e6, 6, 2), GateOptions{}, true},
		{"noise", "ttft-ns/op", "", sample(100e6, 6, 5), GateOptions{}, true},
		{"throughput down 20%", "tokens/s", "", sample(80e6, 6, 2), GateOptions{}, false},
		{"throughput up 20%", "tokens/s", "", sample(120e6, 6, 2), GateOptions{}, true},
		{"Unit line flips direction", "tokens/s", "Unit tokens/s better=lower\n", sample(120e6, 6, 2), GateOptions{}, false},
	} {
		t.Run(c.name, func(t *testing.T) {
			v, err := Gate(set(c.metric, base, c.units), set(c.metric, c.new, c.units), c.opts)
			require.NoError(t, err)
			assert.Equal(t, c.pass, v.Pass())
			assert.Len(t, v.Checked, 1)
		})
	}
}

func TestGateErrors(t *testing.T) {
	old := set("ttft-ns/op", sample(100e6, 6, 0), "")
	_, err := Gate(old, set("ttft-ns/op", sample(100e6, 6, 1), ""), GateOptions{Metrics: []string{"peak-vram-B"}})
	assert.ErrorIs(t, err, ErrMetric)
	assert.ErrorContains(t, err, "peak-vram-B: not in both")

	q := set("rouge-l", sample(0.3, 6, 0), "")
	_, err = Gate(q, set("rouge-l", sample(0.2, 6, 1), ""), GateOptions{Metrics: []string{"rouge_l"}})
	assert.ErrorIs(t, err, ErrMetric)
	assert.ErrorContains(t, err, "no direction")

	_, err = Gate(q, set("rouge-l", sample(0.2, 6, 1), ""), GateOptions{})
	assert.ErrorIs(t, err, ErrMetric, "nothing with a direction to check")

	_, err = Gate(old, set("ttft-ns/op", sample(200e6, 2, 1), ""), GateOptions{})
	assert.ErrorIs(t, err, ErrSamples, "6+2 samples can never be significant")
}

func TestGateMetricsByColumn(t *testing.T) {
	old := set("ttft-ns/op", sample(100e6, 6, 0), "")
	v, err := Gate(old, set("ttft-ns/op", sample(130e6, 6, 1), ""), GateOptions{Metrics: []string{"ttft_ns"}})
	require.NoError(t, err)
	assert.False(t, v.Pass())
	var md bytes.Buffer
	require.NoError(t, v.WriteMarkdown(&md))
	assert.Contains(t, md.String(), "## Benchmark gate: FAIL, 1 regression\n")
	assert.Contains(t, md.String(), "| Generate/model=a/prompt=p | `ttft-ns/op` | 100 ms ±1% | 130 ms ±1% | +29.81% | 0.002 | 6 |\n")
}

func TestIsBenchstatCSV(t *testing.T) {
	csv, err := os.ReadFile("testdata/benchstat.csv")
	require.NoError(t, err)
	assert.True(t, IsBenchstatCSV(csv))
	bench, err := os.ReadFile("testdata/bench.txt")
	require.NoError(t, err)
	assert.False(t, IsBenchstatCSV(bench))
	assert.False(t, IsBenchstatCSV(nil))
}

// TestBenchstatCSV reads benchstat's own CSV of old.txt and new.txt (made by
// `go tool benchstat -format csv old.txt new.txt`) and finds what Compare
// finds from the samples.
func TestBenchstatCSV(t *testing.T) {
	f, err := os.Open("testdata/benchstat.csv")
	require.NoError(t, err)
	defer f.Close()
	bc, err := ReadBenchstatCSV(f, "benchstat.csv")
	require.NoError(t, err)
	assert.Equal(t, "old.txt", bc.Old)
	assert.Equal(t, "new.txt", bc.New)

	c := compareOldNew(t)
	require.Equal(t, len(c.Deltas), len(bc.Deltas))
	for _, want := range c.Deltas {
		i := slices.IndexFunc(bc.Deltas, func(d Delta) bool { return d.ID() == want.ID() && d.Metric == want.Metric })
		require.GreaterOrEqual(t, i, 0, "%s %s", want.ID(), want.Metric)
		got := bc.Deltas[i]
		assert.Equal(t, want.Verdict(), got.Verdict(), "%s %s", want.ID(), want.Metric)
		assert.InDelta(t, want.Change, got.Change, 1e-9, "%s %s", want.ID(), want.Metric)
		assert.InDelta(t, want.P, got.P, 0.0005)
		assert.Equal(t, want.Old.N, got.Old.N)
		assert.InEpsilon(t, want.Old.Center, got.Old.Center, 1e-9, "seconds turned back into ns")
	}

	// The 0.5B got faster, but new.txt lacks a benchmark of old.txt: the
	// gate fails on it, unless told to allow it.
	v, err := bc.Gate(GateOptions{})
	require.NoError(t, err)
	assert.False(t, v.Pass())
	assert.Empty(t, v.Regressions)
	assert.Equal(t, "FAIL, 1 benchmark missing", v.Headline())
	v, err = bc.Gate(GateOptions{AllowMissing: true})
	require.NoError(t, err)
	assert.True(t, v.Pass())
	ids := func(ms []Missing) []string {
		var out []string
		for _, m := range ms {
			out = append(out, fmt.Sprintf("%s %s whole=%v", m.ID(), m.Metric, m.Whole))
		}
		slices.Sort(out)
		return out
	}
	assert.Contains(t, ids(bc.OnlyOld), "Generate/model=llama3.2-1b/prompt=short ns/op whole=true")
	assert.Equal(t, ids(c.OnlyOld), ids(bc.OnlyOld))
}

func TestBenchstatCSVErrors(t *testing.T) {
	three := "goos: linux\n,a.txt,,b.txt,,,,c.txt,,,\n,sec/op,CI,sec/op,CI,vs base,P,sec/op,CI,vs base,P\nX,1,1%,2,1%,+100%,p=0.002 n=6,3,1%,+200%,p=0.002 n=6\n"
	_, err := ReadBenchstatCSV(strings.NewReader(three), "three.csv")
	assert.ErrorContains(t, err, "three.csv:3: benchstat CSV with 3 result columns")

	_, err = ReadBenchstatCSV(strings.NewReader(",a.txt,\n,sec/op,CI\nX,1,1%\n"), "one.csv")
	assert.Error(t, err)
}

func TestComparisonOutputs(t *testing.T) {
	c := compareOldNew(t)
	var csv, md bytes.Buffer
	require.NoError(t, c.WriteCSV(&csv))
	golden(t, "compare.csv.golden", csv.Bytes())
	require.NoError(t, c.WriteMarkdown(&md))
	golden(t, "compare.md.golden", md.Bytes())

	p := c.Plot()
	require.Empty(t, p.Skipped)
	assert.Len(t, p.Labels, len(c.ByMetric()), "one row per metric")
	dir := t.TempDir()
	files, err := WriteComparison(dir, c, nil)
	require.NoError(t, err)
	assert.Len(t, files, 5)
	data, err := os.ReadFile(filepath.Join(dir, "compare.png"))
	require.NoError(t, err)
	cfg, err := png.DecodeConfig(bytes.NewReader(data))
	require.NoError(t, err)
	assert.Equal(t, [2]int{960, 600}, [2]int{cfg.Width, cfg.Height})
}

func TestGateSkipsSyntheticQuality(t *testing.T) {
	units := "Unit rouge-l better=higher\nmodel-synthetic: true\n"
	old := set("rouge-l", sample(0.3, 6, 0), units)
	worse := set("rouge-l", sample(0.1, 6, 1), units)
	_, err := Gate(old, worse, GateOptions{})
	assert.ErrorIs(t, err, ErrMetric, "the only metric is the quality of a synthetic model")
	v, err := Gate(old, worse, GateOptions{Metrics: []string{"rouge-l"}})
	require.NoError(t, err)
	assert.False(t, v.Pass(), "checked when asked by name")

	real := "Unit rouge-l better=higher\n"
	v, err = Gate(set("rouge-l", sample(0.3, 6, 0), real), set("rouge-l", sample(0.1, 6, 1), real), GateOptions{})
	require.NoError(t, err)
	assert.False(t, v.Pass(), "a real model's quality has a direction from its Unit line")
}

func TestReadOneShot(t *testing.T) {
	const unit = "Unit load-ns better=lower\n"
	for _, c := range []struct {
		name, in string
		want     map[string][]float64 // the stage group's samples
		cases    int                  // case groups
	}{
		{"on every case line: one load", unit +
			"BenchmarkGenerate/model=a/prompt=p 1 10 ns/op 7 load-ns 3 rss-after-load-B\n" +
			"BenchmarkGenerate/model=a/prompt=p 1 11 ns/op 7 load-ns 3 rss-after-load-B\n" +
			"BenchmarkGenerate/model=a/prompt=q 1 12 ns/op 7 load-ns 3 rss-after-load-B\n",
			map[string][]float64{"load-ns": {7}, "rss-after-load-B": {3}}, 2},
		{"two loads", "BenchmarkGenerate/model=a/prompt=p 1 10 ns/op 7 load-ns\n" +
			"BenchmarkGenerate/model=a/prompt=p 1 10 ns/op 9 load-ns\n",
			map[string][]float64{"load-ns": {7, 9}}, 1},
		{"stage line wins", "BenchmarkGenerate/model=a/stage=load 1 8 load-ns\n" +
			"BenchmarkGenerate/model=a/prompt=p 1 10 ns/op 7 load-ns\n",
			map[string][]float64{"load-ns": {8}}, 1},
	} {
		t.Run(c.name, func(t *testing.T) {
			s, err := Parse(strings.NewReader(c.in), "x.txt", nil)
			require.NoError(t, err)
			assert.Equal(t, []string{"model", "prompt", StageKey}, s.Keys)
			var stage []*Group
			cases := 0
			for _, g := range s.Groups {
				if g.Stage() != "" {
					stage = append(stage, g)
				} else {
					cases++
					assert.NotContains(t, g.Samples, "load-ns", "a case keeps no one-shot figure")
				}
			}
			require.Len(t, stage, 1)
			assert.Equal(t, "Generate/model=a/stage=load", stage[0].ID())
			assert.Equal(t, c.want, stage[0].Samples)
			assert.Equal(t, c.cases, cases)
		})
	}
}

func TestDirections(t *testing.T) {
	assert.Equal(t, 0, DefaultBetter("avg-power-W"), "more power for less time can be better")
	assert.Equal(t, -1, DefaultBetter("J/token"))
	assert.True(t, IsOneShot("load-ns"))
	assert.True(t, IsOneShot("rss-after-load-B"))
	assert.False(t, IsOneShot("peak-rss-B"))
}

// compareOldNew compares testdata/old.txt with testdata/new.txt.
func compareOldNew(t *testing.T) *Comparison {
	t.Helper()
	old, err := Read([]string{"testdata/old.txt"}, nil)
	require.NoError(t, err)
	new, err := Read([]string{"testdata/new.txt"}, nil)
	require.NoError(t, err)
	c, err := Compare(old, new)
	require.NoError(t, err)
	return c
}
