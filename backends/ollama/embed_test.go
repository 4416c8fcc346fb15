package ollama_test

import (
	"context"
	"math"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/llmbench/llmbench/backends"
	"github.com/llmbench/llmbench/backends/ollama"
	"github.com/llmbench/llmbench/backends/openai"
	"github.com/llmbench/llmbench/synth"
)

// TestEmbedRealEngine: the synthetic GGUFs, as synth writes them (no
// pooling_type key), are served by the real Ollama's /api/embed and its
// /v1/embeddings: N inputs give N vectors of the preset's embedding length;
// the engine's token count of a batch is the sum of its inputs' counts; and
// both APIs return the same vectors, in input order, and the same count.
func TestEmbedRealEngine(t *testing.T) {
	srv := engine(t)
	inputs := []string{"the cat sat on the mat", "hello", "a much longer input of several more words than the others"}
	for _, preset := range []string{"tiny-llama", "tiny-gpt2:q8_0"} {
		t.Run(preset, func(t *testing.T) {
			sp, err := synth.ParseSpec(preset)
			require.NoError(t, err)
			name := synthetic(t, srv, preset)
			spec := backends.Spec{Name: preset, Model: name, Options: backends.Options{Context: 512, Threads: 2, KeepAlive: time.Minute}}
			native := ollama.New(srv.URL, name, spec)
			v1, err := openai.New(spec, openai.Options{Host: srv.URL.String()})
			require.NoError(t, err)
			defer v1.Close()
			ctx, cancel := context.WithTimeout(context.Background(), 5*time.Minute)
			defer cancel()

			sum := 0
			for _, in := range inputs {
				r, err := native.Embed(ctx, []string{in})
				require.NoError(t, err)
				dim, err := r.CheckVectors(1)
				require.NoError(t, err)
				assert.Equal(t, sp.Preset.Embedding, dim, "embedding length")
				assert.Positive(t, r.InputTokens, "prompt_eval_count of %q", in)
				assert.Positive(t, r.Server.Total, "total_duration")
				assert.False(t, r.Done.Before(r.Sent))
				sum += r.InputTokens
			}
			batch, err := native.Embed(ctx, inputs)
			require.NoError(t, err)
			dim, err := batch.CheckVectors(len(inputs))
			require.NoError(t, err)
			assert.Equal(t, sp.Preset.Embedding, dim)
			assert.Equal(t, sum, batch.InputTokens, "a batch's tokens are its inputs' tokens")

			other, err := v1.Embed(ctx, inputs)
			require.NoError(t, err)
			_, err = other.CheckVectors(len(inputs))
			require.NoError(t, err)
			assert.Equal(t, batch.InputTokens, other.InputTokens, "usage.prompt_tokens is prompt_eval_count")
			for i := range inputs {
				assert.InDelta(t, 1, cosine(batch.Vectors[i], other.Vectors[i]), 1e-4, "input %d: /api/embed and /v1/embeddings differ", i)
			}
			// Different inputs embed differently: the vectors are not one vector
			// repeated (which would hide an order mix-up above).
			assert.Less(t, cosine(batch.Vectors[0], batch.Vectors[2]), 0.9999)

			// An input past the context is an error, not silently truncated.
			_, err = native.Embed(ctx, []string{strings.Repeat("word ", 2000)})
			assert.Error(t, err)
		})
	}
}

func cosine(a, b []float32) float64 {
	var ab, aa, bb float64
	for i := range a {
		ab += float64(a[i]) * float64(b[i])
		aa += float64(a[i]) * float64(a[i])
		bb += float64(b[i]) * float64(b[i])
	}
	return ab / math.Sqrt(aa*bb)
}
