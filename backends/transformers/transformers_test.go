//go:build unix

package transformers

import (
	"context"
	"encoding/json"
	"errors"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/llmbench/llmbench/backends"
)

// The fake worker (testdata/fakeworker.py) speaks the protocol with Python's
// standard library alone, so these tests run wherever python3 does.

func needPython(t testing.TB) string {
	t.Helper()
	p, err := exec.LookPath(DefaultPython())
	if err != nil {
		t.Skipf("skipping: %s not found; the transformers backend's tests need Python 3", DefaultPython())
	}
	return p
}

func fakeModel(model string) backends.Spec {
	return backends.Spec{Name: "fake-model", Model: model, Options: backends.Options{MaxTokens: 5, Seed: 7}}
}

func newFake(t *testing.T, model string, opts ...Option) *Backend {
	t.Helper()
	needPython(t)
	opts = append([]Option{WithWorker(filepath.Join("testdata", "fakeworker.py"))}, opts...)
	b, err := New(context.Background(), fakeModel(model), Options{Device: "cpu"}, opts...)
	require.NoError(t, err)
	t.Cleanup(func() { _ = b.Close() })
	return b
}

// gone reports whether no process with this id exists any more (the worker has
// exited and was reaped: no zombie, no orphan).
func gone(pid int) bool {
	return errors.Is(syscall.Kill(pid, 0), syscall.ESRCH)
}

func TestGenerateRoundTrip(t *testing.T) {
	b := newFake(t, "fake")
	ctx := context.Background()

	res, err := b.Generate(ctx, backends.Request{Prompt: "hello", MaxTokens: 16})
	require.NoError(t, err)
	assert.Len(t, res.Chunks, 16)
	assert.Equal(t, 16, res.OutputTokens)
	assert.Equal(t, 5, res.PromptTokens)
	assert.True(t, strings.HasPrefix(res.Text, "tok0 tok1 "), res.Text)
	assert.True(t, res.Chunks[0].After(res.Sent), "first chunk after the request was sent")
	for i := 1; i < len(res.Chunks); i++ {
		assert.False(t, res.Chunks[i].Before(res.Chunks[i-1]), "chunk %d before chunk %d", i, i-1)
	}
	assert.True(t, res.Chunks[0].Before(res.Chunks[15]), "timestamps increase over the stream")
	assert.False(t, res.Done.Before(res.Chunks[15]))
	assert.Greater(t, res.Server.PromptEval, time.Duration(0))
	assert.Greater(t, res.Server.Eval, time.Duration(0))
	assert.Equal(t, 15, res.Server.EvalTokens)
	assert.Equal(t, 5, res.Server.PromptEvalTokens)
	assert.GreaterOrEqual(t, res.Server.Total, res.Server.Eval)
	assert.Greater(t, res.TPOT(), time.Duration(0))
	assert.Equal(t, int64(1234567), b.PeakVRAM())

	// The backend serves again, and Load reports the load time once.
	res, err = b.Generate(ctx, backends.Request{Prompt: "again", MaxTokens: 3})
	require.NoError(t, err)
	assert.Equal(t, 3, res.OutputTokens)
	d, err := b.Load(ctx)
	require.NoError(t, err)
	assert.Equal(t, 250*time.Millisecond, d)
	d, err = b.Load(ctx)
	require.NoError(t, err)
	assert.Zero(t, d)

	desc, err := b.Describe(ctx)
	require.NoError(t, err)
	assert.Contains(t, desc.Engine, "transformers")
	assert.Contains(t, desc.Engine, "torch 0.0-fake")
	assert.Equal(t, "float32", desc.Quant)
	for _, kv := range desc.Extra {
		assert.Equal(t, strings.ToLower(kv[0]), kv[0])
		assert.NotContains(t, kv[0], " ")
	}
	pid, err := b.EnginePID(ctx)
	require.NoError(t, err)
	assert.Greater(t, pid, 0)
}

func TestGenerateDefaults(t *testing.T) {
	b := newFake(t, "fake")
	// MaxTokens 0: the model's options.max_tokens (5), not verified.
	res, err := b.Generate(context.Background(), backends.Request{Prompt: "x"})
	require.NoError(t, err)
	assert.Equal(t, 5, res.OutputTokens)
}

