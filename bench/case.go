package bench

import (
	"context"
	"errors"
	"fmt"
	"math/rand/v2"
	"time"

	"github.com/llmbench/llmbench/backends"
	"github.com/llmbench/llmbench/config"
	"github.com/llmbench/llmbench/loadgen"
	"github.com/llmbench/llmbench/memwatch"
	"github.com/llmbench/llmbench/metric"
	"github.com/llmbench/llmbench/quality"
)

// GenerateCase is one model×prompt pair: one streamed generation per step.
type GenerateCase struct {
	Model  *Model
	Prompt config.Prompt
	// MaxTokens is the exact output length asked for: the prompt's max_tokens, else
	// the model's.
	MaxTokens int

	warm  int                // warm-up generations still owed
	rs    []*backends.Result // the window's generations
	texts []string           // the texts of all timed generations, for agreement
	gpuOn bool               // GPU measurement runs since Begin
	seq   *loadgen.Sequence  // the window's records (configuration's records: true)
}

// Case returns the case of prompt p on m, owing warm untimed generations.
func (m *Model) Case(p config.Prompt, warm int) *GenerateCase {
	return &GenerateCase{Model: m, Prompt: p, MaxTokens: request(m.Config.Spec.Options, p).MaxTokens, warm: warm}
}

// Name implements [Case]: prompt=P.
func (c *GenerateCase) Name() string { return "prompt=" + Sanitize(c.Prompt.ID) }

// String names the case for people and error messages.
func (c *GenerateCase) String() string {
	return fmt.Sprintf("model %s, prompt %s", c.Model.Config.Name, c.Prompt.ID)
}

// Request returns the request of one generation, every option resolved: the
// output length, the seed, think, and — with prefix_cache cold, the default — a
// nonce of its own as the prompt's first tokens, so that no engine's prefix cache
// serves any of the prompt (docs/metrics.md, "Prefix caches").
func (c *GenerateCase) Request() backends.Request {
	r := request(c.Model.Config.Spec.Options, c.Prompt)
	if c.Model.Config.Spec.Options.PrefixCache != backends.PrefixWarm {
		r.Prompt = Nonce() + r.Prompt
	}
	return r
}

// request is the one place a prompt's request is resolved from a model's
// options: the prompt's max_tokens, else the model's; the seed; think. The cold
// nonce is added per send (Request; loadgen.WithSalt for load runs).
func request(o backends.Options, p config.Prompt) backends.Request {
	n := o.MaxTokens
	if p.MaxTokens > 0 {
		n = p.MaxTokens
	}
	return backends.Request{Prompt: p.Prompt, MaxTokens: n, Seed: o.Seed, Think: o.Think}
}

// Nonce returns a fresh prefix that makes a prompt unlike any sent before, in
// this run or another: "[" 8 random hex digits "] ".
func Nonce() string { return fmt.Sprintf("[%08x] ", rand.Uint32()) }

// Generate runs one generation of the case.
func (c *GenerateCase) Generate(ctx context.Context) (*backends.Result, error) {
	r, err := c.Model.Backend.Generate(ctx, c.Request())
	if err != nil {
		return r, fmt.Errorf("%s: %w", c, err)
	}
	return r, nil
}

// Warm implements [Case]: the owed warm-up generations, once.
func (c *GenerateCase) Warm(ctx context.Context) error {
	for ; c.warm > 0; c.warm-- {
		if _, err := c.Generate(ctx); err != nil {
			c.warm = 0
			return fmt.Errorf("warm-up: %w", err)
		}
	}
	return nil
}

// Begin implements [Case]: per-case peaks are reset, and GPU memory and energy
// measured from now.
func (c *GenerateCase) Begin() error {
	c.rs = c.rs[:0]
	if err := c.Model.resetMemory(); err != nil {
		return fmt.Errorf("%s: %w", c, err)
	}
	c.gpuOn = c.Model.startGPU(c.String())
	seq, err := c.Model.sequence(c)
	if err != nil {
		return fmt.Errorf("%s: %w", c, err)
	}
	c.seq = seq
	return nil
}

// Step implements [Case]: one timed generation, and its record when the
// configuration asks for records (a failed generation's too; a failed write
// fails the step, keeping what was measured).
func (c *GenerateCase) Step(ctx context.Context) error {
	sent := time.Now()
	r, err := c.Generate(ctx)
	var werr error
	if c.seq != nil {
		if werr = c.seq.Write(sent, time.Now(), r, err); werr != nil {
			werr = fmt.Errorf("%s: %w", c, werr)
		}
	}
	if err != nil {
		return err
	}
	c.rs = append(c.rs, r)
	return werr
}

// End implements [Case]: every metric of the window's generations — timings,
// memory peaks since Begin, GPU memory and energy, and quality.
func (c *GenerateCase) End() ([]Metric, error) {
	gm := c.gpuMetrics() // first: it ends the GPU window whatever follows
	rs := c.rs
	if len(rs) == 0 {
		return nil, nil
	}
	out := Timing(rs, c.Model.Config.Spec.Options.PrefixCache != backends.PrefixWarm)
	out, err := c.Model.withPeak(out)
	if err != nil {
		return out, fmt.Errorf("%s: %w", c, err)
	}
	out = append(out, gm...)
	var engineMem uint64
	for _, r := range rs {
		engineMem = max(engineMem, r.EngineMemory)
	}
	if engineMem > 0 {
		out = append(out, Metric{Unit: "engine-peak-alloc-B", Value: float64(engineMem)})
	}
	return append(out, c.quality(rs)...), nil
}

