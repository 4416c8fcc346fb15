package loadgen

import (
	"encoding/json"
	"fmt"
	"io"
	"maps"
	"slices"
	"strings"
	"sync"
	"text/tabwriter"
	"time"

	"github.com/llmbench/llmbench/backends"
)

// Report is what one run measured. The definitions of its metrics are in
// docs/load.md. Only successful requests feed the latency histograms and token
// counts; failed ones are counted by kind.
type Report struct {
	// Point is the load point that was run.
	Point Point
	// Start is when the first request was sent and End when the last one
	// finished (succeeded or failed); Wall is End − Start, or after Merge the sum
	// of the merged runs' walls.
	Start, End time.Time
	Wall       time.Duration
	// Succeeded and Failed count finished requests. Aborted counts requests in
	// flight when the caller's context ended: neither success nor failure.
	Succeeded, Failed, Aborted int
	// Good counts successful requests that met every SLO of the point.
	Good int
	// OutputTokens and PromptTokens sum the server's counts over successful
	// requests.
	OutputTokens, PromptTokens int64
	// CacheableTokens sums the prompt tokens of successful requests that a
	// prefix cache could serve (a dataset's shared prefixes, Dataset.Cacheable).
	CacheableTokens int64
	// CachedTokens sums the engine's own counts of prompt tokens it served
	// from its prefix cache (backends.Result.CachedTokens) over the successful
	// requests that reported one, and CachedOf the prompt tokens of those
	// requests.
	CachedTokens, CachedOf int64
	// Errors counts failed requests by kind (see Kind); ErrorSamples holds the
	// first error message of each kind.
	Errors       map[string]int
	ErrorSamples map[string]string
	// TTFT, TPOT, ITL and E2E are the latency distributions of successful
	// requests (ITL pools every gap between content chunks of every request).
	// Lag is the schedule lag of every request sent: actual send − planned send.
	TTFT, TPOT, ITL, E2E, Lag *Histogram
	// Turns holds, for a multi-turn point (Point.Session), the successful
	// requests of each turn index: Turns[k-1] those of turn k. Shrunk counts
	// the successful turns after the first whose prompt tokens were not more
	// than the previous turn's: the engine cut the conversation.
	Turns  []*TurnReport
	Shrunk int
	// MaxInFlight is the most requests that were in flight at once.
	MaxInFlight int
	// Interrupted is set when the caller's context ended the run early.
	Interrupted bool
	// Runs counts the runs merged into the report (1 for one run) and
	// StoppedRuns those that stopped early on the point's Stop bounds; Stopped
	// is the first one's reason ("" when none stopped).
	Runs, StoppedRuns int
	Stopped           string

	mu       sync.Mutex
	inflight int
}

func newReport(p Point) *Report {
	return &Report{
		Point:        p,
		Errors:       map[string]int{},
		ErrorSamples: map[string]string{},
		TTFT:         NewHistogram(),
		TPOT:         NewHistogram(),
		ITL:          NewHistogram(),
		E2E:          NewHistogram(),
		Lag:          NewHistogram(),
	}
}

// Kind classifies a Generate error for Report.Errors: backends.ErrorKind, the
// one classification every engine's errors share.
func Kind(err error) string { return backends.ErrorKind(err) }

// begin notes a request going out at sent, planned for planned.
func (r *Report) begin(planned, sent time.Time) {
	r.mu.Lock()
	defer r.mu.Unlock()
	r.inflight++
	r.MaxInFlight = max(r.MaxInFlight, r.inflight)
	if r.Start.IsZero() || sent.Before(r.Start) {
		r.Start = sent
	}
}

