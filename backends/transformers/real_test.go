//go:build unix

package transformers

import (
	"context"
	"fmt"
	"os"
	"os/exec"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/llmbench/llmbench/backends"
)

func TestMain(m *testing.M) {
	// Start workers under the interpreter itself, not a version manager's shim
	// (pyenv's costs two seconds a start).
	if os.Getenv("LLMBENCH_PYTHON") == "" {
		if out, err := exec.Command("python3", "-c", "import sys; print(sys.executable)").Output(); err == nil {
			if p := strings.TrimSpace(string(out)); p != "" {
				os.Setenv("LLMBENCH_PYTHON", p)
			}
		}
	}
	// Units of BenchmarkRealWorker's metrics (golang.org/x/perf reads these).
	fmt.Println("Unit ttft-ns/op better=lower")
	fmt.Println("Unit tpot-ns/op better=lower")
	fmt.Println("Unit tokens/s better=higher")
	fmt.Println("Unit baseline-tokens/s better=higher")
	fmt.Println("Unit loop-tokens/s better=higher")
	fmt.Println("Unit gen-tokens/op assume=exact")
	fmt.Println("Unit peak-vram-B better=lower")
	fmt.Println("Unit load-ns better=lower")
	os.Exit(m.Run())
}

// needTorch skips with one message naming what is missing.
func needTorch(t testing.TB) {
	t.Helper()
	if err := Available(); err != nil {
		t.Skipf("skipping real-worker test: %v", err)
	}
}

// TestRealWorker runs the shipped worker on a small random model on the CPU.
func TestRealWorker(t *testing.T) {
	needTorch(t)
	ctx := context.Background()
	m := backends.Spec{Name: "distilgpt2", Model: "synthetic:distilgpt2", Options: backends.Options{Seed: 42}}
	b, err := New(ctx, m, Options{Device: "cpu"}, WithStderr(testWriter{t}))
	require.NoError(t, err)
	defer b.Close()
	info := b.Info()
	assert.Equal(t, "GPT2LMHeadModel", info.Arch)
	assert.InDelta(t, 81.9e6, float64(info.Params), 1e6, "distilgpt2 has about 82M parameters")
	assert.Equal(t, "float32", info.DType)

	res, err := b.Generate(ctx, backends.Request{Prompt: "The quick brown fox", MaxTokens: 8})
	require.NoError(t, err)
	assert.Len(t, res.Chunks, 8)
	assert.Equal(t, 8, res.OutputTokens)
	assert.Equal(t, len("The quick brown fox"), res.PromptTokens, "one token per byte")
	assert.Greater(t, res.Server.Eval, time.Duration(0))

	// Greedy decoding of a seeded random model is repeatable.
	again, err := b.Generate(ctx, backends.Request{Prompt: "The quick brown fox", MaxTokens: 8})
	require.NoError(t, err)
	assert.Equal(t, res.Text, again.Text)

	zero := 0
	bl, err := b.Baseline(ctx, BaselineRequest{Prompt: "The quick brown fox", MaxTokens: 8, Repeats: 1, Warmup: &zero})
	require.NoError(t, err)
	assert.Equal(t, 8, bl.OutputTokens)
	assert.True(t, bl.SameTokens, "the worker's loop and model.generate agree")
	assert.Greater(t, bl.TokensPerSecond, 0.0)

	pid, err := b.EnginePID(ctx)
	require.NoError(t, err)
	require.NoError(t, b.Close())
	assert.True(t, gone(pid))
}

