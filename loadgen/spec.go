package loadgen

import (
	"errors"
	"fmt"
	"math"
	"slices"
	"strconv"
	"time"

	"go.yaml.in/yaml/v3"
)

// Load modes accepted in Spec.Mode.
const (
	// ModeSequential sends one request at a time: the next one is sent when the
	// previous one is done. It is concurrency 1.
	ModeSequential = "sequential"
	// ModeConcurrency keeps N requests in flight (a closed loop): a worker sends its
	// next request as soon as its previous one is done.
	ModeConcurrency = "concurrency"
	// ModeRate sends requests on a schedule of R per second whatever the server's
	// speed (an open loop), optionally capped at MaxConcurrency in flight.
	ModeRate = "rate"
	// ModeTrace replays a trace (Spec.Trace): each entry sent at its own time
	// with its own lengths (an open loop), optionally capped likewise.
	ModeTrace = "trace"
)

// Arrival processes accepted in Spec.Arrival (rate mode).
const (
	// ArrivalConstant spaces requests exactly 1/R apart.
	ArrivalConstant = "constant"
	// ArrivalPoisson draws the gaps between requests from an exponential
	// distribution of mean 1/R (a Poisson process), seeded by Spec.Seed.
	ArrivalPoisson = "poisson"
	// ArrivalGamma draws the gaps from a gamma distribution of mean 1/R and
	// shape Spec.Burstiness (as vLLM's and AIPerf's burstiness): the squared
	// coefficient of variation of the gaps is 1/burstiness, so burstiness 1 is a
	// Poisson process, below 1 burstier, above 1 more even.
	ArrivalGamma = "gamma"
)

// Spec describes load generation for one model, as the configuration's load:
// section writes it. The zero value
// (or no load: key at all) is sequential: one request at a time, 100 requests.
//
// A list in Concurrency or Rate is a sweep: one run per value, in order, each with
// the same bounds and SLOs.
//
//	load:
//	  concurrency: [1, 4, 16]   # or rate: [1, 2, 4] with arrival: poisson
//	  requests: 200             # and/or duration: 60s
//	  slo: {ttft: 500ms, tpot: 50ms, e2e: 10s}
type Spec struct {
	// Mode is sequential, concurrency, rate or trace. Empty means inferred:
	// trace when Trace is set, rate when Rate is, concurrency when
	// Concurrency is, else sequential.
	Mode string `yaml:"mode"`
	// Trace is a trace to replay (mode trace).
	Trace *TraceSpec `yaml:"trace"`
	// Concurrency is the number of requests kept in flight (mode concurrency), one
	// value or a list to sweep. Each value at least 1.
	Concurrency Ints `yaml:"concurrency"`
	// Rate is the number of requests sent per second (mode rate), one value or a
	// list to sweep. Each value above 0.
	Rate Floats `yaml:"rate"`
	// Arrival is how requests are spaced in rate mode: constant (the default),
	// poisson or gamma.
	Arrival string `yaml:"arrival"`
	// Burstiness is the shape of arrival gamma's gaps: their CV² is
	// 1/Burstiness. 0 means 1 (Poisson).
	Burstiness float64 `yaml:"burstiness"`
	// Ramp, when set, raises the load linearly over Ramp.Over: in rate mode the
	// rate goes from Ramp.From to each point's rate, in concurrency mode the
	// workers from Ramp.From to each point's concurrency.
	Ramp *RampSpec `yaml:"ramp"`
	// MaxConcurrency caps the requests in flight in rate mode; when the cap is
	// reached, sending waits and the wait shows as schedule lag. 0 means no cap.
	MaxConcurrency int `yaml:"max_concurrency"`
	// Requests is the number of requests of each run (each sweep point). With
	// Duration, a run ends at whichever comes first. When both are 0, 100.
	Requests int `yaml:"requests"`
	// Duration bounds each run's sending time: no request is sent after it, and
	// requests in flight then are waited for. 0 means no time bound.
	Duration Duration `yaml:"duration"`
	// Warmup is the number of requests sent one at a time before each run and left
	// out of its report (to load the model and open a connection). Default 0.
	Warmup int `yaml:"warmup"`
	// Seed seeds the Poisson arrival process, so a schedule can be replayed.
	// 0 means 1.
	Seed int64 `yaml:"seed"`
	// SLO are the thresholds a request must meet to count towards goodput. A zero
	// threshold is not checked; with none set, goodput is not reported.
	SLO SLOSpec `yaml:"slo"`
	// Stop are the bounds of over-saturation past which a run stops early (see
	// Stop); nil checks none.
	Stop *StopSpec `yaml:"stop"`
	// Search makes the load a search for the highest rate or concurrency that
	// meets the SLO, between the two values of Rate or Concurrency (see
	// Search); nil sweeps them instead.
	Search *SearchSpec `yaml:"search"`
	// Records writes one JSON line per request of every run (Record) to the
	// output folder's RecordsFile. Default false.
	Records bool `yaml:"records"`
	// Sessions makes the load multi-turn: each worker runs conversations of
	// Sessions.Turns requests (see SessionSpec); nil sends single requests.
	Sessions *SessionSpec `yaml:"sessions"`
}

