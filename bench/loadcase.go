package bench

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"time"

	"github.com/llmbench/llmbench/backends"
	"github.com/llmbench/llmbench/config"
	"github.com/llmbench/llmbench/loadgen"
	"github.com/llmbench/llmbench/shard"
	"github.com/llmbench/llmbench/synth"
)

// LoadCase is one point of a load-generation model's sweep: a concurrency or a
// request rate. One step is one whole run of the point; a window's runs merge.
type LoadCase struct {
	Model *Model
	// Point is the point this process runs: the whole point, or with Split this
	// shard's share of it (loadgen.SplitPoint), named as the whole.
	Point loadgen.Point
	// Split says the point is split over every shard of the suite's plan; the
	// front end keeps each run's report (loadgen.ShardRecord) for merge.
	Split  bool
	reqs   []backends.Request
	data   *loadgen.Dataset // the requests of load: dataset: or a trace's, made by Warm or the first Step
	trace  []loadgen.TraceEntry
	total  *loadgen.Report       // the window's runs, merged
	search *loadgen.SearchResult // a search point's latest search
}

// loadCases returns the sweep points of m, a model with a load: section. Its
// requests are the prompts' requests resolved as a generation's are, or a
// trace's own (one point, its times read from the trace file); with
// prefix_cache cold, loadgen salts each one when it sends it.
func (s *Suite) loadCases(m *Model) ([]*LoadCase, error) {
	points, err := loadgen.Points(m.Config.Load)
	if err != nil {
		return nil, fmt.Errorf("%s:%d: model %s: load: %w", s.Config.File, m.Config.Line, m.Config.Name, err)
	}
	o := m.Config.Spec.Options
	reqs := make([]backends.Request, len(s.Prompts))
	for i, p := range s.Prompts {
		reqs[i] = request(o, p)
	}
	var entries []loadgen.TraceEntry
	if t := m.Config.Load.Trace; t != nil {
		entries, err = loadgen.ReadTrace(t)
		if err != nil {
			return nil, fmt.Errorf("%s:%d: model %s: load: %w", s.Config.File, m.Config.Line, m.Config.Name, err)
		}
		reqs = loadgen.TraceRequests(entries, request(o, config.Prompt{}))
		points[0].Trace = make([]time.Duration, len(entries))
		for i, e := range entries {
			points[0].Trace[i] = e.At
		}
	}
	split := s.plan != nil && s.plan.Spec.SplitLoad && s.plan.Owner(m.Config.Name) == shard.All
	out := make([]*LoadCase, len(points))
	for i, p := range points {
		if split {
			if p, err = loadgen.SplitPoint(p, s.plan.Spec.Index, s.plan.Spec.Count, s.plan.Hash()); err != nil {
				return nil, fmt.Errorf("%s:%d: model %s: %w", s.Config.File, m.Config.Line, m.Config.Name, err)
			}
		}
		out[i] = &LoadCase{Model: m, Point: p, Split: split, reqs: reqs, trace: entries}
	}
	return out, nil
}

// Name implements [Case]: concurrency=N, rate=R, search=rate or
// search=concurrency.
func (c *LoadCase) Name() string { return c.Point.Name }

// Bench is the case's benchmark name as result lines write it, without
// "Benchmark" and the -GOMAXPROCS suffix: Load/model=M/concurrency=N.
func (c *LoadCase) Bench() string { return c.Model.benchOf(c) }

func (c *LoadCase) String() string {
	return fmt.Sprintf("model %s, %s", c.Model.Config.Name, c.Point.Name)
}

// Warm implements [Case]: a load: dataset: section's prompts are made (the
// model's tokens calibrated), so that it is not timed with the first run; a
// point's warm-up is part of its run (load: warmup).
func (c *LoadCase) Warm(ctx context.Context) error { return c.makeDataset(ctx) }

// Begin implements [Case]: the memory peak is reset.
func (c *LoadCase) Begin() error {
	c.total, c.search = nil, nil
	if err := c.Model.resetMemory(); err != nil {
		return fmt.Errorf("%s: %w", c, err)
	}
	return nil
}

// Step implements [Case]: one run of the point.
func (c *LoadCase) Step(ctx context.Context) error {
	if err := c.makeDataset(ctx); err != nil {
		return err
	}
	var opts []loadgen.Option
	if c.data != nil {
		opts = append(opts, loadgen.WithDataset(c.data))
	}
	if c.Model.Config.Spec.Options.PrefixCache != backends.PrefixWarm {
		opts = append(opts, loadgen.WithSalt())
	}
	if c.Model.Config.Load.Records || c.Model.suite.Config.Records {
		rw, err := c.Model.suite.lines(loadgen.RecordsFile)
		if err != nil {
			return fmt.Errorf("%s: %w", c, err)
		}
		opts = append(opts, loadgen.WithRecords(rw, c.Bench()))
	}
	if c.Point.Search.Over != "" {
		return c.runSearch(ctx, opts)
	}
	r, err := loadgen.RunPoint(ctx, c.Model.Backend, c.Point, c.reqs, opts...)
	if r != nil && r.Succeeded+r.Failed > 0 {
		if c.total == nil {
			c.total = r
		} else {
			c.total.Merge(r)
		}
	}
	if err != nil {
		return fmt.Errorf("%s: %w", c, err)
	}
	return nil
}

