package bench_test

import (
	"bufio"
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/llmbench/llmbench/backends/ollama/ollamatest"
	"github.com/llmbench/llmbench/backends/openai/openaitest"
	"github.com/llmbench/llmbench/bench"
	"github.com/llmbench/llmbench/config"
	"github.com/llmbench/llmbench/loadgen"
	"github.com/llmbench/llmbench/metric"
)

var loadPrompts = []config.Prompt{{ID: "a", Prompt: "one two three"}, {ID: "b", Prompt: "four five"}}

// loadSuite parses a configuration whose output is a fresh folder (body
// formatted with args) and opens its suite with loadPrompts, its notices to
// notes.
func loadSuite(t *testing.T, notes io.Writer, body string, args ...any) (*config.Config, *bench.Suite) {
	t.Helper()
	out := t.TempDir()
	cfg, err := config.Parse("load.yaml", []byte(fmt.Sprintf("models_dir: %s\noutput: %s\n", ollamatest.ModelsDir(), out)+fmt.Sprintf(body, args...)))
	require.NoError(t, err)
	s, err := bench.Open(context.Background(), cfg, loadPrompts, notes)
	require.NoError(t, err)
	t.Cleanup(func() { s.Close() })
	return cfg, s
}

// loadCases opens the configuration's first model and returns its load cases.
func loadCases(t *testing.T, cfg *config.Config, s *bench.Suite) []*bench.LoadCase {
	return casesOf[*bench.LoadCase](t, cfg, s)
}

// casesOf opens the configuration's first model and returns its cases of type
// C, in order.
func casesOf[C bench.Case](t *testing.T, cfg *config.Config, s *bench.Suite) []C {
	t.Helper()
	m, err := s.OpenModel(context.Background(), cfg.Models[0])
	require.NoError(t, err)
	t.Cleanup(func() { m.Close() })
	cases, err := s.Cases(m)
	require.NoError(t, err)
	var out []C
	for _, c := range cases {
		if lc, ok := c.(C); ok {
			out = append(out, lc)
		}
	}
	return out
}

// runLoadCase runs one window of steps of c and returns its metrics by unit.
func runLoadCase(t *testing.T, c bench.Case, steps int) (map[string]float64, error) {
	t.Helper()
	require.NoError(t, c.Begin())
	var stepErr error
	for range steps {
		if stepErr = c.Step(context.Background()); stepErr != nil {
			break
		}
	}
	ms, err := c.End()
	require.NoError(t, err)
	out := map[string]float64{}
	for _, m := range ms {
		out[m.Unit] = m.Value
	}
	return out, stepErr
}

func fileRecords(t *testing.T, path string) []loadgen.Record {
	t.Helper()
	f, err := os.Open(path)
	require.NoError(t, err)
	defer f.Close()
	recs, err := loadgen.ReadRecords(f, path)
	require.NoError(t, err)
	return recs
}

// runOnly runs the configuration's one load case, named bench, for one step.
func runOnly(t *testing.T, cfg *config.Config, s *bench.Suite, name string) map[string]float64 {
	t.Helper()
	cases := loadCases(t, cfg, s)
	require.Len(t, cases, 1)
	assert.Equal(t, name, cases[0].Bench())
	ms, err := runLoadCase(t, cases[0], 1)
	require.NoError(t, err)
	return ms
}

// TestLoadRecordsFile: records: true writes every request of every run of
// every point to the output folder's requests.jsonl, named by benchmark and
// numbered by run.
func TestLoadRecordsFile(t *testing.T) {
	srv := openaitest.NewServer(openaitest.Script{})
	defer srv.Close()
	cfg, s := loadSuite(t, nil, `models:
  - {name: m, backend: openai, model: fake, host: %s, options: {max_tokens: 3}, load: {concurrency: [1, 2], requests: 5, records: true}}
`, srv.URL)
	cases := loadCases(t, cfg, s)
	require.Len(t, cases, 2)
	for _, c := range cases {
		_, err := runLoadCase(t, c, 2)
		require.NoError(t, err)
	}
	recs := fileRecords(t, filepath.Join(cfg.Output, loadgen.RecordsFile))
	require.Len(t, recs, 2*2*5, "2 points × 2 runs × 5 requests")
	count := map[string]int{}
	for _, r := range recs {
		count[fmt.Sprintf("%s#%d", r.Bench, r.Run)]++
		assert.Equal(t, 3, r.OutputTokens)
		assert.Len(t, r.Chunks, 3)
	}
	assert.Equal(t, map[string]int{
		"Load/model=m/concurrency=1#0": 5, "Load/model=m/concurrency=1#1": 5,
		"Load/model=m/concurrency=2#0": 5, "Load/model=m/concurrency=2#1": 5,
	}, count)
}

