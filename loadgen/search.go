package loadgen

import (
	"context"
	"errors"
	"fmt"
	"math"
	"strconv"

	"github.com/llmbench/llmbench/backends"
)

// DefaultSearchTarget is the share of requests that must meet the SLO when a
// search's target is 0.
const DefaultSearchTarget = 0.99

// Search is a bisection for the highest load that meets the point's SLO: over
// Rate or Concurrency (Over, the point's mode) from Low to High, a probe passes
// when at least Target of its finished requests met every SLO and it did not
// stop early. It ends when High − Low ≤ Tolerance.
type Search struct {
	// Over is ModeRate or ModeConcurrency; "" means no search.
	Over string
	// Low and High bound the search; Tolerance is the width it stops at.
	Low, High, Tolerance float64
	// Target is the share of requests that must meet the SLO.
	Target float64
}

// SearchSpec is a search as the configuration writes it (load: search:); its
// bounds are the two values of the spec's rate or concurrency.
type SearchSpec struct {
	// Target is the share of requests that must meet every SLO, above 0 and
	// at most 1. 0 means DefaultSearchTarget.
	Target float64 `yaml:"target"`
	// Tolerance is the width at which the bisection stops: a whole number of
	// requests for concurrency (default 1), requests per second for rate
	// (default (high − low)/32).
	Tolerance float64 `yaml:"tolerance"`
}

func (s *SearchSpec) check(l *Spec, mode string) error {
	if s == nil {
		return nil
	}
	var lo, hi float64
	switch {
	case mode == ModeRate && len(l.Rate) == 2:
		lo, hi = l.Rate[0], l.Rate[1]
	case mode == ModeConcurrency && len(l.Concurrency) == 2:
		lo, hi = float64(l.Concurrency[0]), float64(l.Concurrency[1])
	case mode == ModeRate || mode == ModeConcurrency:
		return fmt.Errorf("search: give %s as [low, high], the bounds of the search", mode)
	default:
		return errors.New("search: over rate or concurrency: give rate: [low, high] or concurrency: [low, high]")
	}
	switch {
	case lo >= hi:
		return fmt.Errorf("search: %s [%g, %g]: want low below high", mode, lo, hi)
	case !l.SLO.Any():
		return errors.New("search: needs an slo (ttft, tpot or e2e) to search against")
	case !(s.Target >= 0 && s.Target <= 1):
		return fmt.Errorf("search.target %g: want a share above 0, at most 1 (0 means %g)", s.Target, DefaultSearchTarget)
	case !(s.Tolerance >= 0) || math.IsInf(s.Tolerance, 0):
		return fmt.Errorf("search.tolerance %g: want 0 (the default) or more", s.Tolerance)
	case mode == ModeConcurrency && s.Tolerance != math.Trunc(s.Tolerance):
		return fmt.Errorf("search.tolerance %g: a concurrency search's is a whole number", s.Tolerance)
	}
	return nil
}

// search returns the spec's Search, its defaults applied.
func (s *SearchSpec) search(l *Spec, mode string) Search {
	if s == nil {
		return Search{}
	}
	out := Search{Over: mode, Target: s.Target, Tolerance: s.Tolerance}
	if mode == ModeRate {
		out.Low, out.High = l.Rate[0], l.Rate[1]
	} else {
		out.Low, out.High = float64(l.Concurrency[0]), float64(l.Concurrency[1])
	}
	if out.Target == 0 {
		out.Target = DefaultSearchTarget
	}
	if out.Tolerance == 0 {
		out.Tolerance = 1
		if mode == ModeRate {
			out.Tolerance = (out.High - out.Low) / 32
		}
	}
	return out
}

// Probe is one load a search ran.
type Probe struct {
	// Value is the rate or concurrency probed.
	Value float64
	// Report is its run's report.
	Report *Report
	// Share is the share of its finished requests that met every SLO; Pass
	// says whether it reached the target (and the run did not stop early).
	Share float64
	Pass  bool
}

// SearchResult is what a search found.
type SearchResult struct {
	// Search is the search that was run.
	Search Search
	// Probes are every load probed, in the order they ran.
	Probes []Probe
	// Best is the highest passing probe; nil when even Low failed.
	Best *Probe
	// AtHigh says High itself passed: the highest load is at or above it.
	AtHigh bool
}

// probePoint returns p at load v of its search.
func probePoint(p Point, v float64) Point {
	p.Search = Search{}
	if p.Mode == ModeRate {
		p.Rate, p.Name = v, "rate="+strconv.FormatFloat(v, 'g', -1, 64)
	} else {
		p.Concurrency, p.Name = int(v), "concurrency="+strconv.Itoa(int(v))
	}
	return p
}

