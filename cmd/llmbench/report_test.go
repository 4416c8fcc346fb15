package main

import (
	"bytes"
	"context"
	"errors"
	"flag"
	"fmt"
	"image/png"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

func init() {
	// Another test file of this package may define -update too.
	if flag.Lookup("update") == nil {
		flag.Bool("update", false, "rewrite the golden files in testdata")
	}
}

func updating() bool {
	f := flag.Lookup("update")
	return f != nil && f.Value.String() == "true"
}

// runCLI runs the command as main would and returns its exit status.
func runCLI(t *testing.T, args ...string) (code int, stdout, stderr string) {
	t.Helper()
	var out, errb bytes.Buffer
	err := run(context.Background(), &out, &errb, args)
	if err != nil {
		var ee *exitError
		if errors.As(err, &ee) {
			code = ee.code
			if ee.err != nil {
				fmt.Fprintln(&errb, "llmbench:", ee.err)
			}
		} else {
			code = 2
			fmt.Fprintln(&errb, "llmbench:", err)
		}
	}
	return code, out.String(), errb.String()
}

// goldenRun runs args (with $OUT replaced by a temporary folder) and compares
// the exit status, stdout and stderr with testdata/report/NAME.golden.
func goldenRun(t *testing.T, name string, wantCode int, args ...string) string {
	t.Helper()
	out := t.TempDir()
	for i, a := range args {
		args[i] = strings.ReplaceAll(a, "$OUT", out)
	}
	code, stdout, stderr := runCLI(t, args...)
	got := fmt.Sprintf("llmbench %s\nexit: %d\n-- stdout --\n%s-- stderr --\n%s",
		strings.Join(args, " "), code, stdout, stderr)
	got = strings.ReplaceAll(got, out, "$OUT")
	path := filepath.Join("testdata", "report", name+".golden")
	if updating() {
		require.NoError(t, os.WriteFile(path, []byte(got), 0o644))
	} else {
		want, err := os.ReadFile(path)
		require.NoError(t, err, "go test -update creates it")
		if got != string(want) {
			_ = os.WriteFile(path+".got-", []byte(got), 0o644)
			t.Errorf("%s: output differs from the golden file; diff it with %s.got- (go test -update accepts it)", name, path)
		}
	}
	assert.Equal(t, wantCode, code, "exit status of %s\nstderr:\n%s", name, stderr)
	return out
}

const td = "testdata/report/"

func TestReportCommand(t *testing.T) {
	out := goldenRun(t, "report", 0, "report", td+"base.txt", "-o", "$OUT")
	for _, f := range []string{"results.csv", "summary.md", "report.html", "latency.png", "latency.svg", "memory.png",
		"throughput.png", "ttft.png", "throughput-params.png", "ttft-cdf.png", "tpot-cdf.png"} {
		assert.FileExists(t, filepath.Join(out, f))
	}
	data, err := os.ReadFile(filepath.Join(out, "latency.png"))
	require.NoError(t, err)
	cfg, err := png.DecodeConfig(bytes.NewReader(data))
	require.NoError(t, err)
	assert.Equal(t, [2]int{960, 600}, [2]int{cfg.Width, cfg.Height})
}

func TestReportCommandErrors(t *testing.T) {
	// A malformed line is reported with file:line; the rest is kept.
	goldenRun(t, "report-malformed", 0, "report", "-o", "$OUT", td+"malformed.txt")
	goldenRun(t, "report-missing", 2, "report", "-o", "$OUT", td+"missing.txt")
	goldenRun(t, "report-benchstat", 2, "report", "-o", "$OUT", td+"benchstat.csv")
	code, _, stderr := runCLI(t, "report")
	assert.Equal(t, 2, code)
	assert.Contains(t, stderr, "report: no input files")
}

func TestCompareCommand(t *testing.T) {
	out := goldenRun(t, "compare", 0, "compare", td+"base.txt", td+"regression.txt", "-o", "$OUT")
	for _, f := range []string{"compare.csv", "compare.md", "compare.html", "compare.png", "compare.svg"} {
		assert.FileExists(t, filepath.Join(out, f))
	}
	goldenRun(t, "compare-benchstat", 0, "compare", "-o", "$OUT", td+"benchstat.csv")
	goldenRun(t, "compare-one-file", 2, "compare", "-o", "$OUT", td+"base.txt")
	goldenRun(t, "compare-no-common", 2, "compare", "-o", "$OUT", td+"base.txt", td+"other.txt")
}

func TestGateCommand(t *testing.T) {
	for _, c := range []struct {
		name string
		code int
		args []string
	}{
		{"gate-regression", 1, []string{td + "base.txt", td + "regression.txt", "--max-regression", "5%"}},
		{"gate-noise", 0, []string{td + "base.txt", td + "noise.txt"}},
		{"gate-improvement", 0, []string{td + "base.txt", td + "improvement.txt"}},
		{"gate-threshold", 0, []string{"--max-regression", "25%", td + "base.txt", td + "regression.txt"}},
		{"gate-metrics", 0, []string{td + "base.txt", td + "regression.txt", "--metrics", "peak_rss_B"}},
		{"gate-benchstat", 1, []string{"--metrics", "ttft-ns/op", td + "benchstat.csv"}},
		{"gate-missing-metric", 2, []string{"--metrics", "ttft-ns/op,peak-vram-B", td + "base.txt", td + "regression.txt"}},
		{"gate-malformed", 2, []string{td + "base.txt", td + "malformed.txt"}},
		{"gate-missing-file", 2, []string{td + "base.txt", td + "missing.txt"}},
		{"gate-no-common", 2, []string{td + "base.txt", td + "other.txt"}},
		{"gate-few-samples", 2, []string{td + "base.txt", td + "small.txt"}},
		{"gate-bad-threshold", 2, []string{"--max-regression", "5", td + "base.txt", td + "regression.txt"}},
		// What the new run lacks fails the gate, each listed by name; what
		// only the new run has is listed.
		{"gate-missing-benchmark", 1, []string{td + "base.txt", td + "lost-model.txt"}},
		{"gate-missing-metric-new-side", 1, []string{td + "base.txt", td + "lost-metric.txt"}},
		{"gate-new-only", 0, []string{td + "lost-model.txt", td + "base.txt"}},
		{"gate-allow-missing", 0, []string{"--allow-missing", td + "base.txt", td + "lost-model.txt"}},
		{"gate-missing-named-metric", 1, []string{"--metrics", "tokens/s", td + "base.txt", td + "lost-metric.txt"}},
		// One-shot figures, once per model (on every case line in the old
		// file, on stage lines in the new), 3× worse: not tested unless
		// named, and then one sample per model side cannot be significant.
		{"gate-one-shot-excluded", 0, []string{td + "oneshot-base.txt", td + "oneshot-new.txt"}},
		{"gate-one-shot-cases", 0, []string{td + "oneshot-base.txt", td + "oneshot-cases.txt"}},
		{"gate-one-shot-named", 2, []string{"--metrics", "load-ns", td + "oneshot-base.txt", td + "oneshot-new.txt"}},
	} {
		t.Run(c.name, func(t *testing.T) {
			goldenRun(t, c.name, c.code, append([]string{"gate"}, c.args...)...)
		})
	}
}

func TestGateMessages(t *testing.T) {
	// The messages a person acts on, independent of the golden files.
	for _, c := range []struct {
		args []string
		want string
	}{
		{[]string{td + "base.txt", td + "malformed.txt"}, "malformed.txt:20: parsing measurement"},
		{[]string{"--metrics", "peak-vram-B", td + "base.txt", td + "regression.txt"}, "peak-vram-B: not in both base.txt and regression.txt"},
		{[]string{td + "base.txt", td + "missing.txt"}, "missing.txt: no such file or directory"},
		{[]string{td + "base.txt", td + "other.txt"}, "no benchmarks in common"},
		{[]string{td + "base.txt", td + "small.txt"}, "with 6+2 samples no difference can be significant"},
		{[]string{"--max-regression", "5", td + "base.txt", td + "regression.txt"}, "did you mean 5%?"},
	} {
		code, _, stderr := runCLI(t, append([]string{"gate"}, c.args...)...)
		assert.Equal(t, 2, code, c.args)
		assert.Contains(t, stderr, c.want)
	}
	code, stdout, _ := runCLI(t, "gate", td+"base.txt", td+"regression.txt")
	assert.Equal(t, 1, code)
	assert.True(t, strings.HasPrefix(stdout, "## Benchmark gate: FAIL, 20 regressions\n"), stdout)
	assert.Contains(t, stdout, "| Generate/model=synth-tiny/prompt=short | `ttft-ns/op` | 29.6 ms ±2% | 35.9 ms ±3% | +21.42% | 0.002 | 6 |")
}

func TestReportOneShot(t *testing.T) {
	// The load figures once per model, whether a stage line or every case
	// line carried them.
	goldenRun(t, "report-one-shot", 0, "report", td+"oneshot-new.txt", "-o", "$OUT")
	for _, f := range []string{"oneshot-base.txt", "oneshot-new.txt"} {
		code, stdout, _ := runCLI(t, "report", td+f, "-o", t.TempDir())
		assert.Equal(t, 0, code)
		assert.Contains(t, stdout, "### Once per model: load")
		assert.Contains(t, stdout, "| synth-tiny *(synthetic)* | 1 |", f)
	}
}

func TestParseFraction(t *testing.T) {
	for in, want := range map[string]float64{"5%": 0.05, "0.05": 0.05, "12.5%": 0.125, "1": 1} {
		got, err := parseFraction(in)
		require.NoError(t, err, in)
		assert.InDelta(t, want, got, 1e-12, in)
	}
	for _, in := range []string{"5", "-1%", "five"} {
		_, err := parseFraction(in)
		assert.Error(t, err, in)
	}
}
