package reports

import (
	"cmp"
	"fmt"
	"math"
	"slices"
	"strconv"
	"strings"
)

// Config keys of a load point's SLOs, in ns, written before the results of
// a model whose load spec sets them: the goodput plot names them and the
// latency curves mark them.
const (
	ConfigSLOTTFT = "slo-ttft-ns"
	ConfigSLOTPOT = "slo-tpot-ns"
	ConfigSLOE2E  = "slo-e2e-ns"
)

// A curve is one model's points of a load sweep, in sweep order.
type curve struct {
	label string
	rows  []Row
	xs    []float64 // the sweep key's values
}

// sweepCurves groups rows by everything but key (the model) and orders each
// group's points by key's value. Rows whose key is not a number are left out.
func sweepCurves(rows []Row, key string) []curve {
	var out []curve
	for _, r := range rows {
		x, err := strconv.ParseFloat(r.Group.Get(key), 64)
		if err != nil {
			continue
		}
		g := *r.Group
		g.Labels = slices.DeleteFunc(slices.Clone(g.Labels), func(l Label) bool { return l.Key == key })
		label := strings.ReplaceAll(rowLabel(&g), "\n", " ")
		i := slices.IndexFunc(out, func(c curve) bool { return c.label == label })
		if i < 0 {
			out = append(out, curve{label: label})
			i = len(out) - 1
		}
		out[i].rows = append(out[i].rows, r)
		out[i].xs = append(out[i].xs, x)
	}
	for i := range out {
		c := &out[i]
		idx := make([]int, len(c.xs))
		for j := range idx {
			idx[j] = j
		}
		slices.SortStableFunc(idx, func(a, b int) int { return cmp.Compare(c.xs[a], c.xs[b]) })
		rows, xs := make([]Row, len(idx)), make([]float64, len(idx))
		for j, k := range idx {
			rows[j], xs[j] = c.rows[k], c.xs[k]
		}
		c.rows, c.xs = rows, xs
	}
	return out
}

// sweepAxis is the x-axis label of a sweep key.
func sweepAxis(key string) string {
	if key == KeyRate {
		return "offered load (requests/s)"
	}
	return "concurrency (requests in flight)"
}

// sweepPlots are the curves of a load sweep, for each sweep key the rows
// use: output tokens/s and requests/s against the load; TTFT and TPOT p50
// (solid) and p99 (dashed) against the achieved output throughput, one colour
// per model, so that the knee shows; goodput (solid) beside all requests/s
// (dashed) against the load, with the SLO named; schedule lag p50/p99
// against the load. Names are "load-tokens", …, with "-rate" or
// "-concurrency" appended when the benchmark has both.
func sweepPlots(rows []Row, b string) []Plot {
	var keys []string
	for _, k := range []string{KeyConcurrency, KeyRate} {
		if slices.ContainsFunc(rows, func(r Row) bool { return r.Group.Get(k) != "" }) {
			keys = append(keys, k)
		}
	}
	prefix := strings.ToLower(b) + "-"
	var out []Plot
	for _, key := range keys {
		suffix := ""
		if len(keys) > 1 {
			suffix = "-" + key
		}
		cs := sweepCurves(rows, key)
		against := " against " + strings.TrimSuffix(sweepAxis(key), " (requests/s)")
		if key == KeyConcurrency {
			against = " against concurrency"
		}
		achieved := metricX("tokens/s")
		ttft := curvePlot(cs, "ttft"+suffix, b+": TTFT against achieved throughput", "achieved output throughput (tokens/s)", achieved,
			[]string{"ttft-p50-ns", "ttft-p99-ns"}, []string{"p50", "p99"}, "TTFT")
		ttft.Refs = sloRefs(ttft, cs, ConfigSLOTTFT, "TTFT")
		tpot := curvePlot(cs, "tpot"+suffix, b+": TPOT against achieved throughput", "achieved output throughput (tokens/s)", achieved,
			[]string{"tpot-p50-ns", "tpot-p99-ns"}, []string{"p50", "p99"}, "TPOT")
		tpot.Refs = sloRefs(tpot, cs, ConfigSLOTPOT, "TPOT")
		good := curvePlot(cs, "goodput"+suffix, b+": goodput"+against, sweepAxis(key), loadX,
			[]string{"goodput-req/s", "req/s"}, []string{"goodput", "all completed"}, "throughput (requests/s)")
		if good.Skipped == "" {
			good.Subtitle = "goodput: requests/s meeting every SLO (" + sloText(cs) + "); " + good.Subtitle
		}
		for _, p := range []Plot{
			curvePlot(cs, "tokens"+suffix, b+": output throughput"+against, sweepAxis(key), loadX,
				[]string{"tokens/s"}, nil, "output throughput (tokens/s)"),
			curvePlot(cs, "requests"+suffix, b+": requests completed"+against, sweepAxis(key), loadX,
				[]string{"req/s"}, nil, "throughput (requests/s)"),
			ttft, tpot, good,
			curvePlot(cs, "lag"+suffix, b+": schedule lag"+against, sweepAxis(key), loadX,
				[]string{"lag-p50-ns", "lag-p99-ns"}, []string{"p50", "p99"}, "schedule lag"),
		} {
			p.Name = prefix + p.Name
			out = append(out, p)
		}
	}
	return out
}

// loadX gives a curve's points their sweep value.
func loadX(c curve, j int) (float64, bool) { return c.xs[j], true }

// metricX gives a curve's points the median of metric.
func metricX(metric string) func(c curve, j int) (float64, bool) {
	return func(c curve, j int) (float64, bool) {
		e, ok := c.rows[j].Est[metric]
		return e.Center, ok
	}
}

