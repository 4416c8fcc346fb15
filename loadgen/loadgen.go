// Package loadgen puts load on a backend and measures it: sequential,
// closed-loop concurrency N, open-loop rate R (constant, Poisson or gamma
// arrivals, optionally capped), either with a linear ramp, or the replay of a
// trace (Mooncake, BurstGPT), bounded by a request count and/or a duration,
// with sweeps over N or R or a search for the highest load that meets an SLO.
// Sequential and concurrency loads may be multi-turn: sessions whose turns send
// the conversation so far ([SessionSpec]). A run can stop early on
// over-saturation and write one record per request. A run yields a [Report]:
// throughput, exact TTFT/TPOT/ITL/E2E percentiles, error rate by kind, goodput
// against SLOs and schedule lag, and per turn of a multi-turn run its TTFT,
// ITL and prompt tokens.
//
// A benchmark runs one sweep point per sub-benchmark:
//
//	points, err := loadgen.Points(model.Load)
//	for _, p := range points {
//		b.Run(p.Name, func(b *testing.B) {
//			total := loadgen.NewReport(p)
//			for b.Loop() {
//				rep, err := loadgen.RunPoint(ctx, backend, p, reqs)
//				…
//				total.Merge(rep)
//			}
//			for _, m := range total.Metrics() {
//				b.ReportMetric(m.Value, m.Name)
//			}
//		})
//	}
package loadgen

import (
	"context"
	"errors"
	"fmt"
	"math"
	"math/rand/v2"
	"strconv"
	"sync"
	"sync/atomic"
	"time"

	"gonum.org/v1/gonum/stat/distuv"

	"github.com/llmbench/llmbench/backends"
)

// DefaultRequests is the number of requests of a run whose spec bounds neither
// requests nor duration.
const DefaultRequests = 100

// SLO are per-request latency objectives for goodput; a zero field is not checked.
type SLO struct {
	TTFT, TPOT, E2E time.Duration
}

// Any reports whether any objective is set.
func (s SLO) Any() bool { return s.TTFT > 0 || s.TPOT > 0 || s.E2E > 0 }

// Point is one run of a load spec: a single concurrency or rate. Points are
// plain values: a benchmark may change Requests or Duration before running one.
type Point struct {
	// Name names the point in sub-benchmark names: "concurrency=N" (sequential
	// is "concurrency=1") or "rate=R".
	Name string
	// Mode is ModeSequential, ModeConcurrency or ModeRate.
	Mode string
	// Concurrency is the number of requests kept in flight (1 when sequential);
	// 0 in rate mode.
	Concurrency int
	// Rate is the requests sent per second (rate mode), Arrival how they are
	// spaced (ArrivalConstant, ArrivalPoisson or ArrivalGamma, of shape
	// Burstiness), MaxConcurrency the cap on requests in flight (0: none) and
	// Seed the seed of random arrivals.
	Rate           float64
	Arrival        string
	Burstiness     float64
	MaxConcurrency int
	Seed           int64
	// Ramp, when Over is set, raises the rate (rate mode) or the workers
	// (concurrency mode) linearly from Ramp.From to Rate or Concurrency over
	// Ramp.Over.
	Ramp Ramp
	// Offset delays every planned send of a constant-rate run: shard i of n of a
	// split point (SplitPoint) starts i/R after shard 0, so the shards' streams
	// interleave into one of rate R instead of sending n requests at once.
	Offset time.Duration
	// Requests and Duration bound the run; a run ends at whichever comes first.
	// Both zero means DefaultRequests. After Duration no request is sent, and
	// those in flight are waited for.
	Requests int
	Duration time.Duration
	// Warmup requests are sent one at a time before the run and not reported.
	Warmup int
	// SLO are the goodput objectives.
	SLO SLO
	// Stop are the bounds of over-saturation past which the run stops early.
	Stop Stop
	// Trace holds the send times of a trace point (mode trace), from the
	// run's start; request i is sent at Trace[i]. The requests are the
	// trace's own (TraceRequests). Left out of a report's JSON.
	Trace []time.Duration `json:"-"`
	// Search, when its Over is set, makes the point a search for the highest
	// load meeting the SLO (RunSearch), named search=rate or
	// search=concurrency; RunPoint runs it at Rate or Concurrency alone.
	Search Search
	// Session, when its Turns is set, makes each worker of a sequential or
	// concurrency point run sessions of Turns requests (runSession); Requests
	// then counts whole sessions' requests.
	Session Session
	// SharedPrefix says the point's prompts share prefixes (a dataset with a
	// prefix): its report gives cacheable-prompt-share.
	SharedPrefix bool `json:",omitempty"`
}

