package ollama_test

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"net/http/httptest"
	"net/url"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/ollama/ollama/api"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/llmbench/llmbench/backends"
	"github.com/llmbench/llmbench/backends/ollama"
	"github.com/llmbench/llmbench/backends/ollama/ollamatest"
	"github.com/llmbench/llmbench/synth"
)

// engine starts a private server for the test (see ollamatest).
func engine(t *testing.T) *ollama.Server { return ollamatest.Start(t) }

// synthetic registers a synthetic preset on srv and returns its server name.
func synthetic(t *testing.T, srv *ollama.Server, spec string) string {
	return ollamatest.Synthetic(t, srv, spec)
}

func model(name string, maxTokens int) backends.Spec {
	return backends.Spec{Name: name, Options: backends.Options{
		MaxTokens: maxTokens, Seed: 42, Context: 512, KeepAlive: time.Minute,
	}}
}

func TestRealEngine(t *testing.T) {
	srv := engine(t)
	for _, spec := range []string{"tiny-llama", "tiny-gpt2"} {
		t.Run(spec, func(t *testing.T) {
			name := synthetic(t, srv, spec)
			b := ollama.New(srv.URL, name, model(spec, 24))
			ctx := context.Background()

			load, err := b.Load(ctx)
			require.NoError(t, err)
			assert.Positive(t, load)

			for i := range 3 { // greedy output of every preset has the exact length
				r, err := b.Generate(ctx, backends.Request{Prompt: fmt.Sprintf("Hello, world %d! Ünïcode ✓ 日本", i), MaxTokens: 24})
				require.NoError(t, err)
				assert.Equal(t, 24, r.OutputTokens)
				assert.Equal(t, 23, r.Server.EvalTokens, "eval_duration covers tokens 2…n")
				assert.Positive(t, r.PromptTokens)
				require.NotEmpty(t, r.Chunks)
				assert.NotEmpty(t, r.Text)
				assert.Positive(t, r.TTFT())
				assert.False(t, r.Done.Before(r.Chunks[len(r.Chunks)-1]), "done before the last chunk")
				assert.Greater(t, r.E2E(), r.TTFT())
				assert.Positive(t, r.Server.Eval)
				assert.Positive(t, r.Server.PromptEval)
				// The engine's decode time cannot exceed what the client saw end to end.
				assert.Less(t, r.Server.Eval, r.E2E())
			}

			d, err := b.Describe(ctx)
			require.NoError(t, err)
			assert.Equal(t, "ollama 0.17.4", d.Engine)
			sp, _ := synth.ParseSpec(spec)
			assert.Equal(t, sp.Params(), d.Params)
			assert.NotEmpty(t, d.Digest)
			assert.Positive(t, d.Size)
			require.NoError(t, b.Close())
		})
	}

	// Ollama cuts a prompt longer than the context to fit, unless asked not
	// to: the case fails with Ollama's reason instead of measuring a shorter
	// prompt than it names.
	t.Run("prompt longer than the context", func(t *testing.T) {
		name := synthetic(t, srv, "tiny-gpt2")
		b := ollama.New(srv.URL, name, model("tiny-gpt2", 4))
		defer b.Close()
		long := strings.Repeat("the quick brown fox jumps over the lazy dog ", 80) // ~720 tokens, context 512
		r, err := b.Generate(context.Background(), backends.Request{Prompt: long, MaxTokens: 4})
		require.Error(t, err, "prompt tokens %d", func() int {
			if r != nil {
				return r.PromptTokens
			}
			return 0
		}())
		assert.Contains(t, err.Error(), "the input length exceeds the context length")
	})

	t.Run("missing model", func(t *testing.T) {
		b := ollama.New(srv.URL, "no-such-model:1b", model("ghost", 8))
		_, err := b.Generate(context.Background(), backends.Request{Prompt: "hi", MaxTokens: 8})
		require.Error(t, err)
		assert.Contains(t, err.Error(), `model ghost: "no-such-model:1b" is not on the server`)
		assert.Contains(t, err.Error(), "ollama pull no-such-model:1b")
	})
}

func TestServerStops(t *testing.T) {
	srv := engine(t)
	pid := srv.PID()
	require.True(t, ollama.Answers(context.Background(), srv.URL))
	require.NoError(t, srv.Stop())
	assert.False(t, srv.Alive())
	assert.ErrorIs(t, syscall.Kill(pid, 0), syscall.ESRCH, "server process %d still exists", pid)
	assert.False(t, ollama.Answers(context.Background(), srv.URL))
	require.NoError(t, srv.Stop(), "Stop twice")
}

