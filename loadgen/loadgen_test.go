package loadgen_test

import (
	"context"
	"errors"
	"fmt"
	"os"
	"runtime"
	"slices"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/llmbench/llmbench/backends"
	"github.com/llmbench/llmbench/backends/openai"
	"github.com/llmbench/llmbench/backends/openai/openaitest"
	"github.com/llmbench/llmbench/loadgen"
)

func backend(t testing.TB, url string, opts ...openai.Option) *openai.Backend {
	t.Helper()
	b, err := openai.New(backends.Spec{Name: "fake-model", Model: "fake"}, openai.Options{Host: url}, opts...)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { b.Close() })
	return b
}

func requests(n, maxTokens int) []backends.Request {
	reqs := make([]backends.Request, n)
	for i := range reqs {
		reqs[i] = backends.Request{Prompt: fmt.Sprintf("prompt %d", i), MaxTokens: maxTokens}
	}
	return reqs
}

func point(t *testing.T, spec loadgen.Spec) loadgen.Point {
	t.Helper()
	ps, err := loadgen.Points(&spec)
	if err != nil {
		t.Fatal(err)
	}
	if len(ps) != 1 {
		t.Fatalf("%d points", len(ps))
	}
	return ps[0]
}

func TestPoints(t *testing.T) {
	ps, err := loadgen.Points(nil)
	if err != nil || len(ps) != 1 || ps[0].Name != "concurrency=1" || ps[0].Mode != loadgen.ModeSequential ||
		ps[0].Concurrency != 1 || ps[0].Requests != loadgen.DefaultRequests {
		t.Errorf("nil spec: %+v %v", ps, err)
	}
	ps, _ = loadgen.Points(&loadgen.Spec{Concurrency: loadgen.Ints{1, 4, 16}, Duration: loadgen.Duration{Duration: time.Minute},
		SLO: loadgen.SLOSpec{TTFT: loadgen.Duration{Duration: time.Second}}})
	var names []string
	for _, p := range ps {
		names = append(names, p.Name)
		if p.Requests != 0 || p.Duration != time.Minute || p.SLO.TTFT != time.Second {
			t.Errorf("%s: %+v", p.Name, p)
		}
	}
	if !slices.Equal(names, []string{"concurrency=1", "concurrency=4", "concurrency=16"}) {
		t.Errorf("names %v", names)
	}
	ps, _ = loadgen.Points(&loadgen.Spec{Rate: loadgen.Floats{0.5, 2}, Arrival: "poisson", MaxConcurrency: 3})
	if len(ps) != 2 || ps[0].Name != "rate=0.5" || ps[1].Name != "rate=2" || ps[1].Arrival != "poisson" || ps[1].MaxConcurrency != 3 || ps[1].Seed != 1 {
		t.Errorf("rate points %+v", ps)
	}
	if _, err := loadgen.Points(&loadgen.Spec{Mode: "burst"}); err == nil || !strings.Contains(err.Error(), `load: mode "burst"`) {
		t.Errorf("bad spec: %v", err)
	}
	if _, err := loadgen.RunPoint(context.Background(), nil, ps[0], nil); err == nil || !strings.Contains(err.Error(), "no requests") {
		t.Errorf("no requests: %v", err)
	}
}

func TestSequentialAndConcurrency(t *testing.T) {
	for _, n := range []int{1, 8} {
		t.Run(fmt.Sprint("concurrency=", n), func(t *testing.T) {
			srv := openaitest.NewServer(openaitest.Script{TTFT: 20 * time.Millisecond, ITL: time.Millisecond})
			defer srv.Close()
			spec := loadgen.Spec{Requests: 48, Warmup: 2}
			if n > 1 {
				spec.Concurrency = loadgen.Ints{n}
			}
			rep, err := loadgen.RunPoint(context.Background(), backend(t, srv.URL), point(t, spec), requests(5, 6))
			if err != nil {
				t.Fatal(err)
			}
			if rep.Succeeded != 48 || rep.Failed != 0 || rep.OutputTokens != 48*6 || srv.Requests() != 50 {
				t.Errorf("ok %d failed %d tokens %d server saw %d", rep.Succeeded, rep.Failed, rep.OutputTokens, srv.Requests())
			}
			if rep.MaxInFlight != n || srv.MaxInFlight() != int64(n) {
				t.Errorf("in flight: report %d, server %d, want %d", rep.MaxInFlight, srv.MaxInFlight(), n)
			}
			if rep.TTFT.Count() != 48 || rep.ITL.Count() != 48*5 || rep.TPOT.Count() != 48 || rep.Lag.Count() != 48 {
				t.Errorf("histogram counts %d %d %d %d", rep.TTFT.Count(), rep.ITL.Count(), rep.TPOT.Count(), rep.Lag.Count())
			}
			if p50 := rep.TTFT.Quantile(0.5); p50 < 20*time.Millisecond {
				t.Errorf("ttft p50 %v < scripted 20ms", p50)
			}
			m := metrics(rep)
			for _, name := range []string{"req/s", "tokens/s", "error-rate", "ttft-p50-ns", "ttft-p99-ns", "tpot-p50-ns", "itl-p50-ns", "itl-p99-ns", "e2e-p99-ns", "lag-p99-ns"} {
				if _, ok := m[name]; !ok {
					t.Errorf("no metric %s", name)
				}
			}
			if _, ok := m["goodput-req/s"]; ok {
				t.Error("goodput without an SLO")
			}
			if got := m["tokens/s"] / m["req/s"]; got < 5.99 || got > 6.01 {
				t.Errorf("tokens/s ÷ req/s = %v, want 6", got)
			}
		})
	}
}

