package percentile

import "testing"

func seq(n int) []int64 {
	s := make([]int64, n)
	for i := range s {
		s[i] = int64(i+1) * 10
	}
	return s
}

// Known answers of the rule, including the two cases HdrHistogram's
// int(q·N+0.5) rank gets wrong (issue: p90 of 16, p99 of 60).
func TestNearestRankKnownAnswers(t *testing.T) {
	for _, tc := range []struct {
		n    int
		p    float64
		want int64 // value of rank want/10
	}{
		{16, 90, 150}, // ⌈14.4⌉ = 15; HdrHistogram's rank is 14 (6.7% low)
		{60, 99, 600}, // ⌈59.4⌉ = 60, the largest; HdrHistogram's is 59
		{10, 90, 90},  // exactly 9: no float error pushes it to 10
		{100, 99, 990},
		{100, 50, 500},
		{3, 50, 20},
		{1, 99, 10},
		{7, 100, 70},
		{7, 0.001, 10}, // never rank 0
		{1000, 99.9, 9990},
	} {
		if got := NearestRank(seq(tc.n), tc.p); got != tc.want {
			t.Errorf("p%g of %d values 10…%d: got %d, want %d", tc.p, tc.n, tc.n*10, got, tc.want)
		}
	}
}

// For every whole percent and count up to 200, the rank is the smallest r with
// r/n ≥ p/100, computed in integers.
func TestRankMatchesIntegerDefinition(t *testing.T) {
	for n := 1; n <= 200; n++ {
		for p := 1; p <= 100; p++ {
			want := (p*n + 99) / 100
			if got := Rank(n, float64(p)); got != want {
				t.Fatalf("Rank(%d, %d) = %d, want %d", n, p, got, want)
			}
		}
	}
}

func TestEmptyPanics(t *testing.T) {
	defer func() {
		if recover() == nil {
			t.Error("no panic on an empty slice")
		}
	}()
	NearestRank([]float64{}, 50)
}
