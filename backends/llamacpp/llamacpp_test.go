//go:build llamacpp

package llamacpp

import (
	"bufio"
	"context"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"runtime/debug"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/llmbench/llmbench/backends"
	"github.com/llmbench/llmbench/synth"
)

const prompt = "The quick brown fox jumps over the lazy dog, and then"

func model(name string, o backends.Options) backends.Spec {
	if o.Context == 0 {
		o.Context = 512
	}
	if o.Threads == 0 {
		// One thread: ggml's threads meet at spinning barriers after every op,
		// which under a loaded machine's scheduling costs milliseconds each.
		o.Threads = 1
	}
	return backends.Spec{Name: name, Model: "synthetic:" + name, Options: o}
}

func open(t testing.TB, spec string, o backends.Options, opts ...Option) *Backend {
	t.Helper()
	b, err := New(context.Background(), testModel(t, spec), model(spec, o), opts...)
	require.NoError(t, err)
	t.Cleanup(func() { b.Close() })
	return b
}

func TestGenerateExact(t *testing.T) {
	one := open(t, "tiny-llama", backends.Options{})
	two := open(t, "tiny-llama", backends.Options{Threads: 2})
	ctx := context.Background()
	for _, c := range []struct {
		b       *Backend
		threads int
		n       int
	}{{one, 1, 1}, {one, 1, 2}, {one, 1, 24}, {one, 1, 300}, {two, 2, 24}} {
		b, n := c.b, c.n
		t.Run(fmt.Sprintf("threads=%d/n=%d", c.threads, n), func(t *testing.T) {
			r, err := b.Generate(ctx, backends.Request{Prompt: prompt, MaxTokens: n})
			require.NoError(t, err)
			assert.Equal(t, n, r.OutputTokens)
			assert.Len(t, r.Chunks, n)
			assert.NotEmpty(t, r.Text)
			assert.Positive(t, r.PromptTokens)
			assert.Equal(t, r.PromptTokens, r.Server.PromptEvalTokens)
			assert.Equal(t, n-1, r.Server.EvalTokens)

			// Timings: positive, ordered, and the steps account for the end-to-end
			// time (they are disjoint intervals inside it).
			assert.Positive(t, r.Server.PromptEval)
			assert.LessOrEqual(t, r.Server.PromptEval, r.TTFT())
			if n > 1 {
				assert.Positive(t, r.Server.Eval)
				assert.LessOrEqual(t, r.Server.Eval, r.DecodeTime())
			}
			for i := 1; i < len(r.Chunks); i++ {
				assert.False(t, r.Chunks[i].Before(r.Chunks[i-1]), "chunk %d before chunk %d", i, i-1)
			}
			steps := r.Server.PromptEval + r.Server.Eval
			e2e := r.E2E()
			assert.LessOrEqual(t, steps, e2e)
			assert.LessOrEqual(t, e2e-steps, 2*time.Millisecond+e2e/5,
				"steps %v of end-to-end %v: more than the tolerance unaccounted for", steps, e2e)
			assert.Equal(t, e2e, r.Server.Total)
			t.Logf("%d tokens: ttft %v, prefill %v, decode %v in %d steps, e2e %v", n, r.TTFT(), r.Server.PromptEval, r.Server.Eval, n-1, e2e)
		})
	}
}

func TestGenerateDeterministic(t *testing.T) {
	ctx := context.Background()
	greedy := open(t, "tiny-llama", backends.Options{})
	a, err := greedy.Generate(ctx, backends.Request{Prompt: prompt, MaxTokens: 16})
	require.NoError(t, err)
	b, err := greedy.Generate(ctx, backends.Request{Prompt: prompt, MaxTokens: 16})
	require.NoError(t, err)
	assert.Equal(t, a.Text, b.Text, "greedy decoding repeats itself")

	hot := open(t, "tiny-llama", backends.Options{Temperature: 1.5})
	gen := func(seed int) string {
		r, err := hot.Generate(ctx, backends.Request{Prompt: prompt, MaxTokens: 32, Seed: seed})
		require.NoError(t, err)
		require.Equal(t, 32, r.OutputTokens)
		return r.Text
	}
	assert.Equal(t, gen(1), gen(1), "same seed, same text")
	assert.NotEqual(t, gen(1), gen(2), "another seed, another text")
}