// record records a request planned for planned, sent at sent (unless res says
// when), finished at done; turn is its turn in its session (0: none).
func (r *Report) record(planned, sent, done time.Time, res *backends.Result, err error, aborted bool, turn int) {
	if res != nil && !res.Sent.IsZero() {
		sent = res.Sent
	}
	r.mu.Lock()
	defer r.mu.Unlock()
	r.inflight--
	if aborted {
		r.Aborted++
		return
	}
	r.Lag.Record(sent.Sub(planned))
	if done.After(r.End) {
		r.End = done
	}
	if err != nil {
		kind := Kind(err)
		r.Failed++
		r.Errors[kind]++
		if _, ok := r.ErrorSamples[kind]; !ok {
			r.ErrorSamples[kind] = err.Error()
		}
		return
	}
	r.Succeeded++
	r.OutputTokens += int64(res.OutputTokens)
	r.PromptTokens += int64(res.PromptTokens)
	if res.CachedKnown {
		r.CachedTokens += int64(res.CachedTokens)
		r.CachedOf += int64(res.PromptTokens)
	}
	r.E2E.Record(res.E2E())
	if len(res.Chunks) > 0 {
		r.TTFT.Record(res.TTFT())
	}
	if res.OutputTokens >= 2 && len(res.Chunks) > 0 {
		r.TPOT.Record(res.TPOT())
	}
	for i := 1; i < len(res.Chunks); i++ {
		r.ITL.Record(res.Chunks[i].Sub(res.Chunks[i-1]))
	}
	if meets(r.Point.SLO, res) {
		r.Good++
	}
	if turn > 0 {
		r.turn(turn).record(res)
	}
}

// meets reports whether a successful request met every objective of slo: a
// request without content fails a TTFT objective; one of fewer than 2 tokens
// passes a TPOT objective.
func meets(slo SLO, res *backends.Result) bool {
	switch {
	case slo.E2E > 0 && res.E2E() > slo.E2E:
		return false
	case slo.TTFT > 0 && (len(res.Chunks) == 0 || res.TTFT() > slo.TTFT):
		return false
	case slo.TPOT > 0 && res.OutputTokens >= 2 && len(res.Chunks) > 0 && res.TPOT() > slo.TPOT:
		return false
	}
	return true
}

// addCacheable adds n cacheable prompt tokens of a successful request.
func (r *Report) addCacheable(n int) {
	r.mu.Lock()
	defer r.mu.Unlock()
	r.CacheableTokens += int64(n)
}

func (r *Report) finish() {
	if !r.End.IsZero() {
		r.Wall = r.End.Sub(r.Start)
	}
}

// shrunk notes a turn whose prompt did not grow.
func (r *Report) shrunk() {
	r.mu.Lock()
	defer r.mu.Unlock()
	r.Shrunk++
}

// Merge adds o's counts and distributions to r: for repeated runs of one point
// (benchmark iterations). Walls add up; Start and End span both.
func (r *Report) Merge(o *Report) {
	if r.Start.IsZero() || (!o.Start.IsZero() && o.Start.Before(r.Start)) {
		r.Start = o.Start
	}
	if o.End.After(r.End) {
		r.End = o.End
	}
	r.Wall += o.Wall
	r.Succeeded += o.Succeeded
	r.Failed += o.Failed
	r.Aborted += o.Aborted
	r.Good += o.Good
	r.OutputTokens += o.OutputTokens
	r.PromptTokens += o.PromptTokens
	r.CacheableTokens += o.CacheableTokens
	r.CachedTokens += o.CachedTokens
	r.CachedOf += o.CachedOf
	for k, v := range o.Errors {
		r.Errors[k] += v
	}
	for k, v := range o.ErrorSamples {
		if _, ok := r.ErrorSamples[k]; !ok {
			r.ErrorSamples[k] = v
		}
	}
	r.TTFT.Merge(o.TTFT)
	r.TPOT.Merge(o.TPOT)
	r.ITL.Merge(o.ITL)
	r.E2E.Merge(o.E2E)
	r.Lag.Merge(o.Lag)
	for i, t := range o.Turns {
		r.turn(i + 1).merge(t)
	}
	r.Shrunk += o.Shrunk
	r.MaxInFlight = max(r.MaxInFlight, o.MaxInFlight)
	r.Interrupted = r.Interrupted || o.Interrupted
	r.Runs += o.Runs
	r.StoppedRuns += o.StoppedRuns
	if r.Stopped == "" {
		r.Stopped = o.Stopped
	}
}

// Metric is one named value of a report, in benchmark units (see Direction).
type Metric struct {
	Name  string
	Value float64
}

