package memwatch

import (
	"bytes"
	"errors"
	"fmt"
	"os"
	"strconv"
	"strings"

	"golang.org/x/sys/unix"
)

// procSource reads /proc/PID through files opened once. They stay bound to the
// process they were opened for: once it is reaped, reads fail with ESRCH, even
// if the PID is reused.
type procSource struct {
	pid      int
	name     string // comm, for messages
	dir      int    // O_PATH descriptor of /proc/PID
	status   int
	statm    int
	clear    int // clear_refs opened for writing, or -1
	pagesize uint64
}

// openSource opens pid's files. notice is "" when the exact method works, else
// why it does not.
func openSource(pid int, c config) (src source, notice string, err error) {
	p, err := openProc(pid)
	if err != nil {
		return nil, "", err
	}
	if c.sample {
		return p, "sampling forced", nil
	}
	if err := p.tryClearRefs(); err != nil {
		return p, err.Error(), nil
	}
	return p, "", nil
}

func openProc(pid int) (*procSource, error) {
	if pid <= 0 {
		return nil, fmt.Errorf("memwatch: invalid pid %d", pid)
	}
	dir, err := unix.Open("/proc/"+strconv.Itoa(pid), unix.O_PATH|unix.O_DIRECTORY|unix.O_CLOEXEC, 0)
	if err != nil {
		if errors.Is(err, unix.ENOENT) || errors.Is(err, unix.ESRCH) {
			return nil, fmt.Errorf("memwatch: pid %d: no such process: %w", pid, ErrExited)
		}
		return nil, fmt.Errorf("memwatch: pid %d: %w", pid, err)
	}
	p := &procSource{pid: pid, dir: dir, status: -1, statm: -1, clear: -1, pagesize: uint64(os.Getpagesize())}
	p.name = p.readName()
	if p.status, err = p.openat("status", unix.O_RDONLY); err == nil {
		p.statm, err = p.openat("statm", unix.O_RDONLY)
	}
	if err == nil {
		// A zombie or kernel thread has no memory to watch.
		_, err = p.hwm()
	}
	if err != nil {
		p.close()
		return nil, err
	}
	return p, nil
}

func (p *procSource) openat(name string, flags int) (int, error) {
	fd, err := unix.Openat(p.dir, name, flags|unix.O_CLOEXEC, 0)
	if err != nil {
		return -1, p.wrap(fmt.Sprintf("opening %s", name), err)
	}
	return fd, nil
}

func (p *procSource) readName() string {
	fd, err := unix.Openat(p.dir, "comm", unix.O_RDONLY|unix.O_CLOEXEC, 0)
	if err != nil {
		return "?"
	}
	defer unix.Close(fd)
	var buf [64]byte
	n, err := unix.Pread(fd, buf[:], 0)
	if err != nil || n <= 0 {
		return "?"
	}
	return strings.TrimSpace(string(buf[:n]))
}

// tryClearRefs opens clear_refs, resets VmHWM once and checks that the reset
// took: right after it VmHWM must be close to VmRSS (a sandbox may accept the
// write and ignore it).
func (p *procSource) tryClearRefs() error {
	fd, err := unix.Openat(p.dir, "clear_refs", unix.O_WRONLY|unix.O_CLOEXEC, 0)
	if err != nil {
		return fmt.Errorf("clear_refs: %w", err)
	}
	if _, err := unix.Write(fd, []byte("5")); err != nil {
		unix.Close(fd)
		return fmt.Errorf("clear_refs: %w", err)
	}
	hwm, rss, err := p.readStatus()
	if err != nil {
		unix.Close(fd)
		return err
	}
	if slack := rss/100 + 4<<20; hwm > rss+slack {
		unix.Close(fd)
		return fmt.Errorf("clear_refs accepted but VmHWM %d B stayed above VmRSS %d B", hwm, rss)
	}
	p.clear = fd
	return nil
}

func (p *procSource) resetHWM() error {
	if p.clear < 0 {
		return fmt.Errorf("memwatch: pid %d: clear_refs not open", p.pid)
	}
	if _, err := unix.Write(p.clear, []byte("5")); err != nil {
		return p.wrap("resetting VmHWM", err)
	}
	// Writing to a zombie's clear_refs succeeds: check it still has memory.
	_, err := p.hwm()
	return err
}

func (p *procSource) hwm() (uint64, error) {
	hwm, _, err := p.readStatus()
	return hwm, err
}

// readStatus returns VmHWM and VmRSS in bytes.
func (p *procSource) readStatus() (hwm, rss uint64, err error) {
	var buf [8192]byte
	n, err := unix.Pread(p.status, buf[:], 0)
	if err != nil {
		return 0, 0, p.wrap("reading status", err)
	}
	b := buf[:max(n, 0)]
	hwm, okH := statusKB(b, "VmHWM:")
	rss, okR := statusKB(b, "VmRSS:")
	if !okH || !okR {
		// Zombies and kernel threads have no Vm* lines.
		return 0, 0, p.exited()
	}
	return hwm, rss, nil
}

// statusKB finds "key  123 kB" in /proc/PID/status and returns it in bytes.
func statusKB(b []byte, key string) (uint64, bool) {
	i := bytes.Index(b, []byte("\n"+key))
	if i < 0 {
		return 0, false
	}
	line := b[i+1+len(key):]
	if j := bytes.IndexByte(line, '\n'); j >= 0 {
		line = line[:j]
	}
	f := bytes.Fields(line)
	if len(f) != 2 || string(f[1]) != "kB" {
		return 0, false
	}
	v, err := strconv.ParseUint(string(f[0]), 10, 64)
	if err != nil {
		return 0, false
	}
	return v << 10, true
}

func (p *procSource) current() (uint64, error) {
	var buf [256]byte
	n, err := unix.Pread(p.statm, buf[:], 0)
	if err != nil {
		return 0, p.wrap("reading statm", err)
	}
	// size resident shared text lib data dt, in pages.
	f := bytes.Fields(buf[:max(n, 0)])
	if len(f) < 2 {
		return 0, fmt.Errorf("memwatch: pid %d: short statm %q", p.pid, buf[:max(n, 0)])
	}
	pages, err := strconv.ParseUint(string(f[1]), 10, 64)
	if err != nil {
		return 0, fmt.Errorf("memwatch: pid %d: statm: %w", p.pid, err)
	}
	if pages == 0 {
		// A zombie's statm is all zeros.
		return 0, p.exited()
	}
	return pages * p.pagesize, nil
}

func (p *procSource) exited() error {
	return fmt.Errorf("memwatch: pid %d (%s): %w", p.pid, p.name, ErrExited)
}

// wrap turns ESRCH/ENOENT (the process was reaped) into ErrExited.
func (p *procSource) wrap(what string, err error) error {
	if errors.Is(err, unix.ESRCH) || errors.Is(err, unix.ENOENT) {
		return p.exited()
	}
	return fmt.Errorf("memwatch: pid %d (%s): %s: %w", p.pid, p.name, what, err)
}

func (p *procSource) close() error {
	for _, fd := range []*int{&p.clear, &p.statm, &p.status, &p.dir} {
		if *fd >= 0 {
			unix.Close(*fd)
			*fd = -1
		}
	}
	return nil
}
