package main

import (
	"context"
	"flag"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"strings"

	"github.com/llmbench/llmbench/cluster/k8s"
	"github.com/llmbench/llmbench/shard"
)

func init() { commands["k8s"] = k8sCmd }

// k8sCmd is `llmbench k8s --shards N --image IMG --config PATH --claim PVC`: the
// benchmark as a Kubernetes Indexed Job (DIR/shards.yaml; completion index i
// runs shard i/N into the claim's shard-i) and the Job that merges the shards
// (DIR/merge.yaml), with the kubectl lines that run them in order. Nothing is
// applied: llmbench does not talk to a cluster.
func k8sCmd(ctx context.Context, stdout, stderr io.Writer, args []string) error {
	fs := flag.NewFlagSet("k8s", flag.ContinueOnError)
	fs.SetOutput(stderr)
	var (
		job      k8s.Job
		selector listFlag
	)
	outDir := fs.String("o", "outputs/k8s", "`folder` for shards.yaml and merge.yaml")
	fs.IntVar(&job.Shards, "shards", 0, "number of shards = completions (required)")
	fs.IntVar(&job.Parallelism, "parallelism", 0, "most shards running at once (default: all)")
	fs.BoolVar(&job.SplitLoad, "split-load", false, "run each load model on every shard at 1/N of its load, merged exactly (shard option load=split)")
	fs.StringVar(&job.By, "by", "", "shard grouping: model (default) or case")
	fs.StringVar(&job.Name, "name", "llmbench", "Job `name` (the merge Job is NAME-merge)")
	fs.StringVar(&job.Namespace, "namespace", "", "Kubernetes `namespace` (default: kubectl's)")
	fs.StringVar(&job.Image, "image", "", "container `image` with llmbench and its engine (required)")
	fs.StringVar(&job.Binary, "binary", "llmbench", "llmbench's `path` in the image")
	fs.StringVar(&job.Config, "config", "", "the benchmark configuration's `path` in the container (required)")
	fs.StringVar(&job.ConfigMap, "configmap", "", "a ConfigMap `name` to mount at --config-mount (holding the configuration)")
	fs.StringVar(&job.ConfigMount, "config-mount", "/config", "where the ConfigMap is mounted")
	fs.StringVar(&job.Claim, "claim", "", "PersistentVolumeClaim `name` for the results, ReadWriteMany across nodes (required)")
	fs.StringVar(&job.Results, "results", "/results", "where the claim is mounted")
	fs.StringVar(&job.CPU, "cpu", "", "CPU request and limit per shard pod, e.g. 8")
	fs.StringVar(&job.Memory, "memory", "", "memory request and limit per shard pod, e.g. 32Gi")
	fs.IntVar(&job.GPUs, "gpus", 0, "nvidia.com/gpu limit per shard pod")
	fs.IntVar(&job.Retries, "retries", 0, "retries of a failed shard (backoffLimitPerIndex)")
	fs.Var(&selector, "node-selector", "a `key=value` node label the shard pods need (repeatable)")
	if err := fs.Parse(args); err != nil {
		return &exitError{code: 2}
	}
	if fs.NArg() > 0 {
		return &exitError{code: 2, err: fmt.Errorf("k8s: unexpected arguments %q", fs.Args())}
	}
	if job.By != "" {
		if err := (shard.Spec{Count: 1, By: job.By}).Check(); err != nil {
			return &exitError{code: 2, err: fmt.Errorf("k8s: --by: %w", err)}
		}
	}
	for _, kv := range selector {
		k, v, ok := strings.Cut(kv, "=")
		if !ok {
			return &exitError{code: 2, err: fmt.Errorf("k8s: --node-selector %q: want key=value", kv)}
		}
		if job.NodeSelector == nil {
			job.NodeSelector = map[string]string{}
		}
		job.NodeSelector[k] = v
	}
	shards, err := job.Indexed()
	if err != nil {
		return &exitError{code: 2, err: err}
	}
	merge, err := job.Merge()
	if err != nil {
		return &exitError{code: 2, err: err}
	}
	if err := os.MkdirAll(*outDir, 0o755); err != nil {
		return err
	}
	files := map[string]any{"shards.yaml": shards, "merge.yaml": merge}
	for _, name := range []string{"shards.yaml", "merge.yaml"} {
		f, err := os.Create(filepath.Join(*outDir, name))
		if err != nil {
			return err
		}
		err = k8s.WriteYAML(f, files[name])
		if cerr := f.Close(); err == nil {
			err = cerr
		}
		if err != nil {
			return fmt.Errorf("k8s: %s: %w", name, err)
		}
	}
	ns := ""
	if job.Namespace != "" {
		ns = " -n " + job.Namespace
	}
	fmt.Fprintf(stdout, `kubectl%[1]s apply -f %[2]s
kubectl%[1]s wait --for=condition=complete --timeout=24h job/%[3]s
kubectl%[1]s apply -f %[4]s
kubectl%[1]s wait --for=condition=complete --timeout=1h job/%[3]s-merge
`, ns, filepath.Join(*outDir, "shards.yaml"), shards.Name, filepath.Join(*outDir, "merge.yaml"))
	fmt.Fprintf(stderr, "llmbench: wrote %s and %s; the merged run will be in %s on claim %s\n",
		filepath.Join(*outDir, "shards.yaml"), filepath.Join(*outDir, "merge.yaml"), job.MergedDir(), job.Claim)
	return nil
}
