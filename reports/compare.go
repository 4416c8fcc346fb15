package reports

import (
	"errors"
	"fmt"
	"math"
	"slices"
	"strings"

	"golang.org/x/perf/benchfmt"
	"golang.org/x/perf/benchmath"
)

// Alpha is the significance level of comparisons, benchstat's default: a
// difference is significant when p < Alpha.
const Alpha = 0.05

// ErrNoCommon is returned (wrapped) when two inputs share no benchmark and
// metric.
var ErrNoCommon = errors.New("no benchmarks in common")

// A Delta compares one metric of one benchmark between an old and a new run.
type Delta struct {
	// Benchmark is the benchmark name without "Benchmark" and key=value
	// parts: "Generate".
	Benchmark string
	// Labels are its key=value name parts: model=a, prompt=p1.
	Labels []Label
	// Metric is the unit as written: "ttft-ns/op".
	Metric string
	// Synthetic marks a synthetic model (on either side), whose quality
	// metrics mean nothing.
	Synthetic bool
	// Better is +1 when higher is better, -1 when lower is, 0 when unknown.
	Better int
	// Old and New are the medians with their 95% intervals.
	Old, New Estimate
	// Change is New.Center/Old.Center − 1 (0.2 is 20% higher); NaN when the
	// old center is 0 and the new is not.
	Change float64
	// ChangeLo and ChangeHi bound the change conservatively from the two
	// intervals (New.Lo/Old.Hi − 1, New.Hi/Old.Lo − 1); ±Inf when either
	// interval is unknown.
	ChangeLo, ChangeHi float64
	// P is the p-value of the Mann-Whitney U test (benchmath.AssumeNothing),
	// or 0 for an `assume=exact` unit, as benchstat.
	P float64
	// Significant is P < Alpha.
	Significant bool
	// Warnings are benchmath's notes, such as too few samples.
	Warnings []string

	exact bool // compared under benchmath.AssumeExact
}

// ID is the full benchmark name: "Generate/model=a/prompt=p1".
func (d Delta) ID() string {
	g := Group{Benchmark: d.Benchmark, Labels: d.Labels}
	return g.ID()
}

// Verdict is "better" or "worse" for a significant change of a metric with a
// direction, "changed" for one without, "~" when not significant (as
// benchstat), "same" when the centers are equal.
func (d Delta) Verdict() string {
	switch {
	case !d.Significant:
		return "~"
	case d.Change == 0:
		return "same"
	case d.Better == 0 || math.IsNaN(d.Change):
		return "changed"
	case (d.Change > 0) == (d.Better > 0):
		return "better"
	}
	return "worse"
}

// Worsening is how much worse the new run is in the metric's bad direction:
// Change for lower-is-better metrics, −Change for higher-is-better ones; 0
// without a direction. +Inf when the old center is 0 and the new is worse.
func (d Delta) Worsening() float64 {
	c := d.Change
	if math.IsNaN(c) {
		switch {
		case d.Better < 0 && d.New.Center > 0, d.Better > 0 && d.New.Center < 0:
			return math.Inf(1)
		}
		return 0
	}
	return -float64(d.Better) * c
}

// A Comparison is every Delta between two runs.
type Comparison struct {
	// Old and New name the inputs.
	Old, New string
	// Deltas are in the new input's order: benchmark, then metric.
	Deltas []Delta
	// OnlyOld and OnlyNew are what one side has and the other lacks: whole
	// benchmarks (one entry per metric, Whole set) and metrics of benchmarks
	// both sides have.
	OnlyOld, OnlyNew []Missing
	// FromBenchstat marks a comparison read from benchstat's CSV: its p-values
	// have three decimals and its intervals are benchstat's ±%.
	FromBenchstat bool
}

