package transformers

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"slices"
	"time"
)

// BaselineRequest asks the worker to time plain torch generation for one prompt.
type BaselineRequest struct {
	// Prompt is encoded as for Generate.
	Prompt string
	// MaxTokens is the exact number of new tokens (min_new_tokens = max_new_tokens).
	// Default: the model's options.max_tokens, else 64.
	MaxTokens int
	// Repeats is the number of timed runs of each kind; the medians are reported.
	// Default 5.
	Repeats int
	// Warmup is the number of untimed runs of each kind first. nil means 1.
	Warmup *int
}

// Baseline is plain model.generate timed inside the worker, with the worker's
// configured decoding (Options.Decode: generate with its streamer, or the loop)
// timed the same way (without streaming to llmbench), for one prompt. Compare a
// measured decode rate, (n−1)/[backends.Result.DecodeTime], with
// DecodeTokensPerSecond: the gap is what the streaming loop and the pipe cost.
type Baseline struct {
	PromptTokens, OutputTokens int
	// Generate is the median time of model.generate for OutputTokens tokens,
	// Generate1 for one token (prefill and the first token).
	Generate, Generate1 time.Duration
	// TokensPerSecond is OutputTokens / Generate; DecodeTokensPerSecond is
	// (OutputTokens − 1) / (Generate − Generate1), zero when that is not positive.
	TokensPerSecond, DecodeTokensPerSecond float64
	// Loop and LoopFirst are the medians of the configured decoding: whole time, and
	// time to the first token. LoopTokensPerSecond and LoopDecodeTokensPerSecond
	// are defined as above.
	Loop, LoopFirst                                time.Duration
	LoopTokensPerSecond, LoopDecodeTokensPerSecond float64
	// SameTokens says whether model.generate and the loop produced the same
	// tokens (greedy decoding; float16 kernels may still differ in rare ties).
	SameTokens bool
	// Repeats is the number of timed runs of each kind.
	Repeats int
}

// Baseline times plain model.generate(min_new_tokens = max_new_tokens = N, greedy)
// for req.Prompt in the worker, and the worker's own loop alike, so that a report
// can show the tokens/s measured through llmbench beside plain torch.
func (b *Backend) Baseline(ctx context.Context, req BaselineRequest) (*Baseline, error) {
	b.mu.Lock()
	defer b.mu.Unlock()
	if b.broken != nil {
		return nil, b.err("baseline", b.broken)
	}
	n := req.MaxTokens
	if n <= 0 {
		if n = b.spec.Options.MaxTokens; n <= 0 {
			n = 64
		}
	}
	g := generateRequest{Op: "baseline", Prompt: req.Prompt, MaxNewTokens: n, MinNewTokens: n, Repeats: req.Repeats, Warmup: req.Warmup}
	if err := b.proc.send(g); err != nil {
		return nil, b.fail("baseline", b.deadOr(err))
	}
	for {
		select {
		case <-ctx.Done():
			// The baseline cannot be interrupted: the worker is stopped.
			b.proc.kill()
			return nil, b.fail("baseline", ctx.Err())
		case l, ok := <-b.proc.lines:
			if !ok {
				return nil, b.fail("baseline", b.proc.exitError())
			}
			r, err := parseReply(l.data)
			if err != nil {
				return nil, b.err("baseline", &ProtocolError{Line: shorten(l.data), Err: err})
			}
			if r.Error != nil {
				return nil, b.err("baseline", workerError("baseline", *r.Error))
			}
			if !r.Done {
				return nil, b.err("baseline", &ProtocolError{Line: shorten(l.data), Err: errors.New("want the baseline's done line")})
			}
			var br baselineReply
			if err := json.Unmarshal(l.data, &br); err != nil {
				return nil, b.err("baseline", &ProtocolError{Line: shorten(l.data), Err: err})
			}
			out := &Baseline{
				PromptTokens: br.PromptTokens, OutputTokens: br.OutputTokens,
				Generate: seconds(median(br.GenerateS)), Generate1: seconds(median(br.Generate1S)),
				TokensPerSecond: br.TokensPerS,
				Loop:            seconds(median(br.LoopS)), LoopFirst: seconds(median(br.LoopFirstS)),
				LoopTokensPerSecond: br.LoopTokensPerS,
				SameTokens:          br.SameTokens, Repeats: br.Repeats,
			}
			if br.DecodeTokensPerS != nil {
				out.DecodeTokensPerSecond = *br.DecodeTokensPerS
			}
			if br.LoopDecodeTokensPerS != nil {
				out.LoopDecodeTokensPerSecond = *br.LoopDecodeTokensPerS
			}
			if br.GenerateTokens != br.OutputTokens {
				return out, b.err("baseline", fmt.Errorf("model.generate gave %d tokens, want %d", br.GenerateTokens, br.OutputTokens))
			}
			return out, nil
		}
	}
}

// median of xs (sorted copy); 0 for none.
func median(xs []float64) float64 {
	if len(xs) == 0 {
		return 0
	}
	s := slices.Clone(xs)
	slices.Sort(s)
	m := len(s) / 2
	if len(s)%2 == 1 {
		return s[m]
	}
	return (s[m-1] + s[m]) / 2
}
