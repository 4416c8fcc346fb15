package bench_test

import (
	"context"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/llmbench/llmbench/backends/ollama/ollamatest"
	"github.com/llmbench/llmbench/bench"
	"github.com/llmbench/llmbench/config"
	"github.com/llmbench/llmbench/loadgen"
)

// modelLoadCase opens model i of the configuration and returns its one load
// case.
func modelLoadCase(t *testing.T, cfg *config.Config, s *bench.Suite, i int) *bench.LoadCase {
	t.Helper()
	m, err := s.OpenModel(context.Background(), cfg.Models[i])
	require.NoError(t, err)
	t.Cleanup(func() { m.Close() })
	cases, err := s.Cases(m)
	require.NoError(t, err)
	for _, c := range cases {
		if lc, ok := c.(*bench.LoadCase); ok {
			return lc
		}
	}
	t.Fatalf("model %s has no load case", cfg.Models[i].Name)
	return nil
}

// TestLoadDatasetRealEngine: exact-length prompts through the real Ollama,
// on both tokenizers of the synthetic models (gpt2's byte BPE through /v1,
// llama's SentencePiece through /api/generate), cold (salted): every
// request's prompt comes to exactly the length drawn for it, as the engine
// counts it, and asks for its own output length, which it gets. A length
// that leaves no room for the model's overhead is an error naming the
// configuration's line, found before the run.
func TestLoadDatasetRealEngine(t *testing.T) {
	ollamatest.NeedEngine(t)
	var notes strings.Builder
	cfg, s := loadSuite(t, &notes, `ollama: {manage: always, num_parallel: 2}
models:
  - {name: gpt2, backend: openai, model: "synthetic:tiny-gpt2", options: {max_tokens: 4, threads: 1, context: 1024},
     load: {concurrency: 2, requests: 12, warmup: 1, records: true, dataset: {input: {min: 16, max: 400}, output: {min: 2, max: 6}}}}
  - {name: llama, backend: ollama, model: "synthetic:tiny-llama", options: {max_tokens: 3, threads: 1, context: 1024},
     load: {concurrency: 2, requests: 12, records: true, dataset: {input: {mean: 200, stddev: 80, min: 16, max: 500}, prompts: 6}}}
  - {name: short, backend: openai, model: "synthetic:tiny-gpt2", options: {max_tokens: 4, threads: 1, context: 1024},
     load: {requests: 2, dataset: {input: {tokens: 5}}}}
`)
	for i, name := range []string{"gpt2", "llama"} {
		ms, err := runLoadCase(t, modelLoadCase(t, cfg, s, i), 1)
		require.NoError(t, err, name)
		assert.Equal(t, 0.0, ms["error-rate"], name)
	}
	recs := fileRecords(t, filepath.Join(cfg.Output, loadgen.RecordsFile))
	require.Len(t, recs, 24)
	lengths := map[string][]int{}
	for _, r := range recs {
		model := strings.Split(r.Bench, "/")[1]
		assert.Empty(t, r.Error, r.Message)
		assert.Equal(t, r.WantPromptTokens, r.PromptTokens, "%s request %d: the engine's count is the length made", model, r.I)
		assert.GreaterOrEqual(t, r.PromptTokens, 16)
		lengths[model] = append(lengths[model], r.PromptTokens)
		if model == "model=gpt2" {
			assert.GreaterOrEqual(t, r.OutputTokens, 2)
			assert.LessOrEqual(t, r.OutputTokens, 6)
		} else {
			assert.Equal(t, 3, r.OutputTokens, "the model's max_tokens without dataset.output")
		}
	}
	t.Logf("lengths: %v; notes: %s", lengths, notes.String())
	assert.Greater(t, len(slices.Compact(slices.Sorted(slices.Values(lengths["model=gpt2"])))), 6, "lengths drawn, not one")
	assert.LessOrEqual(t, slices.Max(lengths["model=gpt2"]), 400)
	assert.Len(t, slices.Compact(slices.Sorted(slices.Values(lengths["model=llama"]))), 6, "6 prompts, each used twice")
	assert.Contains(t, notes.String(), "llmbench note: model gpt2: exact-length prompts: ")

	_, err := runLoadCase(t, modelLoadCase(t, cfg, s, 2), 1)
	require.Error(t, err)
	assert.Contains(t, err.Error(), "load.yaml:9: model short: load: dataset: dataset.input: the shortest prompt, 5 tokens, leaves no room after the ")
}

