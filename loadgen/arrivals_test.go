package loadgen

import (
	"math"
	"slices"
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

// gapStats returns the mean and squared coefficient of variation of the gaps
// between n arrivals of p.
func gapStats(p Point, n int) (mean, cv2 float64) {
	a := newArrivals(p)
	prev := a.next()
	var sum, sumSq float64
	for range n - 1 {
		x := a.next()
		g := (x - prev).Seconds()
		sum += g
		sumSq += g * g
		prev = x
	}
	mean = sum / float64(n-1)
	return mean, (sumSq/float64(n-1) - mean*mean) / (mean * mean)
}

// TestGammaArrivals: gamma gaps of burstiness B have mean 1/R and CV² 1/B
// (20,000 gaps, a fixed seed: the sampling error of CV² is under 4% at B =
// 0.25, its largest), and burstiness 1 has the Poisson process's statistics.
func TestGammaArrivals(t *testing.T) {
	const n, rate = 20000, 8.0
	for _, b := range []float64{0.25, 1, 4} {
		p := Point{Rate: rate, Arrival: ArrivalGamma, Burstiness: b, Seed: 3}
		mean, cv2 := gapStats(p, n)
		if math.Abs(mean*rate-1) > 0.05 || math.Abs(cv2*b-1) > 0.12 {
			t.Errorf("burstiness %g: mean gap %.4gs, CV² %.4g; want %.4gs and %.4g", b, mean, cv2, 1/rate, 1/b)
		}
		a, c := newArrivals(p), newArrivals(p)
		for i := range 100 {
			if x, y := a.next(), c.next(); x != y {
				t.Fatalf("burstiness %g: arrival %d at %v and %v from one seed", b, i, x, y)
			}
		}
	}
	if _, cv2 := gapStats(Point{Rate: rate, Arrival: ArrivalPoisson, Seed: 3}, n); math.Abs(cv2-1) > 0.05 {
		t.Errorf("poisson CV² %.4g, want 1", cv2)
	}
}

// TestRampArrivals: constant arrivals on a ramp from 2 to 10 requests/s over
// 10 s. The cumulative rate is Λ(t) = 2t + 0.4t² up to 10 s (60 requests), so
// request i is sent at the root of Λ(t) = i: 0, then 0.4580 s (Λ = 1), …, the
// 60th exactly at 10 s, and after it one every 0.1 s. A falling ramp (10 to 2)
// and one from 0 keep the same law.
func TestRampArrivals(t *testing.T) {
	for _, r := range []struct{ from, to float64 }{{2, 10}, {10, 2}, {0, 6}} {
		a := newArrivals(Point{Rate: r.to, Arrival: ArrivalConstant, Ramp: Ramp{From: r.from, Over: 10 * time.Second}})
		lambda := func(t float64) float64 {
			if t <= 10 {
				return r.from*t + (r.to-r.from)*t*t/20
			}
			return (r.from+r.to)*5 + r.to*(t-10)
		}
		total := int((r.from + r.to) * 5)
		for i := range total + 20 {
			x := a.next().Seconds()
			if got := lambda(x); math.Abs(got-float64(i)) > 1e-6 {
				t.Fatalf("ramp %g→%g: request %d at %.6fs, where Λ = %.6f", r.from, r.to, i, x, got)
			}
			if i == total && math.Abs(x-10) > 1e-9 {
				t.Errorf("ramp %g→%g: request %d at %.9fs, want the ramp's end, 10s", r.from, r.to, i, x)
			}
		}
	}
	a := newArrivals(Point{Rate: 10, Arrival: ArrivalConstant, Ramp: Ramp{From: 2, Over: 10 * time.Second}})
	a.next()
	if got := a.next(); got.Round(time.Microsecond) != 458040*time.Microsecond {
		t.Errorf("request 1 at %v, want 0.458040s: (−2 + √(4 + 1.6))/0.8", got)
	}
	// Poisson on a ramp: the arrivals in the ramp's 10 s number about Λ(10) = 60.
	p := Point{Rate: 10, Arrival: ArrivalPoisson, Seed: 5, Ramp: Ramp{From: 2, Over: 10 * time.Second}}
	in, runs := 0, 200
	for s := range runs {
		p.Seed = int64(s + 1)
		a := newArrivals(p)
		for a.next() < 10*time.Second {
			in++
		}
	}
	if mean := float64(in) / float64(runs); math.Abs(mean-60) > 2 {
		t.Errorf("poisson on a ramp: %.2f arrivals in the ramp on average, want 60 (±2; the standard error is 0.55)", mean)
	}
}

// TestWorkerStart: a concurrency ramp from 2 to 6 over 8 s starts workers 0
// and 1 at once, then one every 2 s, the last at 8 s.
func TestWorkerStart(t *testing.T) {
	p := Point{Mode: ModeConcurrency, Concurrency: 6, Ramp: Ramp{From: 2, Over: 8 * time.Second}}
	var got []time.Duration
	for k := range 6 {
		got = append(got, p.workerStart(k))
	}
	want := []time.Duration{0, 0, 2 * time.Second, 4 * time.Second, 6 * time.Second, 8 * time.Second}
	if !slices.Equal(got, want) {
		t.Errorf("worker starts %v, want %v", got, want)
	}
	p.Ramp = Ramp{}
	if p.workerStart(5) != 0 {
		t.Error("no ramp: every worker at 0")
	}
}
