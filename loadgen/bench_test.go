package loadgen_test

// Benchmarks of the load generator itself (docs/results/openai-ceiling.md and
// openai-timing.md say how they were run and what they gave):
//
//	go test -run '^$' -bench 'Ceiling' -benchtime 3x ./loadgen
//	go test -run '^$' -bench 'Timing' -benchtime 3x ./loadgen
//
// BenchmarkCeiling targets an in-process zero-delay server, or the one at
// $LLMBENCH_CEILING_URL, e.g. a second process pinned to other cores:
//
//	taskset -c 2,3 ./loadgen.test -test.run '^TestServeFake$' -httptest.serve 127.0.0.1:18080 &
//	LLMBENCH_CEILING_URL=http://127.0.0.1:18080 taskset -c 0,1 ./loadgen.test -test.run '^$' -test.bench Ceiling

import (
	"context"
	"fmt"
	"os"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/llmbench/llmbench/backends"
	"github.com/llmbench/llmbench/backends/openai"
	"github.com/llmbench/llmbench/backends/openai/openaitest"
	"github.com/llmbench/llmbench/loadgen"
)

// TestServeFake starts a zero-delay scripted server and checks that it streams
// exactly the tokens asked for, which BenchmarkCeiling relies on. Run alone with
// -httptest.serve=ADDR it serves on ADDR until killed (or the test binary's
// -test.timeout).
func TestServeFake(t *testing.T) {
	srv := openaitest.NewServer(openaitest.Script{})
	defer srv.Close()
	r, err := backend(t, srv.URL).Generate(context.Background(), backends.Request{Prompt: "p", MaxTokens: 7})
	if err != nil {
		t.Fatal(err)
	}
	if r.OutputTokens != 7 || len(r.Chunks) != 7 {
		t.Errorf("%d tokens in %d chunks, want 7 in 7", r.OutputTokens, len(r.Chunks))
	}
}

func cpuTime() time.Duration {
	var ru syscall.Rusage
	syscall.Getrusage(syscall.RUSAGE_SELF, &ru)
	return time.Duration(ru.Utime.Nano() + ru.Stime.Nano())
}

func BenchmarkCeiling(b *testing.B) {
	url := os.Getenv("LLMBENCH_CEILING_URL")
	if url == "" {
		srv := openaitest.NewServer(openaitest.Script{})
		defer srv.Close()
		url = srv.URL
	}
	for _, shape := range []struct{ tokens, requests int }{{16, 5000}, {256, 2000}} {
		for _, c := range []int{1, 4, 16, 64, 256, 1024} {
			b.Run(fmt.Sprintf("tokens=%d/concurrency=%d", shape.tokens, c), func(b *testing.B) {
				be := backend(b, url)
				p := loadgen.Point{Name: fmt.Sprint("concurrency=", c), Mode: loadgen.ModeConcurrency, Concurrency: c,
					Requests: max(shape.requests, 4*c)}
				reqs := requests(16, shape.tokens)
				// Open the connections first.
				warm := p
				warm.Requests = c
				if _, err := loadgen.RunPoint(context.Background(), be, warm, reqs); err != nil {
					b.Fatal(err)
				}
				total := loadgen.NewReport(p)
				var cpu time.Duration
				for b.Loop() {
					c0 := cpuTime()
					rep, err := loadgen.RunPoint(context.Background(), be, p, reqs)
					cpu += cpuTime() - c0
					if err != nil {
						b.Fatal(err)
					}
					if rep.Failed > 0 {
						b.Fatalf("%d failed: %v", rep.Failed, rep.ErrorSamples)
					}
					total.Merge(rep)
				}
				m := map[string]float64{}
				for _, x := range total.Metrics() {
					m[x.Name] = x.Value
				}
				for _, name := range []string{"req/s", "tokens/s", "ttft-p50-ns", "e2e-p99-ns"} {
					b.ReportMetric(m[name], name)
				}
				b.ReportMetric(float64(cpu)/float64(total.OutputTokens), "cpu-ns/token")
			})
		}
	}
}

