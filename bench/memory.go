package bench

import (
	"context"
	"errors"
	"time"

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

// refresh finds the model's engine process again after the one watched exited
// (a crash, the OOM killer, an unload and reload): the engine starts a new one on
// the next request, and from then on cases measure it. It does nothing while the
// watched process lives, or for a model never watched.
func (m *Model) refresh() {
	if !m.lost {
		return
	}
	pf, ok := m.Backend.(backends.ProcessFinder)
	if !ok {
		return
	}
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	pid, err := pf.EnginePID(ctx)
	if err != nil {
		// None yet: an engine starts its new process on the next request. Make
		// it now, untimed, as OpenModel does, so the window that follows measures it.
		if _, err = m.load(ctx); err == nil {
			pid, err = pf.EnginePID(ctx)
		}
		if err != nil {
			return
		}
	}
	rss, err := memwatch.NewRSS(pid)
	if err != nil {
		return
	}
	m.Memory, m.pid, m.lost = rss, pid, false
	m.suite.Notice("model %s: watching the engine's new process, pid %d", m.Config.Name, pid)
}

// exited handles an error of the memory watch: when the watched process exited,
// the watch is dropped (once, with a notice) and refresh looks for its successor.
// It returns err.
func (m *Model) exited(err error) error {
	if errors.Is(err, memwatch.ErrExited) && m.Memory != nil {
		m.Memory.Close()
		m.Memory, m.lost = nil, true
		m.suite.Notice("model %s: the engine process (pid %d) exited: %v", m.Config.Name, m.pid, err)
	}
	return err
}

// PID returns the engine process whose memory the model's cases measure; 0 when
// none is watched.
func (m *Model) PID() int {
	if m.Memory == nil {
		return 0
	}
	return m.pid
}