func TestGenerateShort(t *testing.T) {
	b := newFake(t, "fake")
	res, err := b.Generate(context.Background(), backends.Request{Prompt: "short", MaxTokens: 6})
	require.ErrorIs(t, err, backends.ErrShort)
	assert.Equal(t, 4, res.OutputTokens)
	assert.Contains(t, err.Error(), `model "fake-model"`)
}

func TestCrashMidStream(t *testing.T) {
	b := newFake(t, "fake")
	ctx := context.Background()
	pid, err := b.EnginePID(ctx)
	require.NoError(t, err)

	res, err := b.Generate(ctx, backends.Request{Prompt: "crash", MaxTokens: 10})
	require.Error(t, err)
	msg := err.Error()
	assert.Contains(t, msg, "CUDA out of memory. Tried to allocate 2.00 GiB (fake)", "the worker's own stderr")
	assert.Contains(t, msg, "exit status 1")
	assert.Contains(t, msg, "after 3 tokens")
	var e *Error
	require.ErrorAs(t, err, &e)
	assert.Equal(t, "generate", e.Op)
	require.NotNil(t, res)
	assert.Len(t, res.Chunks, 3)
	assert.True(t, gone(pid))

	// Later requests fail at once with the same cause.
	_, err = b.Generate(ctx, backends.Request{Prompt: "hello", MaxTokens: 2})
	require.Error(t, err)
	assert.Contains(t, err.Error(), "no longer running")
	assert.Contains(t, err.Error(), "CUDA out of memory")
	_, err = b.EnginePID(ctx)
	assert.Error(t, err)
	assert.NoError(t, b.Close())
}

func TestMalformedLine(t *testing.T) {
	b := newFake(t, "fake")
	ctx := context.Background()
	res, err := b.Generate(ctx, backends.Request{Prompt: "garbage", MaxTokens: 4})
	var pe *ProtocolError
	require.ErrorAs(t, err, &pe)
	assert.Equal(t, "this is not json", pe.Line)
	assert.Equal(t, 4, res.OutputTokens, "the rest of the stream was read")

	// The stream stayed in step: the next generation is fine.
	res, err = b.Generate(ctx, backends.Request{Prompt: "hello", MaxTokens: 4})
	require.NoError(t, err)
	assert.Len(t, res.Chunks, 4)
}

func TestWorkerErrorLine(t *testing.T) {
	b := newFake(t, "fake")
	ctx := context.Background()
	_, err := b.Generate(ctx, backends.Request{Prompt: "error", MaxTokens: 4})
	var we *WorkerError
	require.ErrorAs(t, err, &we)
	assert.Equal(t, "ValueError: prompt too long (fake)", we.Msg)
	_, err = b.Generate(ctx, backends.Request{Prompt: "hello", MaxTokens: 4})
	require.NoError(t, err)
}

func TestCancel(t *testing.T) {
	b := newFake(t, "fake")
	ctx, cancel := context.WithTimeout(context.Background(), 150*time.Millisecond)
	defer cancel()
	start := time.Now()
	res, err := b.Generate(ctx, backends.Request{Prompt: "slow", MaxTokens: 200})
	require.ErrorIs(t, err, context.DeadlineExceeded)
	assert.Less(t, time.Since(start), 3*time.Second)
	assert.Less(t, len(res.Chunks), 200)

	// The worker stopped at a step boundary and serves again.
	res, err = b.Generate(context.Background(), backends.Request{Prompt: "hello", MaxTokens: 3})
	require.NoError(t, err)
	assert.Len(t, res.Chunks, 3)
}

func TestLoadTimeout(t *testing.T) {
	needPython(t)
	pidFile := filepath.Join(t.TempDir(), "pid")
	start := time.Now()
	_, err := New(context.Background(), fakeModel("fake:slow-load"), Options{},
		WithWorker(filepath.Join("testdata", "fakeworker.py")),
		WithLoadTimeout(time.Second),
		WithEnv("FAKE_PID_FILE="+pidFile))
	require.ErrorIs(t, err, context.DeadlineExceeded)
	assert.Contains(t, err.Error(), "no answer within 1s")
	assert.Less(t, time.Since(start), 8*time.Second)
	data, rerr := os.ReadFile(pidFile)
	require.NoError(t, rerr)
	pid, _ := strconv.Atoi(strings.TrimSpace(string(data)))
	require.Greater(t, pid, 0)
	assert.True(t, gone(pid), "the slow worker was killed")
}

