package openaitest

import (
	"sync"
	"time"
)

// Queue is a plan (WithPlan) for a server of known capacity: K slots, each
// serving one request at a time for exactly Service (its first content chunk
// TTFT after it starts, then Tokens chunks evenly to the end). A request that
// finds every slot busy waits for the first one free, and the wait adds to its
// TTFT. It serves K/Service requests per second at most, and with up to K
// requests at once none waits: the ground truth of a saturating server.
type Queue struct {
	service, ttft time.Duration
	tokens        int

	mu   sync.Mutex
	free []time.Time
}

// NewQueue returns a queue of k slots (tokens ≥ 2, ttft < service).
func NewQueue(k int, service, ttft time.Duration, tokens int) *Queue {
	return &Queue{free: make([]time.Time, k), service: service, ttft: ttft, tokens: tokens}
}

// Plan implements the plan of WithPlan.
func (q *Queue) Plan(Request) Script {
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
	return Script{TTFT: start.Sub(now) + q.ttft, ITL: (q.service - q.ttft) / time.Duration(q.tokens-1), Tokens: q.tokens}
}

// Start starts a server that runs the queue's plan for every request.
func (q *Queue) Start() *Server { return NewServer(Script{}, WithPlan(q.Plan)) }
