// Package ollama runs generations on an Ollama server through its Go client
// (github.com/ollama/ollama/api), timing every streamed chunk on the client's clock
// and keeping the server's own counts and durations beside them.
package ollama

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"net/url"
	"strings"
	"time"

	"github.com/ollama/ollama/api"

	"github.com/llmbench/llmbench/backends"
)

// Backend is one model on one Ollama server.
type Backend struct {
	client  *api.Client
	host    *url.URL
	name    string // the model name on the server
	cfgName string // the model's name in the configuration
	opts    backends.Options
	served  *Served // how Open made the model available; nil from New
}

var (
	_ backends.Backend       = (*Backend)(nil)
	_ backends.Loader        = (*Backend)(nil)
	_ backends.Describer     = (*Backend)(nil)
	_ backends.ProcessFinder = (*Backend)(nil)
)

// New returns a backend for model (the server's model name) on the server at host.
// Options come from spec; spec.Model is not read, so a synthetic model can be
// served under its registered name. The registered engine ("ollama") opens models
// through [Serve], which also finds the runner process.
func New(host *url.URL, model string, spec backends.Spec) *Backend {
	return &Backend{
		client:  api.NewClient(host, &http.Client{}),
		host:    host,
		name:    model,
		cfgName: spec.Name,
		opts:    spec.Options,
	}
}

// EnginePID implements backends.ProcessFinder: the runner that holds the model,
// on this machine.
func (b *Backend) EnginePID(ctx context.Context) (int, error) {
	if b.served == nil || b.served.PID == nil {
		return 0, backends.ErrRemote
	}
	return b.served.PID(ctx)
}

func (b *Backend) options(maxTokens, seed int) map[string]any {
	o := map[string]any{
		"temperature": b.opts.Temperature,
		"num_ctx":     b.opts.Context,
		"seed":        seed,
	}
	if maxTokens > 0 {
		o["num_predict"] = maxTokens
	}
	if b.opts.Threads > 0 {
		o["num_thread"] = b.opts.Threads
	}
	if b.opts.Batch > 0 {
		o["num_batch"] = b.opts.Batch
	}
	if b.opts.GPULayers != nil {
		o["num_gpu"] = *b.opts.GPULayers
	}
	return o
}

func (b *Backend) keepAlive() *api.Duration {
	return &api.Duration{Duration: b.opts.KeepAlive}
}

// Generate implements backends.Backend: one streamed /api/generate request, or
// /api/chat when req.Messages is set.
func (b *Backend) Generate(ctx context.Context, req backends.Request) (*backends.Result, error) {
	if len(req.Messages) > 0 {
		return b.chat(ctx, req)
	}
	stream := true
	// A prompt longer than the context is an error, not cut to fit: Ollama
	// truncates by default, silently, and the case would measure another prompt.
	truncate := false
	gr := &api.GenerateRequest{
		Model:     b.name,
		Prompt:    req.Prompt,
		Stream:    &stream,
		KeepAlive: b.keepAlive(),
		Options:   b.options(req.MaxTokens, req.Seed),
		Truncate:  &truncate,
	}
	if req.Think != nil {
		gr.Think = &api.ThinkValue{Value: *req.Think}
	}
	s := newStream()
	err := b.client.Generate(ctx, gr, func(resp api.GenerateResponse) error {
		s.chunk(resp.Thinking, resp.Response, resp.Done, resp.DoneReason, resp.Metrics)
		return nil
	})
	return b.finish(s, req, err)
}

// stream collects one streamed answer of /api/generate or /api/chat.
type stream struct {
	r          *backends.Result
	text       strings.Builder
	messages   int
	done       bool
	doneReason string
	metrics    api.Metrics
}

// newStream starts a stream; the request is sent now.
func newStream() *stream { return &stream{r: &backends.Result{Sent: time.Now()}} }

// chunk notes one streamed message as it arrives.
func (s *stream) chunk(thinking, content string, done bool, doneReason string, m api.Metrics) {
	now := time.Now()
	s.messages++
	r := s.r
	// Reasoning streams in thinking with an empty response; its tokens are
	// generated tokens like the answer's (eval_count counts both).
	if thinking != "" || content != "" {
		r.Chunks = append(r.Chunks, now)
		if content == "" && r.Reasoning == len(r.Chunks)-1 {
			r.Reasoning++ // a reasoning chunk before any answer
		}
		s.text.WriteString(content)
	}
	if done {
		r.Done = now
	}
	s.done, s.doneReason, s.metrics = done, doneReason, m
}

// finish completes the stream's result from its final message: the server's
// counts and timings, the length checked against req.
func (b *Backend) finish(s *stream, req backends.Request, err error) (*backends.Result, error) {
	r := s.r
	r.Text = s.text.String()
	if err != nil {
		return r, b.wrap(err)
	}
	if !s.done {
		return r, fmt.Errorf("ollama: model %s: stream ended after %d messages without its final done message", b.cfgName, s.messages)
	}
	m := s.metrics
	r.PromptTokens = m.PromptEvalCount
	r.OutputTokens = m.EvalCount
	r.Server = backends.ServerTimings{
		Load:             m.LoadDuration,
		PromptEval:       m.PromptEvalDuration,
		PromptEvalTokens: m.PromptEvalCount,
		Eval:             m.EvalDuration,
		EvalTokens:       max(m.EvalCount-1, 0),
		Total:            m.TotalDuration,
	}
	// Both of Ollama v0.17.4's runners start eval_duration after the first output
	// token (its time is in prompt_eval_duration) while eval_count includes it:
	// eval_duration covers tokens 2…n (runner/ollamarunner and runner/llamarunner).
	if err := backends.CheckLength(r, req.MaxTokens); err != nil {
		return r, fmt.Errorf("ollama: model %s: %w (done_reason %q)", b.cfgName, err, s.doneReason)
	}
	return r, nil
}

