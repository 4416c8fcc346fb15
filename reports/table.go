package reports

import (
	"math"
	"slices"
)

// An Estimate is a metric's central value with its 95% interval.
type Estimate struct {
	// N is the number of samples behind it.
	N int
	// Center is the median of one group, or the mean of the per-prompt medians
	// of an averaged row.
	Center float64
	// Lo and Hi bound the interval: the median's 95% confidence interval, or
	// the mean of the per-prompt bounds. ±Inf when any sample has fewer than 6
	// values.
	Lo, Hi float64
}

// HasCI reports whether Lo and Hi are finite.
func (e Estimate) HasCI() bool { return !math.IsInf(e.Lo, 0) && !math.IsInf(e.Hi, 0) }

// A Row is one line of a summary table.
type Row struct {
	// Group carries the row's labels; its Samples are every sample of the
	// row's groups pooled (for distributions such as the TTFT box plot).
	Group *Group
	// Prompts is the number of groups averaged into the row (1 for a plain
	// group).
	Prompts int
	// Est is the estimate of each metric the row has.
	Est map[string]Estimate
}

// Rows returns one row per group.
func (s *Set) Rows() []Row {
	rows := make([]Row, 0, len(s.Groups))
	for _, g := range s.Groups {
		r := Row{Group: g, Prompts: 1, Est: map[string]Estimate{}}
		for m := range g.Samples {
			st, _ := g.Stats(m)
			r.Est[m] = Estimate{N: st.N, Center: st.Median, Lo: st.Lo, Hi: st.Hi}
		}
		rows = append(rows, r)
	}
	return rows
}

// Averaged returns one row per group of s.Merge(key), in order: each metric's
// estimate is the mean over the merged groups (the prompts, for key "prompt")
// of their medians, and of their interval bounds. Every prompt counts the
// same however many samples it has; a prompt without the metric is left out
// of that metric's mean.
func (s *Set) Averaged(key string) []Row {
	merged := s.Merge(key)
	var rows []Row
	for _, mg := range merged.Groups {
		r := Row{Group: mg, Est: map[string]Estimate{}}
		sums := map[string]*Estimate{}
		counts := map[string]int{}
		for _, g := range s.Groups {
			if !sameExcept(g, mg, key) {
				continue
			}
			r.Prompts++
			for m := range g.Samples {
				st, _ := g.Stats(m)
				e := sums[m]
				if e == nil {
					e = &Estimate{}
					sums[m] = e
				}
				e.N += st.N
				e.Center += st.Median
				e.Lo += st.Lo
				e.Hi += st.Hi
				counts[m]++
			}
		}
		for m, e := range sums {
			c := float64(counts[m])
			r.Est[m] = Estimate{N: e.N, Center: e.Center / c, Lo: e.Lo / c, Hi: e.Hi / c}
		}
		rows = append(rows, r)
	}
	return rows
}

// sameExcept reports whether g has merged's benchmark and labels once key is
// dropped.
func sameExcept(g, merged *Group, key string) bool {
	if g.Benchmark != merged.Benchmark {
		return false
	}
	ls := slices.DeleteFunc(slices.Clone(g.Labels), func(l Label) bool { return l.Key == key })
	return slices.Equal(ls, merged.Labels)
}

// bench returns the rows of one benchmark.
func bench(rows []Row, name string) []Row {
	var out []Row
	for _, r := range rows {
		if r.Group.Benchmark == name {
			out = append(out, r)
		}
	}
	return out
}

// has reports whether any row has metric.
func has(rows []Row, metric string) bool {
	return slices.ContainsFunc(rows, func(r Row) bool { _, ok := r.Est[metric]; return ok })
}

// splitStages separates the case rows from the stage rows (Group.Stage).
func splitStages(rows []Row) (cases, stageRows []Row) {
	for _, r := range rows {
		if r.Group.Stage() == "" {
			cases = append(cases, r)
		} else {
			stageRows = append(stageRows, r)
		}
	}
	return cases, stageRows
}

// stages are the distinct stages of rows, in order.
func stages(rows []Row) []string {
	var out []string
	for _, r := range rows {
		if st := r.Group.Stage(); !slices.Contains(out, st) {
			out = append(out, st)
		}
	}
	return out
}

// rowMetrics are the metrics any row has, in report order.
func rowMetrics(rows []Row) []string {
	var ms []string
	for _, r := range rows {
		for m := range r.Est {
			if !slices.Contains(ms, m) {
				ms = append(ms, m)
			}
		}
	}
	slices.Sort(ms)
	return sortMetrics(ms)
}

// Sweep keys: the name key of a load sweep's points.
const (
	KeyConcurrency = "concurrency"
	KeyRate        = "rate"
)

// sweepKey is the load-sweep key the rows use ("concurrency" or "rate"), or "".
func sweepKey(rows []Row) string {
	for _, k := range []string{KeyConcurrency, KeyRate} {
		if slices.ContainsFunc(rows, func(r Row) bool { return r.Group.Get(k) != "" }) {
			return k
		}
	}
	return ""
}
