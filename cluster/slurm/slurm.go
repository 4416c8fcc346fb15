// Package slurm runs a sharded benchmark as a Slurm job array: one array task
// per shard, each `llmbench run --shard $SLURM_ARRAY_TASK_ID/N` into its own
// folder, then the caller merges them (package merge).
//
// It drives Slurm only through its commands (sbatch, squeue, scancel), so it
// works with any Slurm a user can submit to, and it needs no accounting
// database: each task writes its exit status into the job's folder when it ends,
// so a task that failed is known by its status, and a task that was killed
// (scancel, a time limit, a lost node) by having none.
//
//	job := slurm.Job{Dir: "outputs/slurm", Tasks: 4, Run: []string{llmbench, "run", "--config", cfg}}
//	script, _ := job.Write()
//	id, _ := slurm.Submit(ctx, script)
//	_ = slurm.Wait(ctx, id, 2*time.Second)
//	tasks, err := job.Ended()        // err names each failed or killed task and its log
package slurm

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strconv"
	"strings"
	"time"
)

// Job is a job array of llmbench shards. The zero value of every resource field
// leaves it to the cluster's defaults.
type Job struct {
	// Name is the job name (--job-name). Default "llmbench".
	Name string
	// Dir is the job's folder: the script, logs/task-I.log, shard-I/ (each
	// task's output) and status/task-I. Made absolute by Write.
	Dir string
	// Tasks is the number of array tasks, one per shard. At least 1.
	Tasks int
	// By is the shard grouping passed with --shard (shard.ByModel or ByCase);
	// "" is the default, by model.
	By string
	// SplitLoad adds load=split: every task runs each load model at 1/Tasks of
	// its load (the tasks should then run at the same time: MaxParallel 0 and
	// enough nodes).
	SplitLoad bool
	// Run is the command each task runs, without --shard and -o, which the
	// script appends: e.g. ["/abs/llmbench", "run", "-q", "--config", "bench.yaml"].
	Run []string
	// Workdir is the folder tasks run in, where relative paths of the command
	// resolve. Default: the current one (Write sets it).
	Workdir string
	// CPUsPerTask, Mem (e.g. "16G"), GPUs (--gres=gpu:N), Partition and Time
	// (e.g. "2:00:00") are the per-task resources; MaxParallel caps the tasks
	// running at once (--array=0-N%M); 0 means no cap.
	CPUsPerTask int
	Mem         string
	GPUs        int
	Partition   string
	Time        string
	MaxParallel int
	// Extra are further sbatch options, one per #SBATCH line (e.g.
	// "--account=proj", "--constraint=h100").
	Extra []string
}

// ScriptPath returns where Write puts the batch script.
func (j Job) ScriptPath() string { return filepath.Join(j.Dir, "job.sbatch") }

// LogPath returns task i's log (stdout and stderr).
func (j Job) LogPath(i int) string {
	return filepath.Join(j.Dir, "logs", fmt.Sprintf("task-%d.log", i))
}

// OutputDir returns task i's output folder, the shard's bench.txt's folder.
func (j Job) OutputDir(i int) string { return filepath.Join(j.Dir, fmt.Sprintf("shard-%d", i)) }

func (j Job) statusPath(i int) string {
	return filepath.Join(j.Dir, "status", fmt.Sprintf("task-%d", i))
}

// OutputDirs returns every task's output folder, in task order.
func (j Job) OutputDirs() []string {
	out := make([]string, j.Tasks)
	for i := range out {
		out[i] = j.OutputDir(i)
	}
	return out
}

var safeOption = regexp.MustCompile(`^[A-Za-z0-9_.:,%=+/@-]*$`)

func (j *Job) check() error {
	var errs []error
	if j.Tasks < 1 {
		errs = append(errs, fmt.Errorf("tasks %d: want at least 1", j.Tasks))
	}
	if len(j.Run) == 0 {
		errs = append(errs, errors.New("no command to run"))
	}
	if j.Dir == "" || strings.ContainsAny(j.Dir, " \t\n\r'\"") {
		errs = append(errs, fmt.Errorf("job folder %q: want a path without spaces or quotes (it is an #SBATCH --output)", j.Dir))
	}
	for name, v := range map[string]string{"name": j.Name, "mem": j.Mem, "partition": j.Partition, "time": j.Time, "by": j.By} {
		if !safeOption.MatchString(v) {
			errs = append(errs, fmt.Errorf("%s %q: unexpected characters", name, v))
		}
	}
	for _, e := range j.Extra {
		if !strings.HasPrefix(e, "-") || strings.ContainsAny(e, "\n\r") {
			errs = append(errs, fmt.Errorf("sbatch option %q: want one --option[=value]", e))
		}
	}
	if j.CPUsPerTask < 0 || j.GPUs < 0 || j.MaxParallel < 0 {
		errs = append(errs, errors.New("cpus, gpus and max parallel must not be negative"))
	}
	return errors.Join(errs...)
}

