package bench_test

import (
	"context"
	"path/filepath"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/llmbench/llmbench/backends/ollama/ollamatest"
	"github.com/llmbench/llmbench/bench"
	"github.com/llmbench/llmbench/loadgen"
)

// embedMetrics opens model i of the configuration and runs one window of one
// step of each of its embedding cases, after its warm-up: metrics by case name.
func embedMetrics(t *testing.T, s *bench.Suite, i int) map[string]map[string]float64 {
	t.Helper()
	m, err := s.OpenModel(context.Background(), s.Config.Models[i])
	require.NoError(t, err)
	defer m.Close()
	require.Equal(t, "Embed", m.Bench())
	cases, err := s.Cases(m)
	require.NoError(t, err)
	out := map[string]map[string]float64{}
	for _, c := range cases {
		if _, ok := c.(*bench.EmbedCase); !ok {
			continue
		}
		require.NoError(t, c.Warm(context.Background()))
		ms, err := runLoadCase(t, c, 1)
		require.NoError(t, err, c.Name())
		out[c.Name()] = ms
	}
	return out
}

// TestEmbedCasesRealEngine: BenchmarkEmbed's cases on the real Ollama, through
// /api/embed and /v1/embeddings, on synthetic tiny-llama. Each batch size is a
// case batch=N; every request's N vectors have the model's embedding length
// (128); inputs/s is N × req/s; with prefix_cache warm, batch 3 over the two
// prompts embeds 3× the engine-counted tokens per request that batch 1 does
// (both cycle through the prompts evenly); input-tokens/s is input-tokens/op ×
// req/s; the engine's own time is within the client's. With prefix_cache cold
// (the default) every input carries a nonce, which the engine counts.
func TestEmbedCasesRealEngine(t *testing.T) {
	ollamatest.NeedEngine(t)
	_, s := loadSuite(t, nil, `ollama: {manage: always}
models:
  - {name: native, backend: ollama, model: "synthetic:tiny-llama", options: {threads: 2, context: 512, prefix_cache: warm}, embed: {batch: [1, 3], requests: 4}}
  - {name: v1, backend: openai, model: "synthetic:tiny-llama", options: {threads: 2, context: 512, prefix_cache: warm}, embed: {batch: [1, 3], requests: 4}}
  - {name: cold, backend: ollama, model: "synthetic:tiny-llama", options: {threads: 2, context: 512}, embed: {batch: 1, requests: 4}}
`)
	warm := map[string]float64{}
	for i, name := range []string{"native", "v1"} {
		t.Run(name, func(t *testing.T) {
			ms := embedMetrics(t, s, i)
			require.Len(t, ms, 2, "cases batch=1 and batch=3")
			b1, b3 := ms["batch=1"], ms["batch=3"]
			for n, m := range map[int]map[string]float64{1: b1, 3: b3} {
				assert.Equal(t, 128.0, m["embed-dim"], "batch=%d: tiny-llama's embedding length", n)
				assert.InEpsilon(t, float64(n), m["inputs/s"]/m["req/s"], 1e-9, "batch=%d: inputs per request", n)
				assert.InEpsilon(t, m["input-tokens/op"]*m["req/s"], m["input-tokens/s"], 1e-9, "batch=%d", n)
				assert.LessOrEqual(t, m["embed-p50-ns"], m["embed-p90-ns"])
				assert.LessOrEqual(t, m["embed-p90-ns"], m["embed-p99-ns"])
				assert.Positive(t, m["ns/op"])
				assert.LessOrEqual(t, m["req/s"], 1e9/m["ns/op"]*(1+1e-9), "batch=%d: sequential requests: req/s is at most 1/latency", n)
				assert.Positive(t, m["peak-rss-B"])
				if name == "native" {
					require.Contains(t, m, "server-ns/op", "Ollama's total_duration")
					assert.LessOrEqual(t, m["server-ns/op"], m["ns/op"], "the engine's time is part of the client's")
				} else {
					assert.NotContains(t, m, "server-ns/op", "/v1/embeddings reports no server time")
				}
			}
			assert.Equal(t, 3*b1["input-tokens/op"], b3["input-tokens/op"], "engine-counted tokens: batch 3 embeds 3 times batch 1's per request")
			warm[name] = b1["input-tokens/op"]
		})
	}
	assert.Equal(t, warm["native"], warm["v1"], "both APIs count the same tokens")
	cold := embedMetrics(t, s, 2)["batch=1"]
	assert.Greater(t, cold["input-tokens/op"], warm["native"], "the cold nonce adds tokens to every input")
}

// TestEmbedRecordsRealEngine: with the configuration's records: true, every
// timed embedding request is one record (Embed/model=M/batch=N), the warm-up
// left out, and the records are the samples of the case's metrics: their mean
// E2E is its ns/op and their mean prompt_tokens its input-tokens/op.
func TestEmbedRecordsRealEngine(t *testing.T) {
	ollamatest.NeedEngine(t)
	cfg, s := loadSuite(t, nil, `records: true
warmup: 1
ollama: {manage: always}
models:
  - {name: native, backend: ollama, model: "synthetic:tiny-llama", options: {threads: 2, context: 512}, embed: {batch: [1, 3], requests: 4}}
`)
	ms := embedMetrics(t, s, 0)
	recs := fileRecords(t, filepath.Join(cfg.Output, loadgen.RecordsFile))
	require.Len(t, recs, 2*4, "2 batch sizes × 4 requests, no warm-ups")
	for _, b := range []string{"batch=1", "batch=3"} {
		var e2e, tokens float64
		n := 0
		for _, r := range recs {
			if r.Bench != "Embed/model=native/"+b {
				continue
			}
			require.Empty(t, r.Error, r.Message)
			assert.Empty(t, r.Chunks)
			e2e, tokens, n = e2e+float64(r.E2E), tokens+float64(r.PromptTokens), n+1
		}
		require.Equal(t, 4, n, b)
		assert.InEpsilon(t, ms[b]["ns/op"], e2e/4, 1e-9, "%s: the records' mean latency is ns/op", b)
		assert.InEpsilon(t, ms[b]["input-tokens/op"], tokens/4, 1e-9, "%s: their tokens are the engine's", b)
	}
}