// Metrics returns the report's metrics in a fixed order. Metrics that do not
// apply are left out rather than reported as 0: no latency metric without a
// sample, no goodput without an SLO, nothing per second without a wall time.
//
//	req/s tokens/s goodput-req/s error-rate stopped-early
//	cacheable-prompt-share cached-prompt-share
//	ttft-p50-ns ttft-p90-ns ttft-p99-ns   (likewise tpot, itl, e2e)
//	lag-p50-ns lag-p99-ns
//	shrunk-turns, then per turn K: turnK-prompt-tokens turnK-ttft-p50-ns turnK-ttft-p99-ns turnK-itl-p50-ns turnK-itl-p99-ns   (multi-turn)
func (r *Report) Metrics() []Metric {
	var ms []Metric
	add := func(name string, v float64) { ms = append(ms, Metric{name, v}) }
	if secs := r.Wall.Seconds(); secs > 0 {
		add("req/s", float64(r.Succeeded)/secs)
		if r.OutputTokens > 0 {
			add("tokens/s", float64(r.OutputTokens)/secs)
		}
		if r.Point.SLO.Any() {
			add("goodput-req/s", float64(r.Good)/secs)
		}
	}
	if n := r.Succeeded + r.Failed; n > 0 {
		add("error-rate", float64(r.Failed)/float64(n))
	}
	if r.Point.Stop.Any() && r.Runs > 0 {
		add("stopped-early", float64(r.StoppedRuns)/float64(r.Runs))
	}
	if r.Point.SharedPrefix && r.PromptTokens > 0 {
		add("cacheable-prompt-share", float64(r.CacheableTokens)/float64(r.PromptTokens))
	}
	if r.CachedOf > 0 {
		add("cached-prompt-share", float64(r.CachedTokens)/float64(r.CachedOf))
	}
	for _, hm := range histMetrics {
		h := hm.get(r)
		if h.Count() == 0 {
			continue
		}
		for _, q := range hm.qs {
			add(fmt.Sprintf("%s-p%d-ns", hm.name, q), float64(h.Percentile(float64(q))))
		}
	}
	return append(ms, r.turnMetrics()...)
}

// MetricNames returns every name Metrics may report, in its order, e.g. to print
// `Unit NAME better=DIRECTION` lines before any result — except a multi-turn
// point's (shrunk-turns and the turnK- metrics of metric.TurnQuantile and
// metric.TurnPromptTokens), which cannot be
// split over shards.
func MetricNames() []string {
	names := []string{"req/s", "tokens/s", "goodput-req/s", "error-rate", "stopped-early", "cacheable-prompt-share", "cached-prompt-share"}
	for _, h := range histMetrics {
		for _, q := range h.qs {
			names = append(names, fmt.Sprintf("%s-p%d-ns", h.name, q))
		}
	}
	return names
}

var histMetrics = []struct {
	name string
	qs   []int
	get  func(*Report) *Histogram
}{
	{"ttft", []int{50, 90, 99}, func(r *Report) *Histogram { return r.TTFT }},
	{"tpot", []int{50, 90, 99}, func(r *Report) *Histogram { return r.TPOT }},
	{"itl", []int{50, 90, 99}, func(r *Report) *Histogram { return r.ITL }},
	{"e2e", []int{50, 90, 99}, func(r *Report) *Histogram { return r.E2E }},
	{"lag", []int{50, 99}, func(r *Report) *Histogram { return r.Lag }},
}

// Direction says whether a larger value of the metric is better ("higher") or
// worse ("lower"); "" for a name it does not know and for
// cacheable-prompt-share, a property of the workload. Use it for benchfmt's
// `Unit NAME better=…` lines.
func Direction(name string) string {
	switch {
	case strings.HasSuffix(name, "-ns"), name == "error-rate", name == "stopped-early", name == "shrunk-turns":
		return "lower"
	case strings.HasSuffix(name, "/s"), name == "slo-max-concurrency", name == "cached-prompt-share":
		return "higher"
	}
	return ""
}

