package main

import (
	"bytes"
	"context"
	"fmt"
	"io"
	"os"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	"golang.org/x/sys/unix"

	"github.com/llmbench/llmbench/backends"
)

// tickEngine is a test-only engine whose generations stream 4 tokens 15 ms apart,
// so that the progress bar redraws while results are written.
type tickEngine struct{}

func init() { backends.Register("tick", tickEngine{}) }

func (tickEngine) Configure(backends.Spec, func(any) error) (any, error) { return nil, nil }
func (tickEngine) Open(context.Context, backends.Spec, backends.Env) (backends.Backend, error) {
	return tickBackend{}, nil
}

type tickBackend struct{}

func (tickBackend) Generate(ctx context.Context, req backends.Request) (*backends.Result, error) {
	r := &backends.Result{Sent: time.Now(), Text: "a b c d", OutputTokens: req.MaxTokens, PromptTokens: 3}
	for range req.MaxTokens {
		time.Sleep(15 * time.Millisecond)
		r.Chunks = append(r.Chunks, time.Now())
	}
	r.Done = time.Now()
	return r, nil
}
func (tickBackend) Close() error { return nil }

// openPTY opens a pseudo-terminal: its master and its slave.
func openPTY(t *testing.T) (master, slave *os.File) {
	t.Helper()
	m, err := os.OpenFile("/dev/ptmx", os.O_RDWR, 0)
	if err != nil {
		t.Skipf("no pseudo-terminal here: %v", err)
	}
	require.NoError(t, unix.IoctlSetPointerInt(int(m.Fd()), unix.TIOCSPTLCK, 0))
	n, err := unix.IoctlGetInt(int(m.Fd()), unix.TIOCGPTN)
	require.NoError(t, err)
	s, err := os.OpenFile(fmt.Sprintf("/dev/pts/%d", n), os.O_RDWR|syscall.O_NOCTTY, 0)
	require.NoError(t, err)
	return m, s
}

// screenLines replays terminal output as a terminal shows it, line by line: a
// carriage return goes back to the line's start and later text overwrites it;
// escape sequences are dropped, ESC[K and ESC[J clear to the end of the line.
func screenLines(out string) []string {
	var lines []string
	var line []rune
	col := 0
	rs := []rune(out)
	for i := 0; i < len(rs); i++ {
		switch c := rs[i]; c {
		case '\r':
			col = 0
		case '\n':
			lines = append(lines, strings.TrimRight(string(line), " "))
			line, col = nil, 0
		case 0x1b:
			j := i + 1
			if j < len(rs) && rs[j] == '[' {
				for j++; j < len(rs) && !(rs[j] >= '@' && rs[j] <= '~'); j++ {
				}
				if j < len(rs) && (rs[j] == 'K' || rs[j] == 'J') && col < len(line) {
					line = line[:col]
				}
			}
			i = j
		default:
			if col < len(line) {
				line[col] = c
			} else {
				line = append(line, c)
			}
			col++
		}
	}
	return append(lines, string(line))
}

// TestProgressBarOnTerminal runs llmbench run with stdout and stderr on one
// pseudo-terminal, as a person does: every result line shows whole, from its
// start, never printed over the progress bar.
func TestProgressBarOnTerminal(t *testing.T) {
	master, slave := openPTY(t)
	defer master.Close()
	var screen bytes.Buffer
	var wg sync.WaitGroup
	wg.Add(1)
	go func() {
		defer wg.Done()
		io.Copy(&screen, master)
	}()
	cfg, _ := writeConfig(t, "prompts: $PROMPTS\nwarmup: 1\niterations: 3\noutput: $OUT\nmodels:\n  - {name: t, backend: tick, model: x, options: {max_tokens: 4}}\n")
	err := run(context.Background(), slave, slave, []string{"run", "--config", cfg})
	require.NoError(t, err)
	slave.Close()
	wg.Wait()

	var results int
	for _, l := range screenLines(screen.String()) {
		if !strings.Contains(l, "Benchmark") {
			continue
		}
		results++
		assert.True(t, strings.HasPrefix(l, "Benchmark"), "a result line shown from its start: %q", l)
		assert.NotContains(t, l, "%", "no progress bar in a result line: %q", l)
	}
	assert.Positive(t, results)
}
