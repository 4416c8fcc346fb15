// Package percentile is llmbench's one percentile rule, nearest rank, so the
// per-generation benchmarks (package bench) and load runs (package loadgen)
// report the same p50/p90/p99 for the same samples.
//
// The p-th percentile of N sorted values is the value of rank ⌈p·N/100⌉ (1-based,
// at least 1): the smallest value with at least p% of the values at or below it.
// It is always one of the samples, never an interpolation. p90 of 16 values is
// the 15th; p99 of 60 values is the 60th (the largest).
package percentile

import (
	"cmp"
	"math"
)

// Rank returns the 1-based nearest rank of the p-th percentile (0 < p ≤ 100) of
// n values: ⌈p·n/100⌉, clamped to 1…n. p·n is formed before dividing so whole
// percents of whole counts are exact (90·10/100 is 9, not 9.000000000000002).
func Rank(n int, p float64) int {
	r := int(math.Ceil(p * float64(n) / 100))
	return max(1, min(r, n))
}

// NearestRank returns the p-th percentile of sorted (ascending) by the nearest
// rank rule. It panics when sorted is empty: there is no percentile of nothing,
// and a caller must leave the metric out rather than report 0.
func NearestRank[T cmp.Ordered](sorted []T, p float64) T {
	if len(sorted) == 0 {
		panic("percentile: percentile of nothing")
	}
	return sorted[Rank(len(sorted), p)-1]
}