// TestLoadSharedPrefixRealEngine: the cache effect of shared prefixes, on
// purpose, through the real Ollama with one cache slot. 3 prefixes of 384
// tokens × 4 suffixes, prompts of 400 tokens, on distilgpt2 (one thread):
// sent grouped, 9 of the 12 requests follow one of their own prefix, which
// the slot still holds; sent interleaved, none does, so the same prompts
// are all evaluated whole. The cacheable share is the dataset's, exactly
// 9·384/(12·400) = 0.72 in both orders (a cache of 3 entries would serve
// both); the TTFT shows which order this cache serves. Runs of the two
// alternate, so a busy phase of the machine slows both.
func TestLoadSharedPrefixRealEngine(t *testing.T) {
	ollamatest.NeedEngine(t)
	cfg, s := loadSuite(t, nil, `ollama: {manage: always, num_parallel: 1}
models:
  - {name: grouped, backend: openai, model: "synthetic:distilgpt2", options: {max_tokens: 2, threads: 1, context: 1024},
     load: {requests: 12, records: true, dataset: {input: {tokens: 400}, prefix: {count: 3, tokens: 384, suffixes: 4}, order: grouped}}}
  - {name: interleaved, backend: openai, model: "synthetic:distilgpt2", options: {max_tokens: 2, threads: 1, context: 1024},
     load: {requests: 12, records: true, dataset: {input: {tokens: 400}, prefix: {count: 3, tokens: 384, suffixes: 4}, order: interleaved}}}
`)
	grouped, inter := modelLoadCase(t, cfg, s, 0), modelLoadCase(t, cfg, s, 1)
	ctx := context.Background()
	require.NoError(t, grouped.Begin())
	require.NoError(t, inter.Begin())
	for range 2 {
		require.NoError(t, grouped.Step(ctx))
		require.NoError(t, inter.Step(ctx))
	}
	metrics := func(c *bench.LoadCase) map[string]float64 {
		ms, err := c.End()
		require.NoError(t, err)
		out := map[string]float64{}
		for _, m := range ms {
			out[m.Unit] = m.Value
		}
		return out
	}
	g, i := metrics(grouped), metrics(inter)
	assert.Equal(t, 9.0*384/(12*400), g["cacheable-prompt-share"])
	assert.Equal(t, 9.0*384/(12*400), i["cacheable-prompt-share"])
	assert.Equal(t, 0.0, g["error-rate"])
	assert.Equal(t, 0.0, i["error-rate"])

	var cached, whole []time.Duration // grouped requests after their prefix, and first of it
	for _, r := range fileRecords(t, filepath.Join(cfg.Output, loadgen.RecordsFile)) {
		assert.Equal(t, 400, r.PromptTokens, "the engine counts every prompt whole")
		require.NotNil(t, r.TTFT)
		if strings.Contains(r.Bench, "model=grouped") {
			if r.CacheableTokens > 0 {
				cached = append(cached, time.Duration(*r.TTFT))
			} else {
				whole = append(whole, time.Duration(*r.TTFT))
			}
		}
	}
	require.Len(t, cached, 18)
	require.Len(t, whole, 6)
	median := func(d []time.Duration) time.Duration { slices.Sort(d); return d[len(d)/2] }
	t.Logf("grouped: TTFT median %v after the prefix, %v first of it; ttft-p50 grouped %v, interleaved %v",
		median(cached), median(whole), time.Duration(g["ttft-p50-ns"]), time.Duration(i["ttft-p50-ns"]))
	assert.Less(t, float64(median(cached)), 0.7*float64(median(whole)), "a cached prefix: a fraction of the prefill (0.18 on a quiet machine, 0.45 on a loaded one)")
	assert.Less(t, g["ttft-p50-ns"], 0.7*i["ttft-p50-ns"], "grouped, the slot serves 9 of 12; interleaved, none")
}

// TestLoadTraceExactRealEngine: a Mooncake trace's prompts are made at
// exactly each entry's input length as the real Ollama counts it, and the
// blocks entries share are counted cacheable: of the shipped trace's first 11
// entries, entry 1 shares block 0 with entry 0 (all of entry 0's body: its 513
// tokens less the fixed ones) and entry 10 shares block 11 with entry 8 (391
// less the fixed ones); no other entry shares one.
func TestLoadTraceExactRealEngine(t *testing.T) {
	ollamatest.NeedEngine(t)
	trace, err := filepath.Abs("../testdata/traces/mooncake-small.jsonl")
	require.NoError(t, err)
	cfg, s := loadSuite(t, nil, `ollama: {manage: always, num_parallel: 2}
models:
  - {name: tiny, backend: openai, model: "synthetic:tiny-llama", options: {threads: 1, context: 2048}, load: {trace: {file: %s, window: {to: 1190ms}}, records: true}}
`, trace)
	ms, err := runLoadCase(t, modelLoadCase(t, cfg, s, 0), 1)
	require.NoError(t, err)
	assert.Equal(t, 0.0, ms["error-rate"])
	entries, err := loadgen.ReadTrace(cfg.Models[0].Load.Trace)
	require.NoError(t, err)
	require.Len(t, entries, 11)
	recs := fileRecords(t, filepath.Join(cfg.Output, loadgen.RecordsFile))
	require.Len(t, recs, 11)
	cacheable := map[int64]int{}
	var total, cached int
	for _, r := range recs {
		assert.Equal(t, entries[r.I].Input, r.PromptTokens, "entry %d: its input length, as the engine counts it", r.I)
		assert.Equal(t, entries[r.I].Output, r.OutputTokens)
		if r.CacheableTokens > 0 {
			cacheable[r.I] = r.CacheableTokens
		}
		total, cached = total+r.PromptTokens, cached+r.CacheableTokens
	}
	require.Len(t, cacheable, 2, "entries 1 and 10: %v", cacheable)
	fixed := 513 - cacheable[1]
	assert.Equal(t, fixed, 391-cacheable[10], "both: a whole earlier body")
	assert.Greater(t, fixed, loadgen.SaltWords)
	assert.Equal(t, float64(cached)/float64(total), ms["cacheable-prompt-share"])
}
