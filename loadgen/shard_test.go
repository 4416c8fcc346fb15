package loadgen

import (
	"bytes"
	"encoding/json"
	"errors"
	"math/rand/v2"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/llmbench/llmbench/backends"
)

// tens returns a histogram of the values 10, 20, …, 10·n ns, recorded in a
// shuffled order.
func tens(n int) *Histogram {
	h := NewHistogram()
	for _, i := range rand.New(rand.NewPCG(1, 2)).Perm(n) {
		h.Record(time.Duration(10 * (i + 1)))
	}
	return h
}

// The one percentile rule, known answers: nearest rank, where HdrHistogram's
// own rank is one low.
func TestHistogramPercentileKnownAnswers(t *testing.T) {
	for _, tc := range []struct {
		n    int
		p    float64
		want time.Duration
		hdr  time.Duration // what HdrHistogram's ValueAtQuantile says
	}{
		{16, 90, 150, 140}, // rank ⌈14.4⌉ = 15; HdrHistogram's int(14.4+0.5) = 14
		{60, 99, 600, 590}, // rank ⌈59.4⌉ = 60; HdrHistogram's 59
		{16, 50, 80, 80},
		{100, 99, 990, 990},
	} {
		h := tens(tc.n)
		if got := h.Percentile(tc.p); got != tc.want {
			t.Errorf("p%g of 10…%d: %d, want %d", tc.p, 10*tc.n, got, tc.want)
		}
		if got := h.Quantile(tc.p / 100); got != tc.want {
			t.Errorf("Quantile(%g) of 10…%d: %d, want %d", tc.p/100, 10*tc.n, got, tc.want)
		}
		// Small values are exact in the HDR buckets: the difference is the rank.
		if got := time.Duration(h.HDR().ValueAtQuantile(tc.p)); got != tc.hdr {
			t.Errorf("HdrHistogram p%g of 10…%d: %d, want %d (its rank rule)", tc.p, 10*tc.n, got, tc.hdr)
		}
		if got := HDRPercentile(h.HDR(), tc.p); got != tc.want {
			t.Errorf("HDRPercentile p%g of 10…%d: %d, want %d", tc.p, 10*tc.n, got, tc.want)
		}
	}
	if m := tens(16).Mean(); m != 85 {
		t.Errorf("mean of 10…160: %d, want 85", m)
	}
	if m := tens(16).Max(); m != 160 {
		t.Errorf("max of 10…160: %d, want 160", m)
	}
	if p := NewHistogram().Percentile(50); p != 0 {
		t.Errorf("p50 of nothing: %d, want 0", p)
	}
}

// HDRPercentile's stated bound: at or above the exact nearest-rank value and
// less than 0.1% above it, over latencies from 1 µs to 1 h.
func TestHDRPercentileBound(t *testing.T) {
	rng := rand.New(rand.NewPCG(3, 4))
	h := NewHistogram()
	for range 5000 {
		h.Record(time.Duration(float64(time.Microsecond) * (1 + rng.ExpFloat64()*1e5)))
	}
	hdr := h.HDR()
	for _, p := range []float64{1, 10, 50, 90, 99, 99.9, 100} {
		exact, approx := h.Percentile(p), HDRPercentile(hdr, p)
		if approx < exact || float64(approx-exact) >= 0.001*float64(exact) {
			t.Errorf("p%g: HDR %d, exact %d: outside [exact, exact·1.001)", p, approx, exact)
		}
	}
}

// request is one recorded request of a load run, turn turn of a session.
type request struct {
	planned, sent, done time.Time
	res                 *backends.Result
	err                 error
	turn                int
}

