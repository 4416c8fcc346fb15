package bench

import (
	"fmt"
	"math"
	"slices"
	"time"

	"github.com/llmbench/llmbench/backends"
	"github.com/llmbench/llmbench/metric"
)

// Metric is one reported value (package metric has the one vocabulary).
type Metric = metric.Metric

// Timing returns the timing metrics of a set of generations of one case, as defined
// in docs/metrics.md:
//
//   - ns/op: mean end-to-end latency;
//   - ttft-ns/op: mean time to first token;
//   - tpot-ns/op: mean time per output token after the first;
//   - tokens/s: decode rate, Σ(n−1) ÷ Σ(E2E−TTFT) (the inverse of the
//     token-weighted TPOT);
//   - prompt-tokens/s: Σ prompt tokens ÷ Σ TTFT (prefill as the client sees it);
//   - server-tokens/s, server-prompt-tokens/s: the engine's own rates, Σ tokens ÷
//     Σ engine duration, when it reports them;
//   - gen-tokens/op, prompt-tokens/op: mean engine token counts;
//   - itl-p50-ns, itl-p99-ns: percentiles of the gaps between content chunks,
//     pooled over all generations (nearest-rank).
//
// A metric that does not apply (one output token, no engine timings) is left out,
// never reported as zero.
func Timing(rs []*backends.Result) []Metric {
	if len(rs) == 0 {
		return nil
	}
	var (
		e2e, ttft, tpot, decode   time.Duration
		gen, prompt, decodeTokens int
		tpotN                     int
		srvEval, srvPrompt        time.Duration
		srvEvalN, srvPromptN      int
		gaps                      []time.Duration
	)
	for _, r := range rs {
		e2e += r.E2E()
		ttft += r.TTFT()
		gen += r.OutputTokens
		prompt += r.PromptTokens
		if r.OutputTokens >= 2 && len(r.Chunks) > 0 {
			tpot += r.TPOT()
			tpotN++
			decode += r.E2E() - r.TTFT()
			decodeTokens += r.OutputTokens - 1
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
	if tpotN > 0 {
		out = append(out, Metric{Unit: "tpot-ns/op", Value: float64(tpot) / float64(tpotN)})
		if decode > 0 {
			out = append(out, Metric{Unit: "tokens/s", Value: float64(decodeTokens) / decode.Seconds()})
		}
	}
	if prompt > 0 && ttft > 0 {
		out = append(out, Metric{Unit: "prompt-tokens/s", Value: float64(prompt) / ttft.Seconds()})
	}
	if srvEval > 0 && srvEvalN > 0 {
		out = append(out, Metric{Unit: "server-tokens/s", Value: float64(srvEvalN) / srvEval.Seconds()})
	}
	if srvPrompt > 0 && srvPromptN > 0 {
		out = append(out, Metric{Unit: "server-prompt-tokens/s", Value: float64(srvPromptN) / srvPrompt.Seconds()})
	}
	if gen > 0 {
		out = append(out, Metric{Unit: "gen-tokens/op", Value: float64(gen) / n})
	}
	if prompt > 0 {
		out = append(out, Metric{Unit: "prompt-tokens/op", Value: float64(prompt) / n})
	}
	if len(gaps) > 0 {
		slices.Sort(gaps)
		out = append(out,
			Metric{Unit: "itl-p50-ns", Value: float64(Percentile(gaps, 50))},
			Metric{Unit: "itl-p99-ns", Value: float64(Percentile(gaps, 99))})
	}
	return out
}

// Percentile returns the p-th percentile (0 < p ≤ 100) of sorted by the
// nearest-rank method: the smallest value with at least p% of values at or below
// it.
func Percentile[T ~int64 | ~float64](sorted []T, p float64) T {
	if len(sorted) == 0 {
		panic("bench: percentile of nothing")
	}
	rank := int(math.Ceil(p / 100 * float64(len(sorted))))
	rank = max(1, min(rank, len(sorted)))
	return sorted[rank-1]
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
