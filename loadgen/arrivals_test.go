package loadgen

import (
	"math"
	"testing"
	"time"
)

func TestArrivals(t *testing.T) {
	c := newArrivals(Point{Rate: 4, Arrival: ArrivalConstant})
	for i := range 10 {
		if got, want := c.next(), time.Duration(i)*250*time.Millisecond; got != want {
			t.Fatalf("constant arrival %d at %v, want %v", i, got, want)
		}
	}

	const n, rate = 20000, 50.0
	p := Point{Rate: rate, Arrival: ArrivalPoisson, Seed: 7}
	a, b := newArrivals(p), newArrivals(p)
	var prev, last time.Duration
	var sumSq float64
	for i := range n {
		x := a.next()
		if y := b.next(); x != y {
			t.Fatalf("arrival %d: %v and %v from the same seed", i, x, y)
		}
		if i > 0 {
			g := (x - prev).Seconds()
			sumSq += g * g
		}
		prev, last = x, x
	}
	// Exponential gaps: mean 1/rate and standard deviation 1/rate.
	mean := last.Seconds() / (n - 1)
	sd := math.Sqrt(sumSq/(n-1) - mean*mean)
	if math.Abs(mean*rate-1) > 0.03 || math.Abs(sd*rate-1) > 0.05 {
		t.Errorf("poisson gaps: mean %.4gs sd %.4gs, want both %.4gs", mean, sd, 1/rate)
	}
	seven, eight := newArrivals(p), newArrivals(Point{Rate: rate, Arrival: ArrivalPoisson, Seed: 8})
	seven.next()
	eight.next() // both 0
	if seven.next() == eight.next() {
		t.Error("another seed gives the same schedule")
	}
}
