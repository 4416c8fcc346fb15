package history

import (
	"bytes"
	"context"
	"fmt"
	"math"
	"math/rand/v2"
	"net/http"
	"net/http/httptest"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	"golang.org/x/perf/benchfmt"
	"golang.org/x/perf/storage/app"
	"golang.org/x/perf/storage/db"
	"golang.org/x/perf/storage/fs"
)

// synthRun is llmbench run's output (names ending in -2, GOMAXPROCS) for two
// synthetic models × two prompts,
// iters samples per case, every time metric multiplied by slow (and tokens/s
// divided by it), each sample with seeded noise of about noise (lognormal
// sigma). Peak RSS and token counts never change.
func synthRun(seed uint64, slow, noise float64, iters int) []byte {
	r := rand.New(rand.NewPCG(seed, 42))
	var b bytes.Buffer
	b.WriteString("Unit ns better=lower\nUnit tokens/s better=higher\nUnit gen-tokens assume=exact\n")
	b.WriteString("goos: linux\ngoarch: amd64\ncpu: Test CPU\nengine: ollama 0.17.4\n")
	for mi, model := range []string{"tiny-llama", "distilgpt2"} {
		fmt.Fprintf(&b, "model-id: synthetic:%s\nmodel-synthetic: true\nmodel-params: %d\n", model, 1000000*(mi+1))
		load := 300000000 + r.IntN(100000000)
		fmt.Fprintf(&b, "BenchmarkGenerate/model=%s/stage=load-2 1 %d ns/op %d load-ns %d rss-after-load-B\n", model, load, load, 100<<20)
		for pi, prompt := range []string{"hello", "unicode"} {
			base := float64(40+20*mi+10*pi) * 1e6 // ns
			for range iters {
				f := slow * math.Exp(noise*r.NormFloat64())
				e2e := base * f
				ttft := base * 0.2 * slow * math.Exp(noise*r.NormFloat64())
				tpot := (e2e - ttft) / 31
				fmt.Fprintf(&b, "BenchmarkGenerate/model=%s/prompt=%s-2 1 %.0f ns/op %.0f ttft-ns/op %.0f tpot-ns/op %.2f tokens/s 32 gen-tokens/op %d peak-rss-B\n",
					model, prompt, e2e, ttft, tpot, 32/(e2e/1e9), 120<<20)
			}
		}
	}
	return b.Bytes()
}

// t0 is the first synthetic commit's time.
var t0 = time.Date(2026, 11, 1, 12, 0, 0, 0, time.UTC)

// hash is the i-th synthetic commit's hash: c0ffe01…, 40 hex digits.
func hash(i int) string { return fmt.Sprintf("%07x%033x", 0xc0ffe00+i, 0) }

// plantedHistory stores 12 runs, commits 1…12 a day apart, with 2% noise
// per sample and 10 samples per case (what the workflow's 5 rounds of
// configs/ci.yaml's 2 iterations give); from commit 8 on every time metric is
// 15% slower.
func plantedHistory(t *testing.T, st Store) {
	t.Helper()
	for i := 1; i <= 12; i++ {
		slow := 1.0
		if i >= 8 {
			slow = 1.15
		}
		_, err := Add(context.Background(), st, Run{Commit: hash(i), CommitTime: t0.AddDate(0, 0, i-1),
			Machine: "test-machine", Name: "bench.txt", Data: synthRun(uint64(i), slow, 0.02, 10)})
		require.NoError(t, err)
	}
}

func openTemp(t *testing.T) (Store, string) {
	t.Helper()
	path := filepath.Join(t.TempDir(), "history.db")
	st, err := Open(path)
	require.NoError(t, err)
	t.Cleanup(func() { st.Close() })
	return st, path
}

