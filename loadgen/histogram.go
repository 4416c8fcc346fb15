package loadgen

import (
	"slices"
	"time"

	hdrhistogram "github.com/HdrHistogram/hdrhistogram-go"

	"github.com/llmbench/llmbench/percentile"
)

// Histogram is a latency distribution in nanoseconds that keeps every value
// recorded, so its percentiles are exact by llmbench's one rule (nearest rank,
// package percentile), the same as the per-generation benchmarks', and so
// distributions of one metric from several runs or shards merge exactly: the
// percentiles of a merge are those of one histogram that recorded every value.
// A load run's requests are in memory anyway; a value costs 8 bytes.
//
// HDR gives an HdrHistogram of the same values for export, with a stated error
// (see HDR). A Histogram is not safe for concurrent use.
type Histogram struct {
	vals   []int64
	sorted bool
}

// NewHistogram returns an empty histogram.
func NewHistogram() *Histogram { return &Histogram{sorted: true} }

// histogramOf returns a histogram holding vals (which it keeps).
func histogramOf(vals []int64) *Histogram {
	return &Histogram{vals: vals, sorted: slices.IsSorted(vals)}
}

// Record adds one value; negative values are recorded as 0.
func (h *Histogram) Record(d time.Duration) {
	v := max(int64(d), 0)
	if n := len(h.vals); n > 0 && v < h.vals[n-1] {
		h.sorted = false
	}
	h.vals = append(h.vals, v)
}

// Count returns the number of values recorded.
func (h *Histogram) Count() int64 { return int64(len(h.vals)) }

func (h *Histogram) sort() {
	if !h.sorted {
		slices.Sort(h.vals)
		h.sorted = true
	}
}

// Percentile returns the p-th percentile (0 < p ≤ 100) by nearest rank: the
// smallest recorded value with at least p% of the values at or below it. 0 when
// the histogram is empty.
func (h *Histogram) Percentile(p float64) time.Duration {
	if len(h.vals) == 0 {
		return 0
	}
	h.sort()
	return time.Duration(percentile.NearestRank(h.vals, p))
}

// Quantile returns the value at quantile q (0.5 for the median, 0.99 for p99):
// Percentile(100·q).
func (h *Histogram) Quantile(q float64) time.Duration { return h.Percentile(q * 100) }

// Mean returns the mean value (exact, rounded down to a nanosecond), or 0 when
// empty.
func (h *Histogram) Mean() time.Duration {
	if len(h.vals) == 0 {
		return 0
	}
	var sum, rem int64 // sum/n + rem/n, without overflowing
	n := int64(len(h.vals))
	for _, v := range h.vals {
		sum += v / n
		rem += v % n
	}
	return time.Duration(sum + rem/n)
}

// Max returns the largest value, or 0 when empty.
func (h *Histogram) Max() time.Duration {
	if len(h.vals) == 0 {
		return 0
	}
	return time.Duration(slices.Max(h.vals))
}

// Merge adds every value of o to h.
func (h *Histogram) Merge(o *Histogram) {
	if len(o.vals) == 0 {
		return
	}
	h.vals = append(h.vals, o.vals...)
	h.sorted = false
}

// Values returns the recorded values in ascending order (the histogram's own
// slice: do not modify it).
func (h *Histogram) Values() []int64 {
	h.sort()
	return h.vals
}

// HDRMax is the largest value HDR can hold: longer values are clamped to it.
const HDRMax = int64(time.Hour)

// HDR returns an HdrHistogram (1 ns to 1 h, 3 significant digits) of the values,
// e.g. to export in HdrHistogram's encoded form for its tools. Its buckets are
// within 0.1% of the values they hold, but its own ValueAtQuantile is not this
// package's rule: it takes rank int(q·N+0.5) where nearest rank is ⌈q·N⌉, so at
// p90 of 16 values it returns the 14th where Percentile returns the 15th (6.7%
// low for evenly spaced values). Use Percentile for numbers; HDRPercentile for
// the nearest rank read from the buckets, which is within 0.1% of Percentile.
func (h *Histogram) HDR() *hdrhistogram.Histogram {
	out := hdrhistogram.New(1, HDRMax, 3)
	for _, v := range h.vals {
		out.RecordValue(min(max(v, 1), HDRMax)) // in range: cannot fail
	}
	return out
}

// HDRPercentile returns the p-th percentile of an HdrHistogram by nearest rank:
// the highest value equivalent to the bucket holding the value of rank
// ⌈p·N/100⌉. For a histogram of 3 significant digits that is at or above the
// exact percentile and less than 0.1% above it (for values from 1 ns to
// HDRMax). 0 when empty.
func HDRPercentile(h *hdrhistogram.Histogram, p float64) time.Duration {
	n := h.TotalCount()
	if n == 0 {
		return 0
	}
	rank := int64(percentile.Rank(int(n), p))
	var seen int64
	for _, b := range h.Distribution() {
		seen += b.Count
		if seen >= rank {
			return time.Duration(b.To)
		}
	}
	return time.Duration(h.Max())
}
