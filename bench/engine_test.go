package bench_test

import (
	"context"
	"fmt"
	"io"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/llmbench/llmbench/backends"
	"github.com/llmbench/llmbench/bench"
	"github.com/llmbench/llmbench/config"
)

// clockEngine is the test-only engine docs/engines.md describes: one package
// (here one file) that registers itself, decodes its own options and is driven by
// bench without bench naming it. Its backend "generates" n tokens gap apart on a
// fake clock, so every timing is known exactly.
type clockEngine struct{}

// clockOptions are the engine's own keys in a model entry.
type clockOptions struct {
	Gap time.Duration `yaml:"gap"`
}

func init() { backends.Register("clock", clockEngine{}) }

func (clockEngine) Configure(spec backends.Spec, decode func(any) error) (any, error) {
	var o clockOptions
	if err := decode(&o); err != nil {
		return nil, err
	}
	if o.Gap <= 0 {
		return nil, fmt.Errorf("gap is %v: want more than 0", o.Gap)
	}
	return o, nil
}

func (clockEngine) Open(ctx context.Context, spec backends.Spec, env backends.Env) (backends.Backend, error) {
	return &clockBackend{gap: spec.Engine.(clockOptions).Gap}, nil
}

type clockBackend struct {
	gap  time.Duration
	reqs []backends.Request
}

func (b *clockBackend) Generate(ctx context.Context, req backends.Request) (*backends.Result, error) {
	b.reqs = append(b.reqs, req)
	t0 := time.Unix(1000, 0)
	r := &backends.Result{Sent: t0, Text: strings.Repeat("x ", req.MaxTokens), OutputTokens: req.MaxTokens, PromptTokens: 10}
	for i := 1; i <= req.MaxTokens; i++ {
		r.Chunks = append(r.Chunks, t0.Add(time.Duration(i)*b.gap))
	}
	r.Done = r.Chunks[len(r.Chunks)-1]
	return r, nil
}

func (b *clockBackend) Close() error { return nil }

func (b *clockBackend) Describe(context.Context) (backends.Description, error) {
	return backends.Description{Engine: "clock 1", Extra: [][2]string{{"clock-gap", b.gap.String()}}}, nil
}

func TestTestOnlyEngine(t *testing.T) {
	cfg, err := config.Parse("e.yaml", []byte(`warmup: 1
models:
  - name: c
    backend: clock
    model: any
    gap: 10ms
    options: {max_tokens: 5}
`))
	require.NoError(t, err)
	_, err = config.Parse("e.yaml", []byte("models:\n  - {name: c, backend: clock, model: any, gap: 1ms, colour: red}\n"))
	require.ErrorContains(t, err, `e.yaml:2: model "c": line 2: unknown key colour: want one of gap`)
	_, err = config.Parse("e.yaml", []byte("models:\n  - {name: c, backend: clock, model: any}\n"))
	require.ErrorContains(t, err, `e.yaml:2: model "c": gap is 0s: want more than 0`)

	s, err := bench.Open(context.Background(), cfg, []config.Prompt{{ID: "p", Prompt: "hi"}}, nil)
	require.NoError(t, err)
	defer s.Close()
	m, err := s.OpenModel(context.Background(), cfg.Models[0])
	require.NoError(t, err)
	defer m.Close()
	lines := map[string]string{}
	for _, kv := range s.ModelLines(m) {
		lines[kv[0]] = kv[1]
	}
	assert.Equal(t, "clock 1", lines["engine"])
	assert.Equal(t, "10ms", lines["clock-gap"], "a backend's extra facts are written")
	assert.Equal(t, "cold", lines["prefix-cache"])

	cases, err := s.Cases(m)
	require.NoError(t, err)
	require.Len(t, cases, 1)
	c := cases[0]
	assert.Equal(t, "prompt=p", c.Name())
	require.NoError(t, c.Warm(context.Background()))
	require.NoError(t, c.Begin())
	require.NoError(t, c.Step(context.Background()))
	ms, err := c.End()
	require.NoError(t, err)
	got := map[string]float64{}
	for _, x := range ms {
		got[x.Unit] = x.Value
	}
	assert.Equal(t, float64(50*time.Millisecond), got["ns/op"])
	assert.Equal(t, float64(10*time.Millisecond), got["ttft-ns/op"])
	assert.Equal(t, float64(10*time.Millisecond), got["tpot-ns/op"])
	assert.InDelta(t, 100, got["tokens/s"], 1e-9)
	assert.InDelta(t, 1000, got["prompt-tokens/s"], 1e-9, "cold: 10 prompt tokens in the 10 ms to the first token")
	b := m.Backend.(*clockBackend)
	require.Len(t, b.reqs, 3, "the first request that loads an engine without a Loader, one warm-up, one timed")
	assert.Equal(t, 42, b.reqs[2].Seed, "the default seed, resolved")
}

// TestSharedMayNotice: an engine opening a shared resource may write notices
// (the Ollama engine says which server it uses) without deadlocking the suite.
func TestSharedMayNotice(t *testing.T) {
	cfg, err := config.Parse("e.yaml", []byte("models:\n  - {name: c, backend: clock, model: any, gap: 1ms}\n"))
	require.NoError(t, err)
	var notes strings.Builder
	s, err := bench.Open(context.Background(), cfg, nil, &notes)
	require.NoError(t, err)
	done := make(chan error, 1)
	go func() {
		_, err := s.Shared("k", func() (io.Closer, error) {
			s.Notice("opening k")
			return io.NopCloser(nil), nil
		})
		done <- err
	}()
	select {
	case err := <-done:
		require.NoError(t, err)
	case <-time.After(10 * time.Second):
		t.Fatal("Shared deadlocked on a notice")
	}
	require.NoError(t, s.Close())
	assert.Contains(t, notes.String(), "opening k")
}
