package bench

import (
	"context"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/llmbench/llmbench/backends"
	"github.com/llmbench/llmbench/config"
	"github.com/llmbench/llmbench/memwatch"
)

// fakeMemory reports a fixed peak and current size.
type fakeMemory struct{ peak, cur uint64 }

func (f *fakeMemory) Reset() error             { return nil }
func (f *fakeMemory) Peak() (uint64, error)    { return f.peak, nil }
func (f *fakeMemory) Current() (uint64, error) { return f.cur, nil }
func (f *fakeMemory) Close() error             { return nil }

// fakeGPU reports one fixed case.
type fakeGPU struct {
	c       memwatch.GPUCase
	err     error
	started int
}

func (g *fakeGPU) Info() memwatch.GPUInfo              { return memwatch.GPUInfo{Name: "fake"} }
func (g *fakeGPU) StartCase(int) error                 { g.started++; return nil }
func (g *fakeGPU) StopCase() (memwatch.GPUCase, error) { return g.c, g.err }
func (g *fakeGPU) Close() error                        { return nil }

// fakeBackend returns canned texts in turn.
type fakeBackend struct{ texts []string }

func (f *fakeBackend) Generate(ctx context.Context, req backends.Request) (*backends.Result, error) {
	t := f.texts[0]
	f.texts = f.texts[1:]
	return &backends.Result{Text: t}, nil
}
func (f *fakeBackend) Close() error { return nil }

func testCase(gpu memwatch.GPU) *Case {
	m := &Model{
		Config:    config.Model{Name: "m", Options: config.Options{MaxTokens: 8}},
		Backend:   &fakeBackend{},
		Info:      map[string]string{},
		Load:      250 * time.Millisecond,
		Memory:    &fakeMemory{peak: 3 << 30, cur: 2 << 30},
		AfterLoad: 2 << 30,
		pid:       42,
		gpu:       gpu,
		notice:    func(string, ...any) {},
	}
	return m.Case(config.Prompt{ID: "p", Prompt: "x", Reference: "a b c"})
}

func results(texts []string, tokens int, alloc uint64) []*backends.Result {
	t0 := time.Unix(0, 0)
	var rs []*backends.Result
	for _, text := range texts {
		rs = append(rs, &backends.Result{Sent: t0, Chunks: []time.Time{t0.Add(time.Millisecond), t0.Add(2 * time.Millisecond)},
			Done: t0.Add(3 * time.Millisecond), Text: text, OutputTokens: tokens, EngineMemory: alloc})
	}
	return rs
}

func TestCaseMetricsKnownAnswer(t *testing.T) {
	gpu := &fakeGPU{c: memwatch.GPUCase{PeakVRAM: 5 << 30, EnergyJ: 12, AvgPowerW: 300}}
	c := testCase(gpu)
	require.NoError(t, c.Begin())
	assert.Equal(t, 1, gpu.started)
	ms, err := c.Metrics(results([]string{"a b c", "a b c", "a b d"}, 8, 1<<30))
	require.NoError(t, err)
	m := metricMap(ms)
	assert.Equal(t, float64(250*time.Millisecond), m["load-ns"])
	assert.Equal(t, float64(3<<30), m["peak-rss-B"])
	assert.Equal(t, float64(2<<30), m["rss-after-load-B"])
	assert.Equal(t, float64(5<<30), m["peak-vram-B"])
	assert.Equal(t, 12.0/24, m["J/token"], "energy ÷ all output tokens of the case")
	assert.Equal(t, 300.0, m["avg-power-W"])
	assert.Equal(t, float64(1<<30), m["engine-peak-alloc-B"])
	assert.Equal(t, 3.0, m["out-words/op"])
	assert.InDelta(t, (1+1+2.0/3)/3, m["rouge-l"], 1e-12, "mean over the texts")
	assert.InDelta(t, 0.5, m["agreement"], 1e-12, "one of the two later texts equals the first")
}

func TestCaseMetricsWithoutGPU(t *testing.T) {
	for name, gpu := range map[string]memwatch.GPU{
		"no GPU":         nil,
		"not on the GPU": &fakeGPU{err: memwatch.ErrNotOnGPU},
	} {
		t.Run(name, func(t *testing.T) {
			c := testCase(gpu)
			require.NoError(t, c.Begin())
			ms, err := c.Metrics(results([]string{"a"}, 8, 0))
			require.NoError(t, err)
			m := metricMap(ms)
			for _, absent := range []string{"peak-vram-B", "J/token", "avg-power-W", "engine-peak-alloc-B", "agreement"} {
				assert.NotContains(t, m, absent, "absent, never 0")
			}
			assert.Contains(t, m, "peak-rss-B")
		})
	}
}

func TestLlamaBenchMetrics(t *testing.T) {
	l := &LlamaBench{Name: "tg128", Tokens: 128, Unit: "tokens/s"}
	m := metricMap(l.Metrics([]time.Duration{time.Second, 3 * time.Second}))
	assert.Equal(t, float64(2*time.Second), m["ns/op"])
	assert.Equal(t, 256.0/4, m["tokens/s"])
	assert.Empty(t, l.Metrics(nil))
}