func hasAny(cs []curve, metric string) bool {
	return slices.ContainsFunc(cs, func(c curve) bool { return has(c.rows, metric) })
}

// curvePlot draws metrics (one line each, the second and later dashed, named
// by names) of every curve against x, on a y axis labelled yLabel in the
// metrics' human unit. Skipped when no point has the first metric.
func curvePlot(cs []curve, name, title, xLabel string, x func(curve, int) (float64, bool), metrics, names []string, yLabel string) Plot {
	p := Plot{Name: name, Kind: Lines, Title: title, XLabel: xLabel}
	if !hasAny(cs, metrics[0]) {
		p.Skipped = "no " + metrics[0] + " metric"
		return p
	}
	var top float64
	for _, c := range cs {
		for _, r := range c.rows {
			for _, m := range metrics {
				if e, ok := r.Est[m]; ok {
					top = math.Max(top, e.Center)
				}
			}
		}
	}
	scale, unit := axisScale(metrics[0], top)
	if unitKind(metrics[0]) == kindTime {
		p.YLabel = yLabel + " (" + unit + ")"
	} else {
		p.YLabel = yLabel
	}
	enough := false
	for ci, c := range cs {
		for mi, m := range metrics {
			s := Series{Name: c.label, Color: ci, Dashed: mi > 0}
			if len(names) > 0 {
				s.Name += " " + names[mi]
			}
			for j, r := range c.rows {
				e, ok := r.Est[m]
				xv, xok := x(c, j)
				if !ok || !xok {
					continue
				}
				s.X = append(s.X, xv)
				s.Values = append(s.Values, e.Center/scale)
				s.Lo = append(s.Lo, e.Lo/scale)
				s.Hi = append(s.Hi, e.Hi/scale)
				enough = enough || e.HasCI()
			}
			if len(s.X) > 0 {
				p.Series = append(p.Series, s)
			}
		}
	}
	p.Subtitle = "median per point"
	if enough {
		p.Subtitle += "; whiskers: 95% CI"
	} else {
		p.Subtitle += "; no whiskers: fewer than 6 samples per point"
	}
	return p
}

// sloRefs are the lines of the SLOs of key (in ns) that the curves' models
// set, in p's y unit.
func sloRefs(p Plot, cs []curve, key, what string) []Ref {
	if p.Skipped != "" {
		return nil
	}
	scale := 1e6
	if strings.HasSuffix(p.YLabel, "(s)") {
		scale = 1e9
	}
	var refs []Ref
	for _, v := range sloValues(cs, key) {
		refs = append(refs, Ref{Y: v / scale, Label: "SLO: " + what + " ≤ " + humanNs(v)})
	}
	return refs
}

// sloValues are the distinct values of the SLO config key among the curves'
// models, in ns.
func sloValues(cs []curve, key string) []float64 {
	var out []float64
	for _, c := range cs {
		for _, r := range c.rows {
			if v, err := strconv.ParseFloat(r.Group.Config[key], 64); err == nil && v > 0 && !slices.Contains(out, v) {
				out = append(out, v)
			}
		}
	}
	return out
}

// sloText names the SLOs the curves' models set: "TTFT ≤ 300 ms".
func sloText(cs []curve) string {
	var parts []string
	for _, k := range []struct{ key, what string }{{ConfigSLOTTFT, "TTFT"}, {ConfigSLOTPOT, "TPOT"}, {ConfigSLOE2E, "E2E"}} {
		for _, v := range sloValues(cs, k.key) {
			parts = append(parts, k.what+" ≤ "+humanNs(v))
		}
	}
	if len(parts) == 0 {
		return "not in the output: no slo-… config lines"
	}
	return strings.Join(parts, ", ")
}

// cdfPlot is the empirical distribution function of metric per row (model,
// the prompts pooled): the share of samples at or below each value, a step
// per sample; the x axis is logarithmic when the values span more than a
// factor of 20.
func cdfPlot(rows []Row, name, title, metric, what string) Plot {
	p := Plot{Name: name, Kind: Lines, Steps: true, Title: title, YLabel: "share of generations ≤ x"}
	lo, hi := math.Inf(1), 0.0
	for _, r := range rows {
		for _, v := range r.Group.Samples[metric] {
			if v > 0 {
				lo, hi = math.Min(lo, v), math.Max(hi, v)
			}
		}
	}
	if hi == 0 {
		p.Skipped = "no " + metric + " metric"
		return p
	}
	scale, unit := axisScale(metric, hi)
	p.XLabel = what + " (" + unit + ")"
	p.LogX = hi/lo > 20
	if p.LogX {
		p.XLabel = what + " (" + unit + ", log scale)"
	}
	for i, r := range rows {
		vs := slices.Clone(r.Group.Samples[metric])
		if len(vs) == 0 {
			continue
		}
		slices.Sort(vs)
		s := Series{Name: fmt.Sprintf("%s (n=%d)", strings.ReplaceAll(rowLabel(r.Group), "\n", " "), len(vs)), Color: i}
		if !p.LogX {
			// The step up from 0 at the first value.
			s.X, s.Values = append(s.X, vs[0]/scale), append(s.Values, 0)
		}
		for j, v := range vs {
			s.X = append(s.X, v/scale)
			s.Values = append(s.Values, float64(j+1)/float64(len(vs)))
		}
		p.Series = append(p.Series, s)
	}
	p.Subtitle = "every sample"
	if averaged(rows) {
		p.Subtitle = "every sample of every prompt, pooled"
	}
	return p
}
