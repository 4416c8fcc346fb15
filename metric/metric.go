// Package metric is llmbench's one vocabulary of metrics: every value the suite can
// print, with its unit, its better direction, whether it is exact, a title for
// people and its family. bench, quality, loadgen and reports all take their names
// and directions from here, so a metric is defined in one place (docs/metrics.md
// and docs/load.md say what each one measures).
package metric

import (
	"fmt"
	"slices"
	"strings"
)

// Metric is one reported value, with its unit as Go benchmark output writes it
// ("ttft-ns/op", "tokens/s").
type Metric struct {
	Unit  string
	Value float64
}

// Better is the direction in which a metric improves.
type Better int

const (
	// None: neither direction is better (a count, a length, an average power).
	None Better = 0
	// Higher is better (rates, quality scores).
	Higher Better = +1
	// Lower is better (times, memory, energy).
	Lower Better = -1
)

// String returns "higher", "lower" or "" as `Unit … better=` lines write it.
func (b Better) String() string {
	switch b {
	case Higher:
		return "higher"
	case Lower:
		return "lower"
	}
	return ""
}

// Family groups metrics for reports.
type Family string

// The families.
const (
	Timing  Family = "timing"  // latencies and rates of generations
	Tokens  Family = "tokens"  // token counts
	Memory  Family = "memory"  // resident and device memory
	Energy  Family = "energy"  // GPU energy and power
	Load    Family = "load"    // load-generation points
	Embed   Family = "embed"   // embedding requests (docs/embed.md)
	Quality Family = "quality" // text quality (meaningless for synthetic models)
)

// Info describes one metric.
type Info struct {
	// Unit is the metric as benchmark lines write it: "ttft-ns/op".
	Unit string
	// Title is its name for people: "TTFT".
	Title string
	// Better is its direction.
	Better Better
	// Exact marks deterministic values (assume=exact for benchstat).
	Exact bool
	// Family groups it.
	Family Family
	// OneShot marks figures measured once per model (its load), not per
	// generation: they are written once per model and kept out of significance
	// tests unless asked for by name.
	OneShot bool
	// GPU is 1 + the device index of a per-device metric (gpuN-…), Turn the
	// turn of a multi-turn metric (turnK-…); 0 for every other metric.
	GPU, Turn int
}

// Name is the unit without a trailing "/op", as `Unit` lines name it.
func (i Info) Name() string { return strings.TrimSuffix(i.Unit, "/op") }

