package ollama

import (
	"context"
	"errors"
	"fmt"
	"io"
	"net"
	"net/url"
	"os"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"sync"

	"github.com/llmbench/llmbench/backends"
	"github.com/llmbench/llmbench/memwatch"
	"github.com/llmbench/llmbench/synth"
)

func init() { backends.Register("ollama", engine{}) }

// Settings are the configuration's top-level `ollama:` section: where the server
// is, and whether llmbench may start one. The zero value of each field is the
// default given.
type Settings struct {
	// Host is the server's base URL. Default: $OLLAMA_HOST, else
	// http://127.0.0.1:11434.
	Host string `yaml:"host"`
	// Manage says what to do when Host does not answer: "auto" (the default)
	// starts a private `ollama serve` on a free loopback port; "never" fails
	// instead; "always" starts one even when Host answers.
	Manage string `yaml:"manage"`
	// Binary is the ollama binary to start. Default: FindBinary.
	Binary string `yaml:"binary"`
	// Parallel is the number of requests a started server serves at once per
	// model (OLLAMA_NUM_PARALLEL). Default 1; raise it for load generation.
	Parallel int `yaml:"num_parallel"`
	// SchedSpread makes a started server spread each model over every GPU
	// (OLLAMA_SCHED_SPREAD=1) instead of fitting it on as few as it can: to
	// measure a model split across GPUs against the same model on one.
	SchedSpread bool `yaml:"sched_spread"`
}

// serverEnv is the environment a started server gets from the section.
func (s Settings) serverEnv() []string {
	env := []string{fmt.Sprintf("OLLAMA_NUM_PARALLEL=%d", s.Parallel)}
	if s.SchedSpread {
		env = append(env, "OLLAMA_SCHED_SPREAD=1")
	}
	return env
}

// Options are an ollama model's own options in the configuration.
type Options struct {
	// Host is the model's server, overriding the `ollama:` section's.
	Host string `yaml:"host"`
}

type engine struct{}

// ConfigureSuite implements backends.SuiteConfigurer: the `ollama:` section.
func (engine) ConfigureSuite(decode func(any) error) (any, error) {
	var s Settings
	if decode != nil {
		if err := decode(&s); err != nil {
			return nil, err
		}
	}
	return s.resolve()
}

func (s Settings) resolve() (Settings, error) {
	if s.Host == "" {
		s.Host = os.Getenv("OLLAMA_HOST")
	}
	if s.Host == "" {
		s.Host = "http://127.0.0.1:11434"
	}
	if !strings.Contains(s.Host, "://") {
		s.Host = "http://" + s.Host
	}
	if _, err := url.Parse(s.Host); err != nil {
		return s, fmt.Errorf("ollama.host %q: %w", s.Host, err)
	}
	if s.Manage == "" {
		s.Manage = "auto"
	}
	if !slices.Contains([]string{"auto", "never", "always"}, s.Manage) {
		return s, fmt.Errorf("ollama.manage is %q: want auto, never or always", s.Manage)
	}
	if s.Parallel == 0 {
		s.Parallel = 1
	}
	if s.Parallel < 0 {
		return s, fmt.Errorf("ollama.num_parallel is %d: want at least 1", s.Parallel)
	}
	return s, nil
}

// Configure implements backends.Engine.
func (engine) Configure(spec backends.Spec, decode func(any) error) (any, error) {
	var o Options
	if err := decode(&o); err != nil {
		return nil, err
	}
	if err := CheckModel(spec, o.Host); err != nil {
		return nil, err
	}
	return o, nil
}

// CheckModel checks what can be known of a model served by Ollama before anything
// starts: its host URL, and its synthetic preset when it names one.
func CheckModel(spec backends.Spec, host string) error {
	if host != "" {
		if _, err := url.Parse(host); err != nil {
			return fmt.Errorf("host %q: %w", host, err)
		}
	}
	if p, ok := spec.Synthetic(); ok {
		if _, err := synth.ParseSpec(p); err != nil {
			return err
		}
	}
	return nil
}

// Open implements backends.Engine.
func (engine) Open(ctx context.Context, spec backends.Spec, env backends.Env) (backends.Backend, error) {
	o, _ := spec.Engine.(Options)
	sv, err := Serve(ctx, env, spec, o.Host)
	if err != nil {
		return nil, err
	}
	b := New(sv.URL, sv.Name, spec)
	b.served = sv
	return b, nil
}

// Served is a model made available on an Ollama server by [Serve].
type Served struct {
	// URL is the server's base URL; Name the model's name there.
	URL  *url.URL
	Name string
	// Managed is true for the suite's private server.
	Managed bool
	// Synthetic is set for a synthetic model llmbench wrote and registered.
	Synthetic *synth.Spec
	// PID finds the runner process that holds the model; nil when the server is on
	// another machine.
	PID func(ctx context.Context) (int, error)
}

// Serve finds (or starts, as the `ollama:` section allows) the Ollama server for a
// model and makes the model available there: a synthetic model's GGUF file is
// written once and registered. host is the model's own server, "" for the
// section's. The openai engine serves synthetic models through it too.
func Serve(ctx context.Context, env backends.Env, spec backends.Spec, host string) (*Served, error) {
	sv := &Served{Name: spec.Model}
	if host != "" {
		u, err := url.Parse(host)
		if err != nil {
			return nil, fmt.Errorf("host %q: %w", host, err)
		}
		sv.URL = u
		sv.PID = localRunner(u)
	} else {
		srv, u, err := suiteServer(ctx, env)
		if err != nil {
			return nil, err
		}
		sv.URL = u
		if srv != nil {
			sv.Managed = true
			pid := srv.PID()
			sv.PID = func(ctx context.Context) (int, error) { return FindRunner(ctx, pid) }
		} else {
			sv.PID = localRunner(u)
		}
	}
	p, ok := spec.Synthetic()
	if !ok {
		return sv, nil
	}
	sp, err := synth.ParseSpec(p)
	if err != nil {
		return nil, err
	}
	path, err := synth.WriteFileContext(ctx, env.ModelsDir(), sp)
	if err != nil {
		return nil, fmt.Errorf("writing synthetic model %s: %w", p, err)
	}
	sv.Name = "llmbench-" + strings.TrimSuffix(filepath.Base(path), ".gguf")
	if err := Register(ctx, sv.URL, sv.Name, path); err != nil {
		return nil, err
	}
	sv.Synthetic = &sp
	return sv, nil
}

