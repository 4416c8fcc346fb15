package main

import (
	"bytes"
	"context"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/llmbench/llmbench/cluster/slurm"
)

// needSlurm skips unless a Slurm cluster is up (make test-slurm starts a local
// one and sets LLMBENCH_SLURM=1), and returns the llmbench binary the tasks
// run: $LLMBENCH_BIN, else one built for the test.
func needSlurm(t *testing.T) string {
	t.Helper()
	if os.Getenv("LLMBENCH_SLURM") == "" {
		t.Skip("needs a Slurm cluster: make test-slurm starts one on this machine")
	}
	needEngine(t)
	if bin := os.Getenv("LLMBENCH_BIN"); bin != "" {
		abs, err := filepath.Abs(bin)
		require.NoError(t, err)
		return abs
	}
	bin := filepath.Join(t.TempDir(), "llmbench")
	out, err := exec.Command("go", "build", "-o", bin, ".").CombinedOutput()
	require.NoError(t, err, "%s", out)
	return bin
}

const slurmConfig = `prompts: $PROMPTS
warmup: 1
iterations: 3
output: $OUT
models_dir: $MODELS
ollama: {manage: always}
models:
  - name: tiny-llama
    backend: ollama
    model: synthetic:tiny-llama
    options: {max_tokens: 16, threads: 1, context: 512}
  - name: tiny-gpt2
    backend: ollama
    model: synthetic:tiny-gpt2:q8_0
    options: {max_tokens: 16, threads: 1, context: 512}
`

// TestSlurmArray runs the tiny models as a two-task array on the real cluster
// and the real engine (each task its own private Ollama), merges it, and reads
// it with stock benchstat: one table per model, each model's every prompt.
func TestSlurmArray(t *testing.T) {
	bin := needSlurm(t)
	cfg, _ := writeConfig(t, slurmConfig)
	out := filepath.Join(filepath.Dir(cfg), "job")
	var stdout, stderr bytes.Buffer
	ctx, cancel := context.WithTimeout(context.Background(), 4*time.Minute)
	defer cancel()
	err := run(ctx, &stdout, &stderr, []string{"slurm", "--shards", "2", "--config", cfg, "-o", out,
		"--llmbench", bin, "--cpus-per-task", "1", "--mem", "2G", "--time", "10:00", "--poll", "1s"})
	t.Log(stderr.String())
	if err != nil {
		for i := range 2 {
			log, _ := os.ReadFile(filepath.Join(out, "logs", fmt.Sprintf("task-%d.log", i)))
			t.Logf("task %d log:\n%s", i, log)
		}
	}
	require.NoError(t, err)
	assert.Contains(t, stderr.String(), "merged 2 shards into "+filepath.Join(out, "bench.txt"))
	assert.FileExists(t, filepath.Join(out, "results.csv"))

	bs, err := exec.Command("go", "tool", "benchstat", filepath.Join(out, "bench.txt")).CombinedOutput()
	require.NoError(t, err, "%s", bs)
	t.Logf("benchstat:\n%s", bs)
	tables := benchstatTables(string(bs), "sec/op")
	require.Len(t, tables, 2, "one sec/op table per model")
	var models []string
	for _, rows := range tables {
		ms := map[string]bool{}
		for _, r := range rows {
			ms[strings.Split(strings.SplitN(r, "model=", 2)[1], "/")[0]] = true
		}
		require.Len(t, ms, 1, "a table of one model: %v", rows)
		for m := range ms {
			models = append(models, m)
		}
		assert.Len(t, rows, 3, "both prompts and the model's stage=load line: %v", rows)
	}
	slices.Sort(models)
	assert.Equal(t, []string{"tiny-gpt2", "tiny-llama"}, models)
}

// benchstatTables returns the benchmark rows of each of benchstat's tables of
// unit.
func benchstatTables(out, unit string) [][]string {
	var tables [][]string
	in := false
	for _, line := range strings.Split(out, "\n") {
		switch {
		case strings.Contains(line, "│") && slices.Contains(strings.Fields(line), unit):
			tables = append(tables, nil)
			in = true
		case in && strings.HasPrefix(line, "Generate/"):
			tables[len(tables)-1] = append(tables[len(tables)-1], strings.Fields(line)[0])
		case strings.HasPrefix(line, "geomean"), line == "":
			in = false
		}
	}
	return tables
}

// TestSlurmKilledTask cancels one task of a running array: the job's end
// names it as killed, with its log, and the merge names its shard as missing
// instead of writing a smaller table.
func TestSlurmKilledTask(t *testing.T) {
	bin := needSlurm(t)
	cfg, _ := writeConfig(t, slurmConfig)
	ctx, cancel := context.WithTimeout(context.Background(), 3*time.Minute)
	defer cancel()
	job := slurm.Job{Name: "llmbench-kill", Dir: filepath.Join(filepath.Dir(cfg), "job"), Tasks: 2,
		Run: []string{bin, "run", "-q", "--config", cfg}, CPUsPerTask: 1, Mem: "2G"}
	script, err := job.Write()
	require.NoError(t, err)
	id, err := slurm.Submit(ctx, script)
	require.NoError(t, err)
	for {
		running, err := slurm.Running(ctx, id)
		require.NoError(t, err)
		if slices.Contains(running, 1) {
			break
		}
		select {
		case <-ctx.Done():
			t.Fatal("task 1 never ran")
		case <-time.After(200 * time.Millisecond):
		}
	}
	require.NoError(t, slurm.Cancel(ctx, id, 1))
	require.NoError(t, slurm.Wait(ctx, id, time.Second))

	_, err = finishSlurm(job, cfg)
	require.Error(t, err)
	t.Log(err)
	assert.Contains(t, err.Error(), "task 1 (shard 1/2) ended without an exit status")
	assert.Contains(t, err.Error(), job.LogPath(1))
	assert.NotContains(t, err.Error(), "task 0 (", "task 0 was not killed")
	assert.Regexp(t, `shard 1/2 (missing|\(.*\) incomplete)`, err.Error())
}