// wrap names the model in err and says how to get a model the server lacks.
func (b *Backend) wrap(err error) error {
	var se api.StatusError
	missing := errors.As(err, &se) && se.StatusCode == http.StatusNotFound ||
		strings.Contains(err.Error(), "not found") && strings.Contains(err.Error(), b.name)
	if missing {
		return fmt.Errorf("ollama: model %s: %q is not on the server at %s: pull it with `ollama pull %s` (or use a synthetic:PRESET model): %w",
			b.cfgName, b.name, b.host, b.name, err)
	}
	return fmt.Errorf("ollama: model %s: %w", b.cfgName, err)
}

// Load implements backends.Loader. It unloads the model, then loads it again, so
// the time returned is a load from disk (the page cache may be warm): the client's
// wall time of the load request.
func (b *Backend) Load(ctx context.Context) (time.Duration, error) {
	zero := &api.Duration{Duration: 0}
	// An empty prompt with keep_alive 0 unloads the model.
	if err := b.client.Generate(ctx, &api.GenerateRequest{Model: b.name, KeepAlive: zero}, func(api.GenerateResponse) error { return nil }); err != nil {
		return 0, b.wrap(err)
	}
	if err := b.waitUnloaded(ctx); err != nil {
		return 0, err
	}
	// The empty-prompt answer carries no load_duration in v0.17.4: the client's
	// wall time is the measure.
	start := time.Now()
	err := b.client.Generate(ctx, &api.GenerateRequest{Model: b.name, KeepAlive: b.keepAlive(), Options: b.options(0, b.opts.Seed)},
		func(api.GenerateResponse) error { return nil })
	if err != nil {
		return 0, b.wrap(err)
	}
	return time.Since(start), nil
}

// waitUnloaded waits until the server no longer lists the model as running.
func (b *Backend) waitUnloaded(ctx context.Context) error {
	deadline := time.Now().Add(30 * time.Second)
	for time.Now().Before(deadline) {
		ps, err := b.client.ListRunning(ctx)
		if err != nil {
			return fmt.Errorf("ollama: model %s: %w", b.cfgName, err)
		}
		loaded := false
		for _, m := range ps.Models {
			if m.Name == b.name || m.Model == b.name {
				loaded = true
			}
		}
		if !loaded {
			return nil
		}
		select {
		case <-ctx.Done():
			return ctx.Err()
		case <-time.After(50 * time.Millisecond):
		}
	}
	return fmt.Errorf("ollama: model %s: still loaded 30s after asking the server to unload it", b.cfgName)
}

// Describe implements backends.Describer: the server's version, the model's
// family, quantisation, parameter count, digest and size, and whether llmbench
// made it (synthetic). A user's own server is named by its URL (host), the
// suite's private one, whose port changes from run to run, as "managed".
func (b *Backend) Describe(ctx context.Context) (backends.Description, error) {
	var d backends.Description
	if v, err := b.client.Version(ctx); err == nil {
		d.Engine = "ollama " + v
	}
	if b.served != nil {
		host := b.host.String()
		if b.served.Managed {
			host = "managed"
		}
		d.Extra = append(d.Extra, [2]string{"ollama-host", host})
		if sp := b.served.Synthetic; sp != nil {
			d.Synthetic = true
			d.Params = sp.Params()
		}
	}
	show, err := b.client.Show(ctx, &api.ShowRequest{Model: b.name})
	if err != nil {
		return d, b.wrap(err)
	}
	d.Arch = show.Details.Family
	d.Quant = show.Details.QuantizationLevel
	if n, ok := show.ModelInfo["general.parameter_count"]; ok && d.Params == 0 {
		if f, ok := n.(float64); ok {
			d.Params = int64(f)
		}
	}
	if list, err := b.client.List(ctx); err == nil {
		for _, m := range list.Models {
			if m.Name == b.name || m.Model == b.name {
				d.Digest = shortDigest(m.Digest)
				d.Size = m.Size
			}
		}
	}
	return d, nil
}

func shortDigest(d string) string {
	d = strings.TrimPrefix(d, "sha256:")
	if len(d) > 12 {
		d = d[:12]
	}
	return d
}

// Close implements backends.Backend. It asks the server to unload the model so the
// next model is measured alone.
func (b *Backend) Close() error {
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	zero := &api.Duration{Duration: 0}
	if err := b.client.Generate(ctx, &api.GenerateRequest{Model: b.name, KeepAlive: zero}, func(api.GenerateResponse) error { return nil }); err != nil {
		return b.wrap(err)
	}
	return b.waitUnloaded(ctx)
}