func TestGenerateDefaults(t *testing.T) {
	// MaxTokens 0: the model's max_tokens, end of generation allowed (the
	// synthetic models never pick it greedily, so all of them come).
	b := open(t, "tiny-gpt2", backends.Options{MaxTokens: 7})
	r, err := b.Generate(context.Background(), backends.Request{Prompt: prompt})
	require.NoError(t, err)
	assert.Equal(t, 7, r.OutputTokens)
}

func TestGenerateErrors(t *testing.T) {
	b := open(t, "tiny-llama", backends.Options{Context: 64})
	ctx := context.Background()

	_, err := b.Generate(ctx, backends.Request{Prompt: prompt, MaxTokens: 60})
	require.Error(t, err)
	assert.Contains(t, err.Error(), "do not fit the context of")

	cctx, cancel := context.WithCancel(ctx)
	cancel()
	r, err := b.Generate(cctx, backends.Request{Prompt: prompt, MaxTokens: 8})
	require.ErrorIs(t, err, context.Canceled)
	assert.Zero(t, r.OutputTokens)

	_, err = b.PP(ctx, 65)
	assert.ErrorContains(t, err, "do not fit")
	_, err = b.TG(ctx, 0)
	assert.Error(t, err)

	require.NoError(t, b.Close())
	require.NoError(t, b.Close())
	_, err = b.Generate(ctx, backends.Request{Prompt: prompt, MaxTokens: 8})
	assert.ErrorIs(t, err, ErrClosed)
	_, err = b.PP(ctx, 8)
	assert.ErrorIs(t, err, ErrClosed)
}

func TestPPTG(t *testing.T) {
	b := open(t, "tiny-llama", backends.Options{Batch: 64, Threads: 2})
	ctx := context.Background()
	for range 2 { // the second run starts from the cleared cache of the first
		pp, err := b.PP(ctx, 200) // four batches
		require.NoError(t, err)
		tg, err := b.TG(ctx, 32)
		require.NoError(t, err)
		assert.Positive(t, pp)
		assert.Positive(t, tg)
		t.Logf("pp200 %v (%.0f prompt-tokens/s), tg32 %v (%.0f tokens/s)", pp, 200/pp.Seconds(), tg, 32/tg.Seconds())
	}
}

func TestDescribe(t *testing.T) {
	b := open(t, "tiny-llama", backends.Options{})
	ctx := context.Background()
	sp, err := synth.ParseSpec("tiny-llama")
	require.NoError(t, err)
	d, err := b.Describe(ctx)
	require.NoError(t, err)
	assert.Equal(t, backends.Description{
		Engine: "llama.cpp (ollama v0.17.4, in-process)",
		Arch:   "llama", Params: sp.Params(), Quant: "F16", Size: sp.Size(), Device: "cpu",
		Extra: [][2]string{{"llamacpp-gpu-layers", "none (no GPU backend loaded)"}},
	}, d)
	pid, err := b.EnginePID(ctx)
	require.NoError(t, err)
	assert.Equal(t, os.Getpid(), pid)
	d1, err := b.Load(ctx)
	require.NoError(t, err)
	assert.Positive(t, d1)
	d2, err := b.Load(ctx)
	require.NoError(t, err)
	assert.Zero(t, d2)
}

// TestGPULayersWithoutGPU: gpu_layers reaches llama.cpp, and on a build without
// a GPU backend the model loads on the CPU and says so. On a GPU machine the
// same option is proven by the committed H200 results (llamacpp-gpu-layers).
func TestGPULayersWithoutGPU(t *testing.T) {
	all := 99
	b := open(t, "tiny-llama", backends.Options{GPULayers: &all})
	assert.Equal(t, all, b.gpuLayers)
	d, err := b.Describe(context.Background())
	require.NoError(t, err)
	assert.Equal(t, "cpu", d.Device)
	assert.Equal(t, [][2]string{{"llamacpp-gpu-layers", "none (no GPU backend loaded)"}}, d.Extra)
	r, err := b.Generate(context.Background(), backends.Request{Prompt: prompt, MaxTokens: 4})
	require.NoError(t, err)
	assert.Equal(t, 4, r.OutputTokens)
}

