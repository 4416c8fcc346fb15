package memwatch

import (
	"syscall"
	"testing"
	"time"
)

// samplerWindow is how long each iteration of BenchmarkSampler lets the sampler
// run. CPU time is counted in clock ticks (10 ms, or finer with a tickless
// kernel's accounting), so the window must be long.
const samplerWindow = 2500 * time.Millisecond

// BenchmarkSampler measures the CPU that watching a live process costs this
// process, as a percentage of one core (cpu-%), over samplerWindow: the whole
// process's user+system time from getrusage, which is otherwise idle. The
// method=vmhwm row (no goroutine) is the baseline of an idle Go process; the
// difference is the sampler's cost. cpu-ns/sample divides that CPU time by the
// samples taken.
//
//	go test -run '^$' -bench Sampler -count 6 ./memwatch
func BenchmarkSampler(b *testing.B) {
	h := startMemHelper(b)
	h.do(b, "touch 64") // a process of some size: statm's cost does not depend on it
	for _, m := range []struct {
		name string
		opts []Option
	}{
		{"vmhwm", nil},
		{sampledMethod(DefaultInterval), []Option{WithSampling()}},
		{sampledMethod(50 * time.Millisecond), []Option{WithSampling(), WithInterval(50 * time.Millisecond)}},
	} {
		b.Run("method="+m.name, func(b *testing.B) {
			var cpu, wall time.Duration
			var samples uint64
			for b.Loop() {
				r, err := NewRSS(h.pid(), m.opts...)
				if err != nil {
					b.Fatal(err)
				}
				if len(m.opts) == 0 && r.Method() != MethodVmHWM {
					b.Skip(r.Notice())
				}
				var n0 uint64
				if r.s != nil {
					n0 = r.s.count()
				}
				c0, t0 := cpuTime(b), time.Now()
				time.Sleep(samplerWindow)
				cpu += cpuTime(b) - c0
				wall += time.Since(t0)
				if r.s != nil {
					samples += r.s.count() - n0
				}
				r.Close()
			}
			b.ReportMetric(100*cpu.Seconds()/wall.Seconds(), "cpu-%")
			if samples > 0 {
				b.ReportMetric(float64(cpu.Nanoseconds())/float64(samples), "cpu-ns/sample")
			}
		})
	}
}

// cpuTime is this process's user plus system CPU time.
func cpuTime(b *testing.B) time.Duration {
	var ru syscall.Rusage
	if err := syscall.Getrusage(syscall.RUSAGE_SELF, &ru); err != nil {
		b.Fatal(err)
	}
	return time.Duration(ru.Utime.Nano() + ru.Stime.Nano())
}

// BenchmarkResetPeak measures what a case costs the exact method: one Reset and
// one Peak (a write to clear_refs, a read of status).
func BenchmarkResetPeak(b *testing.B) {
	h := startMemHelper(b)
	r, err := NewRSS(h.pid())
	if err != nil {
		b.Fatal(err)
	}
	defer r.Close()
	if r.Method() != MethodVmHWM {
		b.Skip(r.Notice())
	}
	for b.Loop() {
		if err := r.Reset(); err != nil {
			b.Fatal(err)
		}
		if _, err := r.Peak(); err != nil {
			b.Fatal(err)
		}
	}
}