// Units of the per-generation and per-model metrics of BenchmarkGenerate, in report
// order. The load-generation percentiles are generated below.
var table = []Info{
	{Unit: "ns/op", Title: "Latency", Better: Lower, Family: Timing},
	{Unit: "ttft-ns/op", Title: "TTFT", Better: Lower, Family: Timing},
	{Unit: "ttfo-ns/op", Title: "Time to first answer token", Better: Lower, Family: Timing},
	{Unit: "tpot-ns/op", Title: "TPOT", Better: Lower, Family: Timing},
	{Unit: "tail-ns/op", Title: "Tail after last token", Better: Lower, Family: Timing},
	{Unit: "itl-p50-ns", Title: "ITL p50", Better: Lower, Family: Timing},
	{Unit: "itl-p99-ns", Title: "ITL p99", Better: Lower, Family: Timing},
	{Unit: "tokens/s", Title: "Decode tokens/s", Better: Higher, Family: Timing},
	{Unit: "prompt-tokens/s", Title: "Prompt tokens/s", Better: Higher, Family: Timing},
	{Unit: "server-tokens/s", Title: "Server decode tokens/s", Better: Higher, Family: Timing},
	{Unit: "server-prompt-tokens/s", Title: "Server prompt tokens/s", Better: Higher, Family: Timing},
	{Unit: "gen-tokens/op", Title: "Output tokens", Exact: true, Family: Tokens},
	{Unit: "prompt-tokens/op", Title: "Prompt tokens", Exact: true, Family: Tokens},
	{Unit: "reasoning-tokens/op", Title: "Reasoning tokens", Exact: true, Family: Tokens},
	{Unit: "load-ns", Title: "Load time", Better: Lower, Family: Timing, OneShot: true},
	{Unit: "peak-rss-B", Title: "Peak RAM", Better: Lower, Family: Memory},
	{Unit: "rss-after-load-B", Title: "RAM after load", Better: Lower, Family: Memory, OneShot: true},
	{Unit: "peak-vram-B", Title: "Peak GPU memory", Better: Lower, Family: Memory},
	{Unit: "engine-peak-alloc-B", Title: "Engine peak allocation", Better: Lower, Family: Memory},
	{Unit: "J/token", Title: "Energy per token", Better: Lower, Family: Energy},
	{Unit: "avg-power-W", Title: "Average power", Family: Energy},
	// Load generation (docs/load.md).
	{Unit: "req/s", Title: "Requests/s", Better: Higher, Family: Load},
	{Unit: "goodput-req/s", Title: "Goodput req/s", Better: Higher, Family: Load},
	{Unit: "error-rate", Title: "Error rate", Better: Lower, Family: Load},
	{Unit: "stopped-early", Title: "Runs stopped early", Better: Lower, Family: Load},
	{Unit: "shrunk-turns", Title: "Turns whose prompt did not grow", Better: Lower, Family: Load},
	{Unit: "slo-max-req/s", Title: "Highest rate within the SLO", Better: Higher, Family: Load},
	{Unit: "slo-max-concurrency", Title: "Highest concurrency within the SLO", Better: Higher, Family: Load},
	// A property of the workload (its prefixes and order), not of the engine.
	{Unit: "cacheable-prompt-share", Title: "Cacheable share of prompt tokens", Exact: true, Family: Load},
	{Unit: "cached-prompt-share", Title: "Share of prompt tokens served from cache (engine)", Better: Higher, Family: Load},
	// Embeddings (docs/embed.md); ns/op and req/s are theirs too.
	{Unit: EmbedQuantile(50), Title: "Embed latency p50", Better: Lower, Family: Embed},
	{Unit: EmbedQuantile(90), Title: "Embed latency p90", Better: Lower, Family: Embed},
	{Unit: EmbedQuantile(99), Title: "Embed latency p99", Better: Lower, Family: Embed},
	{Unit: "inputs/s", Title: "Inputs/s", Better: Higher, Family: Embed},
	{Unit: "input-tokens/s", Title: "Input tokens/s", Better: Higher, Family: Embed},
	{Unit: "input-tokens/op", Title: "Input tokens per request", Family: Embed},
	{Unit: "server-ns/op", Title: "Server time per request", Better: Lower, Family: Embed},
	{Unit: "embed-dim", Title: "Embedding dimensions", Exact: true, Family: Embed},
	// Quality (docs/quality.md): directions hold for real models only.
	{Unit: "out-words/op", Title: "Output words", Family: Quality},
	{Unit: "out-chars/op", Title: "Output characters", Family: Quality},
	{Unit: "ttr", Title: "TTR", Better: Higher, Family: Quality},
	{Unit: "mattr", Title: "MATTR", Better: Higher, Family: Quality},
	{Unit: "mtld", Title: "MTLD", Better: Higher, Family: Quality},
	{Unit: "distinct1", Title: "Distinct-1", Better: Higher, Family: Quality},
	{Unit: "distinct2", Title: "Distinct-2", Better: Higher, Family: Quality},
	{Unit: "rep4", Title: "Rep-4", Better: Lower, Family: Quality},
	{Unit: "max-rep-run", Title: "Max repeat run", Better: Lower, Family: Quality},
	{Unit: "rouge-l", Title: "ROUGE-L", Better: Higher, Family: Quality},
	{Unit: "chrf", Title: "chrF", Better: Higher, Family: Quality},
	{Unit: "agreement", Title: "Agreement", Better: Higher, Family: Quality},
	{Unit: "agreement-rouge-l", Title: "Agreement ROUGE-L", Better: Higher, Family: Quality},
}

// LoadQuantiles are the percentiles a load point reports of each latency
// distribution, e.g. ttft-p90-ns.
var LoadQuantiles = []struct {
	Name  string // ttft, tpot, itl, e2e, lag
	Title string
	Qs    []int
}{
	{"ttft", "TTFT", []int{50, 90, 99}},
	{"tpot", "TPOT", []int{50, 90, 99}},
	{"itl", "ITL", []int{50, 90, 99}},
	{"e2e", "E2E", []int{50, 90, 99}},
	{"lag", "Schedule lag", []int{50, 99}},
}

// LoadQuantile is the unit of the q-th percentile of a load distribution.
func LoadQuantile(name string, q int) string { return fmt.Sprintf("%s-p%d-ns", name, q) }

// MaxTurns is the number of turns of a multi-turn load (load: sessions) whose
// per-turn metrics have units (turn1-… to turn10-…); a session of more turns
// is refused when the configuration is read.
const MaxTurns = 10

// TurnQuantiles are the distributions a multi-turn load reports per turn, and
// their percentiles: turnK-ttft-p50-ns, turnK-itl-p99-ns.
var TurnQuantiles = []struct {
	Name, Title string
	Qs          []int
}{
	{"ttft", "TTFT", []int{50, 99}},
	{"itl", "ITL", []int{50, 99}},
}

// TurnQuantile is the unit of the q-th percentile of distribution name (ttft,
// itl) over the requests of turn k (from 1) of a multi-turn load.
func TurnQuantile(k int, name string, q int) string {
	return fmt.Sprintf("turn%d-%s-p%d-ns", k, name, q)
}