// Ramp is a linear rise of load at the start of a run; the zero value is none.
type Ramp struct {
	// From is the rate or concurrency at the start.
	From float64
	// Over is the ramp's length; 0 means no ramp.
	Over time.Duration
}

// Points returns one point per value of the spec's sweep (a single point when it
// has no list). A nil spec is one sequential point.
func Points(spec *Spec) ([]Point, error) {
	if err := spec.Check(); err != nil {
		return nil, fmt.Errorf("load: %w", err)
	}
	if spec == nil {
		spec = &Spec{}
	}
	base := Point{
		Mode:     spec.EffectiveMode(),
		Requests: spec.Requests,
		Duration: spec.Duration.Duration,
		Warmup:   spec.Warmup,
		SLO:      SLO{TTFT: spec.SLO.TTFT.Duration, TPOT: spec.SLO.TPOT.Duration, E2E: spec.SLO.E2E.Duration},
		Stop:     spec.Stop.stop(),
		Session:  spec.Sessions.session(),
	}
	base.SharedPrefix = spec.Dataset != nil && spec.Dataset.Prefix != nil
	if spec.Ramp != nil {
		base.Ramp = Ramp{From: spec.Ramp.From, Over: spec.Ramp.Over.Duration}
	}
	if base.Requests == 0 && base.Duration == 0 && base.Mode != ModeTrace {
		base.Requests = DefaultRequests
		if base.Session.Turns > 0 {
			base.Requests = sessionRequests(base.Session.Turns)
		}
	}
	if base.Mode == ModeTrace {
		p := base
		p.Name, p.MaxConcurrency = spec.Trace.name(), spec.MaxConcurrency
		return []Point{p}, nil
	}
	if base.Mode == ModeRate {
		base.Arrival = spec.Arrival
		if base.Arrival == "" {
			base.Arrival = ArrivalConstant
		}
		if base.Arrival == ArrivalGamma {
			base.Burstiness = spec.Burstiness
			if base.Burstiness == 0 {
				base.Burstiness = 1
			}
		}
		base.MaxConcurrency = spec.MaxConcurrency
		base.Seed = spec.Seed
		if base.Seed == 0 {
			base.Seed = 1
		}
	}
	if spec.Search != nil {
		srch := spec.Search.search(spec, base.Mode)
		p := probePoint(base, srch.Low)
		p.Name, p.Search = "search="+base.Mode, srch
		return []Point{p}, nil
	}
	var ps []Point
	switch base.Mode {
	case ModeSequential:
		p := base
		p.Concurrency, p.Name = 1, "concurrency=1"
		ps = append(ps, p)
	case ModeConcurrency:
		for _, c := range spec.Concurrency {
			p := base
			p.Concurrency, p.Name = c, "concurrency="+strconv.Itoa(c)
			ps = append(ps, p)
		}
	case ModeRate:
		for _, r := range spec.Rate {
			p := base
			p.Rate, p.Name = r, "rate="+strconv.FormatFloat(r, 'g', -1, 64)
			ps = append(ps, p)
		}
	}
	return ps, nil
}

// Option configures a run.
type Option func(*runConfig)

type runConfig struct {
	salt    bool
	observe func(i int, req backends.Request, res *backends.Result, err error)
	records *RecordWriter
	bench   string
	data    *Dataset
}

// WithObserver calls f after each request of the run (not the warmup) with its
// index, the request as sent, and what Generate returned. f is called from many
// goroutines at once and must be quick: it delays the next request of its worker.
func WithObserver(f func(i int, req backends.Request, res *backends.Result, err error)) Option {
	return func(c *runConfig) { c.observe = f }
}

// WithSalt prefixes every request's prompt with a nonce unique to the run and the
// request, so no server-side prefix cache is hit.
func WithSalt() Option { return func(c *runConfig) { c.salt = true } }

// WithDataset says the run's requests are d's (d.Requests()): each
// successful request's prompt count is checked against d's length (a miss
// beyond LengthTolerance fails it, kind prompt-length), its cacheable tokens
// are counted (Report.CacheableTokens), and WithSalt salts d's salt slot, so
// that a salted prompt is as long as an unsalted one.
func WithDataset(d *Dataset) Option { return func(c *runConfig) { c.data = d } }

