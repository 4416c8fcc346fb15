package loadgen

import (
	"errors"
	"fmt"
	"slices"
	"strconv"
	"time"

	"github.com/llmbench/llmbench/backends"
	"github.com/llmbench/llmbench/metric"
)

// SessionSpec makes a load multi-turn, as the configuration writes it (load:
// sessions:): every worker of a sequential or concurrency load runs sessions
// (conversations) of Turns requests in order instead of single requests. Turn
// k+1 sends the whole conversation so far to the chat endpoint: every earlier
// user message and answer, then its own user message; ThinkTime passes
// between an answer's end and the next turn's send. Concurrency N is N
// sessions at once.
//
//	load:
//	  concurrency: [1, 4]
//	  requests: 40              # whole sessions: a multiple of turns
//	  sessions: {turns: 4, think_time: 2s}
type SessionSpec struct {
	// Turns is the number of requests of a session, from 2 to metric.MaxTurns.
	Turns int `yaml:"turns"`
	// ThinkTime is the pause between an answer and the next turn. Default 0.
	ThinkTime Duration `yaml:"think_time"`
}

// Session is a point's multi-turn shape; the zero value is none.
type Session struct {
	// Turns is the number of requests of each session; 0 means single requests.
	Turns int
	// ThinkTime passes between an answer and the next turn's send.
	ThinkTime time.Duration
}

func (s *SessionSpec) check(l *Spec, mode string) error {
	if s == nil {
		return nil
	}
	switch {
	case s.Turns < 2 || s.Turns > metric.MaxTurns:
		return fmt.Errorf("sessions.turns %d: want 2 to %d requests per session (per-turn metrics are named turn1… turn%d)", s.Turns, metric.MaxTurns, metric.MaxTurns)
	case s.ThinkTime.Duration < 0:
		return fmt.Errorf("sessions.think_time %v: want 0 or more", s.ThinkTime.Duration)
	case mode != ModeSequential && mode != ModeConcurrency:
		return fmt.Errorf("sessions apply to modes sequential and concurrency (N sessions at once), not %s", mode)
	case l.Search != nil:
		return errors.New("sessions cannot be searched: sweep concurrency instead")
	case l.Requests%s.Turns != 0:
		return fmt.Errorf("requests %d is not a whole number of sessions of %d turns: want a multiple of %d", l.Requests, s.Turns, s.Turns)
	}
	return nil
}

func (s *SessionSpec) session() Session {
	if s == nil {
		return Session{}
	}
	return Session{Turns: s.Turns, ThinkTime: s.ThinkTime.Duration}
}

// sessionRequests is the default request count of a multi-turn point: at
// least DefaultRequests, in whole sessions.
func sessionRequests(turns int) int { return (DefaultRequests + turns - 1) / turns * turns }

// errStopped ends a session whose turn was not sent because the run stopped.
var errStopped = errors.New("the run stopped")

// sessions runs the sessions of a multi-turn point.
type sessions struct {
	p    Point
	reqs []backends.Request
	// salt, when not empty, prefixes each session's first message.
	salt string
	// wait waits until a time; false when no more may be sent.
	wait func(time.Time) bool
	// send sends request i, turn turn of its session, planned for planned.
	send func(i int64, r backends.Request, planned time.Time, turn int) (*backends.Result, error)
	// shrunk notes a turn (after the first) whose prompt, as the engine
	// counted it, was not longer than the previous turn's.
	shrunk func()
}

// run runs session s: its turns in order, each sending the conversation so
// far, the first at planned, each later one its think time after the
// previous answer ended. Request i = s·Turns + t (turn t from 0) takes its
// user message from reqs[i mod len(reqs)], as a single request i does; the
// salt prefixes the session's first message, so sessions share no prefix
// while each turn extends its own. A failed turn ends the session: a
// conversation without its answer cannot go on.
func (ss *sessions) run(s int64, planned time.Time) {
	k := int64(ss.p.Session.Turns)
	var msgs []backends.Message
	prev := 0 // the previous turn's prompt tokens
	for t := range k {
		if t > 0 && !ss.wait(planned) {
			return
		}
		i := s*k + t
		r := ss.reqs[i%int64(len(ss.reqs))]
		if ss.salt != "" && t == 0 {
			r.Prompt = "[" + ss.salt + "-s" + strconv.FormatInt(s, 36) + "] " + r.Prompt
		}
		msgs = append(msgs, backends.Message{Role: backends.RoleUser, Content: r.Prompt})
		r.Messages = slices.Clip(msgs)
		res, err := ss.send(i, r, planned, int(t)+1)
		if err != nil {
			return
		}
		// The conversation only grows, so a prompt that does not is one the
		// engine cut (Ollama drops the oldest messages, then truncates, when
		// it outgrows the context).
		if t > 0 && res.PromptTokens > 0 && prev > 0 && res.PromptTokens <= prev {
			ss.shrunk()
		}
		prev = res.PromptTokens
		msgs = append(msgs, backends.Message{Role: backends.RoleAssistant, Content: res.Text})
		done := res.Done
		if done.IsZero() {
			done = time.Now()
		}
		planned = done.Add(ss.p.Session.ThinkTime)
	}
}

