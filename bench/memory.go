package bench

import (
	"context"
	"errors"

	"github.com/llmbench/llmbench/backends"
	"github.com/llmbench/llmbench/memwatch"
)

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
	m.RSSMethod = rss.Method()
	if cur, err := rss.Current(); err == nil {
		m.AfterLoad = cur
	}
}