// NewReport returns an empty report for p, to Merge runs into.
func NewReport(p Point) *Report { return newReport(p) }

// RunPoint runs one load point, cycling through reqs in order (request i is
// reqs[i % len(reqs)]). A failed request is counted and the run goes on.
//
// When ctx ends, RunPoint stops sending, lets the requests in flight end (the
// backend sees ctx canceled; they are counted as Aborted), and returns the report
// so far, marked Interrupted, together with ctx's error.
func RunPoint(ctx context.Context, b backends.Backend, p Point, reqs []backends.Request, opts ...Option) (*Report, error) {
	var cfg runConfig
	for _, o := range opts {
		o(&cfg)
	}
	if err := p.check(len(reqs), &cfg); err != nil {
		return nil, fmt.Errorf("load %s: %w", p.Name, err)
	}
	if p.Mode == ModeTrace && (p.Requests == 0 || p.Requests > len(p.Trace)) {
		p.Requests = len(p.Trace)
	}
	if p.Requests == 0 && p.Duration == 0 {
		p.Requests = DefaultRequests
		if p.Session.Turns > 0 {
			p.Requests = sessionRequests(p.Session.Turns)
		}
	}
	nonce := strconv.FormatInt(time.Now().UnixNano(), 36)
	request := func(i int64) backends.Request {
		r := reqs[i%int64(len(reqs))]
		switch {
		case cfg.salt && cfg.data != nil:
			r.Prompt = cfg.data.salt(nonce, i)
		case cfg.salt:
			r.Prompt = "[" + nonce + "-" + strconv.FormatInt(i, 36) + "] " + r.Prompt
		}
		return r
	}
	for i := range p.Warmup {
		if ctx.Err() != nil {
			break
		}
		r := reqs[i%len(reqs)]
		switch {
		case cfg.salt && cfg.data != nil:
			r.Prompt = cfg.data.salt(nonce, -int64(i)-1)
		case cfg.salt:
			r.Prompt = "[" + nonce + "-w" + strconv.Itoa(i) + "] " + r.Prompt
		}
		b.Generate(ctx, r)
	}

	rep := newReport(p)
	start := time.Now()
	// sendCtx ends when no more requests may be sent.
	sendCtx, stopSending := context.WithCancel(ctx)
	defer stopSending()
	if p.Duration > 0 {
		var cancel context.CancelFunc
		sendCtx, cancel = context.WithDeadline(sendCtx, start.Add(p.Duration))
		defer cancel()
	}
	run := 0
	if cfg.records != nil {
		run = cfg.records.nextRun(cfg.bench)
	}
	var (
		recErrOnce sync.Once
		recErr     error
		stop       *stopper
	)
	// reqCtx ends the requests in flight: with ctx, or when the run stops early.
	reqCtx, cancelReqs := context.WithCancel(ctx)
	defer cancelReqs()
	stopRun := func() {
		stopSending()
		cancelReqs()
	}
	if p.Stop.Any() {
		stop = newStopper(p.Stop)
	}
	// send sends request i, turn turn of its session (0: not multi-turn).
	send := func(i int64, r backends.Request, planned time.Time, turn int) (*backends.Result, error) {
		sent := time.Now()
		if stop != nil && stop.sending(i, sent.Sub(planned)) {
			stopRun()
			return nil, errStopped
		}
		rep.begin(planned, sent)
		res, err := b.Generate(reqCtx, r)
		done := time.Now()
		aborted := err != nil && reqCtx.Err() != nil
		cacheable := 0
		if cfg.data != nil && err == nil {
			err = cfg.data.check(i, res)
			cacheable = cfg.data.Cacheable(i)
		}
		rep.record(planned, sent, done, res, err, aborted, turn)
		if err == nil && cacheable > 0 {
			rep.addCacheable(cacheable)
		}
		if stop != nil && !aborted && stop.done(res, err) {
			stopRun()
		}
		if cfg.records != nil {
			rec := newRecord(start, i, planned, sent, done, res, err, aborted, p.SLO)
			rec.Bench, rec.Run = cfg.bench, run
			if turn > 0 {
				s := i / int64(p.Session.Turns)
				rec.Session, rec.Turn = &s, turn
			}
			if cfg.data != nil {
				rec.WantPromptTokens, rec.CacheableTokens = cfg.data.Want(i), cfg.data.Cacheable(i)
			}
			if werr := cfg.records.Write(rec); werr != nil {
				recErrOnce.Do(func() {
					recErr = werr
					stopSending()
				})
			}
		}
		if cfg.observe != nil {
			cfg.observe(int(i), r, res, err)
		}
		return res, err
	}
	one := func(i int64, planned time.Time) { send(i, request(i), planned, 0) }
	salt := ""
	if cfg.salt {
		salt = nonce
	}

	var wg sync.WaitGroup
	switch {
	case p.Mode == ModeRate || p.Mode == ModeTrace:
		runOpen(sendCtx, &wg, p, start, one)
	default:
		// Closed loop: each worker takes the next request (or, multi-turn,
		// the next session) as soon as its previous one is done.
		limit, do := int64(p.Requests), one
		if p.Session.Turns > 0 {
			ss := &sessions{p: p, reqs: reqs, salt: salt, send: send,
				wait:   func(t time.Time) bool { return sleepUntil(sendCtx, t) },
				shrunk: rep.shrunk}
			limit, do = int64(p.Requests/p.Session.Turns), ss.run
		}
		var next atomic.Int64
		for k := range p.Concurrency {
			wg.Go(func() {
				planned := start.Add(p.workerStart(k))
				if !sleepUntil(sendCtx, planned) {
					return
				}
				for sendCtx.Err() == nil {
					i := next.Add(1) - 1
					if p.Requests > 0 && i >= limit {
						return
					}
					do(i, planned)
					planned = time.Now()
				}
			})
		}
	}
	wg.Wait()
	rep.finish()
	rep.Runs = 1
	if stop != nil && stop.reason != "" {
		rep.Stopped, rep.StoppedRuns = stop.reason, 1
	}
	if err := ctx.Err(); err != nil {
		rep.Interrupted = true
		return rep, fmt.Errorf("load %s: %w", p.Name, err)
	}
	if recErr != nil {
		return rep, fmt.Errorf("load %s: %w: the run stopped there", p.Name, recErr)
	}
	return rep, nil
}