func metrics(r *loadgen.Report) map[string]float64 {
	m := map[string]float64{}
	for _, x := range r.Metrics() {
		m[x.Name] = x.Value
	}
	return m
}

func TestRate(t *testing.T) {
	srv := openaitest.NewServer(openaitest.Script{Tokens: 2})
	defer srv.Close()
	p := point(t, loadgen.Spec{Rate: loadgen.Floats{200}, Requests: 40})
	rep, err := loadgen.RunPoint(context.Background(), backend(t, srv.URL), p, requests(3, 2))
	if err != nil {
		t.Fatal(err)
	}
	// 40 requests at 200/s: the last is sent 195 ms after the first.
	if rep.Succeeded != 40 || rep.Wall < 190*time.Millisecond || rep.Wall > 2*time.Second {
		t.Errorf("ok %d in %v", rep.Succeeded, rep.Wall)
	}
	if lag := rep.Lag.Quantile(0.5); lag > 20*time.Millisecond {
		t.Errorf("lag p50 %v", lag)
	}
}

func TestRateCap(t *testing.T) {
	srv := openaitest.NewServer(openaitest.Script{Tokens: 2, TTFT: 20 * time.Millisecond})
	defer srv.Close()
	p := point(t, loadgen.Spec{Rate: loadgen.Floats{1000}, Arrival: "poisson", MaxConcurrency: 4, Requests: 24})
	rep, err := loadgen.RunPoint(context.Background(), backend(t, srv.URL), p, requests(3, 2))
	if err != nil {
		t.Fatal(err)
	}
	if rep.Succeeded != 24 || rep.MaxInFlight > 4 || srv.MaxInFlight() > 4 {
		t.Errorf("ok %d, in flight %d (server %d), cap 4", rep.Succeeded, rep.MaxInFlight, srv.MaxInFlight())
	}
	// 24 requests of ≥20 ms, 4 at a time: the last waited ≥ 100 ms for a slot.
	if max := rep.Lag.Max(); max < 80*time.Millisecond {
		t.Errorf("lag max %v: the cap did not show as lag", max)
	}
}

func TestDuration(t *testing.T) {
	srv := openaitest.NewServer(openaitest.Script{Tokens: 4, ITL: 5 * time.Millisecond})
	defer srv.Close()
	p := point(t, loadgen.Spec{Concurrency: loadgen.Ints{2}, Duration: loadgen.Duration{Duration: 200 * time.Millisecond}})
	start := time.Now()
	rep, err := loadgen.RunPoint(context.Background(), backend(t, srv.URL), p, requests(3, 4))
	if err != nil {
		t.Fatal(err)
	}
	if el := time.Since(start); el < 200*time.Millisecond || el > 3*time.Second {
		t.Errorf("ran %v for a 200ms duration", el)
	}
	if rep.Succeeded < 4 || rep.Failed != 0 || rep.Aborted != 0 {
		t.Errorf("ok %d failed %d aborted %d", rep.Succeeded, rep.Failed, rep.Aborted)
	}
}