// A Missing is a metric of a benchmark that one side of a comparison has and
// the other lacks.
type Missing struct {
	// Benchmark and Labels name the benchmark, as in Delta.
	Benchmark string
	Labels    []Label
	// Metric is the unit as written: "tokens/s".
	Metric string
	// Whole is set when the other side lacks the whole benchmark, not just
	// this metric.
	Whole bool
	// Synthetic marks a synthetic model.
	Synthetic bool
	// Better is the metric's direction, as in Delta.
	Better int
}

// ID is the full benchmark name: "Generate/model=a/prompt=p1".
func (m Missing) ID() string {
	g := Group{Benchmark: m.Benchmark, Labels: m.Labels}
	return g.ID()
}

// missing lists the metrics of g, a group of one side, that other (the
// other side's group of the same ID, or nil) lacks.
func missing(g, other *Group, metrics []string, better func(string) int) []Missing {
	var out []Missing
	for _, m := range metrics {
		if len(g.Samples[m]) == 0 || other != nil && len(other.Samples[m]) > 0 {
			continue
		}
		out = append(out, Missing{Benchmark: g.Benchmark, Labels: g.Labels, Metric: m, Whole: other == nil,
			Synthetic: g.Synthetic || other != nil && other.Synthetic, Better: better(m)})
	}
	return out
}

// Compare compares every metric of every benchmark present in both sets, like
// benchstat old new: medians, the Mann-Whitney U test (or exact comparison
// for `assume=exact` units) and significance at Alpha. Directions come from
// `Unit … better=` lines of either input, else DefaultBetter. It returns an
// error wrapping ErrNoCommon when nothing can be compared.
func Compare(old, new *Set) (*Comparison, error) {
	c := &Comparison{Old: strings.Join(old.Files, ","), New: strings.Join(new.Files, ",")}
	dir := func(m string) int { return directionOf(old, new, m) }
	oldBy, newBy := byID(old), byID(new)
	for _, g := range old.Groups {
		c.OnlyOld = append(c.OnlyOld, missing(g, newBy[g.ID()], old.Metrics, dir)...)
	}
	for _, ng := range new.Groups {
		og := oldBy[ng.ID()]
		c.OnlyNew = append(c.OnlyNew, missing(ng, og, new.Metrics, dir)...)
		if og == nil {
			continue
		}
		for _, m := range new.Metrics {
			ov, nv := og.Samples[m], ng.Samples[m]
			if len(ov) == 0 || len(nv) == 0 {
				continue
			}
			d := compareSamples(ov, nv, assumption(old.Units, new.Units, m))
			d.Benchmark, d.Labels, d.Metric = ng.Benchmark, ng.Labels, m
			d.Synthetic = og.Synthetic || ng.Synthetic
			d.Better = dir(m)
			c.Deltas = append(c.Deltas, d)
		}
	}
	if len(c.Deltas) == 0 {
		return nil, fmt.Errorf("%s and %s: %w (old has %s; new has %s)", c.Old, c.New, ErrNoCommon,
			firstIDs(old), firstIDs(new))
	}
	return c, nil
}

func byID(s *Set) map[string]*Group {
	m := make(map[string]*Group, len(s.Groups))
	for _, g := range s.Groups {
		m[g.ID()] = g
	}
	return m
}

// firstIDs names a set's first benchmarks, for messages.
func firstIDs(s *Set) string {
	var ids []string
	for i, g := range s.Groups {
		if i == 2 {
			ids = append(ids, fmt.Sprintf("%d more", len(s.Groups)-2))
			break
		}
		ids = append(ids, g.ID())
	}
	return strings.Join(ids, ", ")
}

// directionOf prefers a `Unit` line of the new input, then the old, then the
// defaults.
func directionOf(old, new *Set, metric string) int {
	for _, u := range []benchfmt.UnitMetadataMap{new.Units, old.Units} {
		for _, name := range []string{metric, strings.TrimSuffix(metric, "/op"), metric + "/op"} {
			if u.Get(name, "better") != nil {
				return u.GetBetter(name)
			}
		}
	}
	return DefaultBetter(metric)
}