// sequence begins the records of c's window when the configuration asks for
// records (records: true at its top); nil otherwise.
func (m *Model) sequence(c Case) (*loadgen.Sequence, error) {
	s := m.suite
	if s == nil || s.Config == nil || !s.Config.Records {
		return nil, nil
	}
	rw, err := s.lines(loadgen.RecordsFile)
	if err != nil {
		return nil, err
	}
	return rw.Sequence(m.benchOf(c)), nil
}

// withPeak appends the window's memory peak (peak-rss-B) to out when there is
// one.
func (m *Model) withPeak(out []Metric) ([]Metric, error) {
	peak, ok, err := m.peakMemory()
	if ok && err == nil {
		out = append(out, Metric{Unit: "peak-rss-B", Value: float64(peak)})
	}
	return out, err
}

// resetMemory starts a new memory window. When the watched process has exited
// since the last window, the window has no memory figure (absent, never the dead
// process's), and the engine's next process is watched once it exists.
func (m *Model) resetMemory() error {
	m.refresh()
	if m.Memory == nil {
		return nil
	}
	if err := m.Memory.Reset(); err != nil {
		if errors.Is(m.exited(err), memwatch.ErrExited) {
			m.refresh()
			if m.Memory != nil {
				return m.Memory.Reset()
			}
			return nil
		}
		return fmt.Errorf("resetting the memory peak: %w", err)
	}
	return nil
}

// peakMemory ends a memory window: the peak since resetMemory, and whether there
// is one. A process that exited during the window fails it once, with the cause;
// the next window watches its successor.
func (m *Model) peakMemory() (uint64, bool, error) {
	if m.Memory == nil {
		return 0, false, nil
	}
	peak, err := m.Memory.Peak()
	if err != nil {
		return 0, false, m.exited(err)
	}
	return peak, true, nil
}

// startGPU starts a GPU window for the case named what; false when there is none.
// A GPU failure costs the GPU metrics, never the case's timings.
func (m *Model) startGPU(what string) bool {
	if m.gpu == nil || m.pid <= 0 {
		return false
	}
	if err := m.gpu.StartCase(m.pid); err != nil {
		m.suite.Notice("%s: no GPU metrics: %v", what, err)
		return false
	}
	return true
}

// gpuMetrics ends the GPU window begun by Begin: peak GPU memory of the engine
// process, energy per output token and average power. Without a GPU, or when the
// process held no GPU memory, it returns none (never zeros).
func (c *GenerateCase) gpuMetrics() []Metric {
	if !c.gpuOn {
		return nil
	}
	c.gpuOn = false
	g, err := c.Model.gpu.StopCase()
	if errors.Is(err, memwatch.ErrNotOnGPU) {
		c.Model.suite.Notice("model %s holds no GPU memory: no GPU metrics (%v)", c.Model.Config.Name, err)
		return nil
	}
	if err != nil {
		c.Model.suite.Notice("%s: no GPU metrics: %v", c, err)
		return nil
	}
	if len(c.rs) == 0 {
		return nil
	}
	tokens := 0
	for _, r := range c.rs {
		tokens += r.OutputTokens
	}
	out := []Metric{{Unit: "peak-vram-B", Value: float64(g.PeakVRAM)}}
	if tokens > 0 && g.EnergyJ > 0 {
		out = append(out, Metric{Unit: "J/token", Value: g.EnergyJ / float64(tokens)})
	}
	if g.AvgPowerW > 0 {
		out = append(out, Metric{Unit: "avg-power-W", Value: g.AvgPowerW})
	}
	return append(out, perDevice(g, tokens)...)
}

// perDevice returns each device's share of peak-vram-B and J/token when the case
// used more than one GPU; none for one (its share is the whole).
func perDevice(g memwatch.GPUCase, tokens int) []Metric {
	if len(g.PerDevice) < 2 {
		return nil
	}
	var out []Metric
	for _, d := range g.PerDevice {
		if d.Index >= metric.MaxGPUs {
			continue
		}
		out = append(out, Metric{Unit: metric.GPUPeakVRAM(d.Index), Value: float64(d.PeakVRAM)})
		if tokens > 0 && d.EnergyJ > 0 {
			out = append(out, Metric{Unit: metric.GPUEnergyPerToken(d.Index), Value: d.EnergyJ / float64(tokens)})
		}
	}
	return out
}

// quality returns the quality metrics of rs's answers, each the mean over the
// answers it applies to, and — with prefix_cache warm, where every generation
// answers the same prompt — the agreement among all the case's timed generations
// so far. (Cold prompts differ in their nonce, so their answers may differ for
// that alone: no agreement is reported.)
func (c *GenerateCase) quality(rs []*backends.Result) []Metric {
	var (
		names []string
		sum   = map[string]float64{}
		n     = map[string]int{}
	)
	for _, r := range rs {
		c.texts = append(c.texts, r.Text)
		for _, m := range quality.Metrics(quality.Input{Text: r.Text, Reference: c.Prompt.Reference}) {
			if n[m.Unit] == 0 {
				names = append(names, m.Unit)
			}
			sum[m.Unit] += m.Value
			n[m.Unit]++
		}
	}
	var out []Metric
	for _, name := range names {
		out = append(out, Metric{Unit: name, Value: sum[name] / float64(n[name])})
	}
	if len(c.texts) >= 2 && c.Model.Config.Spec.Options.PrefixCache == backends.PrefixWarm {
		out = append(out, Metric{Unit: "agreement", Value: quality.Agreement(c.texts)})
	}
	return out
}