// TurnReport is what the successful requests of one turn index of a
// multi-turn load measured (docs/load.md).
type TurnReport struct {
	// Succeeded counts them; PromptTokens and OutputTokens sum the server's
	// counts.
	Succeeded                  int
	PromptTokens, OutputTokens int64
	// TTFT and ITL are their distributions (ITL pools every gap between
	// content chunks).
	TTFT, ITL *Histogram
}

func newTurnReport() *TurnReport { return &TurnReport{TTFT: NewHistogram(), ITL: NewHistogram()} }

func (t *TurnReport) record(res *backends.Result) {
	t.Succeeded++
	t.PromptTokens += int64(res.PromptTokens)
	t.OutputTokens += int64(res.OutputTokens)
	if len(res.Chunks) > 0 {
		t.TTFT.Record(res.TTFT())
	}
	for i := 1; i < len(res.Chunks); i++ {
		t.ITL.Record(res.Chunks[i].Sub(res.Chunks[i-1]))
	}
}

func (t *TurnReport) merge(o *TurnReport) {
	t.Succeeded += o.Succeeded
	t.PromptTokens += o.PromptTokens
	t.OutputTokens += o.OutputTokens
	t.TTFT.Merge(o.TTFT)
	t.ITL.Merge(o.ITL)
}

// turn returns the report of turn k (from 1), adding empty ones up to it.
func (r *Report) turn(k int) *TurnReport {
	for len(r.Turns) < k {
		r.Turns = append(r.Turns, newTurnReport())
	}
	return r.Turns[k-1]
}

// turnMetrics are a multi-turn point's metrics: shrunk-turns, the share of
// successful turns after the first whose prompt did not grow, then for each
// turn with a success the mean prompt tokens and the TTFT and ITL
// percentiles.
func (r *Report) turnMetrics() []Metric {
	var ms []Metric
	later := 0
	for _, t := range r.Turns[min(1, len(r.Turns)):] {
		later += t.Succeeded
	}
	if later > 0 {
		ms = append(ms, Metric{"shrunk-turns", float64(r.Shrunk) / float64(later)})
	}
	for i, t := range r.Turns {
		k := i + 1
		if t.Succeeded == 0 || k > metric.MaxTurns {
			continue
		}
		ms = append(ms, Metric{metric.TurnPromptTokens(k), float64(t.PromptTokens) / float64(t.Succeeded)})
		for _, d := range metric.TurnQuantiles {
			h := t.TTFT
			if d.Name == "itl" {
				h = t.ITL
			}
			if h.Count() == 0 {
				continue
			}
			for _, q := range d.Qs {
				ms = append(ms, Metric{metric.TurnQuantile(k, d.Name, q), float64(h.Percentile(float64(q)))})
			}
		}
	}
	return ms
}

// turnJSON is a TurnReport's lossless form.
type turnJSON struct {
	Succeeded                  int
	PromptTokens, OutputTokens int64
	TTFT, ITL                  []int64
}

func turnsJSON(ts []*TurnReport) []turnJSON {
	var out []turnJSON
	for _, t := range ts {
		out = append(out, turnJSON{t.Succeeded, t.PromptTokens, t.OutputTokens, t.TTFT.Values(), t.ITL.Values()})
	}
	return out
}

func turnsOf(js []turnJSON) []*TurnReport {
	var out []*TurnReport
	for _, j := range js {
		out = append(out, &TurnReport{Succeeded: j.Succeeded, PromptTokens: j.PromptTokens, OutputTokens: j.OutputTokens,
			TTFT: histogramOf(j.TTFT), ITL: histogramOf(j.ITL)})
	}
	return out
}
