// Package bench runs llmbench's benchmark cases: it opens the models a
// configuration names through their registered engines (package backends), lists
// each model's cases, runs generations, and turns their timings into metrics.
// Both the `go test -bench` suite and `llmbench run` drive the same cases
// ([Suite.Cases]), so the two measure the same way. bench names no engine: a
// program blank-imports the engines it offers.
package bench

import (
	"context"
	"errors"
	"fmt"
	"io"
	"slices"
	"sync"
	"time"

	"github.com/llmbench/llmbench/backends"
	"github.com/llmbench/llmbench/config"
	"github.com/llmbench/llmbench/loadgen"
	"github.com/llmbench/llmbench/memwatch"
	"github.com/llmbench/llmbench/metric"
	"github.com/llmbench/llmbench/shard"
)

// Suite is one configuration's models and prompts, and the resources its engines
// share. It is the [backends.Env] engines open models in.
type Suite struct {
	Config  *config.Config
	Prompts []config.Prompt
	// Notices receives one-line notices for people (a server started, a metric
	// that cannot be measured here). Never benchmark output.
	Notices io.Writer

	mu       sync.Mutex   // guards noticed and lastKeys
	sharedMu sync.Mutex   // guards shared and order, held while one opens
	gpu      memwatch.GPU // nil without an NVIDIA GPU
	noticed  map[string]bool
	shared   map[string]shared
	order    []string    // keys of shared, in the order opened
	lastKeys []string    // the model configuration keys written last (ModelLines)
	plan     *shard.Plan // this shard's part; nil runs everything
}

type shared struct {
	c   io.Closer
	err error
}

var _ backends.Env = (*Suite)(nil)

// Open prepares a suite: GPU measurement, when there is a GPU. Engines start what
// they need (a server) when their first model opens; Close stops it.
func Open(ctx context.Context, cfg *config.Config, prompts []config.Prompt, notices io.Writer) (*Suite, error) {
	if notices == nil {
		notices = io.Discard
	}
	s := &Suite{Config: cfg, Prompts: prompts, Notices: notices, noticed: map[string]bool{}, shared: map[string]shared{}}
	var gpuOpts []memwatch.Option
	if d := cfg.GPU.Interval.Duration; d > 0 {
		gpuOpts = append(gpuOpts, memwatch.WithInterval(d))
	}
	if cfg.GPU.Off {
		s.Notice("GPU measurement is off (gpu: {off: true}): no GPU metrics")
	} else if g, err := memwatch.OpenGPU(gpuOpts...); err != nil {
		s.Notice("%s", memwatch.Notice(err))
	} else {
		s.gpu = g
	}
	return s, nil
}

// Close stops what the suite's engines started, last opened first, and GPU
// measurement.
func (s *Suite) Close() error {
	s.sharedMu.Lock()
	defer s.sharedMu.Unlock()
	var errs []error
	for _, k := range slices.Backward(s.order) {
		if sh := s.shared[k]; sh.c != nil {
			errs = append(errs, sh.c.Close())
		}
	}
	s.shared, s.order = map[string]shared{}, nil
	if s.gpu != nil {
		errs = append(errs, s.gpu.Close())
		s.gpu = nil
	}
	return errors.Join(errs...)
}

// Notice implements [backends.Env]: it writes a notice once per distinct text.
// Notices start "llmbench note:", which benchmark-format readers do not take for a
// configuration line (a key has no space), since go test merges them into the
// benchmark output.
func (s *Suite) Notice(format string, args ...any) {
	msg := fmt.Sprintf(format, args...)
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.noticed[msg] {
		return
	}
	s.noticed[msg] = true
	fmt.Fprintln(s.Notices, "llmbench note:", msg)
}

// ModelsDir implements [backends.Env].
func (s *Suite) ModelsDir() string { return s.Config.ModelsDir }

// Settings implements [backends.Env]: the engine's top-level section as its
// engine read it.
func (s *Suite) Settings(engine string) any { return s.Config.Settings[engine] }

// Shared implements [backends.Env]. A failure to open is kept too: every model
// that needs the resource fails with the same error, without trying again.
func (s *Suite) Shared(key string, open func() (io.Closer, error)) (io.Closer, error) {
	s.sharedMu.Lock()
	defer s.sharedMu.Unlock()
	if sh, ok := s.shared[key]; ok {
		return sh.c, sh.err
	}
	c, err := open()
	s.shared[key] = shared{c, err}
	s.order = append(s.order, key)
	return c, err
}

// Shard makes the suite run only shard sp's part of the configuration (package
// shard): Models and Cases leave out what other shards run. A zero sp runs
// everything.
func (s *Suite) Shard(sp shard.Spec) error {
	if !sp.Enabled() {
		s.plan = nil
		return nil
	}
	if err := sp.Check(); err != nil {
		return err
	}
	p := sp.Plan(shard.CasesOf(s.Config, s.Prompts))
	s.plan = &p
	return nil
}

// UnitLines are the `Unit NAME better=…` lines of the metrics this suite can
// report: per-device GPU metrics only for the devices of a machine with
// several, per-turn ones only up to the configuration's most turns.
func (s *Suite) UnitLines() []string {
	gpus, turns := 0, 0
	if s.gpu != nil {
		gpus = s.gpu.Info().Count
	}
	for _, m := range s.Config.Models {
		if m.Load != nil && m.Load.Sessions != nil {
			turns = max(turns, m.Load.Sessions.Turns)
		}
	}
	return metric.UnitLinesOf(func(i metric.Info) bool {
		switch {
		case i.GPU > 0:
			return gpus >= 2 && i.GPU <= gpus
		case i.Turn > 0:
			return i.Turn <= turns
		}
		return true
	})
}

