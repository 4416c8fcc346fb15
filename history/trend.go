package history

import (
	"bytes"
	"errors"
	"fmt"
	"math"
	"slices"
	"strings"
	"time"

	"github.com/llmbench/llmbench/reports"
	"golang.org/x/perf/benchfmt"
	"golang.org/x/perf/benchseries"
)

// Options configures Build. The zero value follows every metric with a
// direction against the oldest commit and flags disjoint 95% intervals.
type Options struct {
	// Metrics are the metrics to follow, by unit ("ttft-ns/op") or
	// results.csv column prefix ("ttft_ns"). Empty means every metric of the
	// history with a direction (reports.DefaultBetter) except the one-shot
	// figures (load-ns, rss-after-load-B: one sample per model and run).
	Metrics []string
	// Baseline is the commit every ratio is against, by hash or a prefix of
	// it; "" is the oldest commit.
	Baseline string
	// MinScore is the benchseries change score (HeurOverlap) from which a
	// commit is a change point: 1 means the 95% intervals of the ratios of a
	// commit and of the previous one are disjoint. Zero or less means 1.
	MinScore float64
	// Bootstrap is the number of bootstrap resamples per interval
	// (benchseries' N); zero or less means 1000, benchseries' advice.
	Bootstrap int
}

// ExactThreshold is the relative change from which benchseries' change score
// flags two points whose intervals are both empty (every sample equal, as
// token counts): a change of more than 2% scores ±100, less scores 0. It is
// benchseries' own default.
const ExactThreshold = 0.02

// A Trend is every followed metric of every benchmark over the commits.
type Trend struct {
	// Commits are the commits, oldest first.
	Commits []*Commit
	// Baseline is the index in Commits of the commit ratios are against.
	Baseline int
	// MinScore is the change score of a change point.
	MinScore float64
	// Series are in benchmark order (first seen), then metric order
	// (reports' order of metrics).
	Series []*Series
}

// A Series is one metric of one benchmark over the commits. Stage lines
// (stage=load: one sample per model and run) have none.
type Series struct {
	// Benchmark is the full name without "Benchmark":
	// "Generate/model=a/prompt=p".
	Benchmark string
	// Group carries the benchmark's name keys, from its newest commit.
	Group *reports.Group
	// Metric is the unit as written: "ttft-ns/op".
	Metric string
	// Better is +1 when higher is better, -1 when lower is, as
	// reports.DefaultBetter.
	Better int
	// Points has one point per commit that has the metric, oldest first.
	Points []Point
}

// A Point is one commit of a Series.
type Point struct {
	// Commit is the index in Trend.Commits.
	Commit int
	// Stats are the commit's samples of the metric.
	Stats reports.Stats
	// Ratio is benchseries' bootstrapped estimate of this commit's median
	// over the baseline commit's, with its 95% interval; NaN when the
	// baseline commit lacks the metric.
	Ratio, RatioLo, RatioHi float64
	// Step is the same against the previous point's commit (NaN for the
	// first point).
	Step, StepLo, StepHi float64
	// Score is benchseries' change score between the previous point's ratio
	// interval and this one's (HeurOverlap; positive: the metric went up);
	// NaN for the first point.
	Score float64
	// Change marks a change point: |Score| ≥ MinScore.
	Change bool
}

// Verdict is "regression" or "improvement" for a change point in the
// metric's bad or good direction, "change" without a direction, "" for no
// change point.
func (s *Series) Verdict(p Point) string {
	switch {
	case !p.Change:
		return ""
	case s.Better == 0:
		return "change"
	case (p.Score > 0) == (s.Better > 0):
		return "improvement"
	}
	return "regression"
}

// ErrBaseline is returned (wrapped) when Options.Baseline names no commit of
// the history, or more than one.
var ErrBaseline = errors.New("baseline commit not in the history")

// Labels of the relabelled results benchseries reads.
const (
	keyRole   = "history-role"   // numerator or denominator
	keySeries = "history-series" // the numerator's place in the history, as a time
	keyExp    = "history-exp"    // the comparison the result belongs to, as a time
	keyNum    = "history-num"    // the numerator's commit
	keyDen    = "history-den"    // the denominator's commit
)

// ordinal is the time benchseries sorts the i-th commit by: the history's
// own order, so that commits with equal times stay apart.
func ordinal(i int) string {
	return time.Unix(int64(i), 0).UTC().Format(time.RFC3339)
}