// TestGPUModelHeld: closing a model whose layers went to a GPU keeps its
// memory (llama_free of a CUDA context crashes the process) and refuses any
// later model in this process, naming the one that holds it. The GPU is
// simulated here by the load log llama.cpp prints on one.
func TestGPUModelHeld(t *testing.T) {
	b := open(t, "tiny-llama", backends.Options{})
	b.offload = parseOffload("load_tensors: offloaded 7/7 layers to GPU\n")
	t.Cleanup(func() { gpuHeld.Store(nil) })
	require.NoError(t, b.Close())
	require.NoError(t, b.Close(), "twice")
	require.NotNil(t, gpuHeld.Load())
	assert.Equal(t, b.name, *gpuHeld.Load())
	_, err := b.Generate(context.Background(), backends.Request{Prompt: prompt, MaxTokens: 2})
	assert.ErrorIs(t, err, ErrClosed)
	_, err = New(context.Background(), b.path, backends.Spec{Name: "next"})
	require.Error(t, err)
	assert.Contains(t, err.Error(), "llamacpp: model next: load: model "+b.name+", closed earlier in this process, still holds its GPU memory")
}

// TestContextCappedAtTrainedPositions: a GPT-2 model (1024 learned positions)
// asked for a context of 2048 and given a longer prompt fails that generation
// with an error, instead of llama.cpp aborting the process on a position past
// its table (seen on the H200 with distilgpt2 and the context-1k prompt), and
// then generates again.
func TestContextCappedAtTrainedPositions(t *testing.T) {
	b := open(t, "tiny-gpt2", backends.Options{Context: 2048})
	assert.Equal(t, 1024, b.nCtx)
	long := strings.Repeat("the quick brown fox jumps over the lazy dog ", 150)
	_, err := b.Generate(context.Background(), backends.Request{Prompt: long, MaxTokens: 8})
	require.Error(t, err)
	assert.Contains(t, err.Error(), "do not fit the context of 1024 tokens (the model's trained positions; options.context asks for more)")
	r, err := b.Generate(context.Background(), backends.Request{Prompt: prompt, MaxTokens: 4})
	require.NoError(t, err)
	assert.Equal(t, 4, r.OutputTokens)
}

func TestLoadMissing(t *testing.T) {
	path := filepath.Join(t.TempDir(), "missing.gguf")
	_, err := New(context.Background(), path, model("missing", backends.Options{}))
	require.ErrorIs(t, err, fs.ErrNotExist)
	assert.Contains(t, err.Error(), path)
	assert.Contains(t, err.Error(), "model missing")
}

func TestLoadCorrupt(t *testing.T) {
	for _, f := range badFiles(t, testModel(t, "tiny-llama")) {
		t.Run(f.name, func(t *testing.T) {
			b, err := New(context.Background(), f.path, model(f.name, backends.Options{}))
			require.Error(t, err)
			assert.Nil(t, b)
			assert.Contains(t, err.Error(), f.path)
			if f.parses {
				// llama.cpp itself refused it, and said why.
				assert.Contains(t, err.Error(), "llama.cpp could not load")
				assert.Contains(t, err.Error(), "llamb")
			} else {
				assert.ErrorIs(t, err, ErrInvalidModel)
			}
			t.Log(err)
		})
	}
	// The engine still works after the failures.
	b := open(t, "tiny-llama", backends.Options{})
	_, err := b.Generate(context.Background(), backends.Request{Prompt: prompt, MaxTokens: 4})
	require.NoError(t, err)
}