// BenchmarkRealWorker measures the shipped worker through this backend, with
// plain model.generate timed beside it. It runs only where torch and transformers
// are installed. Environment:
//
//	LLMBENCH_TRANSFORMERS_MODELS  comma-separated models (default synthetic:distilgpt2)
//	LLMBENCH_TRANSFORMERS_DEVICE  cpu or cuda (default cpu)
//	LLMBENCH_TRANSFORMERS_DTYPE   float32, float16 or bfloat16 (default by device)
//	LLMBENCH_TRANSFORMERS_TOKENS  exact output length (default 32)
//
// Each iteration is one generation; ns/op is its end-to-end latency.
func BenchmarkRealWorker(b *testing.B) {
	needTorch(b)
	models := strings.Split(envOr("LLMBENCH_TRANSFORMERS_MODELS", "synthetic:distilgpt2"), ",")
	device := envOr("LLMBENCH_TRANSFORMERS_DEVICE", "cpu")
	dtype := os.Getenv("LLMBENCH_TRANSFORMERS_DTYPE")
	n, _ := strconv.Atoi(envOr("LLMBENCH_TRANSFORMERS_TOKENS", "32"))
	const prompt = "Write a short story about a lighthouse keeper who finds a message in a bottle."
	for _, id := range models {
		name, _ := strings.CutPrefix(id, "synthetic:")
		m := backends.Spec{Name: name, Model: id, Options: backends.Options{Seed: 42}}
		sub := fmt.Sprintf("model=%s/device=%s/tokens=%d", sanitize(name), device, n)
		b.Run(sub, func(b *testing.B) {
			ctx := context.Background()
			be, err := New(ctx, m, Options{Device: device, DType: dtype})
			if err != nil {
				b.Fatal(err)
			}
			defer be.Close()
			info := be.Info()
			b.Logf("%s %s on %s (%s), torch %s, transformers %s, %d parameters",
				info.Arch, info.DType, info.DeviceName, info.Device, info.Torch, info.Transformers, info.Params)
			bl, err := be.Baseline(ctx, BaselineRequest{Prompt: prompt, MaxTokens: n, Repeats: 3})
			if err != nil {
				b.Fatal(err)
			}
			var ttft, tpot, decode time.Duration
			var tokens, decoded int
			for b.Loop() {
				res, err := be.Generate(ctx, backends.Request{Prompt: prompt, MaxTokens: n})
				if err != nil {
					b.Fatal(err)
				}
				ttft += res.TTFT()
				tpot += res.TPOT()
				decode += res.DecodeTime()
				tokens += res.OutputTokens
				decoded += res.OutputTokens - 1
			}
			runs := float64(b.N)
			b.ReportMetric(float64(ttft.Nanoseconds())/runs, "ttft-ns/op")
			b.ReportMetric(float64(tpot.Nanoseconds())/runs, "tpot-ns/op")
			b.ReportMetric(float64(tokens)/runs, "gen-tokens/op")
			if decode > 0 {
				b.ReportMetric(float64(decoded)/decode.Seconds(), "tokens/s")
			}
			if bl.DecodeTokensPerSecond > 0 {
				b.ReportMetric(bl.DecodeTokensPerSecond, "baseline-tokens/s")
			}
			if bl.LoopDecodeTokensPerSecond > 0 {
				b.ReportMetric(bl.LoopDecodeTokensPerSecond, "loop-tokens/s")
			}
			if v := be.PeakVRAM(); v > 0 {
				b.ReportMetric(float64(v), "peak-vram-B")
			}
			b.ReportMetric(float64(info.Load.Nanoseconds()), "load-ns")
			b.Logf("baseline: model.generate %.1f tokens/s decode (%.1f end to end), worker loop %.1f, same tokens %v",
				bl.DecodeTokensPerSecond, bl.TokensPerSecond, bl.LoopDecodeTokensPerSecond, bl.SameTokens)
		})
	}
}

func envOr(k, def string) string {
	if v := os.Getenv(k); v != "" {
		return v
	}
	return def
}

// sanitize makes a benchmark name segment: no '/' or spaces, no trailing -digits.
func sanitize(s string) string {
	s = strings.NewReplacer("/", "_", " ", "_").Replace(s)
	if i := strings.LastIndexByte(s, '-'); i >= 0 {
		if _, err := strconv.Atoi(s[i+1:]); err == nil {
			s = s[:i] + "_" + s[i+1:]
		}
	}
	return s
}

// testWriter sends the worker's stderr to the test log.
type testWriter struct{ t *testing.T }

func (w testWriter) Write(p []byte) (int, error) {
	w.t.Logf("worker: %s", strings.TrimRight(string(p), "\n"))
	return len(p), nil
}