// RampSpec is a linear ramp of load as the configuration writes it.
type RampSpec struct {
	// From is the rate (requests per second, ≥ 0) or concurrency (a whole
	// number ≥ 1) at the start of a run.
	From float64 `yaml:"from"`
	// Over is how long the ramp lasts; the point's own rate or concurrency
	// holds after it. Required.
	Over Duration `yaml:"over"`
}

// SLOSpec are per-request latency objectives as the configuration writes them.
// A zero field is not checked.
type SLOSpec struct {
	// TTFT is the longest acceptable time to first token.
	TTFT Duration `yaml:"ttft"`
	// TPOT is the longest acceptable time per output token after the first.
	TPOT Duration `yaml:"tpot"`
	// E2E is the longest acceptable end-to-end latency.
	E2E Duration `yaml:"e2e"`
}

// Any reports whether any threshold is set.
func (s SLOSpec) Any() bool { return s.TTFT.Duration > 0 || s.TPOT.Duration > 0 || s.E2E.Duration > 0 }

// Ints is a list of integers written in YAML as one number or a sequence.
type Ints []int

// UnmarshalYAML implements yaml.Unmarshaler.
func (l *Ints) UnmarshalYAML(n *yaml.Node) error {
	return unmarshalList(n, (*[]int)(l), func(s string) (int, error) { return strconv.Atoi(s) }, "an integer")
}

// Floats is a list of numbers written in YAML as one number or a sequence.
type Floats []float64

// UnmarshalYAML implements yaml.Unmarshaler.
func (l *Floats) UnmarshalYAML(n *yaml.Node) error {
	return unmarshalList(n, (*[]float64)(l), func(s string) (float64, error) {
		v, err := strconv.ParseFloat(s, 64)
		if err == nil && (math.IsNaN(v) || math.IsInf(v, 0)) {
			err = errors.New("not finite")
		}
		return v, err
	}, "a number")
}

func unmarshalList[T any](n *yaml.Node, out *[]T, parse func(string) (T, error), what string) error {
	var nodes []*yaml.Node
	switch n.Kind {
	case yaml.ScalarNode:
		nodes = []*yaml.Node{n}
	case yaml.SequenceNode:
		nodes = n.Content
	default:
		return fmt.Errorf("line %d: want %s or a list of them", n.Line, what)
	}
	*out = (*out)[:0]
	for _, e := range nodes {
		if e.Kind != yaml.ScalarNode {
			return fmt.Errorf("line %d: want %s", e.Line, what)
		}
		v, err := parse(e.Value)
		if err != nil {
			return fmt.Errorf("line %d: %q is not %s", e.Line, e.Value, what)
		}
		*out = append(*out, v)
	}
	return nil
}

// EffectiveMode returns Mode, or the mode inferred from the fields set when Mode
// is empty. A nil spec is sequential.
func (l *Spec) EffectiveMode() string {
	switch {
	case l == nil:
		return ModeSequential
	case l.Mode != "":
		return l.Mode
	case l.Trace != nil:
		return ModeTrace
	case len(l.Rate) > 0:
		return ModeRate
	case len(l.Concurrency) > 0:
		return ModeConcurrency
	}
	return ModeSequential
}

