package bench

import (
	"context"
	"errors"
	"fmt"
	"sync/atomic"
	"time"

	"github.com/llmbench/llmbench/backends"
	"github.com/llmbench/llmbench/config"
	"github.com/llmbench/llmbench/memwatch"
	"github.com/llmbench/llmbench/quality"
)

// Case is one model×prompt pair.
type Case struct {
	Model  *Model
	Prompt config.Prompt
	// MaxTokens is the exact output length asked for: the prompt's max_tokens, else
	// the model's.
	MaxTokens int

	salt  atomic.Int64
	texts []string // the texts of the timed generations so far, for agreement
	gpuOn bool     // a GPU case is running since Begin
}

// Case returns the case of prompt p on m.
func (m *Model) Case(p config.Prompt) *Case {
	n := m.Config.Options.MaxTokens
	if p.MaxTokens > 0 {
		n = p.MaxTokens
	}
	return &Case{Model: m, Prompt: p, MaxTokens: n}
}

// Name is the case's sub-benchmark name, model=M/prompt=P.
func (c *Case) Name() string { return CaseName(c.Model.Config.Name, c.Prompt.ID) }

// String names the case for people and error messages.
func (c *Case) String() string {
	return fmt.Sprintf("model %s, prompt %s", c.Model.Config.Name, c.Prompt.ID)
}

// Generate runs one generation of the case. With salt_prompts the prompt is
// prefixed by a nonce, so no prefix cache is hit.
func (c *Case) Generate(ctx context.Context) (*backends.Result, error) {
	prompt := c.Prompt.Prompt
	if c.Model.Config.Options.SaltPrompts {
		prompt = fmt.Sprintf("[%d] %s", c.salt.Add(1), prompt)
	}
	r, err := c.Model.Backend.Generate(ctx, backends.Request{Prompt: prompt, MaxTokens: c.MaxTokens})
	if err != nil {
		return r, fmt.Errorf("%s: %w", c, err)
	}
	return r, nil
}

// Warm runs n untimed generations.
func (c *Case) Warm(ctx context.Context, n int) error {
	for range n {
		if _, err := c.Generate(ctx); err != nil {
			return fmt.Errorf("warm-up: %w", err)
		}
	}
	return nil
}

// Begin starts the case's timed part: per-case peaks are reset, and GPU memory
// and energy measured from now.
func (c *Case) Begin() error {
	if c.Model.Memory != nil {
		if err := c.Model.Memory.Reset(); err != nil {
			return fmt.Errorf("%s: resetting the memory peak: %w", c, err)
		}
	}
	if g := c.Model.gpu; g != nil && c.Model.pid > 0 {
		// A GPU failure costs the GPU metrics, never the case's timings.
		if err := g.StartCase(c.Model.pid); err != nil {
			c.Model.notice("%s: no GPU metrics: %v", c, err)
		} else {
			c.gpuOn = true
		}
	}
	return nil
}

// gpuMetrics ends the GPU measurement begun by Begin: peak GPU memory of the
// engine process, energy per output token and average power. Without a GPU, or
// when the process held no GPU memory, it returns none (never zeros).
func (c *Case) gpuMetrics(rs []*backends.Result) []Metric {
	if !c.gpuOn {
		return nil
	}
	c.gpuOn = false
	g, err := c.Model.gpu.StopCase()
	if errors.Is(err, memwatch.ErrNotOnGPU) {
		c.Model.notice("model %s holds no GPU memory: no GPU metrics (%v)", c.Model.Config.Name, err)
		return nil
	}
	if err != nil {
		c.Model.notice("%s: no GPU metrics: %v", c, err)
		return nil
	}
	tokens := 0
	for _, r := range rs {
		tokens += r.OutputTokens
	}
	out := []Metric{{Unit: "peak-vram-B", Value: float64(g.PeakVRAM)}}
	if tokens > 0 && g.EnergyJ > 0 {
		out = append(out, Metric{Unit: "J/token", Value: g.EnergyJ / float64(tokens)})
	}
	if g.AvgPowerW > 0 {
		out = append(out, Metric{Unit: "avg-power-W", Value: g.AvgPowerW})
	}
	return out
}

// Metrics returns every metric of the case's timed generations rs: timings, the
// model's load time, memory peaks since Begin, and quality.
func (c *Case) Metrics(rs []*backends.Result) ([]Metric, error) {
	gm := c.gpuMetrics(rs) // first: it ends the GPU case whatever follows
	out := Timing(rs)
	if c.Model.Load > 0 {
		out = append(out, Metric{Unit: "load-ns", Value: float64(c.Model.Load)})
	}
	if mem := c.Model.Memory; mem != nil {
		peak, err := mem.Peak()
		if err != nil {
			return out, fmt.Errorf("%s: %w", c, err)
		}
		out = append(out, Metric{Unit: "peak-rss-B", Value: float64(peak)})
	}
	if c.Model.AfterLoad > 0 {
		out = append(out, Metric{Unit: "rss-after-load-B", Value: float64(c.Model.AfterLoad)})
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

// quality returns the quality metrics of rs's texts, each the mean over the texts it
// applies to, and the agreement among all the case's timed generations so far.
func (c *Case) quality(rs []*backends.Result) []Metric {
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
	if len(c.texts) >= 2 {
		out = append(out, Metric{Unit: "agreement", Value: quality.Agreement(c.texts)})
	}
	return out
}

// PrefillDecoder is implemented by in-process engines that can time llama-bench's
// two cases: prefill of n tokens (pp<n>) and generation of n tokens (tg<n>).
type PrefillDecoder interface {
	PP(ctx context.Context, n int) (time.Duration, error)
	TG(ctx context.Context, n int) (time.Duration, error)
}

// LlamaBench is one llama-bench-style case: pp<N> or tg<N>.
type LlamaBench struct {
	Name   string // "pp512" or "tg128"
	Tokens int
	Unit   string // "prompt-tokens/s" or "tokens/s"
	run    func(ctx context.Context, n int) (time.Duration, error)
}

// LlamaBenches returns llama-bench's default cases, pp512 and tg128, for a model
// whose engine can time them; none otherwise.
func (m *Model) LlamaBenches() []*LlamaBench {
	pd, ok := m.Backend.(PrefillDecoder)
	if !ok {
		return nil
	}
	return []*LlamaBench{
		{Name: "pp512", Tokens: 512, Unit: "prompt-tokens/s", run: pd.PP},
		{Name: "tg128", Tokens: 128, Unit: "tokens/s", run: pd.TG},
	}
}

// Run times the case once.
func (l *LlamaBench) Run(ctx context.Context) (time.Duration, error) { return l.run(ctx, l.Tokens) }

// Metrics returns the mean time per run (ns/op) and the rate, Σ tokens ÷ Σ time.
func (l *LlamaBench) Metrics(ds []time.Duration) []Metric {
	var sum time.Duration
	for _, d := range ds {
		sum += d
	}
	if sum <= 0 {
		return nil
	}
	return []Metric{
		{Unit: "ns/op", Value: float64(sum) / float64(len(ds))},
		{Unit: l.Unit, Value: float64(l.Tokens*len(ds)) / sum.Seconds()},
	}
}