// Script returns the batch script: #SBATCH lines for the array and resources,
// then each task runs the command with --shard $SLURM_ARRAY_TASK_ID/Tasks and
// -o its folder, and writes its exit status last. Paths must be absolute (Write
// makes them so).
func (j Job) Script() (string, error) {
	if err := j.check(); err != nil {
		return "", fmt.Errorf("slurm job: %w", err)
	}
	name := j.Name
	if name == "" {
		name = "llmbench"
	}
	var b strings.Builder
	opt := func(format string, args ...any) { fmt.Fprintf(&b, "#SBATCH "+format+"\n", args...) }
	b.WriteString("#!/bin/bash\n")
	b.WriteString("# Written by llmbench slurm: one array task per shard of the benchmark.\n")
	opt("--job-name=%s", name)
	array := fmt.Sprintf("0-%d", j.Tasks-1)
	if j.MaxParallel > 0 {
		array += fmt.Sprintf("%%%d", j.MaxParallel)
	}
	opt("--array=%s", array)
	opt("--ntasks=1")
	opt("--output=%s", filepath.Join(j.Dir, "logs", "task-%a.log"))
	if j.CPUsPerTask > 0 {
		opt("--cpus-per-task=%d", j.CPUsPerTask)
	}
	if j.Mem != "" {
		opt("--mem=%s", j.Mem)
	}
	if j.GPUs > 0 {
		opt("--gres=gpu:%d", j.GPUs)
	}
	if j.Partition != "" {
		opt("--partition=%s", j.Partition)
	}
	if j.Time != "" {
		opt("--time=%s", j.Time)
	}
	for _, e := range j.Extra {
		opt("%s", e)
	}
	spec := fmt.Sprintf("$i/%d", j.Tasks)
	if j.By != "" {
		spec += ",by=" + j.By
	}
	if j.SplitLoad {
		spec += ",load=split"
	}
	shardArg := `"` + spec + `"`
	workdir := j.Workdir
	if workdir == "" {
		workdir = "."
	}
	var cmd []string
	for _, a := range j.Run {
		cmd = append(cmd, shellQuote(a))
	}
	fmt.Fprintf(&b, `
set -u
i=${SLURM_ARRAY_TASK_ID:?not a Slurm array task}
dir=%s
cd %s || exit 1
echo "llmbench slurm: task $i of job ${SLURM_ARRAY_JOB_ID:-?} on $(hostname), shard $i/%d" >&2
%s --shard %s -o "$dir/shard-$i"
rc=$?
# The exit status, written last: a task killed before this line has none.
echo "$rc" >"$dir/status/task-$i.tmp" && mv "$dir/status/task-$i.tmp" "$dir/status/task-$i"
exit "$rc"
`, shellQuote(j.Dir), shellQuote(workdir), j.Tasks, strings.Join(cmd, " "), shardArg)
	return b.String(), nil
}

// Write makes the job's folders (Dir made absolute), writes the script and
// returns its path. Status files of an earlier job in the folder are removed.
func (j *Job) Write() (string, error) {
	abs, err := filepath.Abs(j.Dir)
	if err != nil {
		return "", err
	}
	j.Dir = abs
	if j.Workdir == "" {
		if j.Workdir, err = os.Getwd(); err != nil {
			return "", err
		}
	}
	script, err := j.Script()
	if err != nil {
		return "", err
	}
	for _, d := range []string{"logs", "status"} {
		if err := os.MkdirAll(filepath.Join(j.Dir, d), 0o755); err != nil {
			return "", err
		}
	}
	for i := range j.Tasks {
		if err := os.Remove(j.statusPath(i)); err != nil && !errors.Is(err, os.ErrNotExist) {
			return "", err
		}
	}
	return j.ScriptPath(), os.WriteFile(j.ScriptPath(), []byte(script), 0o755)
}