// TestPlantedSlowdown: a history of 12 runs of synthetic models with a 15%
// slowdown planted at commit 8 has exactly that change point, in every time
// metric and tokens/s of every case, and no other; its step is within 5
// points of the planted 15%, with an interval that excludes no change.
func TestPlantedSlowdown(t *testing.T) {
	st, _ := openTemp(t)
	plantedHistory(t, st)
	commits, err := Load(context.Background(), st, "", 0, nil)
	require.NoError(t, err)
	require.Len(t, commits, 12)
	tr, err := Build(commits, Options{})
	require.NoError(t, err)

	slowed := []string{"ns/op", "ttft-ns/op", "tpot-ns/op", "tokens/s"}
	var got []string
	for _, c := range tr.Changes() {
		got = append(got, fmt.Sprintf("%d %s %s %s", c.Point.Commit+1, c.Series.Benchmark, c.Series.Metric, c.Series.Verdict(c.Point)))
		want := 1.15
		if c.Series.Metric == "tokens/s" {
			want = 1 / 1.15
		}
		assert.InDelta(t, want, c.Point.Step, 0.05, "step of %s %s", c.Series.Benchmark, c.Series.Metric)
		assert.True(t, c.Point.StepLo <= c.Point.Step && c.Point.Step <= c.Point.StepHi, "step inside its interval")
		assert.False(t, c.Point.StepLo <= 1 && 1 <= c.Point.StepHi, "interval of the step of %s %s holds no change", c.Series.Benchmark, c.Series.Metric)
	}
	var want []string
	for _, model := range []string{"tiny-llama", "distilgpt2"} {
		for _, prompt := range []string{"hello", "unicode"} {
			for _, m := range slowed {
				want = append(want, fmt.Sprintf("8 Generate/model=%s/prompt=%s %s regression", model, prompt, m))
			}
		}
	}
	assert.Equal(t, want, got)

	// Every case and metric followed, peak RSS among them, one-shot and
	// direction-less metrics not.
	var metrics []string
	for _, s := range tr.Series {
		if !slices.Contains(metrics, s.Metric) {
			metrics = append(metrics, s.Metric)
		}
		assert.Len(t, s.Points, 12, s.Benchmark+" "+s.Metric)
	}
	assert.Equal(t, []string{"ns/op", "ttft-ns/op", "tpot-ns/op", "tokens/s", "peak-rss-B"}, metrics)
	assert.Len(t, tr.Series, 4*5)
}

// TestNoChangeNoFlag: the same history without the slowdown has no change
// point (the test above cannot pass by flagging everything).
func TestNoChangeNoFlag(t *testing.T) {
	st, _ := openTemp(t)
	for i := 1; i <= 12; i++ {
		_, err := Add(context.Background(), st, Run{Commit: hash(i), CommitTime: t0.AddDate(0, 0, i-1), Data: synthRun(uint64(i), 1, 0.02, 10)})
		require.NoError(t, err)
	}
	commits, err := Load(context.Background(), st, "", 0, nil)
	require.NoError(t, err)
	tr, err := Build(commits, Options{})
	require.NoError(t, err)
	assert.Empty(t, tr.Changes())
}

// TestRoundTrip: what Add stores, a store opened anew on the same file reads
// back: every result line with its values and configuration, plus the run's
// commit, commit-time and machine.
func TestRoundTrip(t *testing.T) {
	st, path := openTemp(t)
	data := synthRun(1, 1, 0.03, 3)
	id, err := Add(context.Background(), st, Run{Commit: hash(1), CommitTime: t0, Machine: "m1",
		Labels: map[string]string{"engine-build": "generic"}, Name: "bench.txt", Data: data})
	require.NoError(t, err)
	require.NoError(t, st.Close())

	again, err := Open(path)
	require.NoError(t, err)
	defer again.Close()
	ups, err := again.Uploads(context.Background(), "", []string{KeyCommit, "upload-file"}, 0)
	require.NoError(t, err)
	require.Len(t, ups, 1)
	assert.Equal(t, id, ups[0].UploadID)
	assert.Equal(t, hash(1), ups[0].LabelValues[KeyCommit])
	assert.Equal(t, "bench.txt", ups[0].LabelValues["upload-file"])
	assert.Equal(t, 6, ups[0].Count, "records (results of one name in a row are one): 2 models × (a stage line and 2 prompts)")

	commits, err := Load(context.Background(), again, "", 0, nil)
	require.NoError(t, err)
	require.Len(t, commits, 1)
	c := commits[0]
	assert.Equal(t, hash(1), c.Hash)
	assert.True(t, t0.Equal(c.Time))
	assert.Equal(t, []string{id}, c.Uploads)

	// A query of a value with spaces, quoted as x/perf's query syntax reads it.
	_, err = Add(context.Background(), again, Run{Commit: hash(2), CommitTime: t0.AddDate(0, 0, 1), Machine: "AMD EPYC 7763 64-Core Processor", Data: data})
	require.NoError(t, err)
	epyc, err := Load(context.Background(), again, `machine:"AMD EPYC 7763 64-Core Processor"`, 0, nil)
	require.NoError(t, err)
	require.Len(t, epyc, 1)
	assert.Equal(t, hash(2), epyc[0].Hash)
	_, err = Load(context.Background(), again, "machine:other", 0, nil)
	assert.ErrorIs(t, err, ErrEmpty)
	last, err := Load(context.Background(), again, "", 1, nil)
	require.NoError(t, err)
	require.Len(t, last, 1)
	assert.Equal(t, hash(2), last[0].Hash, "--last 1 is the newest run")

	want := results(t, data)
	for i := range want {
		want[i] += " commit-time=2026-11-01T12:00:00Z commit=" + hash(1) + " engine-build=generic machine=m1"
	}
	assert.Equal(t, want, results(t, c.Data))
}