// suiteServer returns the section's server: the one at its host when it answers
// (srv nil), else a private one started once per suite — and started again, with
// a notice, when a model opens after it exited.
func suiteServer(ctx context.Context, env backends.Env) (*Server, *url.URL, error) {
	s, ok := env.Settings("ollama").(Settings)
	if !ok {
		var err error
		if s, err = (Settings{}).resolve(); err != nil {
			return nil, nil, err
		}
	}
	host, _ := url.Parse(s.Host)
	opts := ServerOptions{
		Binary:    s.Binary,
		ModelsDir: filepath.Join(env.ModelsDir(), "ollama"),
		Env:       s.serverEnv(),
	}
	c, err := env.Shared("ollama-server", func() (io.Closer, error) {
		if s.Manage != "always" && Answers(ctx, host) {
			env.Notice("using the Ollama server at %s", host)
			return external{host}, nil
		}
		if s.Manage == "never" {
			return nil, fmt.Errorf("no Ollama server answers at %s, and ollama.manage is never: start one (ollama serve) or set manage: auto", host)
		}
		srv, err := StartServer(ctx, opts)
		if err != nil {
			return nil, fmt.Errorf("no Ollama server answers at %s and starting one failed: %w", host, err)
		}
		env.Notice("started a private Ollama server at %s (log %s)", srv.URL, srv.Log)
		return &managed{srv: srv}, nil
	})
	if err != nil {
		return nil, nil, err
	}
	switch c := c.(type) {
	case *managed:
		srv, err := c.alive(ctx, env, opts)
		if err != nil {
			return nil, nil, err
		}
		return srv, srv.URL, nil
	case external:
		return nil, c.url, nil
	}
	return nil, nil, errors.New("ollama: the shared server is of an unknown kind")
}

// managed is the suite's private server, restarted when it has exited.
type managed struct {
	mu  sync.Mutex
	srv *Server
}

// alive returns the private server, starting a new one when the last exited (a
// crash, the OOM killer): a dead server costs the models in flight on it, not
// the rest of the suite.
func (m *managed) alive(ctx context.Context, env backends.Env, opts ServerOptions) (*Server, error) {
	m.mu.Lock()
	defer m.mu.Unlock()
	if m.srv.Alive() && Answers(ctx, m.srv.URL) {
		return m.srv, nil
	}
	old := m.srv
	old.Stop()
	srv, err := StartServer(ctx, opts)
	if err != nil {
		return nil, fmt.Errorf("the private Ollama server at %s exited, and starting a new one failed: %w", old.URL, err)
	}
	m.srv = srv
	env.Notice("the private Ollama server at %s exited; started a new one at %s (log %s)", old.URL, srv.URL, srv.Log)
	return srv, nil
}

func (m *managed) Close() error {
	m.mu.Lock()
	defer m.mu.Unlock()
	return m.srv.Stop()
}

// external is a server llmbench did not start: closing it does nothing.
type external struct{ url *url.URL }

func (external) Close() error { return nil }

// localRunner finds the runner of a server on this machine by its port; nil for a
// server on another machine.
func localRunner(host *url.URL) func(ctx context.Context) (int, error) {
	if !isLoopback(host.Hostname()) {
		return nil
	}
	port, err := strconv.Atoi(host.Port())
	if err != nil {
		port = 11434
	}
	return func(ctx context.Context) (int, error) {
		pid, err := memwatch.PIDByListenPort(port)
		if err != nil {
			return 0, fmt.Errorf("finding the Ollama server on port %d: %w", port, err)
		}
		return FindRunner(ctx, pid)
	}
}

func isLoopback(host string) bool {
	if host == "localhost" {
		return true
	}
	ip := net.ParseIP(host)
	return ip != nil && ip.IsLoopback()
}

// ErrNoRunner is wrapped by [FindRunner]'s error when the server has no runner:
// no model is loaded.
var ErrNoRunner = errors.New("no ollama runner process")

// FindRunner returns the PID of the runner process that `ollama serve`
// (serverPID) started for a loaded model: the process that holds the weights and
// does the work, the largest of several (see memwatch.FindDescendant).
func FindRunner(ctx context.Context, serverPID int) (int, error) {
	pid, err := memwatch.FindDescendant(ctx, serverPID, IsRunner)
	if errors.Is(err, memwatch.ErrNoMatch) {
		return 0, fmt.Errorf("ollama: server pid %d: %w (is a model loaded?)", serverPID, ErrNoRunner)
	}
	return pid, err
}

// IsRunner tells whether a command line is an Ollama runner's: the argument
// "runner" (`ollama runner --model …`, Ollama ≥ 0.4) or the program
// ollama_llama_server (older releases).
func IsRunner(args []string) bool {
	if len(args) == 0 {
		return false
	}
	if strings.Contains(filepath.Base(args[0]), "ollama_llama_server") {
		return true
	}
	return slices.Contains(args[1:], "runner")
}