// TurnPromptTokens is the unit of the mean prompt tokens (the engine's count)
// of the requests of turn k of a multi-turn load.
func TurnPromptTokens(k int) string { return fmt.Sprintf("turn%d-prompt-tokens", k) }

// EmbedQuantiles are the percentiles an embedding point reports of request
// latency; EmbedQuantile is the unit of one, e.g. embed-p90-ns.
var EmbedQuantiles = []int{50, 90, 99}

func EmbedQuantile(q int) string { return fmt.Sprintf("embed-p%d-ns", q) }

// MaxGPUs is the number of devices whose per-device metrics have units
// (gpu0-… to gpu7-…); a case spread over more reports its sums alone.
const MaxGPUs = 8

// GPUPeakVRAM and GPUEnergyPerToken are the units of device i's share of
// peak-vram-B and J/token, reported beside them when a case used several GPUs.
func GPUPeakVRAM(i int) string       { return fmt.Sprintf("gpu%d-peak-vram-B", i) }
func GPUEnergyPerToken(i int) string { return fmt.Sprintf("gpu%d-J/token", i) }

// all is table with the load percentiles after the other load metrics and the
// per-device GPU metrics after the others of their families.
var all = func() []Info {
	var devices []Info
	for i := range MaxGPUs {
		devices = append(devices,
			Info{Unit: GPUPeakVRAM(i), Title: fmt.Sprintf("Peak GPU memory, GPU %d", i), Better: Lower, Family: Memory, GPU: i + 1},
			Info{Unit: GPUEnergyPerToken(i), Title: fmt.Sprintf("Energy per token, GPU %d", i), Better: Lower, Family: Energy, GPU: i + 1})
	}
	var quantiles []Info
	for _, d := range LoadQuantiles {
		for _, q := range d.Qs {
			u := LoadQuantile(d.Name, q)
			if _, ok := find(table, u); ok {
				continue // itl-p50-ns, itl-p99-ns are generation metrics too
			}
			quantiles = append(quantiles, Info{Unit: u, Title: fmt.Sprintf("%s p%d", d.Title, q), Better: Lower, Family: Load})
		}
	}
	for k := 1; k <= MaxTurns; k++ {
		quantiles = append(quantiles, Info{Unit: TurnPromptTokens(k), Title: fmt.Sprintf("Prompt tokens, turn %d", k), Family: Load, Turn: k})
		for _, d := range TurnQuantiles {
			for _, q := range d.Qs {
				quantiles = append(quantiles, Info{Unit: TurnQuantile(k, d.Name, q), Title: fmt.Sprintf("%s p%d, turn %d", d.Title, q, k), Better: Lower, Family: Load, Turn: k})
			}
		}
	}
	at := len(table)
	for i, m := range table {
		if m.Family == Load {
			at = i + 1
		}
	}
	out := append([]Info(nil), table[:at]...)
	out = append(out, quantiles...)
	out = append(out, table[at:]...)
	at = slices.IndexFunc(out, func(i Info) bool { return i.Unit == "avg-power-W" }) + 1
	return slices.Insert(out, at, devices...)
}()

func find(list []Info, unit string) (Info, bool) {
	for _, i := range list {
		if i.Unit == unit {
			return i, true
		}
	}
	return Info{}, false
}

// All returns every metric llmbench can print, in report order.
func All() []Info { return append([]Info(nil), all...) }

// Lookup returns the metric whose unit is unit ("ttft-ns/op"); a unit written
// without "/op" ("ttft-ns") finds it too.
func Lookup(unit string) (Info, bool) {
	if i, ok := find(all, unit); ok {
		return i, true
	}
	return find(all, unit+"/op")
}

// Index returns unit's position in report order, or -1.
func Index(unit string) int {
	i, ok := Lookup(unit)
	if !ok {
		return -1
	}
	for n, x := range all {
		if x.Unit == i.Unit {
			return n
		}
	}
	return -1
}

// UnitLines returns the `Unit NAME better=… assume=exact` lines for every metric
// with a direction or exactness, which benchmark output starts with.
func UnitLines() []string { return UnitLinesOf(nil) }

// UnitLinesOf is UnitLines of the metrics keep keeps (nil keeps all): a run
// writes those it can report, not, say, eight GPUs' on a machine with one.
func UnitLinesOf(keep func(Info) bool) []string {
	var out []string
	for _, i := range all {
		if i.Better == None && !i.Exact || keep != nil && !keep(i) {
			continue
		}
		line := "Unit " + i.Name()
		if i.Better != None {
			line += " better=" + i.Better.String()
		}
		if i.Exact {
			line += " assume=exact"
		}
		out = append(out, line)
	}
	return out
}
