package bench_test

import (
	"fmt"
	"path/filepath"
	"slices"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/llmbench/llmbench/backends/ollama/ollamatest"
	"github.com/llmbench/llmbench/backends/openai/openaitest"
	"github.com/llmbench/llmbench/bench"
	"github.com/llmbench/llmbench/config"
	"github.com/llmbench/llmbench/loadgen"
	"github.com/llmbench/llmbench/percentile"
)

// generateCases opens the configuration's first model and returns its prompt
// cases (not llama-bench's).
func generateCases(t *testing.T, cfg *config.Config, s *bench.Suite) []*bench.GenerateCase {
	return casesOf[*bench.GenerateCase](t, cfg, s)
}

// TestGenerateRecordsFile: with the configuration's records: true, every timed
// generation of every prompt's case is one record in requests.jsonl, named by
// benchmark, numbered by window, indexed within it, never a warm-up; and load
// runs of the same configuration write theirs to the same file.
func TestGenerateRecordsFile(t *testing.T) {
	srv := openaitest.NewServer(openaitest.Script{})
	defer srv.Close()
	cfg, s := loadSuite(t, nil, `records: true
warmup: 1
models:
  - {name: m, backend: openai, model: fake, host: %s, options: {max_tokens: 3}}
  - {name: l, backend: openai, model: fake, host: %[1]s, options: {max_tokens: 3}, load: {requests: 2}}
`, srv.URL)
	cases := generateCases(t, cfg, s)
	require.Len(t, cases, 2)
	for _, c := range cases {
		require.NoError(t, c.Warm(t.Context()))
		for range 2 {
			_, err := runLoadCase(t, c, 2)
			require.NoError(t, err)
		}
	}
	recs := fileRecords(t, filepath.Join(cfg.Output, loadgen.RecordsFile))
	count := map[string][]int64{}
	for _, r := range recs {
		k := fmt.Sprintf("%s#%d", r.Bench, r.Run)
		count[k] = append(count[k], r.I)
		assert.Equal(t, r.Scheduled, r.Sent, "nothing schedules a prompt's generations")
		assert.Equal(t, 3, r.OutputTokens)
		assert.Len(t, r.Chunks, 3)
		assert.Empty(t, r.Error)
	}
	assert.Equal(t, map[string][]int64{
		"Generate/model=m/prompt=a#0": {0, 1}, "Generate/model=m/prompt=a#1": {0, 1},
		"Generate/model=m/prompt=b#0": {0, 1}, "Generate/model=m/prompt=b#1": {0, 1},
	}, count, "2 prompts × 2 windows × 2 generations, the warm-ups left out")

	m, err := s.OpenModel(t.Context(), cfg.Models[1])
	require.NoError(t, err)
	defer m.Close()
	lcs, err := s.Cases(m)
	require.NoError(t, err)
	require.Len(t, lcs, 1)
	_, err = runLoadCase(t, lcs[0], 1)
	require.NoError(t, err)
	recs = fileRecords(t, filepath.Join(cfg.Output, loadgen.RecordsFile))
	require.Len(t, recs, 8+2, "the load model's 2 requests join the file")
	assert.Equal(t, "Load/model=l/concurrency=1", recs[9].Bench)
}

// TestGenerateRecordsFailure: a failed timed generation is recorded with its
// error kind and message, and the window's other generations keep theirs.
func TestGenerateRecordsFailure(t *testing.T) {
	srv := openaitest.NewServer(openaitest.Script{}, openaitest.WithPlan(func(r openaitest.Request) openaitest.Script {
		if r.Index == 2 { // the model's load request, then the first timed generation
			return openaitest.Script{Fault: openaitest.FaultStatus}
		}
		return openaitest.Script{}
	}))
	defer srv.Close()
	cfg, s := loadSuite(t, nil, `records: true
warmup: -1
models:
  - {name: m, backend: openai, model: fake, host: %s, options: {max_tokens: 3}}
`, srv.URL)
	c := generateCases(t, cfg, s)[0]
	require.NoError(t, c.Begin())
	require.NoError(t, c.Step(t.Context()))
	stepErr := c.Step(t.Context())
	require.Error(t, stepErr)
	require.NoError(t, c.Step(t.Context()))
	_, err := c.End()
	require.NoError(t, err)
	recs := fileRecords(t, filepath.Join(cfg.Output, loadgen.RecordsFile))
	require.Len(t, recs, 3)
	assert.Empty(t, recs[0].Error)
	assert.Equal(t, loadgen.Kind(stepErr), recs[1].Error)
	assert.Contains(t, stepErr.Error(), recs[1].Message)
	assert.Equal(t, int64(1), recs[1].I)
	assert.Empty(t, recs[2].Error)
	assert.Equal(t, 3, recs[2].OutputTokens)
}

// TestGenerateRecordsRealEngine: records of a prompt's case through the real
// Ollama (native API) are the samples of its metrics: the mean of their E2Es
// and TTFTs is its ns/op and ttft-ns/op, the nearest-rank p50 of their ITLs its
// itl-p50-ns, their token counts its per-op counts.
func TestGenerateRecordsRealEngine(t *testing.T) {
	ollamatest.NeedEngine(t)
	cfg, s := loadSuite(t, nil, `records: true
ollama: {manage: always}
models:
  - {name: tiny, backend: ollama, model: "synthetic:tiny-llama", options: {max_tokens: 8, threads: 1, context: 512}}
`)
	c := generateCases(t, cfg, s)[0]
	require.NoError(t, c.Warm(t.Context()))
	ms, err := runLoadCase(t, c, 3)
	require.NoError(t, err)
	recs := fileRecords(t, filepath.Join(cfg.Output, loadgen.RecordsFile))
	require.Len(t, recs, 3)
	var e2e, ttft int64
	var gen, prompt int
	var itls []time.Duration
	for _, r := range recs {
		require.Empty(t, r.Error, r.Message)
		require.NotNil(t, r.TTFT)
		e2e, ttft = e2e+r.E2E, ttft+*r.TTFT
		gen, prompt = gen+r.OutputTokens, prompt+r.PromptTokens
		for i := 1; i < len(r.Chunks); i++ {
			itls = append(itls, time.Duration(r.Chunks[i]-r.Chunks[i-1]))
		}
	}
	slices.Sort(itls)
	assert.Equal(t, float64(e2e)/3, ms["ns/op"])
	assert.Equal(t, float64(ttft)/3, ms["ttft-ns/op"])
	assert.Equal(t, float64(percentile.NearestRank(itls, 50)), ms["itl-p50-ns"])
	assert.Equal(t, float64(gen)/3, ms["gen-tokens/op"])
	assert.Equal(t, float64(prompt)/3, ms["prompt-tokens/op"])
	assert.Equal(t, 8, recs[0].OutputTokens, "the exact length")
}