// runOpen sends requests on the point's schedule until the count or sendCtx ends.
func runOpen(sendCtx context.Context, wg *sync.WaitGroup, p Point, start time.Time, one func(int64, time.Time)) {
	var slots chan struct{}
	if p.MaxConcurrency > 0 {
		slots = make(chan struct{}, p.MaxConcurrency)
	}
	arrivals := newArrivals(p)
	for i := int64(0); p.Requests == 0 || i < int64(p.Requests); i++ {
		planned := start.Add(arrivals.next())
		if p.Duration > 0 && planned.Sub(start) >= p.Duration {
			return
		}
		if !sleepUntil(sendCtx, planned) {
			return
		}
		if slots != nil {
			select {
			case slots <- struct{}{}:
			case <-sendCtx.Done():
				return
			}
		}
		if sendCtx.Err() != nil {
			return
		}
		wg.Go(func() {
			one(i, planned)
			if slots != nil {
				<-slots
			}
		})
	}
}

// sleepUntil waits until t; false when ctx ended first.
func sleepUntil(ctx context.Context, t time.Time) bool {
	d := time.Until(t)
	if d <= 0 {
		return ctx.Err() == nil
	}
	timer := time.NewTimer(d)
	defer timer.Stop()
	select {
	case <-timer.C:
		return true
	case <-ctx.Done():
		return false
	}
}

// workerStart is when worker k (from 0) of a concurrency point starts: at 0
// without a ramp; with one, the first Ramp.From at 0 and worker k ≥ From when
// the ramp's line From + (C − From)·t/Over reaches k+1, the last at Over.
func (p *Point) workerStart(k int) time.Duration {
	from := int(p.Ramp.From)
	if p.Ramp.Over <= 0 || k < from || p.Concurrency <= from {
		return 0
	}
	return time.Duration(float64(p.Ramp.Over) * float64(k+1-from) / float64(p.Concurrency-from))
}

// arrivals yields the planned send offsets of an open-loop run. It draws
// arrivals of a process of rate 1 (operational time u: request i at u = i for
// constant arrivals, gaps of mean 1 for Poisson and gamma) and maps each to
// real time through the inverse of the point's cumulative rate Λ(t): u/R
// without a ramp. The same mapping makes any of them follow a ramp.
type arrivals struct {
	offset time.Duration
	rate   float64
	ramp   Ramp
	gap    func() float64 // a random gap of mean 1; nil for constant arrivals
	trace  []time.Duration
	i      int64
	u      float64
}

