// Package embedbench measures embedding requests: a model's embed: section
// ([Spec]) names the batch sizes to sweep, and each point of the sweep sends
// requests of that many inputs one after another through a backend that serves
// embeddings (backends.Embedder), gathering per-request latency and the
// engine's own token counts into a [Report]. docs/embed.md defines its metrics.
package embedbench

import (
	"context"
	"fmt"
	"slices"
	"time"

	"github.com/llmbench/llmbench/backends"
	"github.com/llmbench/llmbench/loadgen"
	"github.com/llmbench/llmbench/metric"
	"github.com/llmbench/llmbench/percentile"
)

// Defaults are the values of the settings an embed: section leaves out.
var Defaults = struct {
	Batch    int // one input per request
	Requests int // requests per run of a batch size
}{Batch: 1, Requests: 20}

// Spec is a model's embed: section. Its zero value runs batch size 1, 20
// requests a run.
type Spec struct {
	// Batch lists the batch sizes to sweep: inputs per request, each a
	// sub-benchmark batch=N. One number or a list; default [1].
	Batch loadgen.Ints `yaml:"batch"`
	// Requests is the number of requests in one run of a batch size (one
	// benchmark iteration); the percentiles are over them. Default 20.
	Requests int `yaml:"requests"`
}

// Check reports a mistake in the spec; errors name the key. A nil spec is
// valid (no embeddings).
func (s *Spec) Check() error {
	if s == nil {
		return nil
	}
	for i, b := range s.Batch {
		if b < 1 {
			return fmt.Errorf("batch %d: want 1 or more inputs per request", b)
		}
		if slices.Contains(s.Batch[:i], b) {
			return fmt.Errorf("batch %d is listed twice", b)
		}
	}
	if s.Requests < 0 {
		return fmt.Errorf("requests %d: want 1 or more (or leave it out for %d)", s.Requests, Defaults.Requests)
	}
	return nil
}

// Point is one batch size of the sweep, resolved.
type Point struct {
	// Name is the sub-benchmark name: batch=N.
	Name string
	// Batch is the number of inputs per request.
	Batch int
	// Requests is the number of requests of one run.
	Requests int
}

// Points returns the spec's sweep, defaults applied, in the order written.
func (s *Spec) Points() []Point {
	batches := []int(s.Batch)
	if len(batches) == 0 {
		batches = []int{Defaults.Batch}
	}
	n := s.Requests
	if n == 0 {
		n = Defaults.Requests
	}
	out := make([]Point, len(batches))
	for i, b := range batches {
		out[i] = Point{Name: fmt.Sprintf("batch=%d", b), Batch: b, Requests: n}
	}
	return out
}

// Inputs returns the inputs of a request: batch texts, taken in turn from
// texts starting at the request's place in the run (request k gets texts
// k·batch, k·batch+1, … modulo len(texts)), so that the runs of every batch
// size embed the same texts in the same proportions.
func Inputs(texts []string, k, batch int) []string {
	out := make([]string, batch)
	for i := range out {
		out[i] = texts[(k*batch+i)%len(texts)]
	}
	return out
}

// Report is what the runs of one point measured; runs merge into it.
type Report struct {
	Point Point
	// Latencies are the requests' client-side times, sent to done, in order.
	Latencies []time.Duration
	// Inputs and Tokens are the inputs sent and the engine's token count over
	// every request; TokenRequests the requests whose engine reported a count.
	Inputs, Tokens, TokenRequests int
	// Server is the engine's own total time over ServerRequests requests (those
	// that reported one).
	Server         time.Duration
	ServerRequests int
	// Wall is the sum of the runs' wall times, each from its first request sent
	// to its last response read.
	Wall time.Duration
	// Dim is the length of every embedding; 0 before any.
	Dim int
}

