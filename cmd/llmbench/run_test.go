package main

import (
	"bytes"
	"context"
	"errors"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	"golang.org/x/perf/benchfmt"

	"github.com/llmbench/llmbench/backends/ollama/ollamatest"
	"github.com/llmbench/llmbench/synth"
)

// needEngine points LLMBENCH_OLLAMA at the repository's engine when unset, then
// skips without it (fails under LLMBENCH_REQUIRE_ENGINE=1).
func needEngine(t *testing.T) {
	t.Helper()
	if os.Getenv("LLMBENCH_OLLAMA") == "" {
		bin, _ := filepath.Abs("../../bin/ollama")
		t.Setenv("LLMBENCH_OLLAMA", bin)
	}
	ollamatest.NeedEngine(t)
}

// writeConfig writes a configuration for the test whose paths are absolute.
func writeConfig(t *testing.T, body string) (cfg, out string) {
	t.Helper()
	dir := t.TempDir()
	prompts, _ := filepath.Abs("../../testdata/prompts.jsonl")
	models := ollamatest.ModelsDir()
	out = filepath.Join(dir, "out")
	text := strings.NewReplacer("$PROMPTS", prompts, "$MODELS", models, "$OUT", out).Replace(body)
	cfg = filepath.Join(dir, "bench.yaml")
	require.NoError(t, os.WriteFile(cfg, []byte(text), 0o644))
	return cfg, out
}

const tinyConfig = `prompts: $PROMPTS
warmup: 1
iterations: 2
output: $OUT
models_dir: $MODELS
ollama: {manage: always}
models:
  - name: tiny-llama
    backend: ollama
    model: synthetic:tiny-llama
    options: {max_tokens: 16, threads: 2, context: 512}
  - name: ghost
    backend: ollama
    model: no-such-model:7b
  - name: tiny-gpt2
    backend: ollama
    model: synthetic:tiny-gpt2:q8_0
    options: {max_tokens: 16, threads: 2, context: 512}
`

