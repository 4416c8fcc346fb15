package memwatch

import (
	"bufio"
	"context"
	"net"
	"os"
	"slices"
	"strconv"
	"strings"
	"syscall"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// startServer starts a fake `ollama serve`: a helper whose children are
// described by spec ("runner:40,other:60": name argument and MiB touched). It
// returns the server's PID and its children's, in spec order.
func startServer(t *testing.T, spec string) (int, []int) {
	t.Helper()
	cmd := helperCmd("server", "serve")
	cmd.Env = append(cmd.Env, "MEMWATCH_CHILDREN="+spec)
	in, err := cmd.StdinPipe()
	require.NoError(t, err)
	out, err := cmd.StdoutPipe()
	require.NoError(t, err)
	require.NoError(t, cmd.Start())
	var kids []int
	t.Cleanup(func() {
		in.Close()
		cmd.Wait()
		for _, k := range kids {
			syscall.Kill(k, syscall.SIGKILL) // in case the server could not
		}
	})
	sc := bufio.NewScanner(out)
	for sc.Scan() && sc.Text() != "done" {
		pid, ok := strings.CutPrefix(sc.Text(), "child ")
		require.True(t, ok, "server said %q", sc.Text())
		n, err := strconv.Atoi(pid)
		require.NoError(t, err)
		kids = append(kids, n)
	}
	return cmd.Process.Pid, kids
}

func TestFindDescendant(t *testing.T) {
	server, kids := startServer(t, "runner:8,runner:40,other:60")
	require.Len(t, kids, 3)
	pid, err := FindDescendant(context.Background(), server, isRunner)
	require.NoError(t, err)
	assert.Equal(t, kids[1], pid, "the runner with the largest RSS, not the larger non-runner")
}

func TestFindDescendantNone(t *testing.T) {
	server, _ := startServer(t, "other:1")
	_, err := FindDescendant(context.Background(), server, isRunner)
	assert.ErrorIs(t, err, ErrNoMatch)
	assert.Contains(t, err.Error(), strconv.Itoa(server))

	_, err = FindDescendant(context.Background(), 1<<30, isRunner)
	assert.ErrorIs(t, err, ErrExited)

	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	_, err = FindDescendant(ctx, os.Getpid(), isRunner)
	assert.ErrorIs(t, err, context.Canceled)
}

// isRunner matches the helper's fake runners (argument "runner").
func isRunner(args []string) bool { return slices.Contains(args, "runner") }

func TestParseStat(t *testing.T) {
	line := "42 (a) b) (c) S 7 42 42 0 -1 4194560 1 0 0 0 0 0 0 0 20 0 1 0 12345 1000 10 18446744073709551615\n"
	p, ok := parseStat(42, []byte(line))
	require.True(t, ok)
	assert.Equal(t, procInfo{pid: 42, ppid: 7, start: 12345}, p)
	_, ok = parseStat(1, []byte("1 (x) S 0"))
	assert.False(t, ok)
}

func TestPIDByListenPort(t *testing.T) {
	l, err := net.Listen("tcp", "127.0.0.1:0")
	require.NoError(t, err)
	defer l.Close()
	port := l.Addr().(*net.TCPAddr).Port
	pid, err := PIDByListenPort(port)
	require.NoError(t, err)
	assert.Equal(t, os.Getpid(), pid)

	cmd := helperCmd("listen")
	in, err := cmd.StdinPipe()
	require.NoError(t, err)
	out, err := cmd.StdoutPipe()
	require.NoError(t, err)
	require.NoError(t, cmd.Start())
	defer func() { in.Close(); cmd.Wait() }()
	line, err := bufio.NewReader(out).ReadString('\n')
	require.NoError(t, err)
	childPort, err := strconv.Atoi(strings.TrimSpace(line))
	require.NoError(t, err, "helper said %q", line)
	pid, err = PIDByListenPort(childPort)
	require.NoError(t, err)
	assert.Equal(t, cmd.Process.Pid, pid)

	closed, err := net.Listen("tcp", "127.0.0.1:0")
	require.NoError(t, err)
	closedPort := closed.Addr().(*net.TCPAddr).Port
	closed.Close()
	_, err = PIDByListenPort(closedPort)
	assert.ErrorIs(t, err, ErrNoListener)

	_, err = PIDByListenPort(0)
	assert.Error(t, err)
}
