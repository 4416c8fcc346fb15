package ollama_test

import (
	"bufio"
	"bytes"
	"fmt"
	"net/http"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/llmbench/llmbench/backends/ollama/ollamatest"
)

// listener is one listening TCP socket read from /proc/net/tcp or tcp6.
type listener struct {
	addr  string // the local address as the kernel writes it, hex
	port  int
	inode string
}

// loopback reports whether the socket is bound to a loopback address
// (127.0.0.0/8 or ::1, or ::ffff:127.x), not to every interface or another one.
func (l listener) loopback() bool {
	switch len(l.addr) {
	case 8: // IPv4, little-endian: 0100007F is 127.0.0.1
		return strings.HasSuffix(l.addr, "7F")
	case 32:
		return l.addr == "00000000000000000000000001000000" || // ::1
			strings.HasPrefix(l.addr, "0000000000000000FFFF0000") && strings.HasSuffix(l.addr, "7F")
	}
	return false
}

// listeners returns every listening TCP socket of this network namespace.
func listeners(t *testing.T) []listener {
	t.Helper()
	var out []listener
	for _, f := range []string{"/proc/net/tcp", "/proc/net/tcp6"} {
		data, err := os.ReadFile(f)
		if err != nil {
			t.Skipf("no %s: %v", f, err)
		}
		sc := bufio.NewScanner(bytes.NewReader(data))
		sc.Scan() // the header
		for sc.Scan() {
			fs := strings.Fields(sc.Text())
			if len(fs) < 10 || fs[3] != "0A" { // 0A: LISTEN
				continue
			}
			host, port, _ := strings.Cut(fs[1], ":")
			p, _ := strconv.ParseInt(port, 16, 32)
			out = append(out, listener{addr: host, port: int(p), inode: fs[9]})
		}
	}
	return out
}

// socketInodes returns the inodes of the sockets process pid holds open.
func socketInodes(t *testing.T, pid int) map[string]bool {
	t.Helper()
	ents, err := os.ReadDir(fmt.Sprintf("/proc/%d/fd", pid))
	if err != nil {
		t.Fatalf("reading the fds of pid %d: %v", pid, err)
	}
	inodes := map[string]bool{}
	for _, e := range ents {
		link, err := os.Readlink(filepath.Join(fmt.Sprintf("/proc/%d/fd", pid), e.Name()))
		if err == nil && strings.HasPrefix(link, "socket:[") {
			inodes[strings.TrimSuffix(strings.TrimPrefix(link, "socket:["), "]")] = true
		}
	}
	return inodes
}

// children returns the pids whose parent is pid (Ollama's model runners).
func children(pid int) []int {
	var out []int
	ents, _ := os.ReadDir("/proc")
	for _, e := range ents {
		c, err := strconv.Atoi(e.Name())
		if err != nil {
			continue
		}
		stat, err := os.ReadFile(filepath.Join("/proc", e.Name(), "stat"))
		if err != nil {
			continue
		}
		// pid (comm) state ppid …: comm may hold spaces, so split after ')'.
		if i := bytes.LastIndexByte(stat, ')'); i > 0 {
			if fs := strings.Fields(string(stat[i+1:])); len(fs) > 1 && fs[1] == strconv.Itoa(pid) {
				out = append(out, c)
			}
		}
	}
	return out
}

// TestManagedServerListensOnLoopbackOnly starts the managed Ollama server, loads
// a synthetic model so that a runner starts too, and checks every listening
// socket the server and its runners hold: each must be bound to a loopback
// address, and the server's must be the port of its URL.
func TestManagedServerListensOnLoopbackOnly(t *testing.T) {
	srv := ollamatest.Start(t)
	name := ollamatest.Synthetic(t, srv, "tiny-llama")
	body := fmt.Sprintf(`{"model":%q,"prompt":"hi","stream":false,"options":{"num_predict":1}}`, name)
	resp, err := (&http.Client{Timeout: 2 * time.Minute}).Post(srv.URL.String()+"/api/generate", "application/json", strings.NewReader(body))
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		t.Fatalf("generate: %s", resp.Status)
	}

	all := listeners(t)
	port, _ := strconv.Atoi(srv.URL.Port())
	pids := append([]int{srv.PID()}, children(srv.PID())...)
	if len(pids) < 2 {
		t.Errorf("no runner process under the server (pid %d) after a generation: the runners went unchecked", srv.PID())
	}
	serverPort := false
	for _, pid := range pids {
		inodes := socketInodes(t, pid)
		for _, l := range all {
			if !inodes[l.inode] {
				continue
			}
			if !l.loopback() {
				t.Errorf("pid %d (server %d) listens on %s port %d: not a loopback address", pid, srv.PID(), l.addr, l.port)
			}
			if pid == srv.PID() && l.port == port {
				serverPort = true
			}
		}
	}
	if !serverPort {
		t.Errorf("found no listening socket of the server (pid %d) on its URL's port %d", srv.PID(), port)
	}
}
