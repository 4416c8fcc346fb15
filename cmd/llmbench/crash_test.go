package main

import (
	"bytes"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	"golang.org/x/perf/benchfmt"
)

// TestMain makes the test binary the llmbench command when $LLMBENCH_AS_MAIN is set,
// so a test can run it as a process of its own (and kill it).
func TestMain(m *testing.M) {
	if os.Getenv("LLMBENCH_AS_MAIN") == "1" {
		main()
		os.Exit(0)
	}
	os.Exit(m.Run())
}

// TestKilledRunKeepsFinishedCases kills `llmbench run` with SIGKILL in the middle
// of a run: bench.txt parses, and holds every result line written before the kill,
// whole (each reaches the file when its window ends).
func TestKilledRunKeepsFinishedCases(t *testing.T) {
	cfg, out := writeConfig(t, "prompts: $PROMPTS\nwarmup: 0\niterations: 50\noutput: $OUT\nmodels:\n  - {name: t, backend: tick, model: x, options: {max_tokens: 4}}\n")
	cmd := exec.Command(os.Args[0], "run", "-q", "--config", cfg)
	cmd.Env = append(os.Environ(), "LLMBENCH_AS_MAIN=1")
	var stdout bytes.Buffer
	cmd.Stdout = &stdout
	require.NoError(t, cmd.Start())
	raw := filepath.Join(out, "bench.txt")
	deadline := time.Now().Add(30 * time.Second)
	for time.Now().Before(deadline) {
		data, _ := os.ReadFile(raw)
		if strings.Count(string(data), "\nBenchmark") >= 5 {
			break
		}
		time.Sleep(10 * time.Millisecond)
	}
	require.NoError(t, cmd.Process.Signal(syscall.SIGKILL))
	cmd.Wait()

	data, err := os.ReadFile(raw)
	require.NoError(t, err)
	r := benchfmt.NewReader(bytes.NewReader(data), raw)
	results := 0
	for r.Scan() {
		switch rec := r.Result().(type) {
		case *benchfmt.SyntaxError:
			t.Errorf("a half-written line: %v", rec)
		case *benchfmt.Result:
			results++
			_, ok := rec.Value("ttft-sec/op")
			assert.True(t, ok, "%s: a whole line", rec.Name)
		}
	}
	require.NoError(t, r.Err())
	assert.GreaterOrEqual(t, results, 5, "every finished case is kept")
	assert.Less(t, results, 100, "killed before the end")
	assert.True(t, bytes.HasSuffix(data, []byte("\n")), "the file ends with a whole line")
}

// TestFullDiskFailsAtFirstWrite: bench.txt on a full disk (/dev/full) or an
// output folder that cannot be made is a clear error at once, naming the file,
// before any engine starts.
func TestFullDiskFailsAtFirstWrite(t *testing.T) {
	if _, err := os.Stat("/dev/full"); err != nil {
		t.Skip("no /dev/full here")
	}
	cfg, out := writeConfig(t, "prompts: $PROMPTS\noutput: $OUT\nmodels:\n  - {name: t, backend: tick, model: x, options: {max_tokens: 4}}\n")
	require.NoError(t, os.MkdirAll(out, 0o755))
	require.NoError(t, os.Symlink("/dev/full", filepath.Join(out, "bench.txt")))
	var stdout, stderr bytes.Buffer
	start := time.Now()
	err := run(t.Context(), &stdout, &stderr, []string{"run", "-q", "--config", cfg})
	require.Error(t, err)
	assert.Contains(t, err.Error(), "bench.txt: no space left on device")
	assert.Less(t, time.Since(start), 5*time.Second, "at the first write, not after the run")

	cfg, _ = writeConfig(t, "prompts: $PROMPTS\noutput: "+filepath.Join(cfg, "out")+"\nmodels:\n  - {name: t, backend: tick, model: x}\n")
	err = run(t.Context(), &stdout, &stderr, []string{"run", "-q", "--config", cfg})
	require.Error(t, err)
	assert.Contains(t, err.Error(), "not a directory")
}
