package openai

import (
	"context"
	"io"
	"net"
	"os"
	"sync/atomic"
	"syscall"
	"time"
	"unsafe"
)

// On Linux the backend's connections ask the kernel to timestamp the data they
// receive (SO_TIMESTAMPNS), so an event's time is when its bytes reached the
// machine, not when a busy scheduler next ran the goroutine reading them. Under a
// CPU-bound engine on the same cores, that wake-up can lag by milliseconds.

const kernelStamps = true

// rxConn is a TCP connection whose reads remember the kernel's receive timestamp
// of the latest data read.
type rxConn struct {
	*net.TCPConn
	raw  syscall.RawConn
	oob  []byte
	last atomic.Int64 // Unix ns of the latest data read; 0 if none yet
}

func dialStamped(d *net.Dialer) func(ctx context.Context, network, addr string) (net.Conn, error) {
	dd := *d
	dd.Control = func(network, address string, c syscall.RawConn) error {
		c.Control(func(fd uintptr) {
			// Best effort: without it, reads fall back to time.Now.
			syscall.SetsockoptInt(int(fd), syscall.SOL_SOCKET, syscall.SO_TIMESTAMPNS, 1)
		})
		return nil
	}
	return func(ctx context.Context, network, addr string) (net.Conn, error) {
		c, err := dd.DialContext(ctx, network, addr)
		if err != nil {
			return nil, err
		}
		tc, ok := c.(*net.TCPConn)
		if !ok {
			return c, nil
		}
		raw, err := tc.SyscallConn()
		if err != nil {
			return c, nil
		}
		return &rxConn{TCPConn: tc, raw: raw, oob: make([]byte, syscall.CmsgSpace(int(unsafe.Sizeof(syscall.Timespec{}))))}, nil
	}
}

func (c *rxConn) Read(p []byte) (int, error) {
	if len(p) == 0 {
		return 0, nil
	}
	var n, oobn int
	var rerr error
	err := c.raw.Read(func(fd uintptr) bool {
		for {
			n, oobn, _, _, rerr = syscall.Recvmsg(int(fd), p, c.oob, 0)
			if rerr != syscall.EINTR {
				return rerr != syscall.EAGAIN
			}
		}
	})
	if err == nil {
		err = rerr
	}
	if err != nil {
		return 0, &net.OpError{Op: "read", Net: "tcp", Source: c.LocalAddr(), Addr: c.RemoteAddr(), Err: os.NewSyscallError("recvmsg", err)}
	}
	if n == 0 {
		return 0, io.EOF
	}
	// 0 (unknown) when the data came without a timestamp, as it can for a moment
	// after the first socket of the system asks for them.
	c.last.Store(stampOf(c.oob[:oobn]))
	return n, nil
}

// stampOf returns the SCM_TIMESTAMPNS time in control data, in Unix ns, or 0.
func stampOf(oob []byte) int64 {
	const hdr = int(unsafe.Sizeof(syscall.Cmsghdr{}))
	for len(oob) >= hdr {
		h := (*syscall.Cmsghdr)(unsafe.Pointer(&oob[0]))
		l := int(h.Len)
		if l < hdr || l > len(oob) {
			return 0
		}
		if h.Level == syscall.SOL_SOCKET && h.Type == syscall.SCM_TIMESTAMPNS && l >= hdr+int(unsafe.Sizeof(syscall.Timespec{})) {
			return (*syscall.Timespec)(unsafe.Pointer(&oob[hdr])).Nano()
		}
		oob = oob[min(syscall.CmsgSpace(l-hdr), len(oob)):]
	}
	return 0
}

// received returns when the latest data read from conn reached the machine, on
// now's monotonic clock; now itself when conn has no kernel timestamp (or an
// implausible one: in the future, or from before a clock step).
func received(conn net.Conn, now time.Time) time.Time {
	c, ok := conn.(*rxConn)
	if !ok {
		return now
	}
	ns := c.last.Load()
	if ns == 0 {
		return now
	}
	d := time.Unix(0, ns).Sub(now) // wall clock difference: ≤ 0
	if d > 0 || d < -10*time.Second {
		return now
	}
	return now.Add(d)
}
