package memwatch

import (
	"bytes"
	"cmp"
	"context"
	"fmt"
	"os"
	"slices"
	"strconv"
	"strings"

	gnet "github.com/shirou/gopsutil/v4/net"
)

// FindDescendant returns the PID of the descendant of root whose command line
// match accepts: for a server that starts worker processes (`ollama serve` and its
// runners), the process that holds the weights and does the work.
//
// With several matches (several models loaded, or a short-lived one probing
// devices) it returns the one with the largest RSS, the newest among equals: the
// one that holds a model. With none, the error wraps [ErrNoMatch]. A root that does
// not exist gives an error wrapping [ErrExited]. ctx cancels the scan of /proc.
func FindDescendant(ctx context.Context, serverPID int, match func(args []string) bool) (int, error) {
	if _, err := os.Stat("/proc/" + strconv.Itoa(serverPID)); err != nil {
		return 0, fmt.Errorf("memwatch: pid %d: %w", serverPID, ErrExited)
	}
	procs, err := scanProcs(ctx)
	if err != nil {
		return 0, err
	}
	children := map[int][]int{}
	for _, p := range procs {
		children[p.ppid] = append(children[p.ppid], p.pid)
	}
	byPID := map[int]procInfo{}
	for _, p := range procs {
		byPID[p.pid] = p
	}
	var runners []procInfo
	queue := slices.Clone(children[serverPID])
	for len(queue) > 0 {
		pid := queue[0]
		queue = append(queue[1:], children[pid]...)
		p := byPID[pid]
		if match(readCmdline(pid)) {
			p.rss = readRSS(pid)
			runners = append(runners, p)
		}
	}
	if len(runners) == 0 {
		return 0, fmt.Errorf("memwatch: under pid %d: %w", serverPID, ErrNoMatch)
	}
	best := slices.MaxFunc(runners, func(a, b procInfo) int {
		if a.rss != b.rss {
			return cmp.Compare(a.rss, b.rss)
		}
		return cmp.Compare(a.start, b.start)
	})
	return best.pid, nil
}

type procInfo struct {
	pid, ppid int
	start     uint64 // start time in clock ticks after boot
	rss       uint64 // bytes, filled for candidates only
}

// scanProcs lists every process's parent and start time from /proc/*/stat.
// Processes that vanish during the scan are skipped.
func scanProcs(ctx context.Context) ([]procInfo, error) {
	ents, err := os.ReadDir("/proc")
	if err != nil {
		return nil, fmt.Errorf("memwatch: listing processes: %w", err)
	}
	var out []procInfo
	for _, e := range ents {
		pid, err := strconv.Atoi(e.Name())
		if err != nil {
			continue
		}
		if err := ctx.Err(); err != nil {
			return nil, err
		}
		b, err := os.ReadFile("/proc/" + e.Name() + "/stat")
		if err != nil {
			continue
		}
		if p, ok := parseStat(pid, b); ok {
			out = append(out, p)
		}
	}
	return out, nil
}

// parseStat reads ppid and starttime from /proc/PID/stat. The command name, in
// parentheses, may hold spaces and parentheses: fields are counted after the last ')'.
func parseStat(pid int, b []byte) (procInfo, bool) {
	i := bytes.LastIndexByte(b, ')')
	if i < 0 {
		return procInfo{}, false
	}
	f := bytes.Fields(b[i+1:])
	// f[0] is field 3 (state); ppid is field 4, starttime field 22.
	if len(f) < 20 {
		return procInfo{}, false
	}
	ppid, err1 := strconv.Atoi(string(f[1]))
	start, err2 := strconv.ParseUint(string(f[19]), 10, 64)
	if err1 != nil || err2 != nil {
		return procInfo{}, false
	}
	return procInfo{pid: pid, ppid: ppid, start: start}, true
}

// isAncestor tells whether a is a (grand)parent of pid.
func isAncestor(a, pid int) bool {
	for range 64 {
		b, err := os.ReadFile("/proc/" + strconv.Itoa(pid) + "/stat")
		if err != nil {
			return false
		}
		p, ok := parseStat(pid, b)
		if !ok {
			return false
		}
		if p.ppid == a {
			return true
		}
		if p.ppid <= 1 {
			return false
		}
		pid = p.ppid
	}
	return false
}

func readCmdline(pid int) []string {
	b, err := os.ReadFile("/proc/" + strconv.Itoa(pid) + "/cmdline")
	if err != nil || len(b) == 0 {
		return nil
	}
	return strings.Split(strings.TrimSuffix(string(b), "\x00"), "\x00")
}

func readRSS(pid int) uint64 {
	b, err := os.ReadFile("/proc/" + strconv.Itoa(pid) + "/statm")
	if err != nil {
		return 0
	}
	f := bytes.Fields(b)
	if len(f) < 2 {
		return 0
	}
	n, _ := strconv.ParseUint(string(f[1]), 10, 64)
	return n * uint64(os.Getpagesize())
}

// PIDByListenPort returns the PID of the local process that listens on TCP port
// (IPv4 or IPv6, any address), e.g. an `ollama serve` on 11434. With no listener
// the error wraps [ErrNoListener]. Finding the owner of another user's socket
// needs root (or the same user): without it the error says so.
func PIDByListenPort(port int) (int, error) {
	if port <= 0 || port > 65535 {
		return 0, fmt.Errorf("memwatch: invalid port %d", port)
	}
	conns, err := gnet.ConnectionsWithoutUidsWithContext(context.Background(), "tcp")
	if err != nil {
		return 0, fmt.Errorf("memwatch: listing TCP sockets: %w", err)
	}
	var pids []int
	unowned := false
	for _, c := range conns {
		if c.Status != "LISTEN" || c.Laddr.Port != uint32(port) {
			continue
		}
		if c.Pid <= 0 {
			unowned = true
			continue
		}
		if !slices.Contains(pids, int(c.Pid)) {
			pids = append(pids, int(c.Pid))
		}
	}
	switch {
	case len(pids) == 1:
		return pids[0], nil
	case len(pids) > 1:
		// A pre-forking server shares its socket with its workers: the parent of
		// all of them is the server.
		for _, p := range pids {
			if slices.IndexFunc(pids, func(q int) bool { return q != p && !isAncestor(p, q) }) < 0 {
				return p, nil
			}
		}
		slices.Sort(pids)
		return 0, fmt.Errorf("memwatch: several unrelated processes listen on port %d: %v", port, pids)
	case unowned:
		return 0, fmt.Errorf("memwatch: port %d: a socket listens but its process is not visible (another user's process: run as root or as that user)", port)
	}
	return 0, fmt.Errorf("memwatch: port %d: %w", port, ErrNoListener)
}