// assumption is the unit's benchmath assumption (AssumeExact for
// `assume=exact`, else AssumeNothing), from either input.
func assumption(old, new benchfmt.UnitMetadataMap, metric string) benchmath.Assumption {
	for _, u := range []benchfmt.UnitMetadataMap{new, old} {
		for _, name := range []string{metric, strings.TrimSuffix(metric, "/op"), metric + "/op"} {
			if u.Get(name, "assume") != nil {
				return u.GetAssumption(name)
			}
		}
	}
	return benchmath.AssumeNothing
}

func compareSamples(oldVals, newVals []float64, a benchmath.Assumption) Delta {
	thr := benchmath.DefaultThresholds
	so := benchmath.NewSample(slices.Clone(oldVals), &thr)
	ns := benchmath.NewSample(slices.Clone(newVals), &thr)
	osum := a.Summary(so, Confidence)
	nsum := a.Summary(ns, Confidence)
	cmp := a.Compare(so, ns)
	d := Delta{
		Old:         Estimate{N: len(oldVals), Center: osum.Center, Lo: osum.Lo, Hi: osum.Hi},
		New:         Estimate{N: len(newVals), Center: nsum.Center, Lo: nsum.Lo, Hi: nsum.Hi},
		P:           cmp.P,
		Significant: cmp.P < Alpha,
		exact:       a == benchmath.AssumeExact,
	}
	for _, w := range slices.Concat(so.Warnings, ns.Warnings, osum.Warnings, nsum.Warnings, cmp.Warnings) {
		if !slices.Contains(d.Warnings, w.Error()) {
			d.Warnings = append(d.Warnings, w.Error())
		}
	}
	if a == benchmath.AssumeNothing && !d.Detectable() {
		d.Warnings = append(d.Warnings, fmt.Sprintf("%d+%d samples can never differ significantly (smallest p %.3f ≥ %.2f); need ≥ 4 per side",
			d.Old.N, d.New.N, minP(d.Old.N, d.New.N), Alpha))
	}
	d.setChange()
	return d
}

// Detectable reports whether the sample sizes allow a significant
// Mann-Whitney U result at all: the smallest two-sided p-value,
// 2/C(n1+n2, n1), must be below Alpha (n=4+4 is the least).
// Comparisons of exact units are always detectable.
func (d Delta) Detectable() bool {
	return d.exact || minP(d.Old.N, d.New.N) < Alpha
}

// minP is the smallest two-sided p-value of the Mann-Whitney U test for
// samples of n1 and n2 values without ties.
func minP(n1, n2 int) float64 {
	if n1 == 0 || n2 == 0 {
		return 1
	}
	k, n := min(n1, n2), max(n1, n2)
	c := 1.0 // C(n1+n2, k), built up only as far as it decides the answer
	for i := 1; i <= k && c <= 1e12; i++ {
		c = c * float64(n+i) / float64(i)
	}
	return math.Min(1, 2/c)
}

// setChange fills Change, ChangeLo and ChangeHi from Old and New.
func (d *Delta) setChange() {
	o, n := d.Old, d.New
	switch {
	case o.Center == n.Center:
		d.Change = 0
	case o.Center == 0:
		d.Change = math.NaN()
	default:
		d.Change = n.Center/o.Center - 1
	}
	d.ChangeLo, d.ChangeHi = math.Inf(-1), math.Inf(1)
	if o.HasCI() && n.HasCI() && o.Lo > 0 && o.Hi > 0 && n.Lo >= 0 {
		d.ChangeLo = n.Lo/o.Hi - 1
		d.ChangeHi = n.Hi/o.Lo - 1
	}
}

// MetricChange is the overall change of one metric across benchmarks.
type MetricChange struct {
	Metric string
	Better int
	// Geomean is the geometric mean of the new/old center ratios, minus 1
	// (benchstat's geomean row); NaN when no ratio is positive.
	Geomean float64
	// Lo and Hi are the geometric means of the ratio bounds, minus 1; ±Inf
	// when any bound is unknown.
	Lo, Hi float64
	// NBetter, NWorse and NOther count the benchmarks whose Verdict is
	// "better", "worse", and anything else.
	NBetter, NWorse, NOther int
}