// scripted serves one NDJSON stream of lines for /api/generate.
func scripted(t *testing.T, lines ...string) *url.URL {
	t.Helper()
	ts := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Type", "application/x-ndjson")
		for _, l := range lines {
			fmt.Fprintln(w, l)
			w.(http.Flusher).Flush()
		}
	}))
	t.Cleanup(ts.Close)
	u, _ := url.Parse(ts.URL)
	return u
}

func TestStreamFaults(t *testing.T) {
	ctx := context.Background()
	t.Run("no done message", func(t *testing.T) {
		u := scripted(t, `{"response":"a","done":false}`, `{"response":"b","done":false}`)
		r, err := ollama.New(u, "m", model("cut", 2)).Generate(ctx, backends.Request{Prompt: "x", MaxTokens: 2})
		require.Error(t, err)
		assert.Contains(t, err.Error(), "model cut: stream ended after 2 messages without its final done message")
		assert.Len(t, r.Chunks, 2, "what was measured is kept")
	})
	t.Run("short answer", func(t *testing.T) {
		u := scripted(t, `{"response":"a","done":false}`, `{"response":"","done":true,"done_reason":"stop","eval_count":1,"prompt_eval_count":3}`)
		_, err := ollama.New(u, "m", model("short", 8)).Generate(ctx, backends.Request{Prompt: "x", MaxTokens: 8})
		require.Error(t, err)
		assert.True(t, errors.Is(err, backends.ErrShort), "%v", err)
		assert.Contains(t, err.Error(), `model short: short output: got 1 of 8 output tokens (done_reason "stop")`)
	})
	t.Run("server error mid-stream", func(t *testing.T) {
		u := scripted(t, `{"response":"a","done":false}`, `{"error":"runner crashed"}`)
		_, err := ollama.New(u, "m", model("crash", 8)).Generate(ctx, backends.Request{Prompt: "x", MaxTokens: 8})
		require.Error(t, err)
		assert.Contains(t, err.Error(), "model crash: runner crashed")
	})
}

// TestThinking is issue 13's thinking stream, scripted: Ollama's thinking parser
// splits a model's output at its template's thinking tags, and a random-weight
// model's steered output (whole words only, package synth) never emits them, so
// the real engine cannot be made to think here on demand. 10 thinking messages with an empty response, then 2
// answer tokens, 20 ms apart. Every one is a generated chunk (TTFT is the first
// thinking token's), the first 10 are reasoning, the text is the answer's, and
// think: false reaches the server.
func TestThinking(t *testing.T) {
	var got api.GenerateRequest
	ts := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		require.NoError(t, json.NewDecoder(r.Body).Decode(&got))
		w.Header().Set("Content-Type", "application/x-ndjson")
		for i := range 12 {
			time.Sleep(20 * time.Millisecond)
			if i < 10 {
				fmt.Fprintf(w, `{"thinking":"t%d ","response":"","done":false}`+"\n", i)
			} else {
				fmt.Fprintf(w, `{"response":"a%d","done":false}`+"\n", i)
			}
			w.(http.Flusher).Flush()
		}
		fmt.Fprintln(w, `{"response":"","done":true,"done_reason":"length","eval_count":12,"prompt_eval_count":3}`)
	}))
	defer ts.Close()
	u, _ := url.Parse(ts.URL)
	think := false
	r, err := ollama.New(u, "m", model("thinker", 12)).Generate(context.Background(), backends.Request{Prompt: "x", MaxTokens: 12, Think: &think})
	require.NoError(t, err)
	require.NotNil(t, got.Think)
	assert.Equal(t, false, got.Think.Value, "think: false is sent")
	assert.Len(t, r.Chunks, 12)
	assert.Equal(t, 10, r.Reasoning)
	assert.Equal(t, "a10a11", r.Text, "the answer only")
	assert.Equal(t, 12, r.OutputTokens)
	assert.Less(t, r.TTFT(), 100*time.Millisecond, "TTFT is the first thinking token's (≈20 ms), not the answer's (≈220 ms)")
	assert.Greater(t, r.Chunks[r.Reasoning].Sub(r.Sent), 180*time.Millisecond)
}
