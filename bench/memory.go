package bench

import (
	"context"
	"errors"
	"fmt"
	"net"
	"net/url"
	"strconv"

	"github.com/llmbench/llmbench/backends"
	"github.com/llmbench/llmbench/memwatch"
)

// ollamaPID returns how to find the runner process that holds a model of the
// Ollama server at host: through the process tree of the server this suite
// started, or of a local server found by its port. It returns nil for a server on
// another machine.
func (s *Suite) ollamaPID(host *url.URL) func(ctx context.Context) (int, error) {
	if s.server != nil && host.String() == s.server.URL.String() {
		pid := s.server.PID()
		return func(ctx context.Context) (int, error) { return memwatch.FindOllamaRunner(ctx, pid) }
	}
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
		return memwatch.FindOllamaRunner(ctx, pid)
	}
}

func isLoopback(host string) bool {
	if host == "localhost" {
		return true
	}
	ip := net.ParseIP(host)
	return ip != nil && ip.IsLoopback()
}

// watchMemory starts watching the resident memory of the process that holds m, and
// records its size right after the load. When that is impossible it says why, once,
// and m reports no memory metric.
func (s *Suite) watchMemory(ctx context.Context, m *Model) {
	pf, ok := m.Backend.(backends.ProcessFinder)
	if !ok {
		s.Notice("model %s: the %s backend cannot name its process: no peak-rss-B", m.Config.Name, m.Config.Backend)
		return
	}
	pid, err := pf.EnginePID(ctx)
	if errors.Is(err, backends.ErrRemote) {
		s.Notice("model %s: the engine runs on another machine: no peak-rss-B", m.Config.Name)
		return
	}
	if err != nil {
		s.Notice("model %s: no peak-rss-B: %v", m.Config.Name, err)
		return
	}
	m.pid, m.gpu = pid, s.gpu
	rss, err := memwatch.NewRSS(pid)
	if err != nil {
		s.Notice("model %s: no peak-rss-B: %v", m.Config.Name, err)
		return
	}
	if n := rss.Notice(); n != "" {
		s.Notice("%s", n)
	}
	m.Memory = rss
	m.Info["rss-method"] = rss.Method()
	if cur, err := rss.Current(); err == nil {
		m.AfterLoad = cur
	}
}