// recorded makes n requests with random timings starting at t0, some failed.
func recorded(n int, t0 time.Time) []request {
	rng := rand.New(rand.NewPCG(5, 6))
	ms := func(f float64) time.Duration { return time.Duration(f * float64(time.Millisecond)) }
	out := make([]request, n)
	for i := range out {
		planned := t0.Add(ms(float64(i) * 7))
		sent := planned.Add(ms(rng.Float64()))
		r := request{planned: planned, sent: sent, turn: i%3 + 1}
		if i%17 == 5 {
			r.err = backends.ErrShort
			r.done = sent.Add(ms(50))
		} else {
			res := &backends.Result{Sent: sent, OutputTokens: 8 + rng.IntN(8), PromptTokens: 20 * r.turn}
			at := sent.Add(ms(20 + 80*rng.ExpFloat64()))
			for range res.OutputTokens {
				res.Chunks = append(res.Chunks, at)
				at = at.Add(ms(5 + 10*rng.Float64()))
			}
			res.Done = at
			r.res, r.done = res, at
		}
		out[i] = r
	}
	return out
}

func (r *Report) add(q request) {
	r.begin(q.planned, q.sent)
	r.record(q.planned, q.sent, q.done, q.res, q.err, false, q.turn)
	r.finish()
}

// Split, merge, compare: the requests of one run, divided among three shards
// (each report written losslessly and read back), merge into exactly the
// report of one process that saw them all.
func TestMergeShardsEqualsOneProcess(t *testing.T) {
	p := Point{Name: "rate=30", Mode: ModeRate, Rate: 30, Arrival: ArrivalPoisson,
		Seed: 1, Requests: 301, SLO: SLO{TTFT: 150 * time.Millisecond}}
	reqs := recorded(301, time.Date(2026, 1, 2, 3, 4, 5, 6, time.UTC))
	one := newReport(p)
	const n = 3
	shards := make([]*Report, n)
	for i := range shards {
		sp, err := SplitPoint(p, i, n, "plan")
		if err != nil {
			t.Fatal(err)
		}
		shards[i] = newReport(sp)
	}
	rng := rand.New(rand.NewPCG(7, 8))
	for _, q := range reqs {
		one.add(q)
		shards[rng.IntN(n)].add(q)
	}
	var back []*Report
	for i, s := range shards {
		data, err := json.Marshal(s)
		if err != nil {
			t.Fatal(err)
		}
		var r Report
		if err := json.Unmarshal(data, &r); err != nil {
			t.Fatalf("shard %d: %v", i, err)
		}
		back = append(back, &r)
	}
	merged, err := MergeShards(back)
	if err != nil {
		t.Fatal(err)
	}
	if got, want := merged.Metrics(), one.Metrics(); !slices.Equal(got, want) {
		t.Errorf("merged metrics differ from one process's:\n got %v\nwant %v", got, want)
	}
	if !slices.Contains(one.Metrics(), Metric{"turn3-prompt-tokens", 60}) {
		t.Errorf("no per-turn metrics compared: %v", one.Metrics())
	}
	if len(one.Metrics()) < 15 {
		t.Errorf("only %d metrics compared: %v", len(one.Metrics()), one.Metrics())
	}
	if merged.Wall != one.Wall || merged.Succeeded != one.Succeeded || merged.Failed != one.Failed ||
		merged.Errors["short"] != one.Errors["short"] || merged.OutputTokens != one.OutputTokens || merged.Good != one.Good {
		t.Errorf("merged %+v\none %+v", merged, one)
	}
	if merged.Point.Rate != 30 || merged.Point.Requests != 301 {
		t.Errorf("merged point rate %g, requests %d: want the whole point's 30, 301", merged.Point.Rate, merged.Point.Requests)
	}
	// The union's wall, not the sum of the shards' walls (Report.Merge's, for
	// repeated runs of one point).
	var sum time.Duration
	for _, s := range back {
		sum += s.Wall
	}
	if merged.Wall >= sum {
		t.Errorf("merged wall %v is not the union's (sum of shards %v)", merged.Wall, sum)
	}
	if _, err := MergeShards([]*Report{back[0], newReport(Point{Name: "rate=1"})}); err == nil {
		t.Error("merging reports of two points: no error")
	}
}