func TestLoadFailures(t *testing.T) {
	needPython(t)
	worker := WithWorker(filepath.Join("testdata", "fakeworker.py"))
	tests := []struct {
		model string
		want  []string
	}{
		{"fake:load-error", []string{`load: OSError: fake is not a local folder or a Hub id (fake)`}},
		{"fake:exit-on-load", []string{"No module named 'torch' (fake)", "exit status 3"}},
	}
	for _, tt := range tests {
		t.Run(tt.model, func(t *testing.T) {
			_, err := New(context.Background(), fakeModel(tt.model), Options{}, worker)
			require.Error(t, err)
			for _, w := range tt.want {
				assert.Contains(t, err.Error(), w)
			}
			assert.Contains(t, err.Error(), `transformers: model "fake-model": load:`)
		})
	}
}

func TestCloseNoOrphan(t *testing.T) {
	b := newFake(t, "fake")
	pid, err := b.EnginePID(context.Background())
	require.NoError(t, err)
	require.False(t, gone(pid))
	start := time.Now()
	require.NoError(t, b.Close())
	assert.Less(t, time.Since(start), 3*time.Second, "the worker exits on shutdown, not by the timeout")
	assert.True(t, gone(pid))
	require.NoError(t, b.Close(), "Close twice")
	_, err = b.Generate(context.Background(), backends.Request{Prompt: "x", MaxTokens: 1})
	assert.ErrorIs(t, err, errClosed)
}

func TestCloseKillsDeafWorker(t *testing.T) {
	b := newFake(t, "fake:deaf", WithShutdownTimeout(300*time.Millisecond))
	pid, err := b.EnginePID(context.Background())
	require.NoError(t, err)
	err = b.Close()
	require.Error(t, err)
	assert.Contains(t, err.Error(), "was killed")
	assert.True(t, gone(pid))
}

func TestBaselineFake(t *testing.T) {
	b := newFake(t, "fake")
	bl, err := b.Baseline(context.Background(), BaselineRequest{Prompt: "hello", MaxTokens: 10})
	require.NoError(t, err)
	assert.Equal(t, 10, bl.OutputTokens)
	assert.Equal(t, time.Second, bl.Generate)
	assert.InDelta(t, 10.0, bl.TokensPerSecond, 1e-9)
	assert.InDelta(t, 10.0, bl.DecodeTokensPerSecond, 1e-9)
	assert.True(t, bl.SameTokens)
}

func TestBadModelSpecs(t *testing.T) {
	// Refused before any process starts.
	tests := []struct {
		m    backends.Spec
		o    Options
		want string
	}{
		{backends.Spec{Name: "a", Model: "synthetic:nope"}, Options{}, `no synthetic preset "nope": have distilgpt2, gpt2-medium, opt-1.3b`},
		{backends.Spec{Name: "b", Model: "synthetic:distilgpt2"}, Options{DType: "int8"}, `dtype "int8"`},
		{backends.Spec{Name: "c", Model: "synthetic:distilgpt2:float16"}, Options{DType: "float32"}, "names dtype float16 but dtype is float32"},
		{backends.Spec{Name: "d", Model: "synthetic:distilgpt2"}, Options{Device: "tpu"}, `device "tpu"`},
	}
	eng, err := backends.Lookup("transformers")
	require.NoError(t, err)
	for _, tt := range tests {
		_, err := New(context.Background(), tt.m, tt.o, WithPython("/nonexistent/python3"))
		require.Error(t, err, tt.m.Name)
		assert.Contains(t, err.Error(), tt.want)
		// The engine refuses the same when the configuration is read.
		_, err = eng.Configure(tt.m, func(v any) error { *v.(*Options) = tt.o; return nil })
		require.Error(t, err, tt.m.Name)
		assert.Contains(t, err.Error(), tt.want)
	}
}

func TestUnavailable(t *testing.T) {
	err := availableFor("/nonexistent/python3")
	require.ErrorIs(t, err, ErrUnavailable)
	assert.Contains(t, err.Error(), "/nonexistent/python3 not found")
	_, err = New(context.Background(), backends.Spec{Name: "a", Model: "synthetic:distilgpt2"}, Options{}, WithPython("/nonexistent/python3"))
	require.ErrorIs(t, err, ErrUnavailable)
}