// RunSearch runs p's search: Low, then High, then bisection while High − Low
// is above the tolerance (a concurrency's midpoint rounded down). Each probe
// is a RunPoint of p at that load, named as a sweep point would be
// (rate=R, concurrency=N), with opts; records, with WithRecords, go under the
// bench name followed by /rate=R. A probe that fails to run ends the search
// with its error; the result holds the probes so far.
func RunSearch(ctx context.Context, b backends.Backend, p Point, reqs []backends.Request, opts ...Option) (*SearchResult, error) {
	s := p.Search
	if s.Over == "" {
		return nil, fmt.Errorf("load %s: not a search", p.Name)
	}
	res := &SearchResult{Search: s}
	defer res.best()
	probe := func(v float64) (bool, error) {
		q := probePoint(p, v)
		o := append(append([]Option(nil), opts...), func(c *runConfig) {
			if c.records != nil {
				c.bench += "/" + q.Name
			}
		})
		rep, err := RunPoint(ctx, b, q, reqs, o...)
		if rep == nil {
			return false, fmt.Errorf("load %s: %w", p.Name, err)
		}
		pr := Probe{Value: v, Report: rep}
		if n := rep.Succeeded + rep.Failed; n > 0 {
			pr.Share = float64(rep.Good) / float64(n)
			pr.Pass = pr.Share >= s.Target && rep.StoppedRuns == 0
		}
		res.Probes = append(res.Probes, pr)
		if err != nil {
			return false, fmt.Errorf("load %s: %w", p.Name, err)
		}
		return pr.Pass, nil
	}
	lo, hi := s.Low, s.High
	if ok, err := probe(lo); err != nil || !ok {
		return res, err
	}
	ok, err := probe(hi)
	if err != nil || ok {
		res.AtHigh = ok
		return res, err
	}
	for hi-lo > s.Tolerance {
		mid := (lo + hi) / 2
		if s.Over == ModeConcurrency {
			mid = math.Floor(mid)
		}
		ok, err := probe(mid)
		if err != nil {
			return res, err
		}
		if ok {
			lo = mid
		} else {
			hi = mid
		}
	}
	return res, nil
}

// best sets Best to the highest passing probe.
func (r *SearchResult) best() {
	r.Best = nil
	for i := range r.Probes {
		if pr := &r.Probes[i]; pr.Pass && (r.Best == nil || pr.Value > r.Best.Value) {
			r.Best = pr
		}
	}
}

// SearchFile is the file, in the output folder, that every search writes its
// probes to, one ProbeRecord per line.
const SearchFile = "search.jsonl"

// ProbeRecord is one probe of a search as a JSON line (format version
// RecordsVersion, docs/load.md).
type ProbeRecord struct {
	V int `json:"v"`
	// Bench names the search's benchmark (Load/model=M/search=rate) and Run
	// counts its searches in the file from 0; Probe counts its probes.
	Bench string `json:"bench"`
	Run   int    `json:"run"`
	Probe int    `json:"probe"`
	// Name is the probe's point (rate=R), Value its load.
	Name  string  `json:"name"`
	Value float64 `json:"value"`
	// Share is the share of its requests that met the SLO; Pass whether it
	// reached the target; Best marks the probe the search found.
	Share float64 `json:"share"`
	Pass  bool    `json:"pass"`
	Best  bool    `json:"best,omitempty"`
	// Metrics are the probe's metrics as a result line would print them.
	Metrics map[string]float64 `json:"metrics"`
	// Report is the probe's report, lossless.
	Report *Report `json:"report"`
}

// WriteSearch writes every probe of res to rw under the benchmark name bench.
func WriteSearch(rw *RecordWriter, bench string, res *SearchResult) error {
	run := rw.nextRun("search:" + bench)
	for i := range res.Probes {
		pr := &res.Probes[i]
		ms := map[string]float64{}
		for _, m := range pr.Report.Metrics() {
			ms[m.Name] = m.Value
		}
		rec := ProbeRecord{V: RecordsVersion, Bench: bench, Run: run, Probe: i, Name: pr.Report.Point.Name,
			Value: pr.Value, Share: pr.Share, Pass: pr.Pass, Best: pr == res.Best, Metrics: ms, Report: pr.Report}
		if err := rw.line(&rec); err != nil {
			return err
		}
	}
	return nil
}

// Metrics returns the search's result as metrics: the best probe's metrics
// and slo-max-req/s (its rate) or slo-max-concurrency; nothing without a best.
func (r *SearchResult) Metrics() []Metric {
	if r.Best == nil {
		return nil
	}
	ms := r.Best.Report.Metrics()
	name := "slo-max-concurrency"
	if r.Search.Over == ModeRate {
		name = "slo-max-req/s"
	}
	return append([]Metric{{name, r.Best.Value}}, ms...)
}
