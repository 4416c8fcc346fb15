package loadgen_test

import (
	"context"
	"fmt"
	"maps"
	"os"
	"runtime"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/llmbench/llmbench/backends"
	"github.com/llmbench/llmbench/backends/openai"
	"github.com/llmbench/llmbench/backends/openai/openaitest"
	"github.com/llmbench/llmbench/loadgen"
)

// TestFaultsUnderLoadNoLeak sends 1,000 streams at once to the scripted server,
// six in ten of them failed in one of the ways issue 21 lists, and checks that
// every request is accounted for (sent = ok + errors by kind, each kind
// exactly as injected), that memory stays bounded during the run, and that
// goroutines, open file descriptors and the heap are back to their baseline
// after it.
func TestFaultsUnderLoadNoLeak(t *testing.T) {
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
	const stall = 10 * time.Second // above the time 1,000 connections take to arrive
	faults := []struct {
		script openaitest.Script
		kind   string // "" for success
	}{
		{openaitest.Script{Fault: openaitest.FaultStatus, Status: 429, EmptyBody: true}, "status"},
		{openaitest.Script{Fault: openaitest.FaultStatus, Status: 503}, "status"},
		{openaitest.Script{Fault: openaitest.FaultTruncated, At: 2}, "malformed"},
		{openaitest.Script{Fault: openaitest.FaultReset, At: 3}, "connection"},
		{openaitest.Script{Fault: openaitest.FaultDrop, At: 1}, "connection"},
		{openaitest.Script{Fault: openaitest.FaultStall, At: 2}, "stall"},
		{openaitest.Script{Fault: openaitest.FaultAfterDone}, ""},
		{openaitest.Script{ITL: time.Millisecond}, ""},
		{openaitest.Script{ITL: time.Millisecond}, ""},
		{openaitest.Script{}, ""},
	}
	const n = 1000
	want, ok := map[string]int{}, 0
	for i := range n {
		if k := faults[i%len(faults)].kind; k != "" {
			want[k]++
		} else {
			ok++
		}
	}

	runtime.GC()
	g0, f0 := runtime.NumGoroutine(), fds()
	var ms runtime.MemStats
	runtime.ReadMemStats(&ms)
	heap0 := ms.HeapInuse

	// Every handler waits until all 1,000 requests have arrived (or 20 s), so the
	// streams really are concurrent.
	var arrived atomic.Int64
	all := make(chan struct{})
	srv := openaitest.NewServer(openaitest.Script{}, openaitest.WithPlan(func(r openaitest.Request) openaitest.Script {
		if arrived.Add(1) == n {
			close(all)
		}
		select {
		case <-all:
		case <-time.After(20 * time.Second):
		}
		var i int
		fmt.Sscanf(r.Prompt, "prompt %d", &i)
		return faults[i%len(faults)].script
	}))
	b, err := openai.New(backends.Spec{Name: "fault-model", Model: "fake", Options: backends.Options{MaxTokens: 8, Seed: 1}},
		openai.Options{Host: srv.URL}, openai.WithStallTimeout(stall))
	if err != nil {
		t.Fatal(err)
	}
	reqs := make([]backends.Request, n)
	for i := range reqs {
		reqs[i] = backends.Request{Prompt: fmt.Sprintf("prompt %d", i), MaxTokens: 8, Seed: 1}
	}
	ps, err := loadgen.Points(&loadgen.Spec{Concurrency: loadgen.Ints{n}, Requests: n})
	if err != nil {
		t.Fatal(err)
	}

	// The heap's peak during the run, sampled every 20 ms.
	var peak uint64
	stop := make(chan struct{})
	var wg sync.WaitGroup
	wg.Go(func() {
		var m runtime.MemStats
		for {
			runtime.ReadMemStats(&m)
			peak = max(peak, m.HeapInuse)
			select {
			case <-stop:
				return
			case <-time.After(20 * time.Millisecond):
			}
		}
	})
	rep, err := loadgen.RunPoint(context.Background(), b, ps[0], reqs)
	close(stop)
	wg.Wait()
	if err != nil {
		t.Fatal(err)
	}
	if rep.Succeeded+rep.Failed+rep.Aborted != n || rep.Aborted != 0 || rep.Succeeded != ok || !maps.Equal(rep.Errors, want) {
		t.Errorf("sent %d: ok %d, failed %d, aborted %d, errors %v: want ok %d, errors %v", n, rep.Succeeded, rep.Failed, rep.Aborted, rep.Errors, ok, want)
	}
	if srv.MaxInFlight() != n || srv.Requests() != n {
		t.Errorf("server saw %d requests, at most %d at once: want %d, all at once", srv.Requests(), srv.MaxInFlight(), n)
	}
	// Bounded: each stream's buffers (client and server) are tens of KiB; 512 MiB
	// for 1,000 of them would mean something keeps growing.
	const bound = 512 << 20
	t.Logf("heap in use: %d MiB before, peak %d MiB during the run (%d KiB per stream)", heap0>>20, peak>>20, (peak-min(peak, heap0))/n>>10)
	if peak > heap0+bound {
		t.Errorf("heap peaked at %d MiB during the run (baseline %d MiB): not bounded", peak>>20, heap0>>20)
	}

	b.Close()
	srv.Close()
	deadline := time.Now().Add(10 * time.Second)
	for {
		runtime.GC()
		runtime.ReadMemStats(&ms)
		g, f := runtime.NumGoroutine(), fds()
		if g <= g0 && f <= f0 && ms.HeapInuse <= heap0+16<<20 {
			break
		}
		if time.Now().After(deadline) {
			buf := make([]byte, 1<<16)
			t.Fatalf("leak: goroutines %d → %d, fds %d → %d, heap in use %d → %d MiB\n%s",
				g0, g, f0, f, heap0>>20, ms.HeapInuse>>20, buf[:runtime.Stack(buf, true)])
		}
		time.Sleep(50 * time.Millisecond)
	}
}
