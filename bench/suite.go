// Package bench runs llmbench's benchmark cases: it opens the models a
// configuration names (making synthetic ones and starting a private Ollama server
// when needed), runs generations, and turns their timings into metrics. Both the
// `go test -bench` suite and `llmbench run` stand on it, so the two measure the same
// way.
package bench

import (
	"context"
	"errors"
	"fmt"
	"io"
	"net/url"
	"path/filepath"
	"strings"
	"sync"
	"time"

	"github.com/llmbench/llmbench/backends"
	"github.com/llmbench/llmbench/backends/llamacpp"
	"github.com/llmbench/llmbench/backends/ollama"
	"github.com/llmbench/llmbench/backends/openai"
	"github.com/llmbench/llmbench/backends/transformers"
	"github.com/llmbench/llmbench/config"
	"github.com/llmbench/llmbench/memwatch"
	"github.com/llmbench/llmbench/synth"
)

// Suite is one configuration's models and prompts, and the engines they need.
type Suite struct {
	Config  *config.Config
	Prompts []config.Prompt
	// Notices receives one-line notices for people (a server started, a metric
	// that cannot be measured here). Never benchmark output.
	Notices io.Writer

	mu        sync.Mutex
	gpu       memwatch.GPU   // nil without an NVIDIA GPU
	server    *ollama.Server // the server this suite started, if any
	ollamaURL *url.URL
	noticed   map[string]bool
}

// Open prepares a suite: it checks that every engine the configuration needs is
// reachable, starting a private Ollama server when the configuration allows it.
// Close stops what Open started.
func Open(ctx context.Context, cfg *config.Config, prompts []config.Prompt, notices io.Writer) (*Suite, error) {
	if notices == nil {
		notices = io.Discard
	}
	s := &Suite{Config: cfg, Prompts: prompts, Notices: notices, noticed: map[string]bool{}}
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
	for _, m := range cfg.Models {
		_, synthetic := m.Synthetic()
		if m.Backend == "ollama" && m.Host == "" || m.Backend == "openai" && (m.Host == "" || synthetic) {
			if err := s.startOllama(ctx); err != nil {
				return nil, err
			}
			break
		}
	}
	return s, nil
}

func (s *Suite) startOllama(ctx context.Context) error {
	host, err := url.Parse(s.Config.Ollama.Host)
	if err != nil {
		return fmt.Errorf("%s: ollama.host %q: %w", s.Config.File, s.Config.Ollama.Host, err)
	}
	manage := s.Config.Ollama.Manage
	if manage != "always" && ollama.Answers(ctx, host) {
		s.ollamaURL = host
		s.Notice("using the Ollama server at %s", host)
		return nil
	}
	if manage == "never" {
		return fmt.Errorf("%s: no Ollama server answers at %s, and ollama.manage is never: start one (ollama serve) or set manage: auto", s.Config.File, host)
	}
	srv, err := ollama.StartServer(ctx, ollama.ServerOptions{
		Binary:    s.Config.Ollama.Binary,
		ModelsDir: filepath.Join(s.Config.ModelsDir, "ollama"),
		Env:       []string{fmt.Sprintf("OLLAMA_NUM_PARALLEL=%d", s.Config.Ollama.Parallel)},
	})
	if err != nil {
		return fmt.Errorf("no Ollama server answers at %s and starting one failed: %w", host, err)
	}
	s.server = srv
	s.ollamaURL = srv.URL
	s.Notice("started a private Ollama server at %s (log %s)", srv.URL, srv.Log)
	return nil
}

// Server returns the Ollama server this suite started, or nil.
func (s *Suite) Server() *ollama.Server { return s.server }

// Close stops the engines the suite started.
func (s *Suite) Close() error {
	var errs []error
	if s.gpu != nil {
		errs = append(errs, s.gpu.Close())
	}
	if s.server != nil {
		errs = append(errs, s.server.Stop())
	}
	return errors.Join(errs...)
}

