package openai_test

import (
	"context"
	"errors"
	"os"
	"strings"
	"testing"
	"time"

	"github.com/llmbench/llmbench/backends"
	"github.com/llmbench/llmbench/backends/ollama/ollamatest"
	"github.com/llmbench/llmbench/backends/openai"
	"github.com/llmbench/llmbench/loadgen"
)

// ollamaModel returns a model config for a real Ollama: the one named by
// $LLMBENCH_OLLAMA_URL and $LLMBENCH_OLLAMA_MODEL, else a private server of the
// engine llmbench builds (make ollama) with a synthetic tiny-llama; it skips when
// there is neither (and fails under LLMBENCH_REQUIRE_ENGINE=1, as in make test).
func ollamaModel(t *testing.T) (backends.Spec, openai.Options) {
	url, name := os.Getenv("LLMBENCH_OLLAMA_URL"), os.Getenv("LLMBENCH_OLLAMA_MODEL")
	if url == "" || name == "" {
		url, name = privateOllama(t)
	}
	return backends.Spec{Name: "ollama-v1", Model: name, Options: backends.Options{MaxTokens: 16, Seed: 42}},
		openai.Options{Host: url}
}

// TestOllama runs the openai backend against a real Ollama's /v1 endpoints: the
// stream must carry usage (stream_options.include_usage) and never more tokens
// than max_tokens. Ollama's /v1 has no ignore_eos or min_tokens, so a model may
// stop early: that shows as KindShort, which is logged, not failed.
func TestOllama(t *testing.T) {
	spec, o := ollamaModel(t)
	const n = 16
	for _, endpoint := range []string{"chat", "completions"} {
		t.Run("endpoint="+endpoint, func(t *testing.T) {
			o := o
			o.Endpoint = endpoint
			b, err := openai.New(spec, o, openai.WithStallTimeout(5*time.Minute))
			if err != nil {
				t.Fatal(err)
			}
			defer b.Close()
			ctx, cancel := context.WithTimeout(context.Background(), 10*time.Minute)
			defer cancel()
			res, err := b.Generate(ctx, backends.Request{Prompt: "Count from one to twenty in words.", MaxTokens: n})
			var oe *openai.Error
			switch {
			case errors.As(err, &oe) && oe.Kind == openai.KindShort:
				t.Logf("max_tokens %d gave %d tokens: the model stopped early (Ollama's /v1 cannot ignore end-of-sequence)", n, res.OutputTokens)
			case err != nil:
				t.Fatalf("generate: %v", err)
			default:
				t.Logf("max_tokens %d gave exactly %d tokens", n, res.OutputTokens)
			}
			if res.OutputTokens == 0 || res.PromptTokens == 0 {
				t.Errorf("no usage: prompt %d, output %d tokens", res.PromptTokens, res.OutputTokens)
			}
			if res.OutputTokens > n {
				t.Errorf("%d output tokens for max_tokens %d", res.OutputTokens, n)
			}
			if len(res.Chunks) == 0 || res.TTFT() <= 0 || res.E2E() < res.TTFT() {
				t.Errorf("%d content chunks, TTFT %v, E2E %v", len(res.Chunks), res.TTFT(), res.E2E())
			}
			t.Logf("%d content chunks for %d tokens, TTFT %v, E2E %v, text %q", len(res.Chunks), res.OutputTokens, res.TTFT(), res.E2E(), res.Text)
		})
	}
}

// TestOllamaLoad runs a small concurrency sweep against the real Ollama.
func TestOllamaLoad(t *testing.T) {
	spec, o := ollamaModel(t)
	b, err := openai.New(spec, o, openai.WithStallTimeout(5*time.Minute))
	if err != nil {
		t.Fatal(err)
	}
	defer b.Close()
	points, err := loadgen.Points(&loadgen.Spec{Concurrency: loadgen.Ints{1, 2}, Requests: 4, Warmup: 1})
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Minute)
	defer cancel()
	reqs := []backends.Request{{Prompt: "Say hello.", MaxTokens: 16, Seed: 42}, {Prompt: "Name three colours.", MaxTokens: 16, Seed: 42}}
	for _, p := range points {
		rep, err := loadgen.RunPoint(ctx, b, p, reqs)
		if err != nil {
			t.Fatal(err)
		}
		var buf strings.Builder
		rep.WriteText(&buf)
		t.Log("\n" + buf.String())
		// Only early stops may fail a request.
		if rep.Succeeded+rep.Errors["short"] != 4 {
			t.Errorf("%s: %d ok, errors %v", rep.Point.Name, rep.Succeeded, rep.ErrorSamples)
		}
	}
}

// privateOllama starts the engine llmbench builds on a free loopback port with a
// synthetic tiny-llama, or skips without it (see ollamatest).
func privateOllama(t *testing.T) (url, model string) {
	srv := ollamatest.Start(t)
	return srv.URL.String(), ollamatest.Synthetic(t, srv, "tiny-llama")
}
