package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"strings"
	"time"

	"github.com/llmbench/llmbench/cluster/slurm"
	"github.com/llmbench/llmbench/merge"
	"github.com/llmbench/llmbench/shard"
)

func init() { commands["slurm"] = slurmCmd }

// listFlag is a flag that may be given several times.
type listFlag []string

func (l *listFlag) String() string     { return strings.Join(*l, " ") }
func (l *listFlag) Set(v string) error { *l = append(*l, v); return nil }

// slurmCmd is `llmbench slurm --shards N …`: the benchmark as a Slurm job array
// of N tasks, one shard each; it submits the array, waits for it, and merges the
// shards into DIR/bench.txt and its report. A failed task is reported by its
// array index and log, a killed one as a missing shard.
func slurmCmd(ctx context.Context, stdout, stderr io.Writer, args []string) error {
	fs := flag.NewFlagSet("slurm", flag.ContinueOnError)
	fs.SetOutput(stderr)
	var (
		job      slurm.Job
		extra    listFlag
		self, _  = os.Executable()
		cfgPath  = fs.String("config", "", "benchmark configuration `file` each task runs (default: as llmbench run)")
		outDir   = fs.String("o", "outputs/slurm", "job `folder`: the script, logs/, shard-I/, and the merged bench.txt and report")
		binary   = fs.String("llmbench", self, "the llmbench `binary` tasks run (on a path every node sees)")
		only     = fs.Bool("script-only", false, "write the batch script and stop: submit it yourself (sbatch FILE), then llmbench merge")
		poll     = fs.Duration("poll", 5*time.Second, "how often to ask squeue whether the job is done")
		iters    = fs.Int("iterations", 0, "timed generations per case, passed to llmbench run (default: the configuration's)")
		noReport = fs.Bool("no-report", false, "merge into bench.txt only, no report")
	)
	fs.IntVar(&job.Tasks, "shards", 0, "number of shards = array tasks (required)")
	fs.BoolVar(&job.SplitLoad, "split-load", false, "run each load model on every shard at 1/N of its load, merged exactly (shard option load=split)")
	fs.StringVar(&job.By, "by", "", "shard grouping: model (default: a model's cases on one task) or case")
	fs.StringVar(&job.Name, "job-name", "llmbench", "Slurm job `name`")
	fs.IntVar(&job.CPUsPerTask, "cpus-per-task", 0, "CPUs per task (--cpus-per-task; 0: the cluster's default)")
	fs.StringVar(&job.Mem, "mem", "", "memory per task, e.g. 16G (--mem)")
	fs.IntVar(&job.GPUs, "gpus", 0, "GPUs per task (--gres=gpu:N)")
	fs.StringVar(&job.Partition, "partition", "", "Slurm `partition`")
	fs.StringVar(&job.Time, "time", "", "time limit per task, e.g. 2:00:00 (--time)")
	fs.IntVar(&job.MaxParallel, "max-parallel", 0, "most tasks running at once (--array=…%M; 0: no cap)")
	fs.Var(&extra, "sbatch-option", "a further sbatch `option`, e.g. --account=proj (repeatable)")
	if err := fs.Parse(args); err != nil {
		return &exitError{code: 2}
	}
	if fs.NArg() > 0 || job.Tasks < 1 {
		return &exitError{code: 2, err: fmt.Errorf("slurm: want --shards N (N ≥ 1) and no arguments")}
	}
	if job.By != "" {
		if err := (shard.Spec{Count: 1, By: job.By}).Check(); err != nil {
			return &exitError{code: 2, err: fmt.Errorf("slurm: --by: %w", err)}
		}
	}
	job.Dir, job.Extra = *outDir, extra
	job.Run = []string{*binary, "run", "-q"}
	if *cfgPath != "" {
		job.Run = append(job.Run, "--config", *cfgPath)
	}
	if *iters > 0 {
		job.Run = append(job.Run, "--iterations", fmt.Sprint(*iters))
	}
	script, err := job.Write()
	if err != nil {
		return &exitError{code: 2, err: err}
	}
	if *only {
		fmt.Fprintf(stdout, "%s\n", script)
		fmt.Fprintf(stderr, "llmbench: submit with: sbatch %s; then: llmbench merge -o %s %s\n", script, job.Dir, filepath.Join(job.Dir, "shard-*"))
		return nil
	}
	id, err := slurm.Submit(ctx, script)
	if err != nil {
		return err
	}
	fmt.Fprintf(stderr, "llmbench: submitted Slurm job %s: %d tasks, logs in %s\n", id, job.Tasks, filepath.Join(job.Dir, "logs"))
	if err := slurm.Wait(ctx, id, *poll); err != nil {
		return err
	}
	set, err := finishSlurm(job, *cfgPath)
	if err != nil {
		return &exitError{code: 1, err: err}
	}
	path, err := writeMerged(job.Dir, set)
	if err != nil {
		return err
	}
	fmt.Fprintf(stderr, "llmbench: Slurm job %s done; merged %d shards into %s\n", id, job.Tasks, path)
	if *noReport {
		return nil
	}
	return writeReport(job.Dir, path, stderr)
}

// finishSlurm checks how the job's tasks ended and merges their outputs. The
// error lists every failed or killed task (with its log) and every shard the
// merge misses.
func finishSlurm(job slurm.Job, cfgPath string) (*merge.Set, error) {
	_, taskErr := job.Ended()
	var outputs []string
	for _, d := range job.OutputDirs() {
		// A task killed before it wrote anything leaves no bench.txt: the merge
		// names its shard as missing.
		if _, err := os.Stat(filepath.Join(d, "bench.txt")); err == nil {
			outputs = append(outputs, d)
		}
	}
	set, mergeErr := mergeShards(outputs, cfgPath)
	if err := errors.Join(taskErr, mergeErr); err != nil {
		return nil, err
	}
	return set, nil
}
