package slurm

import (
	"flag"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

var update = flag.Bool("update", false, "rewrite the golden files in testdata")

func job() Job {
	return Job{
		Name: "bench", Dir: "/shared/out", Tasks: 4, By: "case", Workdir: "/shared/my repo",
		Run:         []string{"/shared/bin/llmbench", "run", "-q", "--config", "configs/gpu.yaml"},
		CPUsPerTask: 8, Mem: "64G", GPUs: 1, Partition: "gpu", Time: "2:00:00", MaxParallel: 2,
		Extra: []string{"--account=proj"}, SplitLoad: true,
	}
}

// The batch script, every option given (golden file).
func TestScript(t *testing.T) {
	got, err := job().Script()
	if err != nil {
		t.Fatal(err)
	}
	path := filepath.Join("testdata", "job.sbatch")
	if *update {
		os.WriteFile(path, []byte(got), 0o644)
	}
	want, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	if got != string(want) {
		t.Errorf("script differs from %s:\n%s", path, got)
	}
	for _, line := range []string{"#SBATCH --array=0-3%2", "#SBATCH --gres=gpu:1", "#SBATCH --mem=64G",
		"#SBATCH --cpus-per-task=8", "#SBATCH --partition=gpu", "#SBATCH --time=2:00:00",
		`--shard "$i/4,by=case,load=split" -o "$dir/shard-$i"`, "cd '/shared/my repo'"} {
		if !strings.Contains(got, line) {
			t.Errorf("script lacks %q", line)
		}
	}
}

func TestScriptErrors(t *testing.T) {
	for name, mod := range map[string]func(*Job){
		"no tasks":      func(j *Job) { j.Tasks = 0 },
		"no command":    func(j *Job) { j.Run = nil },
		"spaced folder": func(j *Job) { j.Dir = "/a b" },
		"bad mem":       func(j *Job) { j.Mem = "1G\n#SBATCH --x" },
		"bad extra":     func(j *Job) { j.Extra = []string{"account=x"} },
		"negative gpus": func(j *Job) { j.GPUs = -1 },
	} {
		j := job()
		mod(&j)
		if _, err := j.Script(); err == nil {
			t.Errorf("%s: no error", name)
		}
	}
}

// Ended names a failed task by its exit status and log, a killed one (no
// status) as such, and passes a task that exited 0.
func TestEnded(t *testing.T) {
	j := job()
	j.Dir, j.Workdir, j.Tasks = t.TempDir(), "", 3
	if _, err := j.Write(); err != nil {
		t.Fatal(err)
	}
	os.WriteFile(j.statusPath(0), []byte("0\n"), 0o644)
	os.WriteFile(j.statusPath(1), []byte("1\n"), 0o644)
	tasks, err := j.Ended()
	if err == nil {
		t.Fatal("no error")
	}
	for _, want := range []string{
		"task 1 (shard 1/3) failed with exit status 1; log " + j.LogPath(1),
		"task 2 (shard 2/3) ended without an exit status",
		j.LogPath(2),
	} {
		if !strings.Contains(err.Error(), want) {
			t.Errorf("error %q does not say %q", err, want)
		}
	}
	if strings.Contains(err.Error(), "task 0") {
		t.Errorf("error names task 0, which succeeded: %v", err)
	}
	if tasks[0].Status != 0 || tasks[1].Status != 1 || tasks[2].Status != -1 {
		t.Errorf("statuses %+v", tasks)
	}
	// A new Write clears the old statuses.
	if _, err := j.Write(); err != nil {
		t.Fatal(err)
	}
	if tasks, _ := j.Ended(); tasks[0].Status != -1 {
		t.Errorf("status of an earlier job kept: %+v", tasks[0])
	}
}
