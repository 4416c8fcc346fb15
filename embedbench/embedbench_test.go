package embedbench

import (
	"context"
	"errors"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/llmbench/llmbench/backends"
)

// scripted is an Embedder on a made-up clock: request k is sent at k·gap after
// t0 and done lat[k] later, with dim-long vectors and tok tokens per input.
type scripted struct {
	t0    time.Time
	gap   time.Duration
	lat   []time.Duration
	dim   func(k int) int
	tok   int
	srv   time.Duration
	fail  int // request that fails; -1 none
	calls int
	got   [][]string
}

func (s *scripted) Embed(_ context.Context, in []string) (*backends.EmbedResult, error) {
	k := s.calls
	s.calls++
	s.got = append(s.got, in)
	if k == s.fail {
		return nil, errors.New("boom")
	}
	sent := s.t0.Add(time.Duration(k) * s.gap)
	r := &backends.EmbedResult{Sent: sent, Done: sent.Add(s.lat[k]), InputTokens: s.tok * len(in), Server: backends.ServerTimings{Total: s.srv}}
	for range in {
		r.Vectors = append(r.Vectors, make([]float32, s.dim(k)))
	}
	return r, nil
}

func metrics(r *Report) map[string]float64 {
	out := map[string]float64{}
	for _, m := range r.Metrics() {
		out[m.Unit] = m.Value
	}
	return out
}

// Known answers on a scripted clock: 10 requests of batch 4 sent 100ms apart,
// taking 10, 20, …, 100ms; the run's wall is 900ms + 100ms = 1s.
func TestRunKnownAnswers(t *testing.T) {
	lat := make([]time.Duration, 10)
	for i := range lat {
		lat[i] = time.Duration(i+1) * 10 * time.Millisecond
	}
	e := &scripted{t0: time.Unix(1000, 0), gap: 100 * time.Millisecond, lat: lat, dim: func(int) int { return 64 }, tok: 7, srv: 5 * time.Millisecond, fail: -1}
	p := Point{Name: "batch=4", Batch: 4, Requests: 10}
	texts := []string{"a", "b", "c"}
	r, err := Run(context.Background(), e, p, func(k int) []string { return Inputs(texts, k, p.Batch) })
	if err != nil {
		t.Fatal(err)
	}
	if r.Wall != time.Second {
		t.Fatalf("wall %v, want 1s", r.Wall)
	}
	want := map[string]float64{
		"ns/op":           float64(55 * time.Millisecond),
		"embed-p50-ns":    float64(50 * time.Millisecond), // rank 5 of 10
		"embed-p90-ns":    float64(90 * time.Millisecond), // rank 9
		"embed-p99-ns":    float64(100 * time.Millisecond),
		"req/s":           10,
		"inputs/s":        40,
		"input-tokens/s":  280,
		"input-tokens/op": 28,
		"server-ns/op":    float64(5 * time.Millisecond),
		"embed-dim":       64,
	}
	got := metrics(r)
	for k, v := range want {
		if got[k] != v {
			t.Errorf("%s = %v, want %v", k, got[k], v)
		}
	}
	if len(got) != len(want) {
		t.Errorf("metrics %v, want exactly %v", got, want)
	}
	// Request 1 takes texts 4…7 of the cycle: b c a b.
	if !slices.Equal(e.got[1], []string{"b", "c", "a", "b"}) {
		t.Errorf("request 1's inputs %q", e.got[1])
	}

	// A second run merges: twice the requests over twice the wall.
	e.calls = 0
	r2, err := Run(context.Background(), e, p, func(k int) []string { return Inputs(texts, k, p.Batch) })
	if err != nil {
		t.Fatal(err)
	}
	r.Merge(r2)
	got = metrics(r)
	if got["req/s"] != 10 || got["inputs/s"] != 40 || got["embed-p50-ns"] != float64(50*time.Millisecond) || len(r.Latencies) != 20 {
		t.Errorf("merged: %v", got)
	}
}

