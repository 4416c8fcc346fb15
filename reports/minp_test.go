package reports

import (
	"math"
	"testing"
	"time"
)

// TestMinP: the smallest Mann-Whitney p-value, 2/C(n1+n2, n1), for known sizes,
// and at once for an absurd sample count read from a file (the fuzzer's find:
// n=6111111111 took 28 s).
func TestMinP(t *testing.T) {
	for _, tc := range []struct {
		n1, n2 int
		want   float64
	}{{3, 3, 0.1}, {4, 4, 2.0 / 70}, {6, 6, 2.0 / 924}, {0, 5, 1}, {1, 1, 1}} {
		if got := minP(tc.n1, tc.n2); math.Abs(got-tc.want) > 1e-12 {
			t.Errorf("minP(%d, %d) = %g, want %g", tc.n1, tc.n2, got, tc.want)
		}
	}
	start := time.Now()
	if p := minP(6111111111, 6); p >= Alpha || p != minP(6, 6111111111) {
		t.Errorf("minP of a huge sample: %g", p)
	}
	if d := time.Since(start); d > time.Second {
		t.Errorf("minP of a huge sample took %v", d)
	}
}