// Build follows each benchmark and metric of commits over them with
// benchseries: every commit against the baseline and against the previous
// commit with the metric.
func Build(commits []*Commit, opts Options) (*Trend, error) {
	if len(commits) == 0 {
		return nil, ErrEmpty
	}
	t := &Trend{Commits: commits, MinScore: opts.MinScore}
	if t.MinScore <= 0 {
		t.MinScore = 1
	}
	if opts.Bootstrap <= 0 {
		opts.Bootstrap = 1000
	}
	if opts.Baseline != "" {
		t.Baseline = -1
		for i, c := range commits {
			if strings.HasPrefix(c.Hash, opts.Baseline) {
				if t.Baseline >= 0 {
					return nil, fmt.Errorf("%w: %q names %s and %s", ErrBaseline, opts.Baseline, commits[t.Baseline].Short(), c.Short())
				}
				t.Baseline = i
			}
		}
		if t.Baseline < 0 {
			return nil, fmt.Errorf("%w: %q", ErrBaseline, opts.Baseline)
		}
	}
	results := make([][]*benchfmt.Result, len(commits))
	for i, c := range commits {
		rs, err := readResults(c)
		if err != nil {
			return nil, err
		}
		results[i] = rs
	}
	metrics, err := t.metrics(opts.Metrics)
	if err != nil {
		return nil, err
	}
	level, err := compare(results, metrics, opts.Bootstrap, func(int) int { return t.Baseline })
	if err != nil {
		return nil, err
	}
	step, err := compare(results, metrics, opts.Bootstrap, func(i int) int { return i - 1 })
	if err != nil {
		return nil, err
	}
	t.series(metrics, level, step)
	return t, nil
}

// readResults parses a commit's output with benchfmt, each value in the
// unit the benchmark wrote (ns/op, not benchfmt's tidied sec/op), as
// package reports names metrics.
func readResults(c *Commit) ([]*benchfmt.Result, error) {
	var out []*benchfmt.Result
	r := benchfmt.NewReader(bytes.NewReader(c.Data), "commit "+c.Short())
	for r.Scan() {
		if res, ok := r.Result().(*benchfmt.Result); ok {
			res = res.Clone()
			for i, v := range res.Values {
				if v.OrigUnit != "" {
					res.Values[i] = benchfmt.Value{Value: v.OrigValue, Unit: v.OrigUnit}
				}
			}
			out = append(out, res)
		}
	}
	if err := r.Err(); err != nil {
		return nil, err
	}
	return out, nil
}

// metrics resolves the metrics to follow, in reports' order.
func (t *Trend) metrics(want []string) ([]string, error) {
	var all []string
	for _, c := range t.Commits {
		for _, m := range c.Set.Metrics {
			if !slices.Contains(all, m) {
				all = append(all, m)
			}
		}
	}
	if len(want) == 0 {
		var out []string
		for _, m := range all {
			if reports.DefaultBetter(m) != 0 && !reports.IsOneShot(m) {
				out = append(out, m)
			}
		}
		if len(out) == 0 {
			return nil, errors.New("no metric with a direction in the history: name one with --metrics")
		}
		return out, nil
	}
	var out []string
	for _, w := range want {
		i := slices.IndexFunc(all, func(m string) bool { return m == w || reports.Column(m) == w })
		if i < 0 {
			return nil, fmt.Errorf("metric %q is in no run of the history", w)
		}
		out = append(out, all[i])
	}
	return out, nil
}

// compare builds one benchseries comparison per commit i: its results as
// numerator against those of commit den(i) (none when out of range), and
// bootstraps their intervals. The series are keyed by metric.
func compare(results [][]*benchfmt.Result, metrics []string, n int, den func(int) int) (map[string]*benchseries.ComparisonSeries, error) {
	b, err := benchseries.NewBuilder(&benchseries.BuilderOptions{
		Filter:          ".unit:/.*/",
		Series:          keySeries,
		Experiment:      keyExp,
		Compare:         keyRole,
		Numerator:       "numerator",
		Denominator:     "denominator",
		NumeratorHash:   keyNum,
		DenominatorHash: keyDen,
		Warn:            func(string, ...any) {},
	})
	if err != nil {
		return nil, err
	}
	add := func(rs []*benchfmt.Result, role string, i, d int) {
		for _, r := range rs {
			if isStage(benchName(r.Name)) {
				continue
			}
			r = r.Clone()
			r.Name = benchfmt.Name(benchName(r.Name))
			r.SetConfig(keyRole, role)
			r.SetConfig(keySeries, ordinal(i))
			r.SetConfig(keyExp, ordinal(i))
			r.SetConfig(keyNum, fmt.Sprint(i))
			r.SetConfig(keyDen, fmt.Sprint(d))
			b.Add(r)
		}
	}
	for i := range results {
		d := den(i)
		if d < 0 || d >= len(results) {
			continue
		}
		add(results[i], "numerator", i, d)
		add(results[d], "denominator", i, d)
	}
	all, err := b.AllComparisonSeries(nil, benchseries.DUPE_REPLACE)
	if err != nil {
		return nil, err
	}
	out := map[string]*benchseries.ComparisonSeries{}
	for _, cs := range all {
		if slices.Contains(metrics, cs.Unit) {
			cs.AddSummaries(reports.Confidence, n)
			out[cs.Unit] = cs
		}
	}
	return out, nil
}