// TestLoadRecordsFull: a records file that cannot be written (/dev/full) fails
// the step with an error naming the file, and the run stops.
func TestLoadRecordsFull(t *testing.T) {
	if _, err := os.Stat("/dev/full"); err != nil {
		t.Skip("no /dev/full")
	}
	srv := openaitest.NewServer(openaitest.Script{})
	defer srv.Close()
	cfg, s := loadSuite(t, nil, `models:
  - {name: m, backend: openai, model: fake, host: %s, options: {max_tokens: 3}, load: {requests: 50, records: true}}
`, srv.URL)
	require.NoError(t, os.Symlink("/dev/full", filepath.Join(cfg.Output, loadgen.RecordsFile)))
	cases := loadCases(t, cfg, s)
	ms, err := runLoadCase(t, cases[0], 1)
	require.Error(t, err)
	assert.Contains(t, err.Error(), "model m, concurrency=1: load concurrency=1: writing request records: write "+filepath.Join(cfg.Output, loadgen.RecordsFile)+": no space left on device")
	assert.Equal(t, int64(2), srv.Requests(), "the model's load request and one: nothing is sent after the failed write")
	assert.Contains(t, ms, "req/s", "what was measured is reported")
}

// TestLoadRecordsRealEngine: records through the real Ollama's /v1: one per
// request, each with the exact output length, its chunks and a TTFT, and the
// report's TTFT percentiles are the records'.
func TestLoadRecordsRealEngine(t *testing.T) {
	ollamatest.NeedEngine(t)
	cfg, s := loadSuite(t, nil, `ollama: {manage: always, num_parallel: 2}
models:
  - {name: tiny, backend: openai, model: "synthetic:tiny-llama", options: {max_tokens: 4, threads: 1, context: 512}, load: {concurrency: 2, requests: 6, warmup: 1, records: true}}
`)
	cases := loadCases(t, cfg, s)
	ms, err := runLoadCase(t, cases[0], 1)
	require.NoError(t, err)
	recs := fileRecords(t, filepath.Join(cfg.Output, loadgen.RecordsFile))
	require.Len(t, recs, 6, "one per request, the warmup left out")
	h := loadgen.NewHistogram()
	for _, r := range recs {
		assert.Empty(t, r.Error, r.Message)
		assert.Equal(t, 4, r.OutputTokens, "the exact length")
		assert.Positive(t, r.PromptTokens)
		assert.NotEmpty(t, r.Chunks)
		require.NotNil(t, r.TTFT)
		assert.Greater(t, r.E2E, *r.TTFT)
		assert.GreaterOrEqual(t, r.Sent, r.Scheduled)
		h.Record(time.Duration(*r.TTFT))
	}
	assert.Equal(t, float64(h.Percentile(50)), ms["ttft-p50-ns"], "the report's TTFT p50 is the records'")
	assert.Equal(t, float64(h.Percentile(99)), ms["ttft-p99-ns"])
}

// TestLoadStopEarly: a point that stops early says so in its metrics
// (stopped-early) and in a notice with the reason, and keeps what it measured.
func TestLoadStopEarly(t *testing.T) {
	srv := openaitest.NewServer(openaitest.Script{}, openaitest.WithPlan(func(r openaitest.Request) openaitest.Script {
		if r.Index > 5 { // the model's load request is request 0
			return openaitest.Script{Fault: openaitest.FaultStatus}
		}
		return openaitest.Script{}
	}))
	defer srv.Close()
	var notes strings.Builder
	cfg, s := loadSuite(t, &notes, `models:
  - {name: m, backend: openai, model: fake, host: %s, options: {max_tokens: 3}, load: {requests: 100, stop: {error_rate: 0.5, window: 4}}}
`, srv.URL)
	ms, err := runLoadCase(t, loadCases(t, cfg, s)[0], 1)
	require.NoError(t, err)
	assert.Equal(t, 1.0, ms["stopped-early"])
	assert.InDelta(t, 6.0/11, ms["error-rate"], 1e-12, "5 ok, then failures until 6 of 11 > 0.5")
	assert.Contains(t, notes.String(), "llmbench note: model m, concurrency=1: 1 of 1 runs stopped early (load: stop): error rate 0.545 > 0.5 after 11 requests")
}