// Token and server metrics are left out unless every request had them, never
// reported as 0 or from a part.
func TestMetricsLeftOut(t *testing.T) {
	r := &Report{}
	if ms := r.Metrics(); ms != nil {
		t.Errorf("no requests: %v", ms)
	}
	// Two requests, a wall time, tokens and a server time from one of them only.
	r = &Report{Latencies: []time.Duration{time.Millisecond, time.Millisecond}, Inputs: 2, Tokens: 5, TokenRequests: 1,
		Server: time.Millisecond, ServerRequests: 1, Dim: 8, Wall: time.Second}
	got := metrics(r)
	for _, k := range []string{"input-tokens/s", "input-tokens/op", "server-ns/op"} {
		if _, ok := got[k]; ok {
			t.Errorf("%s reported from 1 of 2 requests: %v", k, got)
		}
	}
	if got["ns/op"] != float64(time.Millisecond) || got["embed-dim"] != 8 || got["req/s"] != 2 || got["inputs/s"] != 2 {
		t.Errorf("%v", got)
	}
	// Without a wall time, no rates.
	r.Wall = 0
	got = metrics(r)
	for _, k := range []string{"req/s", "inputs/s"} {
		if _, ok := got[k]; ok {
			t.Errorf("%s reported without a wall time: %v", k, got)
		}
	}
}

func TestRunErrors(t *testing.T) {
	p := Point{Name: "batch=2", Batch: 2, Requests: 3}
	in := func(int) []string { return []string{"x", "y"} }
	lat := []time.Duration{time.Millisecond, time.Millisecond, time.Millisecond}
	e := &scripted{t0: time.Unix(0, 0), gap: time.Millisecond, lat: lat, dim: func(int) int { return 4 }, fail: 1}
	r, err := Run(context.Background(), e, p, in)
	if err == nil || !strings.Contains(err.Error(), "request 2 of 3: boom") {
		t.Errorf("failed request: %v", err)
	}
	if len(r.Latencies) != 1 {
		t.Errorf("the request before the failure is kept: %d", len(r.Latencies))
	}
	e = &scripted{t0: time.Unix(0, 0), gap: time.Millisecond, lat: lat, dim: func(k int) int { return 4 + k }, fail: -1}
	if _, err := Run(context.Background(), e, p, in); err == nil || !strings.Contains(err.Error(), "request 2 of 3: embeddings of 5 dimensions, earlier ones had 4") {
		t.Errorf("dimension change: %v", err)
	}
	e = &scripted{t0: time.Unix(0, 0), gap: time.Millisecond, lat: lat, dim: func(int) int { return 4 }, fail: -1}
	if _, err := Run(context.Background(), e, p, func(int) []string { return []string{"x"} }); err != nil {
		t.Fatal(err)
	}
	short := embedderFunc(func(context.Context, []string) (*backends.EmbedResult, error) {
		return &backends.EmbedResult{Vectors: [][]float32{{1}}}, nil
	})
	if _, err := Run(context.Background(), short, p, in); err == nil || !strings.Contains(err.Error(), "1 embeddings for 2 inputs") {
		t.Errorf("too few vectors: %v", err)
	}
}

type embedderFunc func(context.Context, []string) (*backends.EmbedResult, error)

func (f embedderFunc) Embed(ctx context.Context, in []string) (*backends.EmbedResult, error) {
	return f(ctx, in)
}

func TestSpec(t *testing.T) {
	var s *Spec
	if err := s.Check(); err != nil {
		t.Error(err)
	}
	ps := (&Spec{}).Points()
	if len(ps) != 1 || ps[0] != (Point{Name: "batch=1", Batch: 1, Requests: Defaults.Requests}) {
		t.Errorf("defaults: %+v", ps)
	}
	ps = (&Spec{Batch: []int{1, 8, 32}, Requests: 5}).Points()
	if len(ps) != 3 || ps[2] != (Point{Name: "batch=32", Batch: 32, Requests: 5}) {
		t.Errorf("sweep: %+v", ps)
	}
	for _, tc := range []struct {
		s    Spec
		want string
	}{
		{Spec{Batch: []int{0}}, "batch 0: want 1 or more"},
		{Spec{Batch: []int{4, 2, 4}}, "batch 4 is listed twice"},
		{Spec{Requests: -1}, "requests -1: want 1 or more"},
	} {
		if err := tc.s.Check(); err == nil || !strings.Contains(err.Error(), tc.want) {
			t.Errorf("%+v: %v, want %q", tc.s, err, tc.want)
		}
	}
}
