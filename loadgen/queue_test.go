package loadgen_test

import (
	"sync"
	"time"

	"github.com/llmbench/llmbench/backends/openai/openaitest"
)

// queue scripts a server of known capacity: k slots, each serving one request
// at a time for exactly service (TTFT ttft, then tokens chunks evenly to the
// end). A request that finds every slot busy waits for the first one free, and
// the wait adds to its TTFT. It serves k/service requests per second at most,
// and with concurrency up to k no request waits.
type queue struct {
	mu            sync.Mutex
	free          []time.Time
	service, ttft time.Duration
	tokens        int
}

func newQueue(k int, service, ttft time.Duration, tokens int) *queue {
	return &queue{free: make([]time.Time, k), service: service, ttft: ttft, tokens: tokens}
}

// server starts the scripted server of the queue.
func (q *queue) server() *openaitest.Server {
	return openaitest.NewServer(openaitest.Script{}, openaitest.WithPlan(q.plan))
}

func (q *queue) plan(openaitest.Request) openaitest.Script {
	now := time.Now()
	q.mu.Lock()
	first := 0
	for i, f := range q.free {
		if f.Before(q.free[first]) {
			first = i
		}
	}
	start := now
	if q.free[first].After(now) {
		start = q.free[first]
	}
	q.free[first] = start.Add(q.service)
	q.mu.Unlock()
	return openaitest.Script{TTFT: start.Sub(now) + q.ttft, ITL: (q.service - q.ttft) / time.Duration(q.tokens-1), Tokens: q.tokens}
}
