package bench

import (
	"fmt"
	"slices"
	"time"

	"github.com/llmbench/llmbench/backends"
	"github.com/llmbench/llmbench/metric"
	"github.com/llmbench/llmbench/percentile"
)

// Metric is one reported value (package metric has the one vocabulary).
type Metric = metric.Metric

// Timing returns the timing metrics of a set of generations of one case, as defined
// in docs/metrics.md; cold says every generation evaluated its whole prompt
// (prefix_cache cold), so that prefill rates may be computed:
//
//   - ns/op: mean end-to-end latency;
//   - ttft-ns/op: mean time to the first generated chunk, reasoning or answer;
//   - ttfo-ns/op: mean time to the first answer chunk, where reasoning streamed;
//   - tpot-ns/op: mean time per output token after the first, first chunk to
//     last ÷ (n−1), decode only;
//   - tail-ns/op: mean time from the last chunk to the end of the response;
//   - tokens/s: decode rate, Σ(n−1) ÷ Σ(last chunk − first chunk);
//   - prompt-tokens/s: Σ prompt tokens ÷ Σ TTFT (prefill as the client sees it),
//     cold only;
//   - server-tokens/s, server-prompt-tokens/s: the engine's own rates, Σ tokens ÷
//     Σ engine duration, when it reports them (the prompt rate cold only);
//   - gen-tokens/op, prompt-tokens/op, reasoning-tokens/op: mean engine token
//     counts (reasoning where it streamed);
//   - itl-p50-ns, itl-p99-ns: nearest-rank percentiles of the gaps between
//     chunks, pooled over all generations.
//
// A metric that does not apply (one output token, no decode time, no engine
// timings, a warm prefix cache) is left out, never reported as zero.
func Timing(rs []*backends.Result, cold bool) []Metric {
	if len(rs) == 0 {
		return nil
	}
	var (
		e2e, ttft, decode, tail, ttfo     time.Duration
		tpot                              float64 // ns, unrounded
		gen, prompt, decodeTokens, reason int
		tpotN, ttfoN, reasonN             int
		srvEval, srvPrompt                time.Duration
		srvEvalN, srvPromptN              int
		gaps                              []time.Duration
	)
	for _, r := range rs {
		e2e += r.E2E()
		ttft += r.TTFT()
		gen += r.OutputTokens
		prompt += r.PromptTokens
		if d := r.DecodeTime(); r.OutputTokens >= 2 && d > 0 {
			tpot += float64(d) / float64(r.OutputTokens-1)
			tpotN++
			decode += d
			decodeTokens += r.OutputTokens - 1
		}
		if len(r.Chunks) > 0 {
			tail += r.Done.Sub(r.Chunks[len(r.Chunks)-1])
		}
		if r.Reasoning > 0 {
			reasonN++
			if r.ReasoningTokens > 0 {
				reason += r.ReasoningTokens
			} else {
				reason += r.Reasoning // no engine count: one token per chunk
			}
			if r.Reasoning < len(r.Chunks) {
				ttfo += r.Chunks[r.Reasoning].Sub(r.Sent)
				ttfoN++
			}
		}
		srvEval += r.Server.Eval
		srvEvalN += r.Server.EvalTokens
		srvPrompt += r.Server.PromptEval
		srvPromptN += r.Server.PromptEvalTokens
		gaps = append(gaps, r.ITL()...)
	}
	n := float64(len(rs))
	out := []Metric{{Unit: "ns/op", Value: float64(e2e) / n}}
	if ttft > 0 {
		out = append(out, Metric{Unit: "ttft-ns/op", Value: float64(ttft) / n})
	}
	if ttfoN > 0 {
		out = append(out, Metric{Unit: "ttfo-ns/op", Value: float64(ttfo) / float64(ttfoN)})
	}
	if tpotN > 0 {
		out = append(out,
			Metric{Unit: "tpot-ns/op", Value: tpot / float64(tpotN)},
			Metric{Unit: "tokens/s", Value: float64(decodeTokens) / decode.Seconds()})
	}
	if tail > 0 {
		out = append(out, Metric{Unit: "tail-ns/op", Value: float64(tail) / n})
	}
	if cold && prompt > 0 && ttft > 0 {
		out = append(out, Metric{Unit: "prompt-tokens/s", Value: float64(prompt) / ttft.Seconds()})
	}
	if srvEval > 0 && srvEvalN > 0 {
		out = append(out, Metric{Unit: "server-tokens/s", Value: float64(srvEvalN) / srvEval.Seconds()})
	}
	if cold && srvPrompt > 0 && srvPromptN > 0 {
		out = append(out, Metric{Unit: "server-prompt-tokens/s", Value: float64(srvPromptN) / srvPrompt.Seconds()})
	}
	if gen > 0 {
		out = append(out, Metric{Unit: "gen-tokens/op", Value: float64(gen) / n})
	}
	if prompt > 0 {
		out = append(out, Metric{Unit: "prompt-tokens/op", Value: float64(prompt) / n})
	}
	if reasonN > 0 && reason > 0 {
		out = append(out, Metric{Unit: "reasoning-tokens/op", Value: float64(reason) / float64(reasonN)})
	}
	if len(gaps) > 0 {
		slices.Sort(gaps)
		out = append(out,
			Metric{Unit: "itl-p50-ns", Value: float64(percentile.NearestRank(gaps, 50))},
			Metric{Unit: "itl-p99-ns", Value: float64(percentile.NearestRank(gaps, 99))})
	}
	return out
}

// Sanitize makes s safe as a value in a sub-benchmark name: '/', '=' and white
// space become '_', and a trailing -digits (which benchfmt reads as GOMAXPROCS) gets
// an '_' appended.
func Sanitize(s string) string {
	b := []rune(s)
	for i, r := range b {
		switch r {
		case '/', '=', ' ', '\t', '\n', '\r':
			b[i] = '_'
		}
	}
	out := string(b)
	if i := lastDash(out); i >= 0 && i < len(out)-1 && allDigits(out[i+1:]) {
		out += "_"
	}
	if out == "" {
		out = "_"
	}
	return out
}

func lastDash(s string) int {
	for i := len(s) - 1; i >= 0; i-- {
		if s[i] == '-' {
			return i
		}
	}
	return -1
}

func allDigits(s string) bool {
	for _, c := range s {
		if c < '0' || c > '9' {
			return false
		}
	}
	return true
}

// CaseName is the sub-benchmark name of a model×prompt case: model=M/prompt=P.
func CaseName(model, prompt string) string {
	return fmt.Sprintf("model=%s/prompt=%s", Sanitize(model), Sanitize(prompt))
}