func newArrivals(p Point) *arrivals {
	a := &arrivals{offset: p.Offset, rate: p.Rate, ramp: p.Ramp, trace: p.Trace}
	src := rand.NewPCG(uint64(p.Seed), 0x6c6c6d62656e6368)
	switch p.Arrival {
	case ArrivalPoisson:
		a.gap = rand.New(src).ExpFloat64
	case ArrivalGamma:
		// Shape k and rate k: mean 1, variance 1/k.
		a.gap = distuv.Gamma{Alpha: p.Burstiness, Beta: p.Burstiness, Src: src}.Rand
	}
	return a
}

// next returns the offset from the start of the next request: request 0 at
// the point's Offset (and operational time 0), the others as the arrival
// process and the ramp place them; a trace's at their own times.
func (a *arrivals) next() time.Duration {
	if a.trace != nil {
		a.i++
		return a.offset + a.trace[a.i-1]
	}
	u := float64(a.i)
	if a.gap != nil {
		u = a.u
		a.u += a.gap()
	}
	a.i++
	return a.offset + time.Duration(a.at(u)*float64(time.Second))
}

// at returns the time in seconds at which the cumulative rate Λ reaches u. With
// a ramp from r0 to r1 over T, Λ(t) = r0·t + (r1 − r0)·t²/(2T) up to T, then
// Λ(T) + r1·(t − T).
func (a *arrivals) at(u float64) float64 {
	T := a.ramp.Over.Seconds()
	if T <= 0 {
		return u / a.rate
	}
	r0, r1 := a.ramp.From, a.rate
	if total := (r0 + r1) * T / 2; u >= total {
		return T + (u-total)/r1
	}
	if u == 0 {
		return 0
	}
	// The root of (r1−r0)/(2T)·t² + r0·t − u = 0 in [0, T], written so that
	// it holds for r1 = r0 and a falling rate too.
	slope := (r1 - r0) / T
	return 2 * u / (r0 + math.Sqrt(r0*r0+2*slope*u))
}

func (p *Point) check(nreqs int, cfg *runConfig) error {
	switch {
	case nreqs == 0:
		return errors.New("no requests to send")
	case cfg.data != nil && len(cfg.data.reqs) != nreqs:
		return fmt.Errorf("%d requests for a dataset of %d: pass its Requests()", nreqs, len(cfg.data.reqs))
	case p.Requests < 0, p.Duration < 0, p.Warmup < 0, p.MaxConcurrency < 0, p.Ramp.From < 0, p.Ramp.Over < 0:
		return errors.New("requests, duration, warmup, max concurrency and ramp must not be negative")
	}
	switch p.Mode {
	case ModeSequential:
		if p.Concurrency != 1 {
			return fmt.Errorf("sequential with concurrency %d", p.Concurrency)
		}
	case ModeConcurrency:
		if p.Concurrency < 1 {
			return fmt.Errorf("concurrency %d: want at least 1", p.Concurrency)
		}
	case ModeRate:
		if !(p.Rate > 0) {
			return fmt.Errorf("rate %g: want more than 0", p.Rate)
		}
		switch p.Arrival {
		case ArrivalConstant, ArrivalPoisson:
		case ArrivalGamma:
			if !(p.Burstiness > 0) {
				return fmt.Errorf("arrival gamma with burstiness %g: want above 0", p.Burstiness)
			}
		default:
			return fmt.Errorf("arrival %q: want constant, poisson or gamma", p.Arrival)
		}
	case ModeTrace:
		if p.Session.Turns > 0 {
			return errors.New("a trace of sessions")
		}
		if len(p.Trace) == 0 {
			return errors.New("a trace without entries")
		}
		if nreqs != len(p.Trace) {
			return fmt.Errorf("%d requests for a trace of %d entries: want one per entry (TraceRequests)", nreqs, len(p.Trace))
		}
	default:
		return fmt.Errorf("mode %q: want sequential, concurrency, rate or trace", p.Mode)
	}
	switch t := p.Session.Turns; {
	case t < 0, p.Session.ThinkTime < 0:
		return errors.New("session turns and think time must not be negative")
	case t > 0 && p.Mode == ModeRate:
		return errors.New("sessions at a rate: want mode sequential or concurrency")
	case t > 0 && p.Requests%t != 0:
		return fmt.Errorf("%d requests are not whole sessions of %d turns", p.Requests, t)
	}
	return nil
}
