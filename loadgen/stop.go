package loadgen

import (
	"fmt"
	"slices"
	"sync"
	"time"

	"github.com/llmbench/llmbench/backends"
)

// DefaultStopWindow is the number of requests Stop.Window means when 0.
const DefaultStopWindow = 10

// Stop are the bounds past which a run is over-saturated and stops early,
// instead of running out its duration: no request is sent after, those in
// flight are cancelled (counted as aborted) and the report keeps what was
// measured, with Report.Stopped saying why. A zero field is not checked.
type Stop struct {
	// ErrorRate stops the run when failed ÷ finished requests exceeds it, once
	// Window requests have finished.
	ErrorRate float64
	// Lag stops the run when a request's schedule lag (its send − its plan)
	// exceeds it; that request is not sent.
	Lag time.Duration
	// TTFTGrowth stops the run when the median TTFT of the latest Window
	// successful requests exceeds TTFTGrowth × the median of the first Window.
	TTFTGrowth float64
	// Window is the number of requests the other bounds wait for; 0 means
	// DefaultStopWindow.
	Window int
}

// Any reports whether any bound is set.
func (s Stop) Any() bool { return s.ErrorRate > 0 || s.Lag > 0 || s.TTFTGrowth > 0 }

// StopSpec is Stop as the configuration writes it (load: stop:).
type StopSpec struct {
	ErrorRate  float64  `yaml:"error_rate"`
	Lag        Duration `yaml:"lag"`
	TTFTGrowth float64  `yaml:"ttft_growth"`
	Window     int      `yaml:"window"`
}

func (s *StopSpec) check() error {
	switch {
	case s == nil:
		return nil
	case !(s.ErrorRate >= 0 && s.ErrorRate < 1):
		return fmt.Errorf("stop.error_rate %g: want a share from 0 (not checked) to below 1", s.ErrorRate)
	case s.Lag.Duration < 0:
		return fmt.Errorf("stop.lag %v: want 0 (not checked) or more", s.Lag.Duration)
	case s.TTFTGrowth != 0 && !(s.TTFTGrowth > 1) || s.TTFTGrowth > 1e9:
		return fmt.Errorf("stop.ttft_growth %g: want a factor above 1 (0: not checked)", s.TTFTGrowth)
	case s.Window < 0:
		return fmt.Errorf("stop.window %d: want 0 (default %d) or more", s.Window, DefaultStopWindow)
	case s.ErrorRate == 0 && s.Lag.Duration == 0 && s.TTFTGrowth == 0:
		return fmt.Errorf("stop: set error_rate, lag or ttft_growth")
	}
	return nil
}

func (s *StopSpec) stop() Stop {
	if s == nil {
		return Stop{}
	}
	return Stop{ErrorRate: s.ErrorRate, Lag: s.Lag.Duration, TTFTGrowth: s.TTFTGrowth, Window: s.Window}
}

// stopper watches a run's requests against its Stop bounds.
type stopper struct {
	s                Stop
	mu               sync.Mutex
	finished, failed int
	first, last      []time.Duration // the first Window TTFTs; the latest Window
	reason           string
}

func newStopper(s Stop) *stopper {
	if s.Window == 0 {
		s.Window = DefaultStopWindow
	}
	return &stopper{s: s}
}

// trip sets the reason, once; it reports whether this call set it.
func (st *stopper) trip(format string, args ...any) bool {
	if st.reason != "" {
		return false
	}
	st.reason = fmt.Sprintf(format, args...)
	return true
}

// sending checks request i's lag before it is sent; true when it trips.
func (st *stopper) sending(i int64, lag time.Duration) bool {
	if st.s.Lag <= 0 || lag <= st.s.Lag {
		return false
	}
	st.mu.Lock()
	defer st.mu.Unlock()
	return st.trip("schedule lag %v > %v at request %d", lag.Round(time.Millisecond), st.s.Lag, i)
}

// done notes a finished request (not an aborted one); true when it trips.
func (st *stopper) done(res *backends.Result, err error) bool {
	st.mu.Lock()
	defer st.mu.Unlock()
	w := st.s.Window
	st.finished++
	if err != nil {
		st.failed++
	} else if len(res.Chunks) > 0 {
		if ttft := res.TTFT(); len(st.first) < w {
			st.first = append(st.first, ttft)
		} else {
			st.last = append(st.last, ttft)
			if len(st.last) > w {
				st.last = st.last[1:]
			}
		}
	}
	if r := float64(st.failed) / float64(st.finished); st.s.ErrorRate > 0 && st.finished >= w && r > st.s.ErrorRate {
		return st.trip("error rate %.3g > %g after %d requests", r, st.s.ErrorRate, st.finished)
	}
	if st.s.TTFTGrowth > 0 && len(st.last) == w {
		base, now := median(st.first), median(st.last)
		if float64(now) > st.s.TTFTGrowth*float64(base) {
			return st.trip("median TTFT of the latest %d requests %v > %g × %v, the first %d's", w, now.Round(time.Millisecond), st.s.TTFTGrowth, base.Round(time.Millisecond), w)
		}
	}
	return false
}

// median is the nearest-rank median of ds (which it does not change).
func median(ds []time.Duration) time.Duration {
	s := slices.Clone(ds)
	slices.Sort(s)
	return s[(len(s)+1)/2-1]
}