// makeDataset makes the requests of a load: dataset: section, or a trace's
// at their exact lengths, once, by Warm or else the first Step: the model's
// tokens are calibrated through the engine (once per model), the prompts made
// and a dataset's longest one verified (a trace's entries are checked as they
// are sent: one the context cannot hold fails alone, as prompt-length). Its
// errors name the configuration's file and line.
func (c *LoadCase) makeDataset(ctx context.Context) error {
	spec := c.Model.Config.Load.Dataset
	if spec == nil && c.trace == nil || c.data != nil {
		return nil
	}
	s, m := c.Model.suite, c.Model
	at := fmt.Sprintf("%s:%d: model %s: load: dataset", s.Config.File, m.Config.Line, m.Config.Name)
	base := request(m.Config.Spec.Options, config.Prompt{})
	if m.tokens == nil {
		tok, err := loadgen.Calibrate(ctx, m.Backend, base)
		if err != nil {
			return fmt.Errorf("%s: %w", at, err)
		}
		m.tokens = tok
		s.Notice("model %s: exact-length prompts: %d tokens of template and anchor, %d of %d words one token each (%d probes of 1 output token)",
			m.Config.Name, tok.Overhead, len(tok.Words), len(synth.CommonWords()), tok.Probes)
	}
	if c.trace != nil {
		d, raised := loadgen.NewTraceDataset(c.trace, m.tokens, base)
		if raised > 0 {
			s.Notice("model %s, %s: %d of %d trace entries are shorter than the %d tokens every prompt has on this model, and were made %d long",
				m.Config.Name, c.Point.Name, raised, len(c.trace), m.tokens.Overhead+loadgen.SaltWords, m.tokens.Overhead+loadgen.SaltWords+1)
		}
		c.data, c.reqs = d, d.Requests()
		c.Point.SharedPrefix = slices.ContainsFunc(c.trace, func(e loadgen.TraceEntry) bool { return len(e.HashIDs) > 0 })
		return nil
	}
	d, err := loadgen.NewDataset(spec, m.tokens, base, c.Point.Requests)
	if err == nil {
		err = d.Verify(ctx, m.Backend)
	}
	if err != nil {
		return fmt.Errorf("%s: %w", at, err)
	}
	c.data, c.reqs = d, d.Requests()
	return nil
}

// runSearch runs one search of a search point: its probes are written to the
// output folder's loadgen.SearchFile and told in notices; the window reports
// its latest search.
func (c *LoadCase) runSearch(ctx context.Context, opts []loadgen.Option) error {
	res, err := loadgen.RunSearch(ctx, c.Model.Backend, c.Point, c.reqs, opts...)
	if res == nil {
		return fmt.Errorf("%s: %w", c, err)
	}
	c.search = res
	s := c.Model.suite
	for _, pr := range res.Probes {
		verdict := "misses"
		if pr.Pass {
			verdict = "meets"
		}
		s.Notice("model %s, %s: probe %s: %.1f%% of requests within the SLO: %s the target %g%%", c.Model.Config.Name, c.Point.Name,
			pr.Report.Point.Name, 100*pr.Share, verdict, 100*res.Search.Target)
	}
	switch {
	case res.Best == nil && len(res.Probes) > 0:
		s.Notice("model %s, %s: not even %s %g meets the SLO", c.Model.Config.Name, c.Point.Name, res.Search.Over, res.Search.Low)
	case res.AtHigh:
		s.Notice("model %s, %s: the highest bound, %g, meets the SLO: the limit is at or above it", c.Model.Config.Name, c.Point.Name, res.Search.High)
	}
	rw, werr := s.lines(loadgen.SearchFile)
	if werr == nil {
		werr = loadgen.WriteSearch(rw, c.Bench(), res)
	}
	if err = errors.Join(err, werr); err != nil {
		return fmt.Errorf("%s: %w", c, err)
	}
	return nil
}

// End implements [Case]: the merged report's metrics (docs/load.md) and the
// memory peak of the engine process over all the window's runs. A search
// point's are its latest search's: slo-max-req/s or slo-max-concurrency and
// the metrics of the probe it found (none when no probe met the SLO).
func (c *LoadCase) End() ([]Metric, error) {
	var ms []loadgen.Metric
	switch {
	case c.search != nil:
		ms = c.search.Metrics()
	case c.total != nil:
		ms = c.total.Metrics()
		if n := c.total.Shrunk; n > 0 {
			c.Model.suite.Notice("model %s, %s: %d turns sent a prompt no longer than their previous turn's (shrunk-turns): the engine cut the conversation, which outgrew its context; raise options.context or lower sessions.turns", c.Model.Config.Name, c.Point.Name, n)
		}
		if c.total.Stopped != "" {
			c.Model.suite.Notice("model %s, %s: %d of %d runs stopped early (load: stop): %s", c.Model.Config.Name, c.Point.Name, c.total.StoppedRuns, c.total.Runs, c.total.Stopped)
		}
	default:
		return nil, nil
	}
	var out []Metric
	for _, m := range ms {
		out = append(out, Metric{Unit: m.Name, Value: m.Value})
	}
	if len(out) == 0 {
		return nil, nil
	}
	out, err := c.Model.withPeak(out)
	if err != nil {
		return out, fmt.Errorf("%s: %w", c, err)
	}
	return out, nil
}

// Report returns the merged report of the window's runs; nil before any.
func (c *LoadCase) Report() *loadgen.Report { return c.total }
