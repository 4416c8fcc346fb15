package bench

import (
	"context"
	"fmt"
	"time"

	"github.com/llmbench/llmbench/backends"
	"github.com/llmbench/llmbench/embedbench"
	"github.com/llmbench/llmbench/loadgen"
	"github.com/llmbench/llmbench/synth"
)

// EmbedCase is one batch size of an embedding model's sweep
// (Embed/model=M/batch=N): one step is one run of the point's requests, each
// of Batch inputs taken in turn from the prompt set; a window's runs merge.
type EmbedCase struct {
	Model *Model
	Point embedbench.Point

	embedder backends.Embedder
	texts    []string
	warm     int // warm-up requests still owed
	total    *embedbench.Report
	wantDim  int               // the synthetic model's embedding length; 0 when unknown
	seq      *loadgen.Sequence // the window's records (configuration's records: true)
}

// recorded is an embedder that writes one record of each request: its send
// and end, the engine's input tokens as prompt_tokens, no chunks, and a failed
// request's error kind. A failed write fails the request.
type recorded struct {
	backends.Embedder
	seq *loadgen.Sequence
}

func (r recorded) Embed(ctx context.Context, inputs []string) (*backends.EmbedResult, error) {
	sent := time.Now()
	res, err := r.Embedder.Embed(ctx, inputs)
	gen := &backends.Result{}
	if res != nil {
		gen.Sent, gen.Done, gen.PromptTokens = res.Sent, res.Done, res.InputTokens
	}
	if werr := r.seq.Write(sent, time.Now(), gen, err); werr != nil && err == nil {
		err = werr
	}
	return res, err
}

// embedCases returns the batch sizes of m, a model with an embed: section, as
// cases. Its backend must serve embeddings.
func (s *Suite) embedCases(m *Model) ([]Case, error) {
	where := fmt.Sprintf("%s:%d: model %s: embed", s.Config.File, m.Config.Line, m.Config.Name)
	e, ok := m.Backend.(backends.Embedder)
	if !ok {
		return nil, fmt.Errorf("%s: the %s backend serves no embeddings", where, m.Config.Backend)
	}
	if len(s.Prompts) == 0 {
		return nil, fmt.Errorf("%s: the prompt set %s is empty: its prompts are the inputs", where, s.Config.Prompts)
	}
	texts := make([]string, len(s.Prompts))
	for i, p := range s.Prompts {
		texts[i] = p.Prompt
	}
	want := 0
	if p, ok := m.Config.Synthetic(); ok {
		if sp, err := synth.ParseSpec(p); err == nil {
			want = sp.Preset.Embedding
		}
	}
	var out []Case
	for _, p := range m.Config.Embed.Points() {
		out = append(out, &EmbedCase{Model: m, Point: p, embedder: e, texts: texts, warm: s.Config.Warmup, wantDim: want})
	}
	return out, nil
}

// Name implements [Case]: batch=N.
func (c *EmbedCase) Name() string { return c.Point.Name }

func (c *EmbedCase) String() string {
	return fmt.Sprintf("model %s, %s", c.Model.Config.Name, c.Point.Name)
}

// inputs returns request k's inputs; with prefix_cache cold, the default, each
// input starts with a nonce of its own (see [GenerateCase.Request]).
func (c *EmbedCase) inputs(k int) []string {
	in := embedbench.Inputs(c.texts, k, c.Point.Batch)
	if c.Model.Config.Spec.Options.PrefixCache != backends.PrefixWarm {
		for i := range in {
			in[i] = Nonce() + in[i]
		}
	}
	return in
}

// Warm implements [Case]: the configuration's warmup, in requests of the
// point's batch size, once.
func (c *EmbedCase) Warm(ctx context.Context) error {
	for ; c.warm > 0; c.warm-- {
		if _, err := c.embedder.Embed(ctx, c.inputs(0)); err != nil {
			c.warm = 0
			return fmt.Errorf("%s: warm-up: %w", c, err)
		}
	}
	return nil
}

// Begin implements [Case]: the memory peak is reset, and with the
// configuration's records: true the window's requests are recorded.
func (c *EmbedCase) Begin() error {
	c.total, c.seq = nil, nil
	if err := c.Model.resetMemory(); err != nil {
		return fmt.Errorf("%s: %w", c, err)
	}
	seq, err := c.Model.sequence(c)
	if err != nil {
		return fmt.Errorf("%s: %w", c, err)
	}
	c.seq = seq
	return nil
}

// Step implements [Case]: one run of the point. For a synthetic model the
// embeddings must have the preset's embedding length.
func (c *EmbedCase) Step(ctx context.Context) error {
	e := c.embedder
	if c.seq != nil {
		e = recorded{e, c.seq}
	}
	r, err := embedbench.Run(ctx, e, c.Point, c.inputs)
	if len(r.Latencies) > 0 {
		if c.total == nil {
			c.total = r
		} else {
			c.total.Merge(r)
		}
	}
	if err != nil {
		return fmt.Errorf("%s: %w", c, err)
	}
	if c.wantDim > 0 && r.Dim != c.wantDim {
		return fmt.Errorf("%s: embeddings of %d dimensions, but the model's embedding length is %d", c, r.Dim, c.wantDim)
	}
	return nil
}

// End implements [Case]: the merged report's metrics (docs/embed.md) and the
// engine process's memory peak over the window.
func (c *EmbedCase) End() ([]Metric, error) {
	if c.total == nil {
		return nil, nil
	}
	var out []Metric
	for _, m := range c.total.Metrics() {
		out = append(out, Metric{Unit: m.Unit, Value: m.Value})
	}
	out, err := c.Model.withPeak(out)
	if err != nil {
		return out, fmt.Errorf("%s: %w", c, err)
	}
	return out, nil
}

// Report returns the merged report of the window's runs; nil before any.
func (c *EmbedCase) Report() *embedbench.Report { return c.total }