// Models returns the configuration's models this shard opens, in order.
func (s *Suite) Models() []config.Model {
	var out []config.Model
	for _, m := range s.Config.Models {
		if s.plan == nil || s.plan.HasModel(m.Name) {
			out = append(out, m)
		}
	}
	return out
}

// PromptsOf returns the prompts this shard runs on model, in order.
func (s *Suite) PromptsOf(model string) []config.Prompt {
	if s.plan == nil {
		return s.Prompts
	}
	var out []config.Prompt
	for _, p := range s.Prompts {
		if s.plan.Has(model, p.ID) {
			out = append(out, p)
		}
	}
	return out
}

// owns reports whether this shard runs the model's whole-model work (its load
// stage, llama-bench cases, an unsplit load sweep): exactly one shard does.
func (s *Suite) owns(model string) bool {
	if s.plan == nil {
		return true
	}
	o := s.plan.Owner(model)
	return o == s.plan.Spec.Index || o == shard.All && s.plan.Spec.Index == 0
}

// ConfigLines returns the suite's configuration lines, written once before all
// results: the configuration file, the shard when sharded, and, with a GPU, its
// name, driver and memory.
func (s *Suite) ConfigLines() [][2]string {
	out := [][2]string{{"llmbench-config", s.Config.File}}
	if s.plan != nil {
		out = append(out, s.plan.ConfigLines()...)
	}
	if s.gpu != nil {
		i := s.gpu.Info()
		out = append(out,
			[2]string{"gpu", i.Name},
			[2]string{"gpu-sample-interval", s.Config.GPU.Interval.String()},
			[2]string{"gpu-count", fmt.Sprint(i.Count)},
			[2]string{"gpu-driver", i.Driver},
			[2]string{"gpu-memory-B", fmt.Sprint(i.Memory)})
	}
	return out
}

// Model is a model opened for benchmarking: its engine loaded and described.
type Model struct {
	Config  config.Model
	Backend backends.Backend
	// Desc is what the backend said of its engine and model.
	Desc backends.Description
	// Load is the time the engine took to load the model, when it could be measured.
	Load time.Duration
	// Memory watches the engine process's resident memory; nil when it cannot.
	Memory Memory
	// AfterLoad is the engine process's resident bytes right after the load; zero
	// when unknown.
	AfterLoad uint64
	// RSSMethod says how Memory measures (memwatch.RSS.Method); "" without.
	RSSMethod string

	suite *Suite
	lost  bool         // the watched process exited; refresh looks for its successor
	pid   int          // the engine process, 0 when unknown
	gpu   memwatch.GPU // the suite's GPU, nil without one
	// tokens is what loadgen.Calibrate learned of the model's tokens, for
	// exact-length prompts (load: dataset:); nil until a case needs it.
	tokens *loadgen.Tokens
}

// Memory watches the resident memory of the process that holds a model.
type Memory interface {
	// Reset starts a new case: the next Peak covers only what follows.
	Reset() error
	// Peak returns the peak resident bytes since the last Reset.
	Peak() (uint64, error)
	// Current returns the resident bytes now.
	Current() (uint64, error)
	Close() error
}

// OpenModel opens m through its engine: the engine makes or finds the model, the
// model is loaded, described, and its process's memory watched.
func (s *Suite) OpenModel(ctx context.Context, m config.Model) (*Model, error) {
	where := fmt.Sprintf("%s:%d: model %s", s.Config.File, m.Line, m.Name)
	eng, err := backends.Lookup(m.Backend)
	if err != nil {
		return nil, fmt.Errorf("%s: %w", where, err)
	}
	b, err := eng.Open(ctx, m.Spec, s)
	if err != nil {
		return nil, fmt.Errorf("%s: %w", where, err)
	}
	out := &Model{Config: m, Backend: b, suite: s}
	d, err := out.load(ctx)
	if err != nil {
		b.Close()
		return nil, fmt.Errorf("%s: loading: %w", where, err)
	}
	out.Load = d
	if d, ok := b.(backends.Describer); ok {
		desc, err := d.Describe(ctx)
		if err != nil {
			s.Notice("model %s: %v", m.Name, err)
		}
		out.Desc = desc
	}
	s.watchMemory(ctx, out)
	return out, nil
}

// load makes the engine load the model: its Loader, else a first one-token
// request (engines that load on their first request), untimed, so that the
// engine process exists to be watched. It returns the load time when the engine
// measures one.
func (m *Model) load(ctx context.Context) (time.Duration, error) {
	if l, ok := m.Backend.(backends.Loader); ok {
		return l.Load(ctx)
	}
	o := m.Config.Spec.Options
	_, err := m.Backend.Generate(ctx, backends.Request{Prompt: "Hello", MaxTokens: 1, Seed: o.Seed, Think: o.Think})
	return 0, err
}

// Close releases the model's engine and memory watch.
func (m *Model) Close() error {
	var errs []error
	if m.Memory != nil {
		errs = append(errs, m.Memory.Close())
	}
	errs = append(errs, m.Backend.Close())
	return errors.Join(errs...)
}
