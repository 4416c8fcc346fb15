package backends

import "time"

// The per-generation timings below are defined in docs/metrics.md; each is measured
// on the client's clock from the timestamps in a Result.

// E2E is the end-to-end latency: from the request sent to the final message read.
func (r *Result) E2E() time.Duration { return r.Done.Sub(r.Sent) }

// TTFT is the time to first token: from the request sent to the first chunk that
// carried generated content. It is zero when no content arrived.
func (r *Result) TTFT() time.Duration {
	if len(r.Chunks) == 0 {
		return 0
	}
	return r.Chunks[0].Sub(r.Sent)
}

// DecodeTime is the time from the first content chunk to the last one: the time the
// engine took to produce output tokens 2…n as the client saw them.
func (r *Result) DecodeTime() time.Duration {
	if len(r.Chunks) < 2 {
		return 0
	}
	return r.Chunks[len(r.Chunks)-1].Sub(r.Chunks[0])
}

// TPOT is the time per output token after the first: (E2E − TTFT) / (n − 1), where n
// is the engine's output token count. It is zero when n < 2.
func (r *Result) TPOT() time.Duration {
	if r.OutputTokens < 2 || len(r.Chunks) == 0 {
		return 0
	}
	return (r.E2E() - r.TTFT()) / time.Duration(r.OutputTokens-1)
}

// ITL returns the inter-token latencies: the gaps between successive content chunks
// (per chunk, not per token).
func (r *Result) ITL() []time.Duration {
	if len(r.Chunks) < 2 {
		return nil
	}
	gaps := make([]time.Duration, len(r.Chunks)-1)
	for i := 1; i < len(r.Chunks); i++ {
		gaps[i-1] = r.Chunks[i].Sub(r.Chunks[i-1])
	}
	return gaps
}
