package memwatch

import (
	"errors"
	"fmt"
	"os"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

const mib = 1 << 20

// methods are the two ways of measuring; the exact one is skipped where the
// kernel or sandbox refuses clear_refs.
var methods = []struct {
	name string
	opts []Option
}{
	{"vmhwm", nil},
	{"sampled", []Option{WithSampling()}},
}

func newRSS(t *testing.T, pid int, opts []Option) *RSS {
	t.Helper()
	r, err := NewRSS(pid, opts...)
	require.NoError(t, err)
	t.Cleanup(func() { r.Close() })
	if len(opts) == 0 && r.Method() != MethodVmHWM {
		t.Skipf("exact method unavailable here: %s", r.Notice())
	}
	return r
}

// within asserts that got is within 5% of want.
func within(t *testing.T, want, got uint64, what string) {
	t.Helper()
	diff := float64(got) - float64(want)
	assert.LessOrEqualf(t, diff*diff, 0.05*0.05*float64(want)*float64(want),
		"%s: got %.1f MiB, want %.1f MiB ±5%%", what, float64(got)/mib, float64(want)/mib)
}

// TestRSSPeak measures a child that touches 128 MiB and gives it back, then,
// after Reset, a second case in which it touches 48 MiB: each case reports its own
// peak (above the memory the child had at the start of the case), although the
// memory is released before Peak is read.
func TestRSSPeak(t *testing.T) {
	for _, m := range methods {
		t.Run("method="+m.name, func(t *testing.T) {
			h := startMemHelper(t)
			r := newRSS(t, h.pid(), m.opts)

			for _, size := range []uint64{128, 48} {
				require.NoError(t, r.Reset())
				base, err := r.Current()
				require.NoError(t, err)
				h.do(t, fmt.Sprint("touch ", size))
				waitSamples(t, r, 3)
				h.do(t, "free")

				peak, err := r.Peak()
				require.NoError(t, err)
				t.Logf("case of %d MiB: base %.1f MiB, peak %.1f MiB above it", size, float64(base)/mib, float64(peak-base)/mib)
				within(t, size*mib, peak-base, fmt.Sprintf("case of %d MiB: peak above base", size))
				cur, err := r.Current()
				require.NoError(t, err)
				assert.Less(t, cur, base+size*mib/2, "memory given back, so Peak is not Current")
			}
		})
	}
}

// TestRSSTransient: the exact method sees a peak that lasted a few milliseconds.
func TestRSSTransient(t *testing.T) {
	h := startMemHelper(t)
	r := newRSS(t, h.pid(), nil)
	base, err := r.Current()
	require.NoError(t, err)
	h.do(t, "spike 64")
	peak, err := r.Peak()
	require.NoError(t, err)
	within(t, 64*mib, peak-base, "spike of 64 MiB")
	cur, err := r.Current()
	require.NoError(t, err)
	assert.Less(t, cur, base+32*mib, "the spike was given back")
}

func TestRSSMethod(t *testing.T) {
	h := startMemHelper(t)
	r := newRSS(t, h.pid(), []Option{WithSampling(), WithInterval(2 * time.Millisecond)})
	assert.Equal(t, "sampled-2ms", r.Method())
	assert.Contains(t, r.Notice(), "sampling forced")
	assert.Equal(t, h.pid(), r.PID())

	if e := newRSS(t, h.pid(), nil); e.Method() == MethodVmHWM {
		assert.Empty(t, e.Notice())
	}
	assert.Equal(t, "sampled-500us", sampledMethod(500*time.Microsecond))
}

// TestRSSExited: a process that exits mid-case has no peak. Both a zombie (not
// yet reaped by its parent) and a reaped process are seen as exited.
func TestRSSExited(t *testing.T) {
	for _, m := range methods {
		for _, reaped := range []bool{false, true} {
			t.Run(fmt.Sprintf("method=%s/reaped=%v", m.name, reaped), func(t *testing.T) {
				h := startMemHelper(t)
				r := newRSS(t, h.pid(), m.opts)
				h.do(t, "touch 10")
				fmt.Fprintln(h.in, "exit")
				if reaped {
					h.cmd.Wait()
				} else {
					waitZombie(t, h.pid())
				}

				_, err := r.Peak()
				require.ErrorIs(t, err, ErrExited)
				assert.Contains(t, err.Error(), "pid "+strconv.Itoa(h.pid()))
				assert.ErrorIs(t, r.Reset(), ErrExited)
				_, err = r.Current()
				assert.ErrorIs(t, err, ErrExited)

				_, err = NewRSS(h.pid(), m.opts...)
				assert.ErrorIs(t, err, ErrExited)
			})
		}
	}
}

// waitSamples waits until a sampling r has taken n more samples (the machine
// may be too loaded for a fixed sleep); it returns at once for the exact method.
func waitSamples(t *testing.T, r *RSS, n uint64) {
	t.Helper()
	if r.s == nil {
		return
	}
	want := r.s.count() + n
	for deadline := time.Now().Add(10 * time.Second); r.s.count() < want; time.Sleep(time.Millisecond) {
		if time.Now().After(deadline) {
			t.Fatalf("sampler took %d of %d samples in 10 s", r.s.count()-want+n, n)
		}
	}
}

func waitZombie(t *testing.T, pid int) {
	t.Helper()
	for deadline := time.Now().Add(5 * time.Second); time.Now().Before(deadline); time.Sleep(time.Millisecond) {
		b, err := os.ReadFile(fmt.Sprintf("/proc/%d/stat", pid))
		require.NoError(t, err)
		if i := strings.LastIndexByte(string(b), ')'); i > 0 && strings.HasPrefix(string(b[i:]), ") Z") {
			return
		}
	}
	t.Fatalf("pid %d did not exit", pid)
}

func TestRSSClose(t *testing.T) {
	h := startMemHelper(t)
	for _, m := range methods {
		r, err := NewRSS(h.pid(), m.opts...)
		require.NoError(t, err)
		require.NoError(t, r.Close())
		require.NoError(t, r.Close())
		if r.s != nil {
			select {
			case <-r.s.done:
			default:
				t.Error("sampler still running after Close")
			}
		}
		_, err = r.Peak()
		assert.ErrorIs(t, err, os.ErrClosed)
		assert.ErrorIs(t, r.Reset(), os.ErrClosed)
	}
}

func TestNewRSSInvalid(t *testing.T) {
	_, err := NewRSS(0)
	assert.Error(t, err)
	_, err = NewRSS(1 << 30) // above pid_max
	assert.ErrorIs(t, err, ErrExited)
}

// TestSamplerReset: a read that began before Reset does not count after it, and
// the first error sticks.
func TestSamplerReset(t *testing.T) {
	vals := []uint64{5, 100, 7, 3}
	var fail error
	read := func() (uint64, error) {
		if fail != nil {
			return 0, fail
		}
		v := vals[0]
		vals = vals[1:]
		return v, nil
	}
	s, err := startSampler(read, time.Hour) // no tick: the test drives it
	require.NoError(t, err)
	defer s.close()

	require.NoError(t, s.observe()) // 100
	require.NoError(t, s.reset())   // 7
	p, err := s.peakNow()           // 3
	require.NoError(t, err)
	assert.Equal(t, uint64(7), p)

	fail = errors.New("gone")
	_, err = s.peakNow()
	assert.Equal(t, fail, err)
	fail = nil
	assert.Equal(t, errors.New("gone"), s.reset(), "the first error sticks")
}

func TestStatusKB(t *testing.T) {
	status := []byte("Name:\tx\nVmPeak:\t  10 kB\nVmHWM:\t    2048 kB\nVmRSS:\t 1024 kB\n")
	v, ok := statusKB(status, "VmHWM:")
	assert.True(t, ok)
	assert.Equal(t, uint64(2048<<10), v)
	v, ok = statusKB(status, "VmRSS:")
	assert.True(t, ok)
	assert.Equal(t, uint64(1024<<10), v)
	_, ok = statusKB([]byte("Name:\tz\nState:\tZ (zombie)\n"), "VmHWM:")
	assert.False(t, ok)
}
