package bench

import (
	"context"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/llmbench/llmbench/backends"
	"github.com/llmbench/llmbench/loadgen"
	"github.com/llmbench/llmbench/memwatch"
	"github.com/llmbench/llmbench/metric"
)

// result builds a Result sent at t0 whose content chunks arrive at the given
// offsets (ms) and whose final message arrives at done (ms).
func result(t0 time.Time, chunks []int, done int, prompt, out int) *backends.Result {
	r := &backends.Result{Sent: t0, Done: t0.Add(time.Duration(done) * time.Millisecond), PromptTokens: prompt, OutputTokens: out}
	for _, c := range chunks {
		r.Chunks = append(r.Chunks, t0.Add(time.Duration(c)*time.Millisecond))
	}
	return r
}

func metricMap(ms []Metric) map[string]float64 {
	out := map[string]float64{}
	for _, m := range ms {
		out[m.Unit] = m.Value
	}
	return out
}

func TestTimingKnownAnswer(t *testing.T) {
	t0 := time.Unix(1000, 0)
	// TTFT 100 ms, then 4 more tokens 10, 10, 20, 40 ms apart, done 10 ms after the
	// last: e2e 190 ms, decode (first chunk to last) 80 ms over 4 tokens, tail 10 ms.
	r := result(t0, []int{100, 110, 120, 140, 180}, 190, 50, 5)
	r.Server = backends.ServerTimings{PromptEval: 80 * time.Millisecond, PromptEvalTokens: 40, Eval: 100 * time.Millisecond, EvalTokens: 5}
	m := metricMap(Timing([]*backends.Result{r}, true))

	assert.InDelta(t, 190e6, m["ns/op"], 1)
	assert.InDelta(t, 100e6, m["ttft-ns/op"], 1)
	assert.InDelta(t, 80e6/4, m["tpot-ns/op"], 1, "decode only: the tail is not a token's")
	assert.InDelta(t, 4/0.080, m["tokens/s"], 1e-9)
	assert.InDelta(t, 10e6, m["tail-ns/op"], 1)
	assert.NotContains(t, m, "ttfo-ns/op", "no reasoning streamed")
	assert.NotContains(t, m, "reasoning-tokens/op")
	assert.InDelta(t, 50/0.100, m["prompt-tokens/s"], 1e-9)
	assert.InDelta(t, 5/0.100, m["server-tokens/s"], 1e-9)
	assert.InDelta(t, 40/0.080, m["server-prompt-tokens/s"], 1e-9)
	assert.Equal(t, 5.0, m["gen-tokens/op"])
	assert.Equal(t, 50.0, m["prompt-tokens/op"])
	// Gaps 10, 10, 20, 40 ms: nearest-rank p50 is the 2nd (10 ms), p99 the 4th.
	assert.InDelta(t, 10e6, m["itl-p50-ns"], 1)
	assert.InDelta(t, 40e6, m["itl-p99-ns"], 1)
}

func TestTimingAggregates(t *testing.T) {
	t0 := time.Unix(1000, 0)
	a := result(t0, []int{100, 200}, 200, 10, 2)           // decode 100 ms for 1 token
	b := result(t0, []int{300, 310, 320, 330}, 330, 10, 4) // decode 30 ms for 3 tokens
	m := metricMap(Timing([]*backends.Result{a, b}, true))
	assert.InDelta(t, (200e6+330e6)/2, m["ns/op"], 1)
	assert.InDelta(t, (100e6+300e6)/2, m["ttft-ns/op"], 1)
	assert.InDelta(t, (100e6+10e6)/2, m["tpot-ns/op"], 1) // mean of per-request TPOT
	assert.InDelta(t, 4/0.130, m["tokens/s"], 1e-9)       // Σ(n−1)/Σ decode
	assert.InDelta(t, 20/0.400, m["prompt-tokens/s"], 1e-9)
	assert.Equal(t, 3.0, m["gen-tokens/op"])
}

func TestTimingLeavesOutWhatDoesNotApply(t *testing.T) {
	t0 := time.Unix(1000, 0)
	m := metricMap(Timing([]*backends.Result{result(t0, []int{50}, 60, 0, 1)}, true))
	assert.Contains(t, m, "ns/op")
	assert.Contains(t, m, "ttft-ns/op")
	for _, absent := range []string{"tpot-ns/op", "tokens/s", "server-tokens/s", "prompt-tokens/s", "itl-p50-ns"} {
		assert.NotContains(t, m, absent, "one output token and no server timings: %s must be absent, not 0", absent)
	}
	assert.Empty(t, Timing(nil, true))

	// Two tokens in one chunk: no decode time, so no TPOT (never 0).
	m = metricMap(Timing([]*backends.Result{result(t0, []int{50}, 60, 5, 2)}, true))
	assert.NotContains(t, m, "tpot-ns/op")
	assert.NotContains(t, m, "tokens/s")
}