// BenchmarkTiming measures the client's timing error against a scripted server
// in the same process (one clock): TTFT 20 ms, then 32 content chunks ITL apart.
// All errors are absolute values:
//
//	ttft-err, itl-err   client TTFT and ITL − the scripted ones (the plan); this
//	                    includes the server's own lateness and request transit
//	server-late         the server's send time − its plan
//	chunk-client-err    client time of a chunk − when the server sent it, over
//	                    the chunks whose send time is known within 100 µs (the
//	                    server's clock before the write and after the flush are
//	                    that close; a starved server can be preempted between
//	                    the two); 0 inside that interval. ttft-client-err is the
//	                    first chunk's: the client's TTFT starts at its own Sent,
//	                    so this is the error of the client's TTFT
//	itl-client-err      client ITL − the server's actual gap, likewise
//	bracketed-ratio     the share of chunks whose send time is known within 100 µs
func BenchmarkTiming(b *testing.B) {
	const ttft, tokens = 20 * time.Millisecond, 32
	for _, tc := range []struct {
		c, requests int
		itl         time.Duration
	}{
		{1, 32, 5 * time.Millisecond},
		{256, 1024, 20 * time.Millisecond},
		{256, 1024, 5 * time.Millisecond},
	} {
		for _, stamps := range []string{"kernel", "clock"} {
			name := fmt.Sprintf("concurrency=%d/itl=%v/stamps=%s", tc.c, tc.itl, stamps)
			b.Run(name, func(b *testing.B) {
				itl := tc.itl
				srv := openaitest.NewServer(openaitest.Script{TTFT: ttft, ITL: itl, Tokens: tokens}, openaitest.WithTraces())
				defer srv.Close()
				be := backend(b, srv.URL, openai.WithKernelTimestamps(stamps == "kernel"))
				p := loadgen.Point{Name: name, Mode: loadgen.ModeConcurrency, Concurrency: tc.c, Requests: tc.requests}
				type obs struct {
					prompt string
					res    *backends.Result
				}
				var (
					mu   sync.Mutex
					seen []obs
				)
				observe := func(i int, req backends.Request, res *backends.Result, err error) {
					if err != nil {
						b.Errorf("request %d: %v", i, err)
						return
					}
					mu.Lock()
					seen = append(seen, obs{req.Prompt, res})
					mu.Unlock()
				}
				// Open the connections first: dialing is not what is measured.
				warm := loadgen.Point{Name: "warm", Mode: loadgen.ModeConcurrency, Concurrency: tc.c, Requests: tc.c}
				if _, err := loadgen.RunPoint(context.Background(), be, warm, requests(8, tokens)); err != nil {
					b.Fatal(err)
				}
				for b.Loop() {
					if _, err := loadgen.RunPoint(context.Background(), be, p, requests(8, tokens), loadgen.WithSalt(), loadgen.WithObserver(observe)); err != nil {
						b.Fatal(err)
					}
				}
				h := map[string]*loadgen.Histogram{}
				rec := func(name string, d time.Duration) {
					if h[name] == nil {
						h[name] = loadgen.NewHistogram()
					}
					h[name].Record(d.Abs())
				}
				// outside returns how far t lies outside [lo, hi].
				outside := func(t, lo, hi time.Duration) time.Duration {
					return max(lo-t, t-hi, 0)
				}
				const precise = 100 * time.Microsecond
				var chunks, bracketed int
				for _, o := range seen {
					trs := srv.Traces(o.prompt)
					if len(trs) != 1 || len(trs[0].Sent) != tokens || len(o.res.Chunks) != tokens {
						b.Fatalf("%q: %d traces, chunks %d", o.prompt, len(trs), len(o.res.Chunks))
					}
					tr, ch := trs[0], o.res.Chunks
					known := func(k int) bool { return tr.Sent[k].Sub(tr.Before[k]) <= precise }
					rec("ttft-err", o.res.TTFT()-ttft)
					for k := range tokens {
						chunks++
						rec("server-late", tr.Sent[k].Sub(tr.Planned[k]))
						if k > 0 {
							rec("itl-err", ch[k].Sub(ch[k-1])-itl)
						}
						if !known(k) {
							continue
						}
						bracketed++
						e := outside(ch[k].Sub(tr.Before[k]), 0, tr.Sent[k].Sub(tr.Before[k]))
						rec("chunk-client-err", e)
						if k == 0 {
							rec("ttft-client-err", e)
						}
						if k > 0 && known(k-1) {
							gap := ch[k].Sub(ch[k-1])
							rec("itl-client-err", outside(gap, tr.Before[k].Sub(tr.Sent[k-1]), tr.Sent[k].Sub(tr.Before[k-1])))
						}
					}
				}
				for _, name := range []string{"ttft-err", "itl-err", "ttft-client-err", "itl-client-err", "chunk-client-err", "server-late"} {
					if h[name] == nil {
						continue
					}
					b.ReportMetric(float64(h[name].Quantile(0.5)), name+"-p50-ns")
					b.ReportMetric(float64(h[name].Quantile(0.99)), name+"-p99-ns")
				}
				b.ReportMetric(float64(bracketed)/float64(chunks), "bracketed-ratio")
			})
		}
	}
}
