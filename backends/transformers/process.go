package transformers

import (
	"bufio"
	"bytes"
	"encoding/json"
	"errors"
	"io"
	"os"
	"os/exec"
	"strings"
	"sync"
	"time"
)

// line is one line of the worker's stdout and the client time it was read.
type line struct {
	t    time.Time
	data []byte
}

// process is a running worker: its pipes, a goroutine that timestamps its stdout
// lines, and the tail of its stderr.
type process struct {
	cmd   *exec.Cmd
	stdin io.WriteCloser
	wmu   sync.Mutex // serialises writes to stdin

	// lines carries stdout, one line at a time; it is closed once the process has
	// exited and its stderr has been read to the end.
	lines  chan line
	quit   chan struct{} // closed to let the reader drop lines nobody will read
	exited chan struct{} // closed after Wait returned
	werr   error         // Wait's error, set before exited is closed

	stderr *tail
}

// start runs python with the worker script and begins reading its output.
func start(python, script string, env []string, stderrCopy io.Writer) (*process, error) {
	cmd := exec.Command(python, "-u", script)
	cmd.Env = append(os.Environ(), "PYTHONUNBUFFERED=1")
	cmd.Env = append(cmd.Env, env...)
	p := &process{
		cmd:    cmd,
		lines:  make(chan line, 1024),
		quit:   make(chan struct{}),
		exited: make(chan struct{}),
		stderr: newTail(64 << 10),
	}
	if stderrCopy != nil {
		cmd.Stderr = io.MultiWriter(p.stderr, stderrCopy)
	} else {
		cmd.Stderr = p.stderr
	}
	// Wait gives up on the stderr copy this long after the process exits, in case
	// something the worker started still holds the pipe.
	cmd.WaitDelay = 2 * time.Second
	stdin, err := cmd.StdinPipe()
	if err != nil {
		return nil, err
	}
	stdout, err := cmd.StdoutPipe()
	if err != nil {
		return nil, err
	}
	p.stdin = stdin
	if err := cmd.Start(); err != nil {
		return nil, err
	}
	go p.read(stdout)
	return p, nil
}

// read timestamps each stdout line as it arrives, then reaps the process.
func (p *process) read(stdout io.Reader) {
	br := bufio.NewReaderSize(stdout, 64<<10)
	dropping := false
	for {
		b, err := br.ReadBytes('\n')
		t := time.Now()
		if len(bytes.TrimSpace(b)) > 0 && !dropping {
			select {
			case p.lines <- line{t: t, data: b}:
			case <-p.quit:
				dropping = true
			}
		}
		if err != nil {
			break
		}
	}
	p.werr = p.cmd.Wait()
	close(p.exited)
	close(p.lines)
}

// send writes one request line.
func (p *process) send(v any) error {
	b, err := json.Marshal(v)
	if err != nil {
		return err
	}
	b = append(b, '\n')
	p.wmu.Lock()
	defer p.wmu.Unlock()
	_, err = p.stdin.Write(b)
	return err
}

// alive reports whether the process is still running.
func (p *process) alive() bool {
	select {
	case <-p.exited:
		return false
	default:
		return true
	}
}

// exitError describes how the process ended, with the last lines of its stderr.
// Call it only after exited is closed.
func (p *process) exitError() error {
	status := "exit status 0"
	if p.werr != nil {
		status = p.werr.Error()
	}
	return &exitError{Status: status, Stderr: p.stderr.lastLines(12), Err: p.werr}
}

// kill stops the process at once and waits until it is reaped.
func (p *process) kill() {
	p.stop()
	if p.alive() {
		_ = p.cmd.Process.Kill()
	}
	<-p.exited
}

// stop tells the reader that nobody will read further lines.
func (p *process) stop() {
	select {
	case <-p.quit:
	default:
		close(p.quit)
	}
}

// shutdown asks the worker to exit, closes its stdin, and kills it when it has not
// exited within d. It reports whether it had to kill.
func (p *process) shutdown(d time.Duration) (killed bool) {
	p.stop()
	_ = p.send(opRequest{Op: "shutdown"})
	p.wmu.Lock()
	_ = p.stdin.Close()
	p.wmu.Unlock()
	select {
	case <-p.exited:
		return false
	case <-time.After(d):
		p.kill()
		return true
	}
}

// exitError is a worker that ended: how, and what it last wrote to stderr.
type exitError struct {
	Status string
	Stderr string
	Err    error
}

func (e *exitError) Error() string {
	if e.Stderr == "" {
		return "worker exited (" + e.Status + ") with no stderr output"
	}
	return "worker exited (" + e.Status + "): " + e.Stderr
}

func (e *exitError) Unwrap() error { return e.Err }

// tail keeps the last max bytes written to it.
type tail struct {
	mu  sync.Mutex
	buf []byte
	max int
}

func newTail(max int) *tail { return &tail{max: max} }

func (t *tail) Write(b []byte) (int, error) {
	t.mu.Lock()
	defer t.mu.Unlock()
	t.buf = append(t.buf, b...)
	if over := len(t.buf) - t.max; over > 0 {
		t.buf = append(t.buf[:0], t.buf[over:]...)
	}
	return len(b), nil
}

// lastLines returns the last n non-blank lines, joined by newlines.
func (t *tail) lastLines(n int) string {
	t.mu.Lock()
	text := string(t.buf)
	t.mu.Unlock()
	var keep []string
	lines := strings.Split(text, "\n")
	for i := len(lines) - 1; i >= 0 && len(keep) < n; i-- {
		if l := strings.TrimRight(lines[i], " \r\t"); strings.TrimSpace(l) != "" {
			keep = append(keep, l)
		}
	}
	for i, j := 0, len(keep)-1; i < j; i, j = i+1, j-1 {
		keep[i], keep[j] = keep[j], keep[i]
	}
	return strings.Join(keep, "\n")
}

// errClosed is returned by a Backend used after Close.
var errClosed = errors.New("backend closed")
