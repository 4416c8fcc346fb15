package ollama

import (
	"context"
	"fmt"
	"time"

	"github.com/ollama/ollama/api"

	"github.com/llmbench/llmbench/backends"
)

var _ backends.Embedder = (*Backend)(nil)

// ServesEmbeddings implements backends.EmbedEngine: Ollama serves /api/embed.
func (engine) ServesEmbeddings() {}

// Embed implements backends.Embedder: one /api/embed request of every input,
// with the model's options (threads, context, batch) and keep-alive. Ollama's
// answer carries prompt_eval_count, the tokens of all inputs, and its own
// total_duration and load_duration. Inputs longer than the context are an error,
// not truncated.
func (b *Backend) Embed(ctx context.Context, inputs []string) (*backends.EmbedResult, error) {
	truncate := false
	req := &api.EmbedRequest{
		Model:     b.name,
		Input:     inputs,
		KeepAlive: b.keepAlive(),
		Truncate:  &truncate,
		Options:   b.options(0, b.opts.Seed),
	}
	r := &backends.EmbedResult{Sent: time.Now()}
	resp, err := b.client.Embed(ctx, req)
	r.Done = time.Now()
	if err != nil {
		return r, b.wrap(err)
	}
	r.Vectors = resp.Embeddings
	r.InputTokens = resp.PromptEvalCount
	r.Server = backends.ServerTimings{Total: resp.TotalDuration, Load: resp.LoadDuration}
	if _, err := r.CheckVectors(len(inputs)); err != nil {
		return r, fmt.Errorf("ollama: model %s: /api/embed: %w", b.cfgName, err)
	}
	return r, nil
}
