package k8s

import (
	"bytes"
	"encoding/json"
	"flag"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"

	batchv1 "k8s.io/api/batch/v1"
)

var update = flag.Bool("update", false, "rewrite the golden files in testdata")

func job() Job {
	return Job{Name: "bench", Namespace: "ml", SplitLoad: true, Image: "registry.example/llmbench:1", Shards: 4, Parallelism: 2,
		By: "case", Config: "/config/gpu.yaml", ConfigMap: "bench-config", Claim: "bench-results",
		CPU: "8", Memory: "32Gi", GPUs: 1, NodeSelector: map[string]string{"nvidia.com/gpu.product": "NVIDIA-H100-80GB-HBM3"}}
}

// The manifests round-trip: the YAML decodes strictly (unknown fields are
// errors) into the same batch/v1 Jobs, and matches the golden file.
func TestManifestRoundTrip(t *testing.T) {
	j := job()
	shards, err := j.Indexed()
	if err != nil {
		t.Fatal(err)
	}
	merge, err := j.Merge()
	if err != nil {
		t.Fatal(err)
	}
	var buf bytes.Buffer
	if err := WriteYAML(&buf, shards, merge); err != nil {
		t.Fatal(err)
	}
	path := filepath.Join("testdata", "jobs.yaml")
	if *update {
		os.WriteFile(path, buf.Bytes(), 0o644)
	}
	if want, err := os.ReadFile(path); err != nil || !bytes.Equal(buf.Bytes(), want) {
		t.Errorf("manifest differs from %s (%v):\n%s", path, err, buf.String())
	}
	got, err := DecodeJobs(bytes.NewReader(buf.Bytes()))
	if err != nil {
		t.Fatal(err)
	}
	if len(got) != 2 {
		t.Fatalf("%d jobs decoded, want 2", len(got))
	}
	for i, want := range []*batchv1.Job{shards, merge} {
		a, _ := json.Marshal(want)
		b, _ := json.Marshal(got[i])
		if !bytes.Equal(a, b) {
			t.Errorf("job %d does not round-trip:\nwrote %s\n read %s", i, a, b)
		}
	}

	s := got[0].Spec
	if *s.CompletionMode != batchv1.IndexedCompletion || *s.Completions != 4 || *s.Parallelism != 2 || *s.BackoffLimitPerIndex != 0 {
		t.Errorf("shard job spec: mode %s, completions %d, parallelism %d, backoff per index %d", *s.CompletionMode, *s.Completions, *s.Parallelism, *s.BackoffLimitPerIndex)
	}
	c := s.Template.Spec.Containers[0]
	args := strings.Join(c.Args, " ")
	if want := "run -q --config /config/gpu.yaml --shard $(JOB_COMPLETION_INDEX)/4,by=case,load=split -o /results/shard-$(JOB_COMPLETION_INDEX)"; args != want {
		t.Errorf("shard args %q, want %q", args, want)
	}
	if c.Env[0].Name != IndexEnv || !strings.Contains(c.Env[0].ValueFrom.FieldRef.FieldPath, "job-completion-index") {
		t.Errorf("the index variable is not declared before its use: %+v", c.Env)
	}
	if q := c.Resources.Limits["nvidia.com/gpu"]; q.Value() != 1 {
		t.Errorf("gpu limit %v", q.String())
	}
	margs := got[1].Spec.Template.Spec.Containers[0].Args
	if !slices.Equal(margs[len(margs)-4:], []string{"/results/shard-0", "/results/shard-1", "/results/shard-2", "/results/shard-3"}) {
		t.Errorf("merge args %v", margs)
	}
	if got[1].Spec.CompletionMode != nil {
		t.Error("the merge job is indexed")
	}
}

func TestDecodeIsStrict(t *testing.T) {
	for name, doc := range map[string]string{
		"unknown field": "apiVersion: batch/v1\nkind: Job\nspec:\n  completionMod: Indexed\n",
		"wrong type":    "apiVersion: batch/v1\nkind: Job\nspec:\n  completions: four\n",
		"not a job":     "apiVersion: v1\nkind: Pod\n",
	} {
		if _, err := DecodeJobs(strings.NewReader(doc)); err == nil {
			t.Errorf("%s: decoded without error", name)
		}
	}
}

func TestJobErrors(t *testing.T) {
	for name, mod := range map[string]func(*Job){
		"no image":       func(j *Job) { j.Image = "" },
		"no config":      func(j *Job) { j.Config = "" },
		"no claim":       func(j *Job) { j.Claim = "" },
		"no shards":      func(j *Job) { j.Shards = 0 },
		"too parallel":   func(j *Job) { j.Parallelism = 5 },
		"bad memory":     func(j *Job) { j.Memory = "lots" },
		"negative gpus":  func(j *Job) { j.GPUs = -1 },
		"negative retry": func(j *Job) { j.Retries = -1 },
	} {
		j := job()
		mod(&j)
		if _, err := j.Indexed(); err == nil {
			t.Errorf("%s: no error", name)
		}
	}
}