// TestRunRealEngine runs `llmbench run` end to end on a private Ollama server with
// synthetic models: every case's metrics are present and plausible, a missing
// model fails alone, the output is valid benchmark format, and the server is gone
// afterwards.
func TestRunRealEngine(t *testing.T) {
	needEngine(t)
	cfg, out := writeConfig(t, tinyConfig)
	var stdout, stderr bytes.Buffer
	err := run(context.Background(), &stdout, &stderr, []string{"run", "-q", "--config", cfg})
	t.Log(stderr.String())
	var ee *exitError
	require.True(t, errors.As(err, &ee), "want exit 1 for the missing model, got %v", err)
	assert.Equal(t, 1, ee.code)
	assert.Contains(t, err.Error(), "2 of 6 cases failed")
	assert.Contains(t, stderr.String(), `model ghost: "no-such-model:7b" is not on the server`)

	// No GPU here: one notice, and no GPU metric anywhere.
	assert.Equal(t, 1, strings.Count(stderr.String(), "GPU not measured"), "the no-GPU notice, once")
	raw, err := os.ReadFile(filepath.Join(out, "bench.txt"))
	require.NoError(t, err)
	for _, line := range strings.Split(string(raw), "\n") {
		if !strings.HasPrefix(line, "Benchmark") {
			continue
		}
		for _, unit := range []string{"peak-vram-B", "J/token", "avg-power-W"} {
			assert.NotContains(t, line+" ", " "+unit+" ", "no GPU here: no %s", unit)
		}
	}
	assert.Equal(t, stdout.String(), string(raw), "stdout carries the raw output too")

	r := benchfmt.NewReader(bytes.NewReader(raw), "bench.txt")
	type key struct{ model, prompt string }
	lines := map[key]int{}
	stages := map[string]int{}
	for r.Scan() {
		res, ok := r.Result().(*benchfmt.Result)
		if !ok {
			if se, ok := r.Result().(*benchfmt.SyntaxError); ok {
				t.Errorf("syntax error: %v", se)
			}
			continue
		}
		_, all := res.Name.Parts()
		var parts [][]byte
		for _, p := range all {
			if p[0] == '/' {
				parts = append(parts, p)
			}
		}
		require.Len(t, parts, 2, "%s", res.Name)
		if st, ok := strings.CutPrefix(string(parts[1]), "/stage="); ok {
			// The model's one-shot figures, once per model.
			assert.Equal(t, "load", st)
			stages[string(parts[0])]++
			x, ok := res.Value("load-sec")
			assert.True(t, ok && x > 0, "%s: load-sec %v", res.Name, x)
			x, ok = res.Value("rss-after-load-B")
			assert.True(t, ok && x > 0, "%s: rss-after-load-B %v", res.Name, x)
			continue
		}
		k := key{strings.TrimPrefix(string(parts[0]), "/model="), strings.TrimPrefix(string(parts[1]), "/prompt=")}
		lines[k]++
		assert.Equal(t, 1, res.Iters)
		want := 16.0
		if k.prompt == "unicode" {
			want = 8
		}
		v := func(unit string) float64 {
			x, ok := res.Value(unit)
			assert.True(t, ok, "%s: no %s", res.Name, unit)
			return x
		}
		assert.Equal(t, want, v("gen-tokens/op"), "exact output length")
		assert.Positive(t, v("prompt-tokens/op"))
		e2e, ttft, tpot := v("sec/op"), v("ttft-sec/op"), v("tpot-sec/op")
		assert.Greater(t, e2e, ttft)
		tail := v("tail-sec/op")
		assert.InDelta(t, e2e, ttft+tpot*(want-1)+tail, 1e-9, "one generation: E2E = TTFT + decode + tail")
		assert.Positive(t, v("tokens/s"))
		assert.Positive(t, v("server-tokens/s"))
		assert.Positive(t, v("prompt-tokens/s"), "cold by default: a prefill rate")
		assert.Equal(t, "cold", res.GetConfig("prefix-cache"))
		_, oneShot := res.Value("load-sec")
		assert.False(t, oneShot, "load-sec is the stage line's, not every case's")
		sp, err := synth.ParseSpec(res.GetConfig("model-id")[len("synthetic:"):])
		require.NoError(t, err)
		assert.Greater(t, v("peak-rss-B"), float64(sp.Size()), "the runner holds the weights")
		assert.Contains(t, []string{"vmhwm", "sampled-10ms"}, res.GetConfig("rss-method"))
		assert.Equal(t, "true", res.GetConfig("model-synthetic"))
		assert.Equal(t, "ollama 0.17.4", res.GetConfig("engine"))
		v("out-words/op")
	}
	require.NoError(t, r.Err())
	assert.Equal(t, map[key]int{
		{"tiny-llama", "hello"}: 2, {"tiny-llama", "unicode"}: 2,
		{"tiny-gpt2", "hello"}: 2, {"tiny-gpt2", "unicode"}: 2,
	}, lines)
	assert.Equal(t, map[string]int{"/model=tiny-llama": 1, "/model=tiny-gpt2": 1}, stages, "one stage line per model")

	for _, f := range []string{"results.csv", "summary.md", "latency.png"} {
		assert.FileExists(t, filepath.Join(out, f), "llmbench run writes the report")
	}

	// No ollama process of this run is left. Other packages' tests run engines
	// at the same time: a process is this run's when it inherited this test's
	// working directory (go test sets PWD to the package's folder).
	cwd, err := os.Getwd()
	require.NoError(t, err)
	ps, _ := exec.Command("pgrep", "-f", "ollama").Output()
	for _, pid := range strings.Fields(string(ps)) {
		env, _ := os.ReadFile("/proc/" + pid + "/environ")
		mine := strings.Contains(string(env), "\x00PWD="+cwd+"\x00") || strings.HasPrefix(string(env), "PWD="+cwd+"\x00")
		assert.False(t, mine && strings.Contains(string(env), "llmbench-test-models"), "ollama process %s of this run still running", pid)
	}
}

func TestRunBadConfig(t *testing.T) {
	cfg, _ := writeConfig(t, "models:\n  - name: a\n    backend: ollama\n    model: m\n    option: {}\n")
	var stdout, stderr bytes.Buffer
	err := run(context.Background(), &stdout, &stderr, []string{"run", "--config", cfg})
	var ee *exitError
	require.True(t, errors.As(err, &ee))
	assert.Equal(t, 2, ee.code)
	assert.Contains(t, err.Error(), `bench.yaml:2: model "a": line 5: unknown key option`)
}
