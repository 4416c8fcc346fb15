package main

import (
	"bytes"
	"context"
	"errors"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	"golang.org/x/perf/benchfmt"
	"golang.org/x/perf/benchproc"

	"github.com/llmbench/llmbench"
	"github.com/llmbench/llmbench/bench"
	"github.com/llmbench/llmbench/merge/mergetest"
	"github.com/llmbench/llmbench/reports"
	"github.com/llmbench/llmbench/shard"
)

const shardsConfig = "testdata/shards.yaml"

// writeShards writes the outputs of shards 0 and 1 of 2 of testdata/shards.yaml.
func writeShards(t *testing.T) []string {
	t.Helper()
	cfg, prompts, err := bench.LoadConfig(shardsConfig, llmbench.Defaults, llmbench.DefaultConfig)
	require.NoError(t, err)
	dir := t.TempDir()
	var out []string
	for i := range 2 {
		p, err := mergetest.Shard{Dir: dir, Config: shardsConfig, Spec: shard.Spec{Index: i, Count: 2},
			Cases: shard.CasesOf(cfg, prompts), Sanitize: bench.Sanitize}.Write()
		require.NoError(t, err)
		out = append(out, p)
	}
	return out
}

// llmbench merge writes one run that the report reads and benchstat splits into
// one table per model (the merged file carries no per-shard value), taking the
// configuration from the shards' llmbench-config line.
func TestMergeCommand(t *testing.T) {
	paths := writeShards(t)
	out := filepath.Join(t.TempDir(), "merged")
	var stdout, stderr bytes.Buffer
	err := run(context.Background(), &stdout, &stderr, append([]string{"merge", "-o", out}, paths...))
	require.NoError(t, err, stderr.String())
	assert.Contains(t, stderr.String(), "merged 8 results of 2 shards")
	assert.FileExists(t, filepath.Join(out, "results.csv"))

	set, err := reports.Read([]string{filepath.Join(out, "bench.txt")}, &stderr)
	require.NoError(t, err)
	assert.Equal(t, 8, set.Results)
	assert.Len(t, set.Groups, 4)

	// benchstat's default tables: -table .config, one per distinct file
	// configuration.
	f, err := os.Open(filepath.Join(out, "bench.txt"))
	require.NoError(t, err)
	defer f.Close()
	var parser benchproc.ProjectionParser
	tableBy, err := parser.Parse(".config", nil)
	require.NoError(t, err)
	tables := map[benchproc.Key]bool{}
	for r := benchfmt.NewReader(f, "bench.txt"); r.Scan(); {
		if res, ok := r.Result().(*benchfmt.Result); ok {
			k := tableBy.Project(res)
			tables[k] = true
			for _, kv := range strings.Fields(k.String()) {
				assert.False(t, strings.HasPrefix(kv, "shard:") || strings.HasPrefix(kv, "shard-"), "a per-shard key would split the tables: %s", kv)
			}
		}
	}
	assert.Len(t, tables, 2, "one table per model: %v", tables)
}

func TestMergeCommandMissingShard(t *testing.T) {
	paths := writeShards(t)
	var stdout, stderr bytes.Buffer
	err := run(context.Background(), &stdout, &stderr, []string{"merge", "-o", t.TempDir(), "--config", shardsConfig, paths[1]})
	var ee *exitError
	require.True(t, errors.As(err, &ee), "got %v", err)
	assert.Equal(t, 1, ee.code)
	assert.Contains(t, err.Error(), "shard 0/2 missing")
	assert.Contains(t, err.Error(), "model tiny-llama, prompt hello")
}

func TestMergeCommandUsage(t *testing.T) {
	var stdout, stderr bytes.Buffer
	err := run(context.Background(), &stdout, &stderr, []string{"merge", "x"})
	var ee *exitError
	require.True(t, errors.As(err, &ee))
	assert.Equal(t, 2, ee.code)
	_, statErr := os.Stat("x")
	assert.True(t, os.IsNotExist(statErr))
}
