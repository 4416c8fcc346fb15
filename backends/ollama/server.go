package ollama

import (
	"context"
	"errors"
	"fmt"
	"net"
	"net/http"
	"net/url"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"syscall"
	"time"

	"github.com/ollama/ollama/api"
)

// Server is an `ollama serve` process that llmbench started and owns. It listens on
// 127.0.0.1 only, keeps its models in its own folder, and is stopped by Stop.
type Server struct {
	// URL is the server's base URL.
	URL *url.URL
	// Log is the path of the server's log file.
	Log string

	cmd  *exec.Cmd
	done chan struct{}
	err  error // the process's exit status, set before done closes
}

// ServerOptions configure StartServer. Zero values are the defaults given.
type ServerOptions struct {
	// Binary is the ollama binary. Default: FindBinary().
	Binary string
	// ModelsDir is the server's OLLAMA_MODELS folder. Required.
	ModelsDir string
	// Log is the server's log file. Default: ModelsDir/ollama.log.
	Log string
	// Ready is how long to wait for the server to answer. Default 60s.
	Ready time.Duration
	// Env holds extra environment variables (KEY=VALUE) for the server.
	Env []string
}

// FindBinary returns $LLMBENCH_OLLAMA when set, else ./bin/ollama when it exists,
// else ollama on PATH.
func FindBinary() (string, error) {
	if p := os.Getenv("LLMBENCH_OLLAMA"); p != "" {
		if _, err := os.Stat(p); err != nil {
			return "", fmt.Errorf("LLMBENCH_OLLAMA: %w", err)
		}
		return p, nil
	}
	if p, err := filepath.Abs(filepath.Join("bin", "ollama")); err == nil {
		if st, err := os.Stat(p); err == nil && !st.IsDir() {
			return p, nil
		}
	}
	p, err := exec.LookPath("ollama")
	if err != nil {
		return "", errors.New("no ollama binary in ./bin or on PATH: build one with `make ollama`")
	}
	return p, nil
}

// StartServer starts `ollama serve` on a free 127.0.0.1 port and waits until it
// answers. The server is started in its own process group, so Stop also ends the
// model runners it starts, and it dies with this process (Pdeathsig).
func StartServer(ctx context.Context, o ServerOptions) (*Server, error) {
	if o.Binary == "" {
		b, err := FindBinary()
		if err != nil {
			return nil, err
		}
		o.Binary = b
	}
	if o.ModelsDir == "" {
		return nil, errors.New("ollama: StartServer needs a models folder")
	}
	if err := os.MkdirAll(o.ModelsDir, 0o755); err != nil {
		return nil, fmt.Errorf("ollama: %w", err)
	}
	if o.Log == "" {
		o.Log = filepath.Join(o.ModelsDir, "ollama.log")
	}
	if o.Ready == 0 {
		o.Ready = 60 * time.Second
	}
	port, err := freePort()
	if err != nil {
		return nil, fmt.Errorf("ollama: finding a free port: %w", err)
	}
	addr := net.JoinHostPort("127.0.0.1", strconv.Itoa(port))
	logf, err := os.Create(o.Log)
	if err != nil {
		return nil, fmt.Errorf("ollama: %w", err)
	}
	defer logf.Close() // the child keeps its own descriptor

	models, _ := filepath.Abs(o.ModelsDir)
	cmd := exec.Command(o.Binary, "serve")
	cmd.Env = append(os.Environ(),
		"OLLAMA_HOST="+addr,
		"OLLAMA_MODELS="+models,
		"OLLAMA_NUM_PARALLEL=1",
		"OLLAMA_MAX_LOADED_MODELS=1",
		"OLLAMA_NOPRUNE=1",
	)
	cmd.Env = append(cmd.Env, o.Env...)
	cmd.Stdout, cmd.Stderr = logf, logf
	cmd.SysProcAttr = &syscall.SysProcAttr{Setpgid: true, Pdeathsig: syscall.SIGTERM}
	if err := cmd.Start(); err != nil {
		return nil, fmt.Errorf("ollama: starting %s serve: %w", o.Binary, err)
	}
	s := &Server{
		URL:  &url.URL{Scheme: "http", Host: addr},
		Log:  o.Log,
		cmd:  cmd,
		done: make(chan struct{}),
	}
	go func() { s.err = cmd.Wait(); close(s.done) }()

	ctx, cancel := context.WithTimeout(ctx, o.Ready)
	defer cancel()
	if err := s.waitReady(ctx); err != nil {
		s.Stop()
		return nil, fmt.Errorf("ollama: server at %s (log %s): %w", addr, o.Log, err)
	}
	return s, nil
}

func (s *Server) waitReady(ctx context.Context) error {
	c := api.NewClient(s.URL, &http.Client{Timeout: time.Second})
	for {
		if err := c.Heartbeat(ctx); err == nil {
			return nil
		}
		select {
		case <-s.done:
			return fmt.Errorf("exited before it was ready: %v", s.err)
		case <-ctx.Done():
			return fmt.Errorf("not ready: %w", ctx.Err())
		case <-time.After(50 * time.Millisecond):
		}
	}
}

// PID returns the server's process id.
func (s *Server) PID() int { return s.cmd.Process.Pid }

// Stop ends the server and its runners: SIGTERM to the process group, then SIGKILL
// after 10 s. It is safe to call more than once.
func (s *Server) Stop() error {
	pgid := s.cmd.Process.Pid
	select {
	case <-s.done:
		syscall.Kill(-pgid, syscall.SIGKILL) // runners left behind, if any
		return nil
	default:
	}
	syscall.Kill(-pgid, syscall.SIGTERM)
	select {
	case <-s.done:
	case <-time.After(10 * time.Second):
		syscall.Kill(-pgid, syscall.SIGKILL)
		<-s.done
	}
	syscall.Kill(-pgid, syscall.SIGKILL)
	return nil
}

// Alive reports whether the server process is still running.
func (s *Server) Alive() bool {
	select {
	case <-s.done:
		return false
	default:
		return true
	}
}

// Answers reports whether an Ollama server answers at host.
func Answers(ctx context.Context, host *url.URL) bool {
	ctx, cancel := context.WithTimeout(ctx, 2*time.Second)
	defer cancel()
	return api.NewClient(host, &http.Client{}).Heartbeat(ctx) == nil
}

func freePort() (int, error) {
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return 0, err
	}
	defer l.Close()
	return l.Addr().(*net.TCPAddr).Port, nil
}

// Close stops the server (io.Closer).
func (s *Server) Close() error { return s.Stop() }
