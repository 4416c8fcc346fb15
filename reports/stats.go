package reports

import (
	"math"
	"slices"

	"golang.org/x/perf/benchmath"
)

// Confidence is the confidence level of every interval in reports.
const Confidence = 0.95

// Stats summarises one sample of a metric.
type Stats struct {
	// N is the number of values.
	N int
	// Mean and Median are the sample mean and median.
	Mean, Median float64
	// Stddev is the sample standard deviation (n−1 denominator); NaN when N < 2.
	Stddev float64
	// Min and Max are the extremes.
	Min, Max float64
	// Lo and Hi bound the 95% confidence interval of the median
	// (benchmath.AssumeNothing, as benchstat). With fewer than 6 values there
	// is no such interval and they are -Inf and +Inf.
	Lo, Hi float64
}

// HasCI reports whether Lo and Hi are finite.
func (s Stats) HasCI() bool { return !math.IsInf(s.Lo, 0) && !math.IsInf(s.Hi, 0) }

// Summarize computes Stats of values (which it does not modify). It panics on
// an empty slice.
func Summarize(values []float64) Stats {
	// NewSample sorts in place.
	sample := benchmath.NewSample(slices.Clone(values), &benchmath.DefaultThresholds)
	sum := benchmath.AssumeNothing.Summary(sample, Confidence)
	sorted := sample.Values
	st := Stats{
		N:      len(values),
		Median: sum.Center,
		Lo:     sum.Lo,
		Hi:     sum.Hi,
		Min:    sorted[0],
		Max:    sorted[len(sorted)-1],
		Stddev: math.NaN(),
	}
	var total float64
	for _, v := range values {
		total += v
	}
	st.Mean = total / float64(len(values))
	if len(values) > 1 {
		var ss float64
		for _, v := range values {
			ss += (v - st.Mean) * (v - st.Mean)
		}
		st.Stddev = math.Sqrt(ss / float64(len(values)-1))
	}
	return st
}

// pctRange is benchstat's rendering of the interval: "±3%", "±∞" without
// one, "±?" when it straddles zero.
func (s Stats) pctRange() string {
	return "±" + benchmath.Summary{Center: s.Median, Lo: s.Lo, Hi: s.Hi}.PctRangeString()
}
