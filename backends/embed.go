package backends

import (
	"context"
	"fmt"
	"time"
)

// Embedder is implemented by backends that serve embeddings (Ollama's
// /api/embed, an OpenAI-compatible /v1/embeddings). Embed sends one request of
// every input at once and returns one vector per input, in order; a response
// with any other number of vectors is an error.
type Embedder interface {
	Embed(ctx context.Context, inputs []string) (*EmbedResult, error)
}

// EmbedResult is what one embedding request measured. Times are on the client's
// monotonic clock.
type EmbedResult struct {
	// Sent is when the request was handed to the transport, Done when the
	// response had been read whole and decoded.
	Sent, Done time.Time
	// Vectors are the embeddings, one per input, in the inputs' order.
	Vectors [][]float32
	// InputTokens is the engine's own count of the tokens it embedded, all
	// inputs together (Ollama's prompt_eval_count, OpenAI usage.prompt_tokens);
	// zero when it reported none. Never re-tokenised by llmbench.
	InputTokens int
	// Server holds the engine's own timings where it reports them: Total
	// (Ollama's total_duration) and Load (load_duration).
	Server ServerTimings
}

// Latency is the request's client-side time, sent to done.
func (r *EmbedResult) Latency() time.Duration { return r.Done.Sub(r.Sent) }

// CheckVectors returns an error unless r holds n vectors, all of one non-zero
// length; it returns that length.
func (r *EmbedResult) CheckVectors(n int) (int, error) {
	if len(r.Vectors) != n {
		return 0, fmt.Errorf("%d embeddings for %d inputs", len(r.Vectors), n)
	}
	dim := 0
	for i, v := range r.Vectors {
		switch {
		case len(v) == 0:
			return 0, fmt.Errorf("embedding %d is empty", i)
		case i == 0:
			dim = len(v)
		case len(v) != dim:
			return 0, fmt.Errorf("embedding %d has %d dimensions, embedding 0 has %d", i, len(v), dim)
		}
	}
	return dim, nil
}

// EmbedEngine is implemented by engines whose backends are [Embedder]s, so a
// configuration can say before anything starts that a model's engine cannot
// serve its embed: section.
type EmbedEngine interface {
	Engine
	// ServesEmbeddings is a marker: the engine's backends implement Embedder.
	ServesEmbeddings()
}

// EmbedEngines lists the registered engines that serve embeddings, sorted.
func EmbedEngines() []string {
	var out []string
	for _, n := range Engines() {
		e, _ := Lookup(n)
		if _, ok := e.(EmbedEngine); ok {
			out = append(out, n)
		}
	}
	return out
}
