package main

import (
	"bytes"
	"context"
	"os"
	"path/filepath"
	"regexp"
	"slices"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	"golang.org/x/perf/benchfmt"
)

// TestDriversAgree runs `llmbench run` on the configuration that make bench-smoke
// ran through `go test -bench` and compares the two outputs: the same benchmark
// names, each with the same units. Both drive bench.Suite.Cases, so a case or a
// metric that only one front end has is a defect. make bench-smoke sets
// LLMBENCH_SMOKE_GOTEST to the go test output, LLMBENCH_SMOKE_CONFIG to its
// configuration and LLMBENCH_SMOKE_DIR to the folder it ran in; without them the
// test skips.
func TestDriversAgree(t *testing.T) {
	gotest, cfg := os.Getenv("LLMBENCH_SMOKE_GOTEST"), os.Getenv("LLMBENCH_SMOKE_CONFIG")
	if gotest == "" || cfg == "" {
		t.Skip("skipping: run by make bench-smoke (LLMBENCH_SMOKE_GOTEST, LLMBENCH_SMOKE_CONFIG)")
	}
	t.Chdir(os.Getenv("LLMBENCH_SMOKE_DIR")) // the configuration's paths are relative to it
	want := unitsByName(t, gotest)
	require.NotEmpty(t, want)
	out := t.TempDir()
	var stdout, stderr bytes.Buffer
	err := run(context.Background(), &stdout, &stderr, []string{"run", "-q", "--config", cfg, "-o", out, "--iterations", "1"})
	t.Log(stderr.String())
	require.NoError(t, err)
	got := unitsByName(t, filepath.Join(out, "bench.txt"))
	assert.Equal(t, want, got, "go test -bench and llmbench run: the same cases with the same metrics")
}

var procsSuffix = regexp.MustCompile(`-\d+$`)

// unitsByName reads a benchmark file: each benchmark's name (without the
// -GOMAXPROCS suffix) and the sorted units of its lines.
func unitsByName(t *testing.T, path string) map[string][]string {
	t.Helper()
	f, err := os.Open(path)
	require.NoError(t, err)
	defer f.Close()
	out := map[string][]string{}
	r := benchfmt.NewReader(f, path)
	for r.Scan() {
		res, ok := r.Result().(*benchfmt.Result)
		if !ok {
			continue
		}
		name := procsSuffix.ReplaceAllString(string(res.Name), "")
		for _, v := range res.Values {
			if !slices.Contains(out[name], v.Unit) {
				out[name] = append(out[name], v.Unit)
			}
		}
		slices.Sort(out[name])
	}
	require.NoError(t, r.Err())
	return out
}