// Run sends p.Requests requests of p.Batch inputs one after another (inputs(k)
// gives request k's inputs) and returns their report. Every vector must have
// the length of the first; a failed request ends the run with an error naming
// it (request k of n; the caller names the point), and the report of those
// before it.
func Run(ctx context.Context, e backends.Embedder, p Point, inputs func(k int) []string) (*Report, error) {
	r := &Report{Point: p}
	var first, last time.Time
	defer func() {
		if !first.IsZero() {
			r.Wall += last.Sub(first)
		}
	}()
	for k := range p.Requests {
		in := inputs(k)
		res, err := e.Embed(ctx, in)
		if err != nil {
			return r, fmt.Errorf("request %d of %d: %w", k+1, p.Requests, err)
		}
		if err := r.add(res, len(in)); err != nil {
			return r, fmt.Errorf("request %d of %d: %w", k+1, p.Requests, err)
		}
		if first.IsZero() {
			first = res.Sent
		}
		last = res.Done
	}
	return r, nil
}

// add adds one request's result, of n inputs.
func (r *Report) add(res *backends.EmbedResult, n int) error {
	dim, err := res.CheckVectors(n)
	if err != nil {
		return err
	}
	if r.Dim != 0 && dim != r.Dim {
		return fmt.Errorf("embeddings of %d dimensions, earlier ones had %d", dim, r.Dim)
	}
	r.Dim = dim
	r.Latencies = append(r.Latencies, res.Latency())
	r.Inputs += n
	if res.InputTokens > 0 {
		r.Tokens += res.InputTokens
		r.TokenRequests++
	}
	if res.Server.Total > 0 {
		r.Server += res.Server.Total
		r.ServerRequests++
	}
	return nil
}

// Merge adds o's requests (another run of the same point) to r.
func (r *Report) Merge(o *Report) {
	r.Latencies = append(r.Latencies, o.Latencies...)
	r.Inputs += o.Inputs
	r.Tokens += o.Tokens
	r.TokenRequests += o.TokenRequests
	r.Server += o.Server
	r.ServerRequests += o.ServerRequests
	r.Wall += o.Wall
	if r.Dim == 0 {
		r.Dim = o.Dim
	}
}

// Metrics returns the report's metrics (docs/embed.md), leaving out what does
// not apply rather than reporting 0:
//
//	ns/op                 mean client latency of a request
//	embed-p50-ns …p99-ns  its percentiles (nearest rank)
//	req/s inputs/s        requests, inputs ÷ wall time
//	input-tokens/s        engine-counted input tokens ÷ wall time
//	input-tokens/op       engine-counted input tokens per request, mean
//	server-ns/op          the engine's own time per request, mean
//	embed-dim             the embeddings' length
func (r *Report) Metrics() []metric.Metric {
	n := len(r.Latencies)
	if n == 0 {
		return nil
	}
	var ms []metric.Metric
	add := func(unit string, v float64) { ms = append(ms, metric.Metric{Unit: unit, Value: v}) }
	var sum time.Duration
	for _, d := range r.Latencies {
		sum += d
	}
	add("ns/op", float64(sum)/float64(n))
	sorted := slices.Sorted(slices.Values(r.Latencies))
	for _, q := range Quantiles {
		add(metric.EmbedQuantile(q), float64(percentile.NearestRank(sorted, float64(q))))
	}
	// Token rates only when every request was counted: a partial sum would
	// understate them.
	counted := r.TokenRequests == n
	if secs := r.Wall.Seconds(); secs > 0 {
		add("req/s", float64(n)/secs)
		add("inputs/s", float64(r.Inputs)/secs)
		if counted {
			add("input-tokens/s", float64(r.Tokens)/secs)
		}
	}
	if counted {
		add("input-tokens/op", float64(r.Tokens)/float64(n))
	}
	if r.ServerRequests == n {
		add("server-ns/op", float64(r.Server)/float64(n))
	}
	add("embed-dim", float64(r.Dim))
	return ms
}

// Quantiles are the percentiles Metrics reports of request latency.
var Quantiles = metric.EmbedQuantiles