func TestSplitPoint(t *testing.T) {
	c := Point{Name: "concurrency=10", Mode: ModeConcurrency, Concurrency: 10, Requests: 100}
	var cs, rs []int
	for i := range 3 {
		q, err := SplitPoint(c, i, 3, "h")
		if err != nil {
			t.Fatal(err)
		}
		cs, rs = append(cs, q.Concurrency), append(rs, q.Requests)
		if q.Name != c.Name {
			t.Errorf("shard %d renamed the point %s", i, q.Name)
		}
	}
	if !slices.Equal(cs, []int{4, 3, 3}) || !slices.Equal(rs, []int{34, 33, 33}) {
		t.Errorf("concurrency 10, 100 requests over 3 shards: %v, %v", cs, rs)
	}
	r := Point{Name: "rate=9", Mode: ModeRate, Rate: 9, Arrival: ArrivalPoisson, Seed: 1}
	seeds := map[int64]bool{}
	for i := range 3 {
		q, _ := SplitPoint(r, i, 3, "h")
		again, _ := SplitPoint(r, i, 3, "h")
		other, _ := SplitPoint(r, i, 3, "another plan")
		if q.Rate != 3 || q.Seed != again.Seed || q.Seed == other.Seed {
			t.Errorf("shard %d: rate %g, seed %d (again %d, other plan %d)", i, q.Rate, q.Seed, again.Seed, other.Seed)
		}
		seeds[q.Seed] = true
	}
	if len(seeds) != 3 {
		t.Errorf("three shards share seeds: %v", seeds)
	}
	// Constant arrivals: the three shards' sends together are one stream of 9/s,
	// evenly spaced (shard i starts i/9 s late), not three sends at once.
	k := Point{Name: "rate=9", Mode: ModeRate, Rate: 9, Arrival: ArrivalConstant}
	var sends []time.Duration
	for i := range 3 {
		q, err := SplitPoint(k, i, 3, "h")
		if err != nil {
			t.Fatal(err)
		}
		a := newArrivals(q)
		for range 3 {
			sends = append(sends, a.next())
		}
	}
	slices.Sort(sends)
	for j, d := range sends {
		if want := time.Duration(float64(j) / 9 * float64(time.Second)); d < want-time.Microsecond || d > want+time.Microsecond {
			t.Errorf("send %d at %v, want %v", j, d, want)
		}
	}
	for _, bad := range []struct {
		p    Point
		i, n int
	}{
		{Point{Name: "concurrency=2", Mode: ModeConcurrency, Concurrency: 2}, 0, 3},
		{Point{Name: "concurrency=1", Mode: ModeSequential, Concurrency: 1}, 0, 2},
		{Point{Name: "rate=1", Mode: ModeRate, Rate: 1, Requests: 2}, 2, 3},
		{r, 3, 3},
	} {
		if _, err := SplitPoint(bad.p, bad.i, bad.n, "h"); err == nil {
			t.Errorf("SplitPoint(%s, %d, %d): no error", bad.p.Name, bad.i, bad.n)
		}
	}
	if _, err := SplitPoint(c, 0, 1, "h"); errors.Join(err) != nil {
		t.Errorf("one shard: %v", err)
	}
}

func TestShardRecordsRoundTrip(t *testing.T) {
	rep := newReport(Point{Name: "rate=2", Mode: ModeRate, Rate: 1})
	for _, q := range recorded(20, time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC)) {
		rep.add(q)
	}
	var buf bytes.Buffer
	for i := range 2 {
		if err := WriteShardRecord(&buf, ShardRecord{Name: "Load/model=m/rate=2", Iteration: i, Report: rep}); err != nil {
			t.Fatal(err)
		}
	}
	recs, err := ReadShardRecords(&buf, "x.jsonl")
	if err != nil || len(recs) != 2 || recs[1].Iteration != 1 {
		t.Fatalf("%d records, %v", len(recs), err)
	}
	if got, want := recs[1].Report.Metrics(), rep.Metrics(); !slices.Equal(got, want) {
		t.Errorf("metrics after the round trip %v, want %v", got, want)
	}
	if _, err := ReadShardRecords(strings.NewReader("{}\n"), "x.jsonl"); err == nil || !strings.Contains(err.Error(), "x.jsonl:1") {
		t.Errorf("an empty record: %v", err)
	}
}