// ConfigLines returns the suite's configuration lines, written once before all
// results: the configuration file and, with a GPU, its name, driver and memory.
func (s *Suite) ConfigLines() [][2]string {
	out := [][2]string{{"llmbench-config", s.Config.File}}
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

// Notice writes a notice once per distinct text. Notices start "llmbench note:",
// which benchmark-format readers do not take for a configuration line (a key has
// no space), since go test merges them into the benchmark output.
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

// Model is a model opened for benchmarking: its engine loaded and described.
type Model struct {
	Config  config.Model
	Backend backends.Backend
	// Info holds the model's configuration lines (engine, model-params, …).
	Info map[string]string
	// Load is the time the engine took to load the model, when it could be measured.
	Load time.Duration
	// Memory watches the engine process's resident memory; nil when it cannot.
	Memory Memory
	// AfterLoad is the engine process's resident bytes right after the load; zero
	// when unknown.
	AfterLoad uint64

	pid    int          // the engine process, 0 when unknown
	gpu    memwatch.GPU // the suite's GPU, nil without one
	notice func(format string, args ...any)
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

// OpenModel opens m: it makes a synthetic model's file when needed, registers it
// with the engine, loads it and describes it.
func (s *Suite) OpenModel(ctx context.Context, m config.Model) (*Model, error) {
	where := fmt.Sprintf("%s:%d: model %s", s.Config.File, m.Line, m.Name)
	info := map[string]string{}
	b, err := s.backend(ctx, m, info)
	if err != nil {
		return nil, fmt.Errorf("%s: %w", where, err)
	}
	out := &Model{Config: m, Backend: b, Info: info, notice: s.Notice}
	if l, ok := b.(backends.Loader); ok {
		d, err := l.Load(ctx)
		if err != nil {
			b.Close()
			return nil, fmt.Errorf("%s: loading: %w", where, err)
		}
		out.Load = d
	} else if _, err := b.Generate(ctx, backends.Request{Prompt: "Hello", MaxTokens: 1}); err != nil {
		// The engine loads the model on its first request: make it now, so the
		// engine process exists to be watched.
		b.Close()
		return nil, fmt.Errorf("%s: first request: %w", where, err)
	}
	if d, ok := b.(backends.Describer); ok {
		desc, err := d.Describe(ctx)
		if err != nil {
			s.Notice("model %s: %v", m.Name, err)
		}
		for k, v := range desc {
			if _, set := info[k]; !set {
				info[k] = v
			}
		}
	}
	if m.Options.Threads > 0 {
		info["threads"] = fmt.Sprint(m.Options.Threads)
	}
	s.watchMemory(ctx, out)
	return out, nil
}

// backend opens the engine for m and records what is known of the model in info.
func (s *Suite) backend(ctx context.Context, m config.Model, info map[string]string) (backends.Backend, error) {
	switch m.Backend {
	case "ollama":
		host, name, err := s.ollamaModel(ctx, m, info)
		if err != nil {
			return nil, err
		}
		b := ollama.New(host, name, m)
		b.SetProcessFinder(s.ollamaPID(host))
		return b, nil
	case "openai":
		if m.Host != "" && !strings.HasPrefix(m.Model, "synthetic:") {
			return openai.New(m)
		}
		// No host, or a synthetic model: the suite's Ollama server through /v1.
		host, name, err := s.ollamaModel(ctx, m, info)
		if err != nil {
			return nil, err
		}
		m.Host, m.Model = host.String(), name
		b, err := openai.New(m)
		if err != nil {
			return nil, err
		}
		return withPID{b, s.ollamaPID(host)}, nil
	case "llamacpp":
		path := m.Model
		if spec, ok := m.Synthetic(); ok {
			sp, p, err := s.synthesize(spec)
			if err != nil {
				return nil, err
			}
			path = p
			info["model-synthetic"] = "true"
			info["model-params"] = fmt.Sprint(sp.Params())
		}
		return llamacpp.New(ctx, path, m)
	case "transformers":
		if _, ok := m.Synthetic(); ok {
			info["model-synthetic"] = "true"
		}
		return transformers.New(ctx, m)
	default:
		return nil, fmt.Errorf("backend %q is not built into this llmbench", m.Backend)
	}
}

// ollamaModel returns the Ollama server for m and the model's name there. A
// synthetic model's file is made, once, and registered with the server.
func (s *Suite) ollamaModel(ctx context.Context, m config.Model, info map[string]string) (*url.URL, string, error) {
	host := s.ollamaURL
	if m.Host != "" {
		h, err := url.Parse(m.Host)
		if err != nil {
			return nil, "", fmt.Errorf("host %q: %w", m.Host, err)
		}
		host = h
	}
	if host == nil {
		return nil, "", errors.New("no Ollama server for this model: give it a host")
	}
	spec, ok := m.Synthetic()
	if !ok {
		return host, m.Model, nil
	}
	sp, path, err := s.synthesize(spec)
	if err != nil {
		return nil, "", err
	}
	name := "llmbench-" + strings.TrimSuffix(filepath.Base(path), ".gguf")
	if err := ollama.Register(ctx, host, name, path); err != nil {
		return nil, "", err
	}
	info["model-synthetic"] = "true"
	info["model-params"] = fmt.Sprint(sp.Params())
	return host, name, nil
}

// withPID adds a process finder to a backend, keeping its Describer.
type withPID struct {
	backends.Backend
	pid func(ctx context.Context) (int, error)
}

func (w withPID) EnginePID(ctx context.Context) (int, error) {
	if w.pid == nil {
		return 0, backends.ErrRemote
	}
	return w.pid(ctx)
}

func (w withPID) Describe(ctx context.Context) (map[string]string, error) {
	if d, ok := w.Backend.(backends.Describer); ok {
		return d.Describe(ctx)
	}
	return nil, nil
}

// synthesize writes the GGUF file of a synthetic preset spec, once.
func (s *Suite) synthesize(spec string) (synth.Spec, string, error) {
	sp, err := synth.ParseSpec(spec)
	if err != nil {
		return sp, "", err
	}
	path, err := synth.WriteFile(s.Config.ModelsDir, sp)
	if err != nil {
		return sp, "", fmt.Errorf("writing synthetic model %s: %w", spec, err)
	}
	return sp, path, nil
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
