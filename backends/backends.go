// Package backends defines what every inference engine gives the benchmark: one
// streamed generation, timed on the client's clock chunk by chunk, with the engine's
// own token counts and timings kept beside it.
//
// Engines live in sub-packages (ollama, openai, transformers, llamacpp), each of
// which registers an [Engine] under its name (see [Register]); docs/engines.md says
// how to add one. A backend implements [Backend]; optional capabilities are
// discovered by type assertion: [Loader], [Describer] and [ProcessFinder].
package backends

import (
	"context"
	"errors"
	"fmt"
	"time"
)

// Request is one generation.
type Request struct {
	// Prompt is the text sent to the engine as is (no chat template is applied by
	// llmbench; engines may apply their own). It is not sent when Messages is set.
	Prompt string
	// Messages, when set, is a conversation sent to the engine's chat endpoint
	// (Ollama's /api/chat, /v1/chat/completions), whose chat template renders
	// it; the generation is the next assistant message. Only the backends of
	// engines that implement [Chatter] send it; a multi-turn load (load:
	// sessions) is refused for the others when the configuration is read.
	Messages []Message
	// MaxTokens is the exact number of output tokens asked for. The backend asks the
	// engine for exactly this many (ignoring end-of-sequence where the engine allows)
	// and returns an error wrapping [ErrShort] when fewer came. Zero means the
	// engine's default, unverified.
	MaxTokens int
	// Seed is the sampling seed (the model's, resolved by the caller).
	Seed int
	// Think asks a thinking-capable model to think (true) or not (false); nil
	// leaves it to the engine. Engines without the switch ignore it.
	Think *bool
}

// Message is one message of a conversation.
type Message struct {
	// Role is "user", "assistant" or "system".
	Role string
	// Content is its text.
	Content string
}

// Roles of [Message].
const (
	RoleUser      = "user"
	RoleAssistant = "assistant"
)

// Result is what one generation measured. All times are on the client's monotonic
// clock (time.Now), taken as the bytes were read.
type Result struct {
	// Sent is when the request was handed to the transport.
	Sent time.Time
	// Chunks holds the arrival time of every streamed chunk that carried generated
	// content, reasoning ("thinking") included, in order. Role-only, empty and final
	// summary chunks are not included.
	Chunks []time.Time
	// Reasoning is how many of the first Chunks carried reasoning rather than
	// answer text (zero when the engine streamed none). Chunks[Reasoning] is the
	// first answer chunk.
	Reasoning int
	// Done is when the final message (the engine's end-of-stream) was read.
	Done time.Time
	// Text is the generated answer text, all answer chunks concatenated
	// (reasoning is not included).
	Text string
	// PromptTokens and OutputTokens are the engine's own counts (never re-tokenised
	// by llmbench), reasoning tokens included in OutputTokens. Zero when the engine
	// did not report them.
	PromptTokens, OutputTokens int
	// ReasoningTokens is the engine's count of reasoning tokens among
	// OutputTokens; zero when it streamed none or did not say.
	ReasoningTokens int
	// Server holds the engine's own timings, when it reports them.
	Server ServerTimings
	// EngineMemory is the peak device memory the engine itself reports having
	// allocated during the generation (torch.cuda.max_memory_allocated for the
	// transformers engine); zero when it reports none.
	EngineMemory uint64
}

// ServerTimings are durations the engine measured itself. A zero field means the
// engine did not report it.
type ServerTimings struct {
	// Load is the time the engine spent loading the model for this request.
	Load time.Duration
	// PromptEval is the engine's prefill time, PromptEvalTokens the tokens it
	// evaluated in it (fewer than PromptTokens when a prefix cache was hit).
	PromptEval       time.Duration
	PromptEvalTokens int
	// Eval is the engine's decode time for EvalTokens tokens (for Ollama, tokens
	// 2…n: its eval_duration starts after the first output token).
	Eval       time.Duration
	EvalTokens int
	// Total is the engine's whole time for the request.
	Total time.Duration
}

// Backend runs generations on one loaded model. Implementations are safe for
// concurrent use unless they document otherwise.
type Backend interface {
	// Generate runs one streamed generation. The returned error wraps the cause
	// and names the model; a partial Result may accompany an error.
	Generate(ctx context.Context, req Request) (*Result, error)
	// Close releases the model and any process the backend started.
	Close() error
}

// Loader is implemented by backends that load their model explicitly. Load makes
// sure the model is resident and returns the time the engine reported for loading
// it (zero when it was already loaded).
type Loader interface {
	Load(ctx context.Context) (time.Duration, error)
}

// ProcessFinder is implemented by backends that know which local process holds the
// model in memory (an Ollama runner, a Python worker, or this process). It returns
// ErrRemote when the engine runs on another machine.
type ProcessFinder interface {
	EnginePID(ctx context.Context) (int, error)
}

// ErrShort is wrapped by Generate's error when the engine produced fewer tokens than
// the request's MaxTokens.
var ErrShort = errors.New("short output")

// ErrRemote is returned by ProcessFinder when the engine is not on this machine.
var ErrRemote = errors.New("engine runs on another machine")

// ErrNoContent is wrapped by Generate's error when a stream ended without a
// single content chunk: a failed request of its own kind, never a TTFT of 0.
var ErrNoContent = errors.New("no content")

// ErrorKind classifies err for counting failures by kind: the kind an error in
// its chain names (an ErrorKind() string method), "short" for [ErrShort],
// "no-content" for [ErrNoContent], "canceled" for a context error, else "other".
func ErrorKind(err error) string {
	var k interface{ ErrorKind() string }
	switch {
	case errors.As(err, &k):
		return k.ErrorKind()
	case errors.Is(err, ErrShort):
		return "short"
	case errors.Is(err, ErrNoContent):
		return "no-content"
	case errors.Is(err, context.Canceled), errors.Is(err, context.DeadlineExceeded):
		return "canceled"
	}
	return "other"
}

// CheckLength returns an error wrapping ErrNoContent when r has no content chunk,
// or ErrShort when it has fewer output tokens than want (want == 0 checks no
// length).
func CheckLength(r *Result, want int) error {
	if len(r.Chunks) == 0 {
		return fmt.Errorf("%w: the stream carried no generated token", ErrNoContent)
	}
	if want > 0 && r.OutputTokens < want {
		return fmt.Errorf("%w: got %d of %d output tokens", ErrShort, r.OutputTokens, want)
	}
	return nil
}
