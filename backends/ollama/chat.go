package ollama

import (
	"context"

	"github.com/ollama/ollama/api"

	"github.com/llmbench/llmbench/backends"
)

// chat runs one streamed /api/chat request of req.Messages: the model's chat
// template renders the conversation, and the answer is the next assistant
// message. Counts and timings are as Generate's.
func (b *Backend) chat(ctx context.Context, req backends.Request) (*backends.Result, error) {
	stream := true
	cr := &api.ChatRequest{
		Model:     b.name,
		Messages:  make([]api.Message, len(req.Messages)),
		Stream:    &stream,
		KeepAlive: b.keepAlive(),
		Options:   b.options(req.MaxTokens, req.Seed),
	}
	for i, m := range req.Messages {
		cr.Messages[i] = api.Message{Role: m.Role, Content: m.Content}
	}
	if req.Think != nil {
		cr.Think = &api.ThinkValue{Value: *req.Think}
	}
	s := newStream()
	err := b.client.Chat(ctx, cr, func(resp api.ChatResponse) error {
		s.chunk(resp.Message.Thinking, resp.Message.Content, resp.Done, resp.DoneReason, resp.Metrics)
		return nil
	})
	return b.finish(s, req, err)
}

// CheckChat implements backends.Chatter: every Ollama model has a chat
// endpoint. A model without a chat template of its own (a synthetic one) gets
// Ollama's default, {{ .Prompt }}{{ .Response }} for each exchange: the
// conversation's contents one after the other, every answer included.
func (engine) CheckChat(backends.Spec) error { return nil }
