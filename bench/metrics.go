package bench

import (
	"fmt"
	"math"
	"slices"
	"strings"
	"time"

	"github.com/llmbench/llmbench/backends"
	"github.com/llmbench/llmbench/loadgen"
	"github.com/llmbench/llmbench/quality"
)

// Metric is one reported value, with its unit as Go benchmark output writes it
// ("ttft-ns/op", "tokens/s").
type Metric struct {
	Unit  string
	Value float64
}

// Unit describes a metric unit for `Unit … better=… assume=…` lines.
type Unit struct {
	Name   string // the unit as reported, without a trailing /op
	Better string // "higher", "lower" or "" (no direction)
	Exact  bool   // the value is deterministic (assume=exact)
}

// Units lists the units this package reports, for the Unit lines benchmark output
// starts with. Definitions: docs/metrics.md.
var Units = []Unit{
	{Name: "ns", Better: "lower"},
	{Name: "ttft-ns", Better: "lower"},
	{Name: "tpot-ns", Better: "lower"},
	{Name: "itl-p50-ns", Better: "lower"},
	{Name: "itl-p99-ns", Better: "lower"},
	{Name: "tokens/s", Better: "higher"},
	{Name: "prompt-tokens/s", Better: "higher"},
	{Name: "server-tokens/s", Better: "higher"},
	{Name: "server-prompt-tokens/s", Better: "higher"},
	{Name: "gen-tokens", Exact: true},
	{Name: "prompt-tokens", Exact: true},
	{Name: "load-ns", Better: "lower"},
	{Name: "peak-rss-B", Better: "lower"},
	{Name: "rss-after-load-B", Better: "lower"},
	{Name: "peak-vram-B", Better: "lower"},
	{Name: "engine-peak-alloc-B", Better: "lower"},
	{Name: "J/token", Better: "lower"},
	{Name: "avg-power-W", Better: "lower"},
}

func init() {
	have := map[string]bool{}
	for _, u := range Units {
		have[u.Name] = true
	}
	for _, name := range loadgen.MetricNames() {
		if d := loadgen.Direction(name); d != "" && !have[name] {
			Units = append(Units, Unit{Name: name, Better: d})
		}
	}
	for _, name := range quality.Names() {
		if d := quality.Direction(name); d != "" {
			Units = append(Units, Unit{Name: strings.TrimSuffix(name, "/op"), Better: d})
		}
	}
}

// UnitLines returns the `Unit` metadata lines for units.
func UnitLines(units []Unit) []string {
	var out []string
	for _, u := range units {
		line := "Unit " + u.Name
		if u.Better != "" {
			line += " better=" + u.Better
		}
		if u.Exact {
			line += " assume=exact"
		}
		if u.Better != "" || u.Exact {
			out = append(out, line)
		}
	}
	return out
}

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
	out := []Metric{{"ns/op", float64(e2e) / n}}
	if ttft > 0 {
		out = append(out, Metric{"ttft-ns/op", float64(ttft) / n})
	}
	if tpotN > 0 {
		out = append(out, Metric{"tpot-ns/op", float64(tpot) / float64(tpotN)})
		if decode > 0 {
			out = append(out, Metric{"tokens/s", float64(decodeTokens) / decode.Seconds()})
		}
	}
	if prompt > 0 && ttft > 0 {
		out = append(out, Metric{"prompt-tokens/s", float64(prompt) / ttft.Seconds()})
	}
	if srvEval > 0 && srvEvalN > 0 {
		out = append(out, Metric{"server-tokens/s", float64(srvEvalN) / srvEval.Seconds()})
	}
	if srvPrompt > 0 && srvPromptN > 0 {
		out = append(out, Metric{"server-prompt-tokens/s", float64(srvPromptN) / srvPrompt.Seconds()})
	}
	if gen > 0 {
		out = append(out, Metric{"gen-tokens/op", float64(gen) / n})
	}
	if prompt > 0 {
		out = append(out, Metric{"prompt-tokens/op", float64(prompt) / n})
	}
	if len(gaps) > 0 {
		slices.Sort(gaps)
		out = append(out,
			Metric{"itl-p50-ns", float64(Percentile(gaps, 50))},
			Metric{"itl-p99-ns", float64(Percentile(gaps, 99))})
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
