package history

import (
	"bytes"
	"context"
	"flag"
	"image/png"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

var update = flag.Bool("update", false, "rewrite the golden files in testdata")

// exactTrend is the planted history without noise: every sample of a case
// is the same, so every number has a known answer.
func exactTrend(t *testing.T) *Trend {
	t.Helper()
	st, _ := openTemp(t)
	for i := 1; i <= 12; i++ {
		slow := 1.0
		if i >= 8 {
			slow = 1.15
		}
		_, err := Add(context.Background(), st, Run{Commit: hash(i), CommitTime: t0.AddDate(0, 0, i-1), Data: synthRun(uint64(i), slow, 0, 6)})
		require.NoError(t, err)
	}
	commits, err := Load(context.Background(), st, "model:tiny-llama prompt:hello", 0, nil)
	require.NoError(t, err)
	tr, err := Build(commits, Options{Metrics: []string{"ttft-ns/op", "tokens_per_s", "peak-rss-B"}})
	require.NoError(t, err)
	return tr
}

// TestExactNumbers: with every sample equal, the ratios are the planted
// ones exactly, with empty intervals; the change point is commit 8 with a
// step of exactly +15% (ttft) and scores ±100 (benchseries' score of empty
// intervals more than 2% apart); peak RSS never changes.
func TestExactNumbers(t *testing.T) {
	tr := exactTrend(t)
	require.Len(t, tr.Series, 3)
	ttft, tps, rss := tr.Series[0], tr.Series[1], tr.Series[2]
	assert.Equal(t, "ttft-ns/op", ttft.Metric)
	for _, p := range ttft.Points {
		want := 1.0
		if p.Commit >= 7 {
			want = 1.15
		}
		assert.InDelta(t, want, p.Ratio, 1e-12, "commit %d", p.Commit+1)
		assert.Equal(t, p.Ratio, p.RatioLo)
		assert.Equal(t, p.Ratio, p.RatioHi)
		assert.Equal(t, 6, p.Stats.N)
		assert.InDelta(t, 8e6*want, p.Stats.Median, 0.5)
		assert.Equal(t, p.Commit == 7, p.Change, "commit %d", p.Commit+1)
	}
	p8 := ttft.Points[7]
	assert.InDelta(t, 1.15, p8.Step, 1e-12)
	assert.Equal(t, 100.0, p8.Score)
	assert.Equal(t, "regression", ttft.Verdict(p8))
	// tokens/s, printed with two decimals: 32/0.04 s = 800 and 32/0.046 s = 695.65.
	assert.InDelta(t, 695.65/800, tps.Points[7].Ratio, 1e-12)
	assert.Equal(t, -100.0, tps.Points[7].Score)
	assert.Equal(t, "regression", tps.Verdict(tps.Points[7]))
	for _, p := range rss.Points {
		assert.Equal(t, 1.0, p.Ratio)
		assert.False(t, p.Change)
	}
	assert.Len(t, tr.Changes(), 2)
}

// TestWriteGolden: trend.md and trend.csv of the exact history, and every
// file Write promises.
func TestWriteGolden(t *testing.T) {
	tr := exactTrend(t)
	dir := t.TempDir()
	files, err := Write(dir, tr)
	require.NoError(t, err)
	var names []string
	for _, f := range files {
		names = append(names, filepath.Base(f))
	}
	assert.Equal(t, []string{"trend.csv", "trend.md", "report.html",
		"trend-ttft_ns.png", "trend-ttft_ns.svg", "trend-tokens_per_s.png", "trend-tokens_per_s.svg",
		"trend-peak_rss_B.png", "trend-peak_rss_B.svg"}, names)
	for _, name := range []string{"trend.md", "trend.csv"} {
		golden(t, name, filepath.Join(dir, name))
	}
	f, err := os.Open(filepath.Join(dir, "trend-ttft_ns.png"))
	require.NoError(t, err)
	img, err := png.Decode(f)
	f.Close()
	require.NoError(t, err)
	assert.Equal(t, 960, img.Bounds().Dx())

	html, err := os.ReadFile(filepath.Join(dir, "report.html"))
	require.NoError(t, err)
	for _, want := range []string{`<section id="trend">`, "Trend over 12 commits", "Change points: 2",
		`<figure id="plot-trend-ttft_ns">`, "<td>regression</td>", "Benchmark report"} {
		assert.Contains(t, string(html), want)
	}
}

func golden(t *testing.T, name, path string) {
	t.Helper()
	got, err := os.ReadFile(path)
	require.NoError(t, err)
	want := filepath.Join("testdata", name)
	if *update {
		require.NoError(t, os.WriteFile(want, got, 0o644))
		return
	}
	w, err := os.ReadFile(want)
	require.NoError(t, err, "go test -update creates it")
	if !bytes.Equal(got, w) {
		_ = os.WriteFile(want+".got-", got, 0o644)
		t.Errorf("%s differs from %s; diff it with %s.got- (go test -update accepts it)", name, want, want)
	}
}

// TestBaselineOption: the baseline can be any commit, by a prefix of its
// hash; an unknown or ambiguous prefix is an error.
func TestBaselineOption(t *testing.T) {
	tr := exactTrend(t)
	c := tr.Commits
	tr2, err := Build(c, Options{Baseline: hash(8)[:38], Metrics: []string{"ttft-ns/op"}})
	require.NoError(t, err)
	assert.Equal(t, 7, tr2.Baseline)
	assert.InDelta(t, 1/1.15, tr2.Series[0].Points[0].Ratio, 1e-12)
	_, err = Build(c, Options{Baseline: "ffff"})
	assert.ErrorIs(t, err, ErrBaseline)
	_, err = Build(c, Options{Baseline: strings.Repeat("0", 30)})
	assert.ErrorIs(t, err, ErrBaseline)
	_, err = Build(c, Options{Metrics: []string{"nonsense"}})
	assert.ErrorContains(t, err, `metric "nonsense" is in no run`)
}