// WriteText writes a human-readable summary of the report.
func (r *Report) WriteText(w io.Writer) error {
	tw := tabwriter.NewWriter(w, 0, 8, 2, ' ', 0)
	fmt.Fprintf(tw, "load %s: %d ok, %d failed", r.Point.Name, r.Succeeded, r.Failed)
	if r.Aborted > 0 {
		fmt.Fprintf(tw, ", %d aborted", r.Aborted)
	}
	if r.Interrupted {
		fmt.Fprint(tw, " (interrupted)")
	}
	if r.Stopped != "" {
		fmt.Fprintf(tw, " (stopped early: %s)", r.Stopped)
	}
	fmt.Fprintf(tw, " in %v, max %d in flight\n", r.Wall.Round(time.Millisecond), r.MaxInFlight)
	for _, k := range slices.Sorted(maps.Keys(r.Errors)) {
		fmt.Fprintf(tw, "  error %s\t%d\te.g. %s\n", k, r.Errors[k], r.ErrorSamples[k])
	}
	for _, m := range r.Metrics() {
		v := fmt.Sprintf("%.4g", m.Value)
		if strings.HasSuffix(m.Name, "-ns") {
			v = time.Duration(m.Value).String()
		}
		fmt.Fprintf(tw, "  %s\t%s\n", m.Name, v)
	}
	return tw.Flush()
}

// reportJSON is a Report's lossless form: every count and every recorded value.
type reportJSON struct {
	Point                     Point
	Start, End                time.Time
	Wall                      time.Duration
	Succeeded, Failed         int
	Aborted, Good             int
	OutputTokens              int64
	PromptTokens              int64
	CacheableTokens           int64 `json:",omitempty"`
	CachedTokens, CachedOf    int64 `json:",omitempty"`
	Errors                    map[string]int
	ErrorSamples              map[string]string
	MaxInFlight               int
	Interrupted               bool
	Runs, StoppedRuns         int    `json:",omitempty"`
	Stopped                   string `json:",omitempty"`
	TTFT, TPOT, ITL, E2E, Lag []int64
	Turns                     []turnJSON `json:",omitempty"`
	Shrunk                    int        `json:",omitempty"`
}

// MarshalJSON writes the report losslessly (every recorded value, in ns; times
// to the nanosecond), so a shard's reports can be merged elsewhere exactly:
// UnmarshalJSON reads it back.
func (r *Report) MarshalJSON() ([]byte, error) {
	r.mu.Lock()
	defer r.mu.Unlock()
	return json.Marshal(reportJSON{
		Point: r.Point, Start: r.Start, End: r.End, Wall: r.Wall,
		Succeeded: r.Succeeded, Failed: r.Failed, Aborted: r.Aborted, Good: r.Good,
		OutputTokens: r.OutputTokens, PromptTokens: r.PromptTokens, CacheableTokens: r.CacheableTokens,
		CachedTokens: r.CachedTokens, CachedOf: r.CachedOf,
		Errors: r.Errors, ErrorSamples: r.ErrorSamples,
		MaxInFlight: r.MaxInFlight, Interrupted: r.Interrupted,
		Runs: r.Runs, StoppedRuns: r.StoppedRuns, Stopped: r.Stopped,
		TTFT: r.TTFT.Values(), TPOT: r.TPOT.Values(), ITL: r.ITL.Values(),
		E2E: r.E2E.Values(), Lag: r.Lag.Values(), Turns: turnsJSON(r.Turns), Shrunk: r.Shrunk,
	})
}

// UnmarshalJSON reads a report MarshalJSON wrote.
func (r *Report) UnmarshalJSON(data []byte) error {
	var j reportJSON
	if err := json.Unmarshal(data, &j); err != nil {
		return fmt.Errorf("load report: %w", err)
	}
	*r = Report{
		Point: j.Point, Start: j.Start, End: j.End, Wall: j.Wall,
		Succeeded: j.Succeeded, Failed: j.Failed, Aborted: j.Aborted, Good: j.Good,
		OutputTokens: j.OutputTokens, PromptTokens: j.PromptTokens, CacheableTokens: j.CacheableTokens,
		CachedTokens: j.CachedTokens, CachedOf: j.CachedOf,
		Errors: j.Errors, ErrorSamples: j.ErrorSamples,
		MaxInFlight: j.MaxInFlight, Interrupted: j.Interrupted,
		Runs: j.Runs, StoppedRuns: j.StoppedRuns, Stopped: j.Stopped,
		TTFT: histogramOf(j.TTFT), TPOT: histogramOf(j.TPOT), ITL: histogramOf(j.ITL),
		E2E: histogramOf(j.E2E), Lag: histogramOf(j.Lag), Turns: turnsOf(j.Turns), Shrunk: j.Shrunk,
	}
	if r.Errors == nil {
		r.Errors = map[string]int{}
	}
	if r.ErrorSamples == nil {
		r.ErrorSamples = map[string]string{}
	}
	return nil
}