// TestTimingWarmHasNoPrefillRate: with a warm prefix cache the time to the first
// token did not process the whole prompt, so no prefill rate is computed from it.
func TestTimingWarmHasNoPrefillRate(t *testing.T) {
	t0 := time.Unix(1000, 0)
	r := result(t0, []int{5, 15}, 15, 500, 2)
	r.Server = backends.ServerTimings{PromptEval: 4 * time.Millisecond, PromptEvalTokens: 500, Eval: 10 * time.Millisecond, EvalTokens: 1}
	m := metricMap(Timing([]*backends.Result{r}, false))
	assert.NotContains(t, m, "prompt-tokens/s")
	assert.NotContains(t, m, "server-prompt-tokens/s")
	assert.InDelta(t, 5e6, m["ttft-ns/op"], 1, "TTFT is reported as what it is")
	assert.Equal(t, 500.0, m["prompt-tokens/op"])
}

// TestTimingReasoning is issue 13's example: 10 thinking tokens, then 2 answer
// tokens, 20 ms apart. Reasoning counts as generated output for TTFT, TPOT and the
// rates; TTFO is the time to the first answer token.
func TestTimingReasoning(t *testing.T) {
	t0 := time.Unix(1000, 0)
	var chunks []int
	for i := range 12 {
		chunks = append(chunks, 20*(i+1))
	}
	r := result(t0, chunks, 240, 10, 12)
	r.Reasoning, r.ReasoningTokens = 10, 10
	m := metricMap(Timing([]*backends.Result{r}, true))
	assert.InDelta(t, 20e6, m["ttft-ns/op"], 1)
	assert.InDelta(t, 220e6, m["ttfo-ns/op"], 1, "the 11th chunk is the first answer")
	assert.InDelta(t, 20e6, m["tpot-ns/op"], 1)
	assert.InDelta(t, 50, m["tokens/s"], 1e-9)
	assert.Equal(t, 10.0, m["reasoning-tokens/op"])
	assert.Equal(t, 12.0, m["gen-tokens/op"])
}

func TestSanitize(t *testing.T) {
	for in, want := range map[string]string{
		"llama3.2:1b":       "llama3.2:1b",
		"org/model name":    "org_model_name",
		"k=v":               "k_v",
		"gpt2-medium":       "gpt2-medium",
		"llama-8":           "llama-8_",
		"distil-1-2":        "distil-1-2_",
		"":                  "_",
		"tab\tand\nnewline": "tab_and_newline",
	} {
		assert.Equal(t, want, Sanitize(in), "Sanitize(%q)", in)
	}
	assert.Equal(t, "model=a_b/prompt=q-1_", CaseName("a/b", "q-1"))
}

// TestEveryMetricIsKnown: every unit the suite prints is in package metric's one
// table, which reports and the gate read (reports.KnownMetrics is made from it).
func TestEveryMetricIsKnown(t *testing.T) {
	t0 := time.Unix(1000, 0)
	r := result(t0, []int{10, 20, 30, 40}, 50, 10, 4)
	r.Reasoning, r.ReasoningTokens = 1, 1
	r.Server = backends.ServerTimings{PromptEval: time.Millisecond, PromptEvalTokens: 10, Eval: time.Millisecond, EvalTokens: 3}
	units := Timing([]*backends.Result{r}, true)
	b := &fakeBackend{texts: []string{"a b", "a b"}, tokens: 4, alloc: 1}
	c := testCase(&fakeGPU{c: memwatch.GPUCase{PeakVRAM: 1, EnergyJ: 1, AvgPowerW: 1}}, b, backends.PrefixWarm)
	require.NoError(t, c.Begin())
	require.NoError(t, c.Step(context.Background()))
	require.NoError(t, c.Step(context.Background()))
	ms, err := c.End()
	require.NoError(t, err)
	units = append(units, ms...)
	units = append(units, testModel(nil, b, backends.PrefixCold).loadStage().ms...)
	for _, u := range loadgen.MetricNames() {
		units = append(units, Metric{Unit: u})
	}
	for _, m := range units {
		_, ok := metric.Lookup(m.Unit)
		assert.True(t, ok, "%s is printed but not in package metric", m.Unit)
	}
}