// results renders each result of data as one line: name, iterations, values
// and the configuration lines in effect, those of package history last.
func results(t *testing.T, data []byte) []string {
	t.Helper()
	var out []string
	r := benchfmt.NewReader(bytes.NewReader(data), "data")
	for r.Scan() {
		res, ok := r.Result().(*benchfmt.Result)
		if !ok {
			_, unit := r.Result().(*benchfmt.UnitMetadata)
			require.True(t, unit, "%v", r.Result())
			continue
		}
		line := fmt.Sprintf("%s %d", res.Name, res.Iters)
		for _, v := range res.Values {
			line += fmt.Sprintf(" %v %s", v.Value, v.Unit)
		}
		var cfg, ours []string
		for _, c := range res.Config {
			switch c.Key {
			case KeyCommit, KeyCommitTime, KeyMachine, "engine-build":
				ours = append(ours, c.Key+"="+string(c.Value))
			default:
				cfg = append(cfg, c.Key+"="+string(c.Value))
			}
		}
		slices.Sort(cfg)
		slices.Sort(ours)
		out = append(out, strings.Join(append(append([]string{line}, cfg...), ours...), " "))
	}
	require.NoError(t, r.Err())
	return out
}

// TestServer: a perfdata server (x/perf's storage app on its SQLite
// database, as localperfdata runs it) stores and serves the same results as
// the local file.
func TestServer(t *testing.T) {
	d, err := db.OpenSQL("sqlite3", "file:"+filepath.Join(t.TempDir(), "server.db"))
	require.NoError(t, err)
	defer d.Close()
	mux := http.NewServeMux()
	(&app.App{DB: d, FS: fs.NewMemFS(), Auth: func(http.ResponseWriter, *http.Request) (string, error) { return "", nil }}).RegisterOnMux(mux)
	srv := httptest.NewServer(mux)
	defer srv.Close()

	remote, err := Open(srv.URL)
	require.NoError(t, err)
	local, _ := openTemp(t)
	for _, st := range []Store{remote, local} {
		for i := 1; i <= 2; i++ {
			_, err := Add(context.Background(), st, Run{Commit: hash(i), CommitTime: t0.AddDate(0, 0, i), Name: "bench.txt", Data: synthRun(uint64(i), 1, 0.03, 2)})
			require.NoError(t, err)
		}
	}
	rc, err := Load(context.Background(), remote, "", 0, nil)
	require.NoError(t, err)
	lc, err := Load(context.Background(), local, "", 0, nil)
	require.NoError(t, err)
	require.Len(t, rc, 2)
	require.Len(t, lc, 2)
	for i := range rc {
		assert.Equal(t, lc[i].Hash, rc[i].Hash)
		assert.Equal(t, string(lc[i].Data), string(rc[i].Data))
	}
	// A query reaches the server: one model only.
	one, err := Load(context.Background(), remote, "model:distilgpt2", 0, nil)
	require.NoError(t, err)
	assert.NotContains(t, string(one[0].Data), "tiny-llama")
	assert.Contains(t, string(one[0].Data), "model=distilgpt2")
}

// TestAddRefuses: a run without a commit, commit time or results, or with a
// bad label, is not stored.
func TestAddRefuses(t *testing.T) {
	st, _ := openTemp(t)
	data := synthRun(1, 1, 0, 1)
	for name, run := range map[string]Run{
		"no commit":   {CommitTime: t0, Data: data},
		"spaced hash": {Commit: "a b", CommitTime: t0, Data: data},
		"no time":     {Commit: "abc", Data: data},
		"no results":  {Commit: "abc", CommitTime: t0, Data: []byte("goos: linux\n")},
		"bad label":   {Commit: "abc", CommitTime: t0, Data: data, Labels: map[string]string{"Engine": "x"}},
	} {
		_, err := Add(context.Background(), st, run)
		assert.ErrorIs(t, err, ErrRun, name)
	}
	_, err := Load(context.Background(), st, "", 0, nil)
	assert.ErrorIs(t, err, ErrEmpty)
}