// benchName is a result's name as package reports names its group
// (Group.ID): without the "-N" GOMAXPROCS suffix, which llmbench run and go
// test write on every line alike.
func benchName(n benchfmt.Name) string {
	full := string(n.Full())
	if i := strings.LastIndexByte(full, '-'); i >= 0 && i+1 < len(full) &&
		strings.Trim(full[i+1:], "0123456789") == "" && !strings.HasSuffix(full[:i], "/") {
		return full[:i]
	}
	return full
}

// isStage reports whether a benchmark is a stage line
// (Generate/model=m/stage=load): what is measured once per model and run,
// such as its load, which the trend leaves out as the gate does.
func isStage(name string) bool {
	return strings.Contains(name, "/"+reports.StageKey+"=")
}

// summary is benchseries' summary of the comparison of commit i's benchmark.
func summary(cs *benchseries.ComparisonSeries, bench string, i int) (*benchseries.ComparisonSummary, bool) {
	if cs == nil {
		return nil, false
	}
	series, err := benchseries.NormalizeDateString(ordinal(i))
	if err != nil {
		panic(err) // ordinal writes RFC 3339
	}
	s, ok := cs.SummaryAt(bench, series)
	return s, ok && s.Defined()
}

// series lays out the comparisons as Series, one per benchmark and metric.
func (t *Trend) series(metrics []string, level, step map[string]*benchseries.ComparisonSeries) {
	type key struct{ bench, metric string }
	seen := map[key]*Series{}
	var benches []string
	groups := map[string]*reports.Group{}                         // the newest of each benchmark
	byCommit := make([]map[string]*reports.Group, len(t.Commits)) // each commit's, by benchmark
	for i, c := range t.Commits {
		byCommit[i] = map[string]*reports.Group{}
		for _, g := range c.Set.Groups {
			if g.Stage() != "" {
				continue
			}
			if !slices.Contains(benches, g.ID()) {
				benches = append(benches, g.ID())
			}
			groups[g.ID()] = g
			byCommit[i][g.ID()] = g
		}
	}
	for _, bench := range benches {
		for _, m := range metrics {
			for i := range t.Commits {
				g := byCommit[i][bench]
				if g == nil || len(g.Samples[m]) == 0 {
					continue
				}
				s := seen[key{bench, m}]
				if s == nil {
					s = &Series{Benchmark: bench, Group: groups[bench], Metric: m, Better: reports.DefaultBetter(m)}
					seen[key{bench, m}] = s
					t.Series = append(t.Series, s)
				}
				p := Point{Commit: i, Stats: reports.Summarize(g.Samples[m]), Ratio: math.NaN(), RatioLo: math.NaN(), RatioHi: math.NaN(),
					Step: math.NaN(), StepLo: math.NaN(), StepHi: math.NaN(), Score: math.NaN()}
				sum, ok := summary(level[m], bench, i)
				if ok {
					p.Ratio, p.RatioLo, p.RatioHi = sum.Center, sum.Low, sum.High
				}
				if len(s.Points) > 0 {
					prev := s.Points[len(s.Points)-1]
					if st, ok := summary(step[m], bench, i); ok && prev.Commit == i-1 {
						p.Step, p.StepLo, p.StepHi = st.Center, st.Low, st.High
					}
					if psum, pok := summary(level[m], bench, prev.Commit); pok && ok {
						p.Score = psum.HeurOverlap(sum, ExactThreshold)
						p.Change = math.Abs(p.Score) >= t.MinScore
					}
				}
				s.Points = append(s.Points, p)
			}
		}
	}
}

// Changes are the change points of every series, in series order.
func (t *Trend) Changes() []Change {
	var out []Change
	for _, s := range t.Series {
		for _, p := range s.Points {
			if p.Change {
				out = append(out, Change{Series: s, Point: p})
			}
		}
	}
	return out
}

// A Change is a change point of a series.
type Change struct {
	Series *Series
	Point  Point
}