// TestShippedWorkerWithoutTorch runs the real worker.py where torch is missing: it
// must answer in protocol, naming what is missing, and exit on shutdown.
func TestShippedWorkerWithoutTorch(t *testing.T) {
	needPython(t)
	if Available() == nil {
		t.Skip("skipping: torch and transformers are installed; TestRealWorker covers the worker")
	}
	script := filepath.Join(t.TempDir(), "worker.py")
	require.NoError(t, os.WriteFile(script, WorkerSource(), 0o644))
	_, err := New(context.Background(), backends.Spec{Name: "tiny", Model: "synthetic:distilgpt2"}, Options{}, WithWorker(script))
	var we *WorkerError
	require.ErrorAs(t, err, &we)
	assert.Regexp(t, `^ModuleNotFoundError: No module named '(torch|transformers)'$`, we.Msg)

	// Unknown ops and malformed requests are answered, not fatal.
	cmd := exec.Command(DefaultPython(), script)
	cmd.Stdin = strings.NewReader("{\"op\":\"nope\"}\nnot json\n{\"op\":\"generate\"}\n")
	out, err := cmd.Output()
	require.NoError(t, err)
	lines := strings.Split(strings.TrimSpace(string(out)), "\n")
	require.Len(t, lines, 3, string(out))
	for i, want := range []string{"unknown op 'nope'", "malformed request", "generate before load"} {
		var r map[string]any
		require.NoError(t, json.Unmarshal([]byte(lines[i]), &r))
		assert.Contains(t, r["error"], want)
	}
}

func TestPresets(t *testing.T) {
	assert.Equal(t, []string{"distilgpt2", "gpt2-medium", "opt-1.3b"}, Presets())
	read := func(name string) map[string]any {
		data, err := files.ReadFile("presets/" + name + ".json")
		require.NoError(t, err)
		var m map[string]any
		require.NoError(t, json.Unmarshal(data, &m))
		return m
	}
	d := read("distilgpt2")
	assert.Equal(t, "gpt2", d["model_type"])
	assert.EqualValues(t, 6, d["n_layer"])
	assert.EqualValues(t, 768, d["n_embd"])
	assert.EqualValues(t, 12, d["n_head"])
	assert.EqualValues(t, 50257, d["vocab_size"])
	assert.EqualValues(t, 1024, d["n_positions"])
	m := read("gpt2-medium")
	assert.EqualValues(t, 24, m["n_layer"])
	assert.EqualValues(t, 1024, m["n_embd"])
	assert.EqualValues(t, 16, m["n_head"])
	o := read("opt-1.3b")
	assert.Equal(t, "opt", o["model_type"])
	assert.EqualValues(t, 24, o["num_hidden_layers"])
	assert.EqualValues(t, 2048, o["hidden_size"])
	assert.EqualValues(t, 32, o["num_attention_heads"])
	assert.EqualValues(t, 8192, o["ffn_dim"])
	assert.EqualValues(t, 50272, o["vocab_size"])
	assert.EqualValues(t, 2048, o["max_position_embeddings"])
	assert.EqualValues(t, 2048, o["word_embed_proj_dim"])
}

func TestTail(t *testing.T) {
	tl := newTail(16)
	_, _ = tl.Write([]byte("first line\nsecond\n\nthird\n"))
	assert.Equal(t, "e\nsecond\nthird", tl.lastLines(5), "older bytes dropped, blank lines skipped")
	assert.Equal(t, "second\nthird", tl.lastLines(2))
}

// TestDecodeOption: the decode option reaches the worker's load request
// (generate by default), comes back as a configuration line, and a wrong value
// is refused before a worker starts.
func TestDecodeOption(t *testing.T) {
	for _, c := range []struct{ set, want string }{{"", DecodeGenerate}, {DecodeLoop, DecodeLoop}} {
		b, err := New(context.Background(), fakeModel("fake"), Options{Device: "cpu", Decode: c.set},
			WithWorker(filepath.Join("testdata", "fakeworker.py")))
		require.NoError(t, err)
		d, err := b.Describe(context.Background())
		require.NoError(t, err)
		assert.Contains(t, d.Extra, [2]string{"transformers-decode", c.want})
		require.NoError(t, b.Close())
	}
	_, err := checkLoad(fakeModel("fake"), Options{Decode: "beam"}, true)
	assert.EqualError(t, err, `decode "beam": want generate or loop`)
}
