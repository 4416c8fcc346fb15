package main

import (
	"bufio"
	"encoding/json"
	"fmt"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/llmbench/llmbench/config"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	"golang.org/x/perf/benchfmt"
)

// TestImageRun checks what the container image wrote when scripts/image.sh test ran
// configs/ci.yaml in it twice (make test-image): the image's configuration (a non-root
// user, ENTRYPOINT llmbench, CMD run, the models volume), every case of the tiny
// benchmark in the mounted outputs folder of each run (the second on two prompts),
// written by the image's user, the engine the pinned version, the managed Ollama on
// loopback, and the second run on the models the first made. LLMBENCH_IMAGE_WORK is the script's folder;
// LLMBENCH_IMAGE_MODE says how the image ran (podman run, or chroot of its root
// filesystem where podman run is refused).
func TestImageRun(t *testing.T) {
	work, mode := os.Getenv("LLMBENCH_IMAGE_WORK"), os.Getenv("LLMBENCH_IMAGE_MODE")
	if work == "" {
		t.Skip("skipping: run by make test-image (scripts/image.sh test)")
	}
	require.Contains(t, []string{"podman run", "chroot"}, mode, "LLMBENCH_IMAGE_MODE")
	t.Logf("the image ran by %s", mode)

	var imgs []struct {
		Config struct {
			User       string
			Entrypoint []string
			Cmd        []string
			WorkingDir string
			Volumes    map[string]struct{}
			Labels     map[string]string
		}
	}
	data, err := os.ReadFile(filepath.Join(work, "image.json"))
	require.NoError(t, err)
	require.NoError(t, json.Unmarshal(data, &imgs))
	require.Len(t, imgs, 1, "image.json: podman image inspect of one image")
	c := imgs[0].Config
	assert.Equal(t, []string{"llmbench"}, c.Entrypoint, "ENTRYPOINT")
	assert.Equal(t, []string{"run"}, c.Cmd, "CMD")
	assert.Equal(t, "/app", c.WorkingDir, "WORKDIR")
	assert.Contains(t, c.Volumes, "/app/models", "VOLUME")
	uid := passwdUID(t, filepath.Join(work, "rootfs", "etc", "passwd"), c.User)
	require.NotZero(t, uid, "the image's user %q is root", c.User)
	ollamaVersion := strings.TrimPrefix(c.Labels["io.llmbench.ollama-version"], "v")
	require.NotEmpty(t, ollamaVersion, "label io.llmbench.ollama-version")

	cfg, err := config.Load("../../configs/ci.yaml")
	require.NoError(t, err)
	require.Equal(t, "data/prompts.jsonl", cfg.Prompts, "configs/ci.yaml's prompts (the script mounts its data folders there)")
	for _, run := range []struct {
		dir, data  string
		iterations int
	}{{"outputs", "../../data", cfg.Iterations}, {"outputs2", filepath.Join(work, "data2"), 1}} {
		t.Run(run.dir, func(t *testing.T) {
			prompts, err := config.LoadPrompts(filepath.Join(run.data, "prompts.jsonl"))
			require.NoError(t, err)
			require.NotEmpty(t, prompts)
			out := filepath.Join(work, run.dir)
			counts, engines := readBench(t, filepath.Join(out, "bench.txt"))
			for _, m := range cfg.Models {
				assert.Equal(t, 1, counts["Generate/model="+m.Name+"/stage=load"], "%s: the load of %s", run.dir, m.Name)
				for _, p := range prompts {
					name := "Generate/model=" + m.Name + "/prompt=" + p.ID
					assert.Equal(t, run.iterations, counts[name], "%s: results of %s", run.dir, name)
				}
			}
			assert.Equal(t, []string{"ollama " + ollamaVersion}, engines, "%s: the engine", run.dir)
			for _, f := range []string{"bench.txt", "results.csv", "summary.md", "report.html"} {
				fi, err := os.Stat(filepath.Join(out, f))
				if assert.NoError(t, err) {
					assert.NotZero(t, fi.Size(), f)
					assert.Equal(t, uid, fi.Sys().(*syscall.Stat_t).Uid, "%s/%s: written by the image's user", run.dir, f)
				}
			}
		})
	}

	// The second run made no model again: the volume's GGUF files and Ollama blobs are
	// all older than it.
	stamp, err := os.Stat(filepath.Join(work, "second-run.stamp"))
	require.NoError(t, err)
	models := filepath.Join(work, "models")
	ggufs, _ := filepath.Glob(filepath.Join(models, "*.gguf"))
	blobs, _ := filepath.Glob(filepath.Join(models, "ollama", "blobs", "sha256-*"))
	assert.Len(t, ggufs, len(cfg.Models), "one synthetic GGUF file per model in the models volume")
	assert.NotEmpty(t, blobs, "the Ollama models in the models volume")
	for _, f := range append(ggufs, blobs...) {
		fi, err := os.Stat(f)
		require.NoError(t, err)
		assert.True(t, fi.ModTime().Before(stamp.ModTime()), "%s was written again by the second run (%s, the run began %s)",
			f, fi.ModTime().Format(time.RFC3339Nano), stamp.ModTime().Format(time.RFC3339Nano))
	}

	// The managed server listened on loopback only.
	log, err := os.ReadFile(filepath.Join(models, "ollama", "ollama.log"))
	require.NoError(t, err)
	assert.Regexp(t, `Listening on 127\.0\.0\.1:\d+`, string(log), "the private Ollama server's address")
}

// readBench parses a benchmark file: the number of results of each benchmark (the name
// without Benchmark and the -GOMAXPROCS suffix) and the engine configuration values.
func readBench(t *testing.T, path string) (map[string]int, []string) {
	t.Helper()
	f, err := os.Open(path)
	require.NoError(t, err)
	defer f.Close()
	counts := map[string]int{}
	var engines []string
	r := benchfmt.NewReader(f, path)
	for r.Scan() {
		switch rec := r.Result().(type) {
		case *benchfmt.SyntaxError:
			t.Errorf("%s: %v", path, rec)
		case *benchfmt.Result:
			name := strings.TrimPrefix(procsSuffix.ReplaceAllString(string(rec.Name), ""), "Benchmark")
			counts[name]++
			if e := rec.GetConfig("engine"); e != "" && !slices.Contains(engines, e) {
				engines = append(engines, e)
			}
		}
	}
	require.NoError(t, r.Err())
	require.NotEmpty(t, counts, "%s: no results", path)
	return counts, engines
}

// passwdUID returns the uid of user (a name or a number) in a passwd file.
func passwdUID(t *testing.T, passwd, user string) uint32 {
	t.Helper()
	f, err := os.Open(passwd)
	require.NoError(t, err)
	defer f.Close()
	name := strings.SplitN(user, ":", 2)[0]
	s := bufio.NewScanner(f)
	for s.Scan() {
		fields := strings.Split(s.Text(), ":")
		if len(fields) > 2 && (fields[0] == name || fields[2] == name) {
			var uid uint32
			_, err := fmt.Sscan(fields[2], &uid)
			require.NoError(t, err)
			return uid
		}
	}
	t.Fatalf("%s: no user %q", passwd, user)
	return 0
}
