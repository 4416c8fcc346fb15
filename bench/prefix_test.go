package bench_test

import (
	"context"
	"fmt"
	"io"
	"os"
	"slices"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/llmbench/llmbench/backends"
	"github.com/llmbench/llmbench/backends/ollama/ollamatest"
	"github.com/llmbench/llmbench/bench"
	"github.com/llmbench/llmbench/config"
	_ "github.com/llmbench/llmbench/engines"
)

// TestPrefixCacheRealEngine is issue 13's known answer on the real Ollama: Ollama
// v0.17.4 serves a repeated prompt from its cache slot while its
// prompt_eval_count still counts the whole prompt. In cold mode (the default)
// every generation evaluates its whole prompt: the prefill of a 4N-token prompt
// takes several times that of an N-token one, and a repeat does not drop to one
// step. In warm mode the repeat's prefill and TTFT drop, and no prefill rate is
// printed.
func TestPrefixCacheRealEngine(t *testing.T) {
	ollamatest.NeedEngine(t)
	ctx := context.Background()
	cfg, s := realSuite(t, "prefix.yaml", nil, `ollama: {manage: always}
models:
  - {name: cold, backend: ollama, model: "synthetic:distilgpt2", options: {max_tokens: 2, threads: 1, context: 1024}}
  - {name: warm, backend: ollama, model: "synthetic:distilgpt2", options: {max_tokens: 2, threads: 1, context: 1024, prefix_cache: warm}}
`)
	words := func(n int) config.Prompt {
		return config.Prompt{ID: fmt.Sprint(n), Prompt: strings.Repeat(" the cat sat on a mat", n/6)}
	}
	short, long := words(96), words(384)
	gen := func(c *bench.GenerateCase) *backends.Result {
		r, err := c.Generate(ctx)
		require.NoError(t, err)
		return r
	}
	// The fastest of five, short and long interleaved: a busy phase of the
	// machine (other test packages run engines at the same time) then slows
	// both alike, and the minimum is what the prefill costs without it.
	fastest := func(a, b *bench.GenerateCase) (time.Duration, time.Duration) {
		var da, db []time.Duration
		for range 5 {
			da = append(da, gen(a).Server.PromptEval)
			db = append(db, gen(b).Server.PromptEval)
		}
		return slices.Min(da), slices.Min(db)
	}

	cold, err := s.OpenModel(ctx, cfg.Models[0])
	require.NoError(t, err)
	cs, cl := cold.Case(short, 0), cold.Case(long, 0)
	gen(cs) // the first generations of a fresh runner are slower
	gen(cl)
	ps, pl := fastest(cs, cl)
	t.Logf("cold prefill: %v for %d words, %v for %d", ps, 96, pl, 384)
	assert.Greater(t, float64(pl), 2*float64(ps), "cold: 4× the prompt, several times the prefill")
	first, repeat := gen(cl), gen(cl)
	assert.Greater(t, float64(repeat.Server.PromptEval), 0.5*float64(first.Server.PromptEval), "cold: a repeat evaluates the whole prompt again")
	require.NoError(t, cold.Close())

	warm, err := s.OpenModel(ctx, cfg.Models[1])
	require.NoError(t, err)
	defer warm.Close()
	wl := warm.Case(long, 0)
	first = gen(wl)
	require.NoError(t, wl.Begin())
	require.NoError(t, wl.Step(ctx))
	ms, err := wl.End()
	require.NoError(t, err)
	repeat = gen(wl)
	t.Logf("warm prefill: first %v (TTFT %v), repeat %v (TTFT %v)", first.Server.PromptEval, first.TTFT(), repeat.Server.PromptEval, repeat.TTFT())
	assert.Less(t, float64(repeat.Server.PromptEval), 0.5*float64(first.Server.PromptEval), "warm: the cache serves the repeat (one step, about 10 ms, on a quiet machine; 0.48 of the first was seen once with other test packages running)")
	assert.Less(t, repeat.TTFT(), first.TTFT(), "warm: the repeat's TTFT drops")
	assert.Equal(t, first.PromptTokens, repeat.PromptTokens, "Ollama counts the cached prompt whole: why no rate is computed from it")
	units := map[string]bool{}
	for _, m := range ms {
		units[m.Unit] = true
	}
	assert.True(t, units["ttft-ns/op"])
	assert.False(t, units["prompt-tokens/s"], "warm: no prefill rate")
	assert.False(t, units["server-prompt-tokens/s"], "warm: no prefill rate")
}

