package memwatch

import (
	"errors"
	"fmt"
	"os"
	"sync"
	"time"
)

// ErrExited is wrapped by the errors of [RSS] methods, [NewRSS] and
// [FindDescendant] when the process is gone (exited, a zombie, or never
// existed). The error's text names the PID.
var ErrExited = errors.New("process exited")

// MethodVmHWM is [RSS.Method] when the peak is the kernel's exact high-water mark.
const MethodVmHWM = "vmhwm"

// RSS watches the resident memory of one process. Its methods are safe for
// concurrent use.
type RSS struct {
	pid    int
	method string
	notice string
	src    source
	s      *sampler // nil for MethodVmHWM

	mu     sync.RWMutex // held for reading around src use, for writing by Close
	closed bool
}

// source reads one process's memory figures; the platform provides it.
type source interface {
	// current returns the resident set size in bytes.
	current() (uint64, error)
	// hwm returns the kernel's high-water mark of the RSS in bytes (VmHWM).
	hwm() (uint64, error)
	// resetHWM resets the high-water mark to the current RSS.
	resetHWM() error
	close() error
}

// NewRSS starts watching the resident memory of pid. It picks the exact method
// (VmHWM reset through clear_refs) where the platform allows it, else samples the
// RSS every [DefaultInterval] (see [WithInterval], [WithSampling]). Like
// [RSS.Reset], it starts a new case: Peak counts from now.
//
// Outside Linux it returns an error wrapping [errors.ErrUnsupported]. A pid that
// does not exist gives an error wrapping [ErrExited].
func NewRSS(pid int, opts ...Option) (*RSS, error) {
	c := newConfig(opts)
	src, notice, err := openSource(pid, c)
	if err != nil {
		return nil, err
	}
	r := &RSS{pid: pid, src: src}
	if notice == "" {
		r.method = MethodVmHWM
		return r, nil
	}
	r.method = sampledMethod(c.interval)
	r.notice = fmt.Sprintf("memwatch: pid %d: peak RSS sampled every %s, not exact (%s); a peak shorter than that can be missed",
		pid, c.interval, notice)
	r.s, err = startSampler(src.current, c.interval)
	if err != nil {
		src.close()
		return nil, err
	}
	return r, nil
}

// PID returns the watched process id.
func (r *RSS) PID() int { return r.pid }

// Method returns how the peak is measured, for a config line `rss-method: …`:
// "vmhwm" (exact) or "sampled-10ms" (the interval varies with [WithInterval]).
func (r *RSS) Method() string { return r.method }

// Notice returns one line telling why the peak is sampled rather than exact, or
// "" when Method is "vmhwm". Print it once.
func (r *RSS) Notice() string { return r.notice }

// Reset starts a new case: [RSS.Peak] reports the peak since the last Reset.
func (r *RSS) Reset() error {
	r.mu.RLock()
	defer r.mu.RUnlock()
	if r.closed {
		return r.errClosed()
	}
	if r.s != nil {
		return r.s.reset()
	}
	return r.src.resetHWM()
}

// Peak returns the peak resident memory in bytes since the last [RSS.Reset] (or
// NewRSS). If the process exited since, the error wraps [ErrExited]: a case whose
// process died has no peak.
func (r *RSS) Peak() (uint64, error) {
	r.mu.RLock()
	defer r.mu.RUnlock()
	if r.closed {
		return 0, r.errClosed()
	}
	if r.s != nil {
		return r.s.peakNow()
	}
	return r.src.hwm()
}

// Current returns the resident memory in bytes now (VmRSS).
func (r *RSS) Current() (uint64, error) {
	r.mu.RLock()
	defer r.mu.RUnlock()
	if r.closed {
		return 0, r.errClosed()
	}
	return r.src.current()
}

// Close stops the sampler, if any, and releases the process's files. It is safe
// to call more than once.
func (r *RSS) Close() error {
	r.mu.Lock()
	defer r.mu.Unlock()
	if r.closed {
		return nil
	}
	r.closed = true
	if r.s != nil {
		r.s.close()
	}
	return r.src.close()
}

func (r *RSS) errClosed() error {
	return fmt.Errorf("memwatch: pid %d: %w", r.pid, os.ErrClosed)
}

// sampler keeps the largest value that read returned since the last reset,
// calling it every interval in its own goroutine. The first error (the process
// exited) is kept and stops the sampling.
type sampler struct {
	read func() (uint64, error)
	stop chan struct{}
	done chan struct{}

	mu   sync.Mutex
	gen  uint64 // incremented by reset: a read begun before it is dropped
	peak uint64
	n    uint64 // reads folded in, for tests
	err  error
}

func startSampler(read func() (uint64, error), interval time.Duration) (*sampler, error) {
	v, err := read()
	if err != nil {
		return nil, err
	}
	s := &sampler{read: read, peak: v, stop: make(chan struct{}), done: make(chan struct{})}
	go s.loop(interval)
	return s, nil
}

func (s *sampler) loop(interval time.Duration) {
	defer close(s.done)
	t := time.NewTicker(interval)
	defer t.Stop()
	for {
		select {
		case <-s.stop:
			return
		case <-t.C:
			if s.observe() != nil {
				return
			}
		}
	}
}

// observe reads once and folds the value into the peak.
func (s *sampler) observe() error {
	s.mu.Lock()
	gen, err := s.gen, s.err
	s.mu.Unlock()
	if err != nil {
		return err
	}
	v, err := s.read()
	s.mu.Lock()
	defer s.mu.Unlock()
	switch {
	case s.err != nil:
	case err != nil:
		s.err = err
	case gen == s.gen:
		s.peak = max(s.peak, v)
		s.n++
	}
	return s.err
}

func (s *sampler) reset() error {
	s.mu.Lock()
	err := s.err
	s.mu.Unlock()
	if err != nil {
		return err
	}
	v, err := s.read()
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.err == nil && err != nil {
		s.err = err
	}
	if s.err != nil {
		return s.err
	}
	s.gen++
	s.peak = v
	return nil
}

func (s *sampler) peakNow() (uint64, error) {
	if err := s.observe(); err != nil {
		return 0, err
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.peak, nil
}

// count returns the number of reads folded in so far.
func (s *sampler) count() uint64 {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.n
}

func (s *sampler) close() {
	close(s.stop)
	<-s.done
}