// Check reports the first problem with the spec; a nil spec is valid.
func (l *Spec) Check() error {
	if l == nil {
		return nil
	}
	mode := l.EffectiveMode()
	switch mode {
	case ModeSequential:
		if len(l.Concurrency) > 0 || len(l.Rate) > 0 {
			return errors.New("mode sequential takes neither concurrency nor rate: remove mode, or set it to concurrency or rate")
		}
	case ModeConcurrency:
		if len(l.Concurrency) == 0 {
			return errors.New("mode concurrency needs concurrency: N or [N, …]")
		}
		if len(l.Rate) > 0 {
			return errors.New("mode concurrency takes no rate: for an open loop use mode rate with max_concurrency")
		}
	case ModeRate:
		if len(l.Rate) == 0 {
			return errors.New("mode rate needs rate: R or [R, …] (requests per second)")
		}
		if len(l.Concurrency) > 0 {
			return errors.New("mode rate takes no concurrency: cap requests in flight with max_concurrency")
		}
	case ModeTrace:
		if l.Trace == nil {
			return errors.New("mode trace needs trace: {file: FILE}")
		}
		if len(l.Concurrency) > 0 || len(l.Rate) > 0 {
			return errors.New("mode trace takes neither concurrency nor rate: the trace sets the times (cap requests in flight with max_concurrency)")
		}
		if err := l.Trace.check(); err != nil {
			return err
		}
	default:
		return fmt.Errorf("mode %q: want sequential, concurrency, rate or trace", l.Mode)
	}
	if l.Trace != nil && mode != ModeTrace {
		return fmt.Errorf("trace applies to mode trace only (mode is %s)", mode)
	}
	for _, c := range l.Concurrency {
		if c < 1 {
			return fmt.Errorf("concurrency %d: want at least 1", c)
		}
	}
	for _, r := range l.Rate {
		if !(r > 0) {
			return fmt.Errorf("rate %g: want more than 0 requests per second", r)
		}
	}
	if dup, ok := firstDup(l.Concurrency); ok {
		return fmt.Errorf("concurrency %d is listed twice", dup)
	}
	if dup, ok := firstDup(l.Rate); ok {
		return fmt.Errorf("rate %g is listed twice", dup)
	}
	switch l.Arrival {
	case "", ArrivalConstant:
	case ArrivalPoisson, ArrivalGamma:
		if mode != ModeRate {
			return fmt.Errorf("arrival %s applies to mode rate only", l.Arrival)
		}
	default:
		return fmt.Errorf("arrival %q: want constant, poisson or gamma", l.Arrival)
	}
	switch {
	case l.Burstiness < 0 || math.IsNaN(l.Burstiness) || math.IsInf(l.Burstiness, 0):
		return fmt.Errorf("burstiness %g: want a number above 0 (1 is Poisson)", l.Burstiness)
	case l.Burstiness > 0 && l.Arrival != ArrivalGamma:
		return errors.New("burstiness applies to arrival gamma only")
	}
	if err := l.Ramp.check(mode, l.Concurrency); err != nil {
		return err
	}
	if err := l.Stop.check(); err != nil {
		return err
	}
	if err := l.Search.check(l, mode); err != nil {
		return err
	}
	if err := l.Sessions.check(l, mode); err != nil {
		return err
	}
	switch {
	case l.MaxConcurrency < 0:
		return fmt.Errorf("max_concurrency %d: want 0 (no cap) or more", l.MaxConcurrency)
	case l.MaxConcurrency > 0 && mode != ModeRate && mode != ModeTrace:
		return errors.New("max_concurrency applies to modes rate and trace only: in mode concurrency, concurrency is the cap")
	case l.Requests < 0:
		return fmt.Errorf("requests %d: want 0 (default) or more", l.Requests)
	case l.Duration.Duration < 0:
		return fmt.Errorf("duration %v: want 0 (no bound) or more", l.Duration.Duration)
	case l.Warmup < 0:
		return fmt.Errorf("warmup %d: want 0 or more", l.Warmup)
	case l.SLO.TTFT.Duration < 0, l.SLO.TPOT.Duration < 0, l.SLO.E2E.Duration < 0:
		return errors.New("slo: thresholds must not be negative (0 means not checked)")
	}
	return nil
}

func (r *RampSpec) check(mode string, concurrency []int) error {
	if r == nil {
		return nil
	}
	switch {
	case r.Over.Duration <= 0:
		return errors.New("ramp.over: want the ramp's length, above 0 (e.g. 60s)")
	case mode != ModeRate && mode != ModeConcurrency:
		return errors.New("ramp applies to mode rate or concurrency")
	case r.From < 0 || math.IsNaN(r.From) || math.IsInf(r.From, 0):
		return fmt.Errorf("ramp.from %g: want 0 or more", r.From)
	case mode == ModeConcurrency && (r.From < 1 || r.From != math.Trunc(r.From)):
		return fmt.Errorf("ramp.from %g: in mode concurrency, want a whole number of requests, at least 1", r.From)
	}
	for _, c := range concurrency {
		if r.From > float64(c) {
			return fmt.Errorf("ramp.from %g is above concurrency %d: a concurrency ramp rises", r.From, c)
		}
	}
	return nil
}

func firstDup[T comparable](list []T) (T, bool) {
	for i, v := range list {
		if slices.Contains(list[:i], v) {
			return v, true
		}
	}
	var zero T
	return zero, false
}

// Duration is a time.Duration written in YAML as "30m", "1h" or "0s".
type Duration struct{ time.Duration }

// UnmarshalYAML implements yaml.Unmarshaler.
func (d *Duration) UnmarshalYAML(n *yaml.Node) error {
	v, err := time.ParseDuration(n.Value)
	if err != nil {
		return fmt.Errorf("line %d: %q is not a duration (e.g. 30m, 90s)", n.Line, n.Value)
	}
	d.Duration = v
	return nil
}
