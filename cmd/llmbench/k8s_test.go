package main

import (
	"bytes"
	"context"
	"os"
	"path/filepath"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/llmbench/llmbench/cluster/k8s"
)

// llmbench k8s writes the two Jobs, each decoding strictly as batch/v1, and
// prints the kubectl lines that run them in order.
func TestK8sCommand(t *testing.T) {
	out := t.TempDir()
	var stdout, stderr bytes.Buffer
	err := run(context.Background(), &stdout, &stderr, []string{"k8s", "-o", out, "--shards", "3", "--image", "reg/llmbench:1",
		"--config", "/config/bench.yaml", "--configmap", "bench", "--claim", "results", "--gpus", "1",
		"--node-selector", "nvidia.com/gpu.product=H100", "--namespace", "ml"})
	require.NoError(t, err, stderr.String())
	for name, want := range map[string]string{"shards.yaml": "llmbench", "merge.yaml": "llmbench-merge"} {
		f, err := os.Open(filepath.Join(out, name))
		require.NoError(t, err)
		jobs, err := k8s.DecodeJobs(f)
		f.Close()
		require.NoError(t, err, name)
		require.Len(t, jobs, 1, name)
		assert.Equal(t, want, jobs[0].Name)
		assert.Equal(t, "ml", jobs[0].Namespace)
	}
	assert.Equal(t, "kubectl -n ml apply -f "+filepath.Join(out, "shards.yaml")+"\n"+
		"kubectl -n ml wait --for=condition=complete --timeout=24h job/llmbench\n"+
		"kubectl -n ml apply -f "+filepath.Join(out, "merge.yaml")+"\n"+
		"kubectl -n ml wait --for=condition=complete --timeout=1h job/llmbench-merge\n", stdout.String())

	err = run(context.Background(), &stdout, &stderr, []string{"k8s", "-o", out, "--shards", "3"})
	var ee *exitError
	require.ErrorAs(t, err, &ee)
	assert.Equal(t, 2, ee.code)
	assert.ErrorContains(t, err, "no image")
}