// TestErrorsCounted fails requests in every way the scripted server knows, and
// checks that each failure is counted once with its kind while the others pass.
func TestErrorsCounted(t *testing.T) {
	faults := []struct {
		script openaitest.Script
		kind   string
	}{
		{openaitest.Script{Fault: openaitest.FaultStatus}, "status"},
		{openaitest.Script{Fault: openaitest.FaultDrop, At: 2}, "connection"},
		{openaitest.Script{Fault: openaitest.FaultReset, At: 1}, "connection"},
		{openaitest.Script{Fault: openaitest.FaultMalformed, At: 3}, "malformed"},
		{openaitest.Script{Fault: openaitest.FaultStall, At: 1}, "stall"},
		{openaitest.Script{Fault: openaitest.FaultNoDone}, "no-done"},
		{openaitest.Script{Fault: openaitest.FaultNoUsage}, "no-usage"},
		{openaitest.Script{Fault: openaitest.FaultErrorEvent, At: 2}, "server-error"},
		{openaitest.Script{Tokens: 3}, "short"},
	}
	const every = 12 // request i fails when i%every < len(faults)
	srv := openaitest.NewServer(openaitest.Script{}, openaitest.WithPlan(func(r openaitest.Request) openaitest.Script {
		var i int
		fmt.Sscanf(r.Prompt, "prompt %d", &i)
		if i%every < len(faults) {
			return faults[i%every].script
		}
		return openaitest.Script{ITL: 100 * time.Microsecond}
	}))
	defer srv.Close()
	const n = 240
	p := point(t, loadgen.Spec{Concurrency: loadgen.Ints{16}, Requests: n})
	rep, err := loadgen.RunPoint(context.Background(), backend(t, srv.URL, openai.WithStallTimeout(300*time.Millisecond)), p, requests(n, 6))
	if err != nil {
		t.Fatal(err)
	}
	want := map[string]int{}
	for _, f := range faults {
		want[f.kind] += n / every
	}
	if fmt.Sprint(rep.Errors) != fmt.Sprint(want) {
		t.Errorf("errors by kind %v, want %v", rep.Errors, want)
	}
	failed := len(faults) * n / every
	if rep.Failed != failed || rep.Succeeded != n-failed {
		t.Errorf("failed %d ok %d, want %d %d", rep.Failed, rep.Succeeded, failed, n-failed)
	}
	if m := metrics(rep); m["error-rate"] != float64(failed)/n {
		t.Errorf("error-rate %v", m["error-rate"])
	}
	if !strings.Contains(rep.ErrorSamples["malformed"], `model "fake-model"`) {
		t.Errorf("sample %q", rep.ErrorSamples["malformed"])
	}
	var buf strings.Builder
	rep.WriteText(&buf)
	if !strings.Contains(buf.String(), "error stall") {
		t.Errorf("summary:\n%s", buf.String())
	}
}

func TestGoodput(t *testing.T) {
	srv := openaitest.NewServer(openaitest.Script{}, openaitest.WithPlan(func(r openaitest.Request) openaitest.Script {
		if r.Index%2 == 0 {
			return openaitest.Script{TTFT: 400 * time.Millisecond}
		}
		return openaitest.Script{}
	}))
	defer srv.Close()
	p := point(t, loadgen.Spec{Requests: 6, SLO: loadgen.SLOSpec{TTFT: loadgen.Duration{Duration: 200 * time.Millisecond}}})
	rep, err := loadgen.RunPoint(context.Background(), backend(t, srv.URL), p, requests(1, 4))
	if err != nil {
		t.Fatal(err)
	}
	if rep.Good != 3 || rep.Succeeded != 6 {
		t.Errorf("good %d of %d, want 3 of 6", rep.Good, rep.Succeeded)
	}
	m := metrics(rep)
	if g, r := m["goodput-req/s"], m["req/s"]; g < r*0.49 || g > r*0.51 {
		t.Errorf("goodput %v, req/s %v", g, r)
	}
}

func TestCancel(t *testing.T) {
	srv := openaitest.NewServer(openaitest.Script{Tokens: 10, ITL: 5 * time.Millisecond})
	defer srv.Close()
	p := point(t, loadgen.Spec{Concurrency: loadgen.Ints{4}, Requests: 10000})
	ctx, cancel := context.WithCancel(context.Background())
	time.AfterFunc(300*time.Millisecond, cancel)
	start := time.Now()
	rep, err := loadgen.RunPoint(ctx, backend(t, srv.URL), p, requests(3, 10))
	if !errors.Is(err, context.Canceled) {
		t.Errorf("error %v, want context.Canceled", err)
	}
	if el := time.Since(start); el > 2*time.Second {
		t.Errorf("took %v to stop", el)
	}
	if rep == nil || !rep.Interrupted || rep.Succeeded == 0 || rep.Succeeded >= 10000 || rep.Failed != 0 || rep.Aborted > 4 {
		t.Fatalf("partial report %+v", rep)
	}
	if rep.TTFT.Count() != int64(rep.Succeeded) || len(rep.Metrics()) == 0 {
		t.Errorf("partial report has %d TTFTs for %d requests", rep.TTFT.Count(), rep.Succeeded)
	}
}

