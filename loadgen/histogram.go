package loadgen

import (
	"time"

	hdrhistogram "github.com/HdrHistogram/hdrhistogram-go"
)

// Histogram is a latency distribution in nanoseconds (an HdrHistogram from 1 ns to
// 1 h with 3 significant digits: every quantile is within 0.1% of the value
// recorded). Values above 1 h are recorded as 1 h. Histograms of one metric from
// several runs merge exactly. A Histogram is not safe for concurrent use.
type Histogram struct {
	h *hdrhistogram.Histogram
}

const histMax = int64(time.Hour)

// NewHistogram returns an empty histogram.
func NewHistogram() *Histogram {
	return &Histogram{h: hdrhistogram.New(1, histMax, 3)}
}

// Record adds one value; negative values are recorded as 0.
func (h *Histogram) Record(d time.Duration) {
	v := int64(d)
	switch {
	case v < 0:
		v = 0
	case v > histMax:
		v = histMax
	}
	h.h.RecordValue(v) // cannot fail within the range
}

// Count returns the number of values recorded.
func (h *Histogram) Count() int64 { return h.h.TotalCount() }

// Quantile returns the value at quantile q (0.5 for the median, 0.99 for p99), or
// 0 when the histogram is empty.
func (h *Histogram) Quantile(q float64) time.Duration {
	return time.Duration(h.h.ValueAtQuantile(q * 100))
}

// Mean returns the mean value, or 0 when empty.
func (h *Histogram) Mean() time.Duration { return time.Duration(h.h.Mean()) }

// Max returns the largest value (to the histogram's precision), or 0 when empty.
func (h *Histogram) Max() time.Duration {
	if h.Count() == 0 {
		return 0
	}
	return time.Duration(h.h.Max())
}

// Merge adds every value of o to h.
func (h *Histogram) Merge(o *Histogram) { h.h.Merge(o.h) }

// HDR returns the underlying HdrHistogram, e.g. to export or log it.
func (h *Histogram) HDR() *hdrhistogram.Histogram { return h.h }