// TestRunnerKilledMidCase is issue 21's known answer on the real engine: the
// runner that holds the model is killed during a generation. That case fails,
// once, with the cause; Ollama starts a new runner, and the next case finds it
// and measures normally (peak-rss-B of the new process).
func TestRunnerKilledMidCase(t *testing.T) {
	ollamatest.NeedEngine(t)
	ctx := context.Background()
	cfg, s := realSuite(t, "kill.yaml", nil, `ollama: {manage: always}
models:
  - {name: tiny, backend: ollama, model: "synthetic:tiny-llama", options: {max_tokens: 1500, threads: 1, context: 2048}}
`)
	m, err := s.OpenModel(ctx, cfg.Models[0])
	require.NoError(t, err)
	defer m.Close()
	old := m.PID()
	require.Positive(t, old, "the runner is watched")

	c := m.Case(config.Prompt{ID: "a", Prompt: "one two three"}, 0)
	require.NoError(t, c.Begin())
	go func() {
		time.Sleep(300 * time.Millisecond)
		syscall.Kill(old, syscall.SIGKILL)
	}()
	stepErr := c.Step(ctx)
	require.Error(t, stepErr, "the case in flight fails")
	t.Logf("killed case: %v", stepErr)
	_, err = c.End()
	t.Logf("its end: %v", err)

	next := m.Case(config.Prompt{ID: "b", Prompt: "four five six", MaxTokens: 8}, 0)
	require.NoError(t, next.Begin(), "the next case begins")
	require.NoError(t, next.Step(ctx))
	ms, err := next.End()
	require.NoError(t, err)
	units := map[string]float64{}
	for _, x := range ms {
		units[x.Unit] = x.Value
	}
	assert.Positive(t, units["peak-rss-B"], "the new runner is measured")
	assert.NotEqual(t, old, m.PID(), "a new process")
	assert.Positive(t, m.PID())
}

// TestManagedServerRestarted: the private Ollama server llmbench started is
// killed after one model opened; the next model's open starts a new server, with
// a notice, and measures on it.
func TestManagedServerRestarted(t *testing.T) {
	ollamatest.NeedEngine(t)
	ctx := context.Background()
	var notes strings.Builder
	cfg, s := realSuite(t, "restart.yaml", &notes, `ollama: {manage: always}
models:
  - {name: one, backend: ollama, model: "synthetic:tiny-llama", options: {max_tokens: 4, threads: 1}}
  - {name: two, backend: ollama, model: "synthetic:tiny-gpt2", options: {max_tokens: 4, threads: 1}}
`)
	one, err := s.OpenModel(ctx, cfg.Models[0])
	require.NoError(t, err)
	stat, err := os.ReadFile(fmt.Sprintf("/proc/%d/stat", one.PID()))
	require.NoError(t, err)
	var server int
	_, err = fmt.Sscanf(string(stat[strings.LastIndexByte(string(stat), ')')+2:]), "%c %d", new(rune), &server)
	require.NoError(t, err)
	require.NoError(t, syscall.Kill(-server, syscall.SIGKILL), "the server's process group")
	one.Close()

	two, err := s.OpenModel(ctx, cfg.Models[1])
	require.NoError(t, err, "a new server for the next model")
	defer two.Close()
	c := two.Case(config.Prompt{ID: "p", Prompt: "hello"}, 0)
	require.NoError(t, c.Begin())
	require.NoError(t, c.Step(ctx))
	ms, err := c.End()
	require.NoError(t, err)
	assert.NotEmpty(t, ms)
	assert.Contains(t, notes.String(), "exited; started a new one at")
}

// TestUsersServerGoesAway: a user's own Ollama server (not started by llmbench)
// that goes away between two models fails the next model with one clear error
// naming it and the server; llmbench does not start one in its place.
func TestUsersServerGoesAway(t *testing.T) {
	srv := ollamatest.Start(t)
	ctx := context.Background()
	cfg, s := realSuite(t, "user.yaml", nil, `ollama: {host: %s, manage: never}
models:
  - {name: one, backend: ollama, model: "synthetic:tiny-llama", options: {max_tokens: 4, threads: 1}}
  - {name: two, backend: ollama, model: "synthetic:tiny-gpt2", options: {max_tokens: 4, threads: 1}}
`, srv.URL)
	one, err := s.OpenModel(ctx, cfg.Models[0])
	require.NoError(t, err)
	one.Close()
	require.NoError(t, srv.Stop())
	_, err = s.OpenModel(ctx, cfg.Models[1])
	require.Error(t, err)
	assert.Contains(t, err.Error(), "user.yaml:5: model two: ")
	assert.Contains(t, err.Error(), srv.URL.Host)
	t.Log(err)
}

// realSuite parses a configuration (its models_dir the tests' shared one, then
// body, formatted with args) and opens its suite, closed when the test ends.
func realSuite(t *testing.T, file string, notes io.Writer, body string, args ...any) (*config.Config, *bench.Suite) {
	t.Helper()
	cfg, err := config.Parse(file, []byte("models_dir: "+ollamatest.ModelsDir()+"\n"+fmt.Sprintf(body, args...)))
	require.NoError(t, err)
	s, err := bench.Open(context.Background(), cfg, nil, notes)
	require.NoError(t, err)
	t.Cleanup(func() { s.Close() })
	return cfg, s
}
