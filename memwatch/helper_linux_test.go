package memwatch

import (
	"bufio"
	"flag"
	"fmt"
	"io"
	"net"
	"os"
	"os/exec"
	"runtime"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"

	"golang.org/x/sys/unix"
)

// The test binary re-executes itself as the processes it measures: with
// MEMWATCH_HELPER set, TestMain runs the helper instead of the tests.
const helperEnv = "MEMWATCH_HELPER"

func TestMain(m *testing.M) {
	if mode := os.Getenv(helperEnv); mode != "" {
		helperMain(mode)
		os.Exit(0)
	}
	flag.Parse()
	if f := flag.Lookup("test.bench"); f != nil && f.Value.String() != "" {
		fmt.Println("Unit cpu-% better=lower")
		fmt.Println("Unit cpu-ns/sample better=lower")
	}
	os.Exit(m.Run())
}

// helperMain runs one helper:
//
//	mem      reads commands on stdin, answers "ok" to each: "touch N" maps N MiB
//	         and writes every page, "free" unmaps it all,
//	         "spike N" touches N MiB and gives it back at once, "exit" exits.
//	hold:N   touches N MiB, prints "ready PID" and sleeps until killed.
//	server   starts children described by MEMWATCH_CHILDREN ("runner:40,other:60"),
//	         prints "child PID" for each once it is ready, then waits for stdin to close.
//	listen   listens on 127.0.0.1:0, prints the port, waits for stdin to close.
func helperMain(mode string) {
	switch {
	case mode == "mem":
		var held [][]byte
		sc := bufio.NewScanner(os.Stdin)
		for sc.Scan() {
			f := strings.Fields(sc.Text())
			switch {
			case len(f) == 2 && f[0] == "touch":
				n, _ := strconv.Atoi(f[1])
				held = append(held, touch(n))
			case len(f) == 2 && f[0] == "spike":
				n, _ := strconv.Atoi(f[1])
				unix.Munmap(touch(n))
			case len(f) == 1 && f[0] == "free":
				for _, b := range held {
					unix.Munmap(b)
				}
				held = nil
			case len(f) == 1 && f[0] == "exit":
				os.Exit(0)
			}
			fmt.Println("ok")
		}
	case strings.HasPrefix(mode, "hold:"):
		n, _ := strconv.Atoi(strings.TrimPrefix(mode, "hold:"))
		b := touch(n)
		fmt.Println("ready", os.Getpid())
		time.Sleep(time.Hour)
		runtime.KeepAlive(b)
	case mode == "server":
		var kids []*exec.Cmd
		for _, spec := range strings.Split(os.Getenv("MEMWATCH_CHILDREN"), ",") {
			name, mib, _ := strings.Cut(spec, ":")
			cmd := helperCmd("hold:"+mib, name, "--model", "fake")
			out, _ := cmd.StdoutPipe()
			if err := cmd.Start(); err != nil {
				fmt.Println("error", err)
				continue
			}
			kids = append(kids, cmd)
			line, _ := bufio.NewReader(out).ReadString('\n')
			pid, _ := strings.CutPrefix(strings.TrimSpace(line), "ready ")
			fmt.Println("child", pid)
		}
		fmt.Println("done")
		io.Copy(io.Discard, os.Stdin)
		for _, k := range kids {
			k.Process.Kill()
			k.Wait()
		}
	case mode == "listen":
		l, err := net.Listen("tcp", "127.0.0.1:0")
		if err != nil {
			fmt.Println("error", err)
			return
		}
		fmt.Println(l.Addr().(*net.TCPAddr).Port)
		io.Copy(io.Discard, os.Stdin)
		l.Close()
	}
}

// touch maps n MiB and writes one byte in every page. The memory is mapped
// directly, outside Go's heap, so that neither the garbage collector nor the race
// detector's shadow memory changes what the process holds; munmap gives it back.
func touch(n int) []byte {
	if n == 0 {
		return nil
	}
	b, err := unix.Mmap(-1, 0, n<<20, unix.PROT_READ|unix.PROT_WRITE, unix.MAP_PRIVATE|unix.MAP_ANONYMOUS)
	if err != nil {
		panic(err)
	}
	for i := 0; i < len(b); i += 4096 {
		b[i] = 1
	}
	return b
}

// helperCmd returns a command that runs this test binary as a helper; args follow
// the program name (so a "runner" argument shows in its command line). It dies
// with its parent.
func helperCmd(mode string, args ...string) *exec.Cmd {
	cmd := exec.Command(os.Args[0], args...)
	cmd.Env = append(os.Environ(), helperEnv+"="+mode, "GOMAXPROCS=1")
	cmd.SysProcAttr = &syscall.SysProcAttr{Pdeathsig: syscall.SIGKILL}
	return cmd
}

// memHelper is a running "mem" helper.
type memHelper struct {
	cmd *exec.Cmd
	in  io.WriteCloser
	out *bufio.Reader
}

func startMemHelper(t testing.TB) *memHelper {
	t.Helper()
	cmd := helperCmd("mem")
	in, err := cmd.StdinPipe()
	if err != nil {
		t.Fatal(err)
	}
	out, err := cmd.StdoutPipe()
	if err != nil {
		t.Fatal(err)
	}
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	h := &memHelper{cmd: cmd, in: in, out: bufio.NewReader(out)}
	t.Cleanup(func() {
		in.Close()
		cmd.Process.Kill()
		cmd.Wait()
	})
	h.do(t, "touch 0") // the runtime has started: its memory is not the case's
	return h
}

func (h *memHelper) pid() int { return h.cmd.Process.Pid }

// do sends one command and waits for its "ok".
func (h *memHelper) do(t testing.TB, command string) {
	t.Helper()
	if _, err := fmt.Fprintln(h.in, command); err != nil {
		t.Fatalf("helper %q: %v", command, err)
	}
	line, err := h.out.ReadString('\n')
	if err != nil || strings.TrimSpace(line) != "ok" {
		t.Fatalf("helper %q: answered %q, %v", command, line, err)
	}
}