// ByMetric summarises the deltas of each metric: known metrics in
// KnownMetrics order, then the others in first-seen order.
func (c *Comparison) ByMetric() []MetricChange {
	var out []MetricChange
	idx := map[string]int{}
	type acc struct {
		sum, lo, hi float64
		n           int
		ciOK        bool
	}
	accs := map[string]*acc{}
	for _, d := range c.Deltas {
		i, ok := idx[d.Metric]
		if !ok {
			i = len(out)
			idx[d.Metric] = i
			out = append(out, MetricChange{Metric: d.Metric, Better: d.Better})
			accs[d.Metric] = &acc{ciOK: true}
		}
		switch d.Verdict() {
		case "better":
			out[i].NBetter++
		case "worse":
			out[i].NWorse++
		default:
			out[i].NOther++
		}
		a := accs[d.Metric]
		if d.Old.Center > 0 && d.New.Center > 0 {
			a.sum += math.Log(d.New.Center / d.Old.Center)
			a.n++
			if finite(d.ChangeLo) && finite(d.ChangeHi) && d.ChangeLo > -1 {
				a.lo += math.Log(1 + d.ChangeLo)
				a.hi += math.Log(1 + d.ChangeHi)
			} else {
				a.ciOK = false
			}
		}
	}
	order := make([]string, len(out))
	for i, mc := range out {
		order[i] = mc.Metric
	}
	order = sortMetrics(order)
	slices.SortStableFunc(out, func(a, b MetricChange) int {
		return slices.Index(order, a.Metric) - slices.Index(order, b.Metric)
	})
	for i := range out {
		a := accs[out[i].Metric]
		out[i].Geomean, out[i].Lo, out[i].Hi = math.NaN(), math.Inf(-1), math.Inf(1)
		if a.n > 0 {
			out[i].Geomean = math.Exp(a.sum/float64(a.n)) - 1
			if a.ciOK {
				out[i].Lo = math.Exp(a.lo/float64(a.n)) - 1
				out[i].Hi = math.Exp(a.hi/float64(a.n)) - 1
			}
		}
	}
	return out
}

// Plot is the figure of relative change per metric: the geomean change over
// benchmarks with the geomean of the per-benchmark interval bounds, coloured
// by the metric's worst verdict.
func (c *Comparison) Plot() Plot {
	p := Plot{Name: "compare", Kind: Changes,
		Title:    "Relative change per metric: " + base(c.New) + " vs " + base(c.Old),
		Subtitle: "geomean over benchmarks of new/old medians; bars: geomean of 95% CI bounds",
		XLabel:   "change (%)"}
	reg := Series{Name: "significantly worse somewhere"}
	imp := Series{Name: "significantly better, never worse"}
	other := Series{Name: "no significant change / no direction"}
	for _, mc := range c.ByMetric() {
		if math.IsNaN(mc.Geomean) {
			continue
		}
		label := Title(mc.Metric)
		if label != mc.Metric {
			label += " (" + mc.Metric + ")"
		}
		p.Labels = append(p.Labels, label)
		for _, s := range []*Series{&reg, &imp, &other} {
			s.Values = append(s.Values, math.NaN())
			s.Lo = append(s.Lo, math.NaN())
			s.Hi = append(s.Hi, math.NaN())
		}
		s := &other
		switch {
		case mc.NWorse > 0:
			s = &reg
		case mc.NBetter > 0:
			s = &imp
		}
		i := len(p.Labels) - 1
		s.Values[i], s.Lo[i], s.Hi[i] = mc.Geomean*100, mc.Lo*100, mc.Hi*100
	}
	if len(p.Labels) == 0 {
		p.Skipped = "no metric with positive values on both sides"
		return p
	}
	p.Series = []Series{reg, imp, other}
	return p
}