// rss returns this process's resident set size (VmRSS), in bytes, after the Go
// heap's free memory has been given back.
func rss(t testing.TB) int64 {
	t.Helper()
	debug.FreeOSMemory()
	f, err := os.Open("/proc/self/status")
	require.NoError(t, err)
	defer f.Close()
	sc := bufio.NewScanner(f)
	for sc.Scan() {
		if v, ok := strings.CutPrefix(sc.Text(), "VmRSS:"); ok {
			kb, err := strconv.ParseInt(strings.TrimSuffix(strings.TrimSpace(v), " kB"), 10, 64)
			require.NoError(t, err)
			return kb << 10
		}
	}
	t.Fatal("no VmRSS in /proc/self/status")
	return 0
}

func TestMemoryReleased(t *testing.T) {
	if testing.Short() {
		t.Skip("-short: writes and loads ~250 MB of models")
	}
	ctx := context.Background()
	for _, mmap := range []bool{false, true} {
		t.Run(fmt.Sprint("mmap=", mmap), func(t *testing.T) {
			// Small loads of both architectures first, so one-time allocations
			// (ggml's backend registry, the tokenizers' tables) are in the baseline.
			for _, spec := range []string{"tiny-llama", "tiny-gpt2"} {
				warm := open(t, spec, backends.Options{}, WithMmap(mmap))
				_, err := warm.Generate(ctx, backends.Request{Prompt: prompt, MaxTokens: 2})
				require.NoError(t, err)
				require.NoError(t, warm.Close())
			}
			base := rss(t)
			const slack = 24 << 20
			for _, spec := range []string{"distilgpt2:q8_0", "distilgpt2:f16"} {
				sp, err := synth.ParseSpec(spec)
				require.NoError(t, err)
				b := open(t, spec, backends.Options{}, WithMmap(mmap))
				// Generating touches every weight (mapped pages become resident).
				_, err = b.Generate(ctx, backends.Request{Prompt: prompt, MaxTokens: 4})
				require.NoError(t, err)
				loaded := rss(t)
				require.NoError(t, b.Close())
				after := rss(t)
				t.Logf("%s: baseline %d MiB, loaded %d MiB (file %d MiB), after Close %d MiB",
					spec, base>>20, loaded>>20, sp.Size()>>20, after>>20)
				assert.Greater(t, loaded-base, sp.Size()*9/10, "the weights were resident")
				assert.Less(t, loaded-base, sp.Size()+64<<20, "only this model's weights were resident")
				assert.Less(t, after-base, int64(slack), "Close gave the memory back")
			}
		})
	}
}

// BenchmarkLlamaBench runs llama-bench's pp512 and tg128 on a synthetic model
// ($LLMBENCH_LLAMACPP_MODEL, default tiny-llama) with $LLMBENCH_LLAMACPP_THREADS
// threads (default 2).
func BenchmarkLlamaBench(b *testing.B) {
	spec := envOr("LLMBENCH_LLAMACPP_MODEL", "tiny-llama")
	threads, err := strconv.Atoi(envOr("LLMBENCH_LLAMACPP_THREADS", "2"))
	require.NoError(b, err)
	be := open(b, spec, backends.Options{Threads: threads, Context: 2048})
	ctx := context.Background()
	name := strings.NewReplacer("/", "_", " ", "_", ":", "_").Replace(spec)
	for _, c := range []struct {
		name string
		n    int
		run  func(context.Context, int) (time.Duration, error)
		unit string
	}{
		{"pp512", 512, be.PP, "prompt-tokens/s"},
		{"tg128", 128, be.TG, "tokens/s"},
	} {
		b.Run("model="+name+"/case="+c.name, func(b *testing.B) {
			var total time.Duration
			runs := 0
			for b.Loop() {
				d, err := c.run(ctx, c.n)
				if err != nil {
					b.Fatal(err)
				}
				total += d
				runs++
			}
			b.ReportMetric(float64(c.n*runs)/total.Seconds(), c.unit)
		})
	}
}

func envOr(k, def string) string {
	if v := os.Getenv(k); v != "" {
		return v
	}
	return def
}