// TestLoadSearch: a search point finds the knee of a scripted server of 3
// slots (concurrency 3), reports slo-max-concurrency with the best probe's
// metrics (every unit known to package metric), writes every probe to the
// output folder's search.jsonl and tells each in a notice.
func TestLoadSearch(t *testing.T) {
	srv := openaitest.NewQueue(3, 120*time.Millisecond, 5*time.Millisecond, 3).Start()
	defer srv.Close()
	var notes strings.Builder
	cfg, s := loadSuite(t, &notes, `models:
  - {name: m, backend: openai, model: fake, host: %s, options: {max_tokens: 3}, load: {concurrency: [1, 6], requests: 12, slo: {ttft: 70ms}, search: {target: 0.95}}}
`, srv.URL)
	ms := runOnly(t, cfg, s, "Load/model=m/search=concurrency")
	assert.Equal(t, 3.0, ms["slo-max-concurrency"])
	assert.Contains(t, ms, "goodput-req/s")
	for u := range ms {
		_, ok := metric.Lookup(u)
		assert.True(t, ok, "%s is not in package metric", u)
	}
	data, err := os.ReadFile(filepath.Join(cfg.Output, loadgen.SearchFile))
	require.NoError(t, err)
	var probes []string
	sc := bufio.NewScanner(bytes.NewReader(data))
	sc.Buffer(nil, 1<<24)
	for sc.Scan() {
		var pr loadgen.ProbeRecord
		require.NoError(t, json.Unmarshal(sc.Bytes(), &pr))
		assert.Equal(t, 1, pr.V)
		assert.Equal(t, "Load/model=m/search=concurrency", pr.Bench)
		assert.Equal(t, 12, pr.Report.Succeeded+pr.Report.Failed)
		assert.Equal(t, pr.Metrics["req/s"], float64(pr.Report.Succeeded)/pr.Report.Wall.Seconds())
		probes = append(probes, fmt.Sprintf("%s:%v:%v", pr.Name, pr.Pass, pr.Best))
	}
	assert.Equal(t, []string{"concurrency=1:true:false", "concurrency=6:false:false", "concurrency=3:true:true", "concurrency=4:false:false"}, probes)
	assert.Contains(t, notes.String(), "model m, search=concurrency: probe concurrency=4: ")
	assert.Contains(t, notes.String(), "misses the target 95%")
}

// TestLoadTraceRealEngine replays the shipped Mooncake trace's first 500 ms
// (5 entries) through the real Ollama's /v1: each entry is scheduled at its
// own time, sent within the lag bound (200 ms, generous on a shared 2-core
// machine) and answered with its own output length.
func TestLoadTraceRealEngine(t *testing.T) {
	ollamatest.NeedEngine(t)
	trace, err := filepath.Abs("../testdata/traces/mooncake-small.jsonl")
	require.NoError(t, err)
	cfg, s := loadSuite(t, nil, `ollama: {manage: always, num_parallel: 2}
models:
  - {name: tiny, backend: openai, model: "synthetic:tiny-llama", options: {threads: 1, context: 2048}, load: {trace: {file: %s, window: {to: 500ms}}, warmup: 1, records: true}}
`, trace)
	ms := runOnly(t, cfg, s, "Load/model=tiny/trace=mooncake-small")
	assert.Equal(t, 0.0, ms["error-rate"])
	entries, err := loadgen.ReadTrace(cfg.Models[0].Load.Trace)
	require.NoError(t, err)
	require.Len(t, entries, 5)
	recs := fileRecords(t, filepath.Join(cfg.Output, loadgen.RecordsFile))
	require.Len(t, recs, 5)
	for _, r := range recs {
		e := entries[r.I]
		assert.Empty(t, r.Error, r.Message)
		assert.Equal(t, int64(e.At), r.Scheduled, "entry %d at its trace time", r.I)
		assert.GreaterOrEqual(t, r.Sent, r.Scheduled)
		assert.LessOrEqual(t, time.Duration(r.Sent-r.Scheduled), 200*time.Millisecond, "entry %d within the lag bound", r.I)
		assert.Equal(t, e.Output, r.OutputTokens, "entry %d's own output length", r.I)
		assert.Greater(t, r.PromptTokens, e.Input/2, "entry %d: %d words of prompt", r.I, e.Input)
	}
}

// TestLoadTraceErrors: a trace that cannot be read fails the model's cases
// with the configuration's file and line and the trace's own.
func TestLoadTraceErrors(t *testing.T) {
	srv := openaitest.NewServer(openaitest.Script{})
	defer srv.Close()
	bad := filepath.Join(t.TempDir(), "bad.jsonl")
	require.NoError(t, os.WriteFile(bad, []byte(`{"timestamp": 1, "input_length": 2, "output_length": 3}`+"\n{\n"), 0o644))
	cfg, s := loadSuite(t, nil, `models:
  - {name: m, backend: openai, model: fake, host: %s, load: {trace: {file: %s}}}
`, srv.URL, bad)
	m, err := s.OpenModel(context.Background(), cfg.Models[0])
	require.NoError(t, err)
	defer m.Close()
	_, err = s.Cases(m)
	require.Error(t, err)
	assert.Contains(t, err.Error(), "load.yaml:4: model m: load: "+bad+":2: ")
}
