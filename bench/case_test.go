package bench

import (
	"context"
	"errors"
	"io"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/llmbench/llmbench/backends"
	"github.com/llmbench/llmbench/config"
	"github.com/llmbench/llmbench/loadgen"
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

// fakeBackend returns canned texts in turn, each as two chunks 1 ms apart, and
// fails where fail says so.
type fakeBackend struct {
	texts  []string
	tokens int
	alloc  uint64
	fail   []bool
	reqs   []backends.Request
}

func (f *fakeBackend) Generate(ctx context.Context, req backends.Request) (*backends.Result, error) {
	f.reqs = append(f.reqs, req)
	if len(f.fail) > 0 {
		fail := f.fail[0]
		f.fail = f.fail[1:]
		if fail {
			return nil, errors.New("engine crashed")
		}
	}
	t := f.texts[0]
	f.texts = f.texts[1:]
	t0 := time.Unix(0, 0)
	return &backends.Result{Sent: t0, Chunks: []time.Time{t0.Add(time.Millisecond), t0.Add(2 * time.Millisecond)},
		Done: t0.Add(3 * time.Millisecond), Text: t, OutputTokens: f.tokens, EngineMemory: f.alloc}, nil
}
func (f *fakeBackend) Close() error { return nil }

func testModel(gpu memwatch.GPU, b *fakeBackend, cache backends.PrefixCache) *Model {
	s := &Suite{Notices: io.Discard, noticed: map[string]bool{}}
	return &Model{
		Config:    config.Model{Name: "m", Spec: backends.Spec{Name: "m", Options: backends.Options{MaxTokens: 8, Seed: 7, PrefixCache: cache}}},
		Backend:   b,
		Load:      250 * time.Millisecond,
		Memory:    &fakeMemory{peak: 3 << 30, cur: 2 << 30},
		AfterLoad: 2 << 30,
		pid:       42,
		gpu:       gpu,
		suite:     s,
	}
}

func testCase(gpu memwatch.GPU, b *fakeBackend, cache backends.PrefixCache) *GenerateCase {
	return testModel(gpu, b, cache).Case(config.Prompt{ID: "p", Prompt: "x", Reference: "a b c"}, 0)
}

// window runs one timed window of n steps.
func window(t *testing.T, c Case, n int) []Metric {
	t.Helper()
	ctx := context.Background()
	require.NoError(t, c.Begin())
	for range n {
		require.NoError(t, c.Step(ctx))
	}
	ms, err := c.End()
	require.NoError(t, err)
	return ms
}

func TestCaseMetricsKnownAnswer(t *testing.T) {
	gpu := &fakeGPU{c: memwatch.GPUCase{PeakVRAM: 5 << 30, EnergyJ: 12, AvgPowerW: 300}}
	b := &fakeBackend{texts: []string{"a b c", "a b c", "a b d"}, tokens: 8, alloc: 1 << 30}
	c := testCase(gpu, b, backends.PrefixWarm)
	m := metricMap(window(t, c, 3))
	assert.Equal(t, 1, gpu.started)
	assert.Equal(t, float64(3<<30), m["peak-rss-B"])
	assert.Equal(t, float64(5<<30), m["peak-vram-B"])
	assert.Equal(t, 12.0/24, m["J/token"], "energy ÷ all output tokens of the case")
	assert.Equal(t, 300.0, m["avg-power-W"])
	assert.Equal(t, float64(1<<30), m["engine-peak-alloc-B"])
	assert.Equal(t, 3.0, m["out-words/op"])
	assert.InDelta(t, (1+1+2.0/3)/3, m["rouge-l"], 1e-12, "mean over the texts")
	assert.InDelta(t, 0.5, m["agreement"], 1e-12, "one of the two later texts equals the first")
	for _, oneShot := range []string{"load-ns", "rss-after-load-B"} {
		assert.NotContains(t, m, oneShot, "one-shot figures are the model's stage line, not the case's")
	}
}

func TestCaseMetricsWithoutGPU(t *testing.T) {
	for name, gpu := range map[string]memwatch.GPU{
		"no GPU":         nil,
		"not on the GPU": &fakeGPU{err: memwatch.ErrNotOnGPU},
	} {
		t.Run(name, func(t *testing.T) {
			c := testCase(gpu, &fakeBackend{texts: []string{"a"}, tokens: 8}, backends.PrefixWarm)
			m := metricMap(window(t, c, 1))
			for _, absent := range []string{"peak-vram-B", "J/token", "avg-power-W", "engine-peak-alloc-B", "agreement"} {
				assert.NotContains(t, m, absent, "absent, never 0")
			}
			assert.Contains(t, m, "peak-rss-B")
		})
	}
}

// energyGPU reports 100 J for every generation run since StartCase, as a real
// GPU's energy counter would: a window left open sums two windows.
type energyGPU struct {
	b            *fakeBackend
	from         int
	open         bool
	starts, ends int
}

func (g *energyGPU) Info() memwatch.GPUInfo { return memwatch.GPUInfo{Name: "fake"} }
func (g *energyGPU) StartCase(int) error {
	if !g.open {
		g.from = len(g.b.reqs)
	}
	g.open = true
	g.starts++
	return nil
}
func (g *energyGPU) StopCase() (memwatch.GPUCase, error) {
	g.open = false
	g.ends++
	return memwatch.GPUCase{PeakVRAM: 1, EnergyJ: 100 * float64(len(g.b.reqs)-g.from)}, nil
}
func (g *energyGPU) Close() error { return nil }

// TestFailedStepClosesGPUWindow: a generation that fails after Begin closes its
// window at End, so the next window's J/token covers only its own generation.
func TestFailedStepClosesGPUWindow(t *testing.T) {
	b := &fakeBackend{texts: []string{"a b c"}, tokens: 32, fail: []bool{true, false}}
	gpu := &energyGPU{b: b}
	c := testCase(gpu, b, backends.PrefixCold)
	ctx := context.Background()
	require.NoError(t, c.Begin())
	require.Error(t, c.Step(ctx))
	ms, err := c.End()
	require.NoError(t, err)
	assert.Empty(t, ms, "a window without a generation has no metrics")
	assert.Equal(t, gpu.starts, gpu.ends, "every window closed")

	m := metricMap(window(t, c, 1))
	assert.Equal(t, 100.0/32, m["J/token"], "one generation's energy over its own tokens")
}

func TestRequestResolved(t *testing.T) {
	think := false
	for _, cache := range []backends.PrefixCache{backends.PrefixCold, backends.PrefixWarm} {
		b := &fakeBackend{texts: []string{"a", "b"}, tokens: 8}
		mod := testModel(nil, b, cache)
		mod.Config.Spec.Options.Think = &think
		c := mod.Case(config.Prompt{ID: "p", Prompt: "the prompt", MaxTokens: 5}, 1)
		require.NoError(t, c.Warm(context.Background()))
		require.NoError(t, c.Warm(context.Background()), "a second Warm owes nothing")
		window(t, c, 1)
		require.Len(t, b.reqs, 2)
		for _, r := range b.reqs {
			assert.Equal(t, 5, r.MaxTokens, "the prompt's max_tokens wins")
			assert.Equal(t, 7, r.Seed)
			assert.Equal(t, &think, r.Think)
			assert.True(t, strings.HasSuffix(r.Prompt, "the prompt"))
		}
		if cache == backends.PrefixWarm {
			assert.Equal(t, "the prompt", b.reqs[0].Prompt, "warm: sent as it is")
			assert.Equal(t, b.reqs[0].Prompt, b.reqs[1].Prompt)
		} else {
			assert.Regexp(t, `^\[[0-9a-f]{8}\] the prompt$`, b.reqs[0].Prompt, "cold: a nonce first")
			assert.NotEqual(t, b.reqs[0].Prompt, b.reqs[1].Prompt, "cold: a nonce of its own per generation")
		}
	}
}

func TestLoadStage(t *testing.T) {
	m := metricMap(window(t, testModel(nil, &fakeBackend{}, backends.PrefixCold).loadStage(), 3))
	assert.Equal(t, map[string]float64{"ns/op": float64(250 * time.Millisecond), "load-ns": float64(250 * time.Millisecond),
		"rss-after-load-B": float64(2 << 30)}, m)
	assert.Nil(t, (&Model{}).loadStage(), "nothing measured, no stage line")
}

func TestLlamaBenchMetrics(t *testing.T) {
	ds := []time.Duration{time.Second, 3 * time.Second}
	l := &llamaBench{name: "tg128", tokens: 128, unit: "tokens/s", run: func(context.Context, int) (time.Duration, error) {
		d := ds[0]
		ds = ds[1:]
		return d, nil
	}}
	m := metricMap(window(t, l, 2))
	assert.Equal(t, float64(2*time.Second), m["ns/op"])
	assert.Equal(t, 256.0/4, m["tokens/s"])
	require.NoError(t, l.Begin())
	ms, err := l.End()
	require.NoError(t, err)
	assert.Empty(t, ms)
}

// peakMemory is a memory watch whose peak is the largest size set since Reset.
type peakMemory struct{ cur, peak uint64 }

func (p *peakMemory) set(n uint64)             { p.cur = n; p.peak = max(p.peak, n) }
func (p *peakMemory) Reset() error             { p.peak = p.cur; return nil }
func (p *peakMemory) Peak() (uint64, error)    { return p.peak, nil }
func (p *peakMemory) Current() (uint64, error) { return p.cur, nil }
func (p *peakMemory) Close() error             { return nil }

// sizedBackend sets the engine's memory at each generation: big for the first,
// small after.
type sizedBackend struct {
	fakeBackend
	mem *peakMemory
	n   int
}

func (s *sizedBackend) Generate(ctx context.Context, req backends.Request) (*backends.Result, error) {
	s.n++
	if s.n == 1 {
		s.mem.set(5 << 30)
	} else {
		s.mem.set(1 << 30)
	}
	return s.fakeBackend.Generate(ctx, req)
}

// TestLoadPeakCoversEveryRun: a load point's peak-rss-B covers all the runs of
// its window (go test's b.Loop iterations), not only the last.
func TestLoadPeakCoversEveryRun(t *testing.T) {
	mem := &peakMemory{}
	b := &sizedBackend{fakeBackend: fakeBackend{texts: []string{"a", "b", "c"}, tokens: 2}, mem: mem}
	m := testModel(nil, nil, backends.PrefixCold)
	m.Backend, m.Memory = b, mem
	m.Config.Load = &loadgen.Spec{Requests: 1}
	m.suite.Prompts = []config.Prompt{{ID: "p", Prompt: "x"}}
	m.suite.Config = &config.Config{File: "l.yaml"}
	cases, err := m.suite.loadCases(m)
	require.NoError(t, err)
	require.Len(t, cases, 1)
	ms := metricMap(window(t, cases[0], 3))
	assert.Equal(t, float64(5<<30), ms["peak-rss-B"], "the first run's peak counts")
	assert.Equal(t, 3, b.n)
}

// twoGPUs is a GPU whose every case used devices 0 and 1.
type twoGPUs struct{ energyGPU }

func (g *twoGPUs) StopCase() (memwatch.GPUCase, error) {
	return memwatch.GPUCase{PeakVRAM: 5 << 30, EnergyJ: 320, AvgPowerW: 160, Devices: []int{0, 1},
		PerDevice: []memwatch.DeviceUse{{Index: 0, PeakVRAM: 2 << 30, EnergyJ: 120}, {Index: 1, PeakVRAM: 3 << 30, EnergyJ: 200}}}, nil
}

// TestCaseMetricsSeveralGPUs: a case that used two GPUs reports the sums and
// each device's share beside them; one that used one GPU only the sums.
func TestCaseMetricsSeveralGPUs(t *testing.T) {
	b := &fakeBackend{texts: []string{"a b c"}, tokens: 40}
	m := metricMap(window(t, testCase(&twoGPUs{energyGPU{b: b}}, b, backends.PrefixCold), 1))
	assert.Equal(t, float64(5<<30), m["peak-vram-B"])
	assert.Equal(t, 320.0/40, m["J/token"])
	assert.Equal(t, float64(2<<30), m["gpu0-peak-vram-B"])
	assert.Equal(t, float64(3<<30), m["gpu1-peak-vram-B"])
	assert.Equal(t, 120.0/40, m["gpu0-J/token"])
	assert.Equal(t, 200.0/40, m["gpu1-J/token"])

	b = &fakeBackend{texts: []string{"a b c"}, tokens: 40}
	one := metricMap(window(t, testCase(&energyGPU{b: b}, b, backends.PrefixCold), 1))
	assert.Contains(t, one, "peak-vram-B")
	assert.NotContains(t, one, "gpu0-peak-vram-B")
}