// shellQuote quotes s for bash when it holds anything but safe characters.
func shellQuote(s string) string {
	if s != "" && safeOption.MatchString(s) {
		return s
	}
	return "'" + strings.ReplaceAll(s, "'", `'\''`) + "'"
}

// Submit submits the script with sbatch and returns the job id.
func Submit(ctx context.Context, script string) (string, error) {
	out, err := command(ctx, "sbatch", "--parsable", script)
	if err != nil {
		return "", err
	}
	id, _, _ := strings.Cut(strings.TrimSpace(out), ";") // "ID;CLUSTER" on federations
	if _, err := strconv.Atoi(id); err != nil {
		return "", fmt.Errorf("sbatch: unexpected output %q", out)
	}
	return id, nil
}

// Wait returns when no task of job id is pending or running any more, asking
// squeue every interval; ctx ending cancels the wait (not the job).
func Wait(ctx context.Context, id string, interval time.Duration) error {
	for {
		out, err := command(ctx, "squeue", "-h", "-r", "-j", id, "-o", "%i %T")
		// squeue fails with "Invalid job id" once the job has left the queue.
		if err != nil && !strings.Contains(err.Error(), "Invalid job id") {
			return err
		}
		if strings.TrimSpace(out) == "" {
			return nil
		}
		select {
		case <-ctx.Done():
			return fmt.Errorf("waiting for Slurm job %s: %w", id, ctx.Err())
		case <-time.After(interval):
		}
	}
}

// Running returns the array indexes of job id's tasks that are running now.
func Running(ctx context.Context, id string) ([]int, error) {
	out, err := command(ctx, "squeue", "-h", "-r", "-j", id, "-t", "RUNNING", "-o", "%K")
	if err != nil {
		return nil, err
	}
	var idx []int
	for _, f := range strings.Fields(out) {
		if i, err := strconv.Atoi(f); err == nil {
			idx = append(idx, i)
		}
	}
	return idx, nil
}

// Cancel cancels task i of job id (scancel ID_I): Slurm signals it and then
// kills it, so it ends without an exit status.
func Cancel(ctx context.Context, id string, i int) error {
	_, err := command(ctx, "scancel", fmt.Sprintf("%s_%d", id, i))
	return err
}

// Task is how one array task ended.
type Task struct {
	// Index is the array index, the shard's.
	Index int
	// Status is the exit status; -1 when the task wrote none (it was killed,
	// timed out, its node was lost, or it never ran).
	Status int
	// Log is the task's log.
	Log string
}

// Ended reads how every task of the job ended. The error names each task that
// failed (its exit status) or wrote no status (killed), with its log.
func (j Job) Ended() ([]Task, error) {
	out := make([]Task, j.Tasks)
	var errs []error
	for i := range out {
		t := Task{Index: i, Status: -1, Log: j.LogPath(i)}
		data, err := os.ReadFile(j.statusPath(i))
		switch {
		case errors.Is(err, os.ErrNotExist):
			errs = append(errs, fmt.Errorf("slurm: task %d (shard %d/%d) ended without an exit status: killed, out of time, or its node lost; log %s", i, i, j.Tasks, t.Log))
		case err != nil:
			errs = append(errs, err)
		default:
			t.Status, err = strconv.Atoi(strings.TrimSpace(string(data)))
			if err != nil {
				errs = append(errs, fmt.Errorf("slurm: task %d: status file %s: %w", i, j.statusPath(i), err))
			} else if t.Status != 0 {
				errs = append(errs, fmt.Errorf("slurm: task %d (shard %d/%d) failed with exit status %d; log %s", i, i, j.Tasks, t.Status, t.Log))
			}
		}
		out[i] = t
	}
	return out, errors.Join(errs...)
}

// command runs a Slurm command and returns its standard output; the error
// carries its standard error.
func command(ctx context.Context, name string, args ...string) (string, error) {
	var stdout, stderr bytes.Buffer
	c := exec.CommandContext(ctx, name, args...)
	c.Stdout, c.Stderr = &stdout, &stderr
	if err := c.Run(); err != nil {
		return stdout.String(), fmt.Errorf("%s %s: %w: %s", name, strings.Join(args, " "), err, strings.TrimSpace(stderr.String()))
	}
	return stdout.String(), nil
}