func TestMergeAndDirection(t *testing.T) {
	srv := openaitest.NewServer(openaitest.Script{Tokens: 3})
	defer srv.Close()
	b := backend(t, srv.URL)
	p := point(t, loadgen.Spec{Requests: 5})
	total := loadgen.NewReport(p)
	for range 3 {
		rep, err := loadgen.RunPoint(context.Background(), b, p, requests(1, 3), loadgen.WithSalt())
		if err != nil {
			t.Fatal(err)
		}
		total.Merge(rep)
	}
	if total.Succeeded != 15 || total.E2E.Count() != 15 || total.OutputTokens != 45 || total.Wall <= 0 {
		t.Errorf("merged %+v", total)
	}
	if last := srv.Last().Prompt; !strings.HasPrefix(last, "[") || !strings.HasSuffix(last, "] prompt 0") {
		t.Errorf("salted prompt %q", last)
	}
	for _, m := range total.Metrics() {
		want := "lower"
		if strings.HasSuffix(m.Name, "/s") {
			want = "higher"
		}
		if d := loadgen.Direction(m.Name); d != want {
			t.Errorf("Direction(%s) = %q", m.Name, d)
		}
	}
	if loadgen.Direction("widgets") != "" {
		t.Error("unknown metric has a direction")
	}
}

// TestNoLeak runs 1,000 concurrent streams and checks that goroutines and file
// descriptors settle back afterwards.
func TestNoLeak(t *testing.T) {
	if testing.Short() {
		t.Skip("1,000 streams: skipped with -short")
	}
	fds := func() int {
		ents, err := os.ReadDir("/proc/self/fd")
		if err != nil {
			t.Skip("no /proc/self/fd")
		}
		return len(ents)
	}
	runtime.GC()
	g0, f0 := runtime.NumGoroutine(), fds()

	// Every handler waits until all 1,000 requests have arrived (or 20 s), so the
	// streams really are concurrent.
	const n = 1000
	var arrived atomic.Int64
	all := make(chan struct{})
	srv := openaitest.NewServer(openaitest.Script{}, openaitest.WithPlan(func(openaitest.Request) openaitest.Script {
		if arrived.Add(1) == n {
			close(all)
		}
		select {
		case <-all:
		case <-time.After(20 * time.Second):
		}
		return openaitest.Script{Tokens: 16, ITL: 2 * time.Millisecond}
	}))
	b, err := openai.New(backends.Spec{Name: "fake-model", Model: "fake"}, openai.Options{Host: srv.URL})
	if err != nil {
		t.Fatal(err)
	}
	p := point(t, loadgen.Spec{Concurrency: loadgen.Ints{n}, Requests: n})
	rep, err := loadgen.RunPoint(context.Background(), b, p, requests(10, 16))
	if err != nil {
		t.Fatal(err)
	}
	if rep.Succeeded != n || srv.MaxInFlight() != n {
		t.Errorf("ok %d, errors %v, server max in flight %d", rep.Succeeded, rep.Errors, srv.MaxInFlight())
	}
	if fds() < f0+1000 {
		t.Logf("only %d fds open during the run", fds()-f0)
	}
	b.Close()
	srv.Close()
	deadline := time.Now().Add(10 * time.Second)
	for {
		g, f := runtime.NumGoroutine(), fds()
		if g <= g0 && f <= f0 {
			break
		}
		if time.Now().After(deadline) {
			buf := make([]byte, 1<<16)
			t.Fatalf("leak: goroutines %d → %d, fds %d → %d\n%s", g0, g, f0, f, buf[:runtime.Stack(buf, true)])
		}
		time.Sleep(20 * time.Millisecond)
	}
}

func TestMetricNames(t *testing.T) {
	names := loadgen.MetricNames()
	for _, n := range []string{"req/s", "tokens/s", "goodput-req/s", "error-rate", "ttft-p50-ns", "ttft-p99-ns", "tpot-p50-ns", "itl-p50-ns", "itl-p99-ns", "e2e-p99-ns", "lag-p99-ns"} {
		if !slices.Contains(names, n) {
			t.Errorf("MetricNames lacks %s", n)
		}
	}
	for _, n := range names {
		if loadgen.Direction(n) == "" && n != "cacheable-prompt-share" { // the workload's, exact: neither way is better
			t.Errorf("%s has no direction", n)
		}
	}
}
