package loadgen_test

import (
	"context"
	"errors"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/llmbench/llmbench/backends"
	"github.com/llmbench/llmbench/loadgen"
	"github.com/llmbench/llmbench/metric"
)

// chatFake answers a conversation of turn k (2k−1 messages) with timestamps
// it makes up: the first chunk k ms after the send, then 4 more k·100µs
// apart, and as prompt tokens the words of every message. Its answer is
// "a b c". A conversation whose first message contains "fail" fails at its
// second turn.
type chatFake struct {
	mu   sync.Mutex
	seen [][]backends.Message
	// cap, when set, caps the prompt tokens, as an engine that cuts a
	// conversation longer than its context.
	cap int
}

func (f *chatFake) Generate(_ context.Context, req backends.Request) (*backends.Result, error) {
	f.mu.Lock()
	f.seen = append(f.seen, req.Messages)
	f.mu.Unlock()
	k := (len(req.Messages) + 1) / 2
	if k == 0 {
		return nil, errors.New("no conversation")
	}
	if k == 2 && strings.Contains(req.Messages[0].Content, "fail") {
		return nil, backends.ErrShort
	}
	words := 0
	for _, m := range req.Messages {
		words += len(strings.Fields(m.Content))
	}
	if f.cap > 0 {
		words = min(words, f.cap)
	}
	r := &backends.Result{Sent: time.Now(), Text: "a b c", PromptTokens: words, OutputTokens: 5}
	at := r.Sent.Add(time.Duration(k) * time.Millisecond)
	for range 5 {
		r.Chunks = append(r.Chunks, at)
		at = at.Add(time.Duration(k) * 100 * time.Microsecond)
	}
	r.Done = at
	return r, nil
}

func (f *chatFake) Close() error { return nil }

// TestSessionsKnownAnswer: two sessions of three turns at once on a backend of
// known timings and counts. Each turn sends the conversation so far (the
// answers included, the salt on the first message only), each turn's
// metrics are its own known TTFT, ITL and prompt tokens, and a turn is sent
// no sooner than the think time after the previous answer's end.
func TestSessionsKnownAnswer(t *testing.T) {
	const think = 30 * time.Millisecond
	f := &chatFake{}
	p := point(t, loadgen.Spec{Concurrency: loadgen.Ints{2}, Requests: 6, Sessions: &loadgen.SessionSpec{Turns: 3, ThinkTime: loadgen.Duration{Duration: think}}})
	var (
		mu    sync.Mutex
		sends = map[int]time.Time{}
		ends  = map[int]time.Time{}
	)
	rep, err := loadgen.RunPoint(context.Background(), f, p, requests(5, 5), loadgen.WithSalt(),
		loadgen.WithObserver(func(i int, req backends.Request, res *backends.Result, err error) {
			if err != nil {
				t.Errorf("request %d: %v", i, err)
				return
			}
			mu.Lock()
			defer mu.Unlock()
			sends[i], ends[i] = res.Sent, res.Done
		}))
	if err != nil {
		t.Fatal(err)
	}
	if rep.Succeeded != 6 || len(f.seen) != 6 {
		t.Fatalf("%d succeeded, %d sent: want 6", rep.Succeeded, len(f.seen))
	}
	firsts := map[string]bool{}
	for _, msgs := range f.seen {
		for j, m := range msgs {
			want := []string{backends.RoleUser, backends.RoleAssistant}[j%2]
			if m.Role != want || (j%2 == 1 && m.Content != "a b c") {
				t.Errorf("message %d of %d: %+v: want role %s, answers a b c", j, len(msgs), m, want)
			}
			if j > 0 && j%2 == 0 && strings.HasPrefix(m.Content, "[") {
				t.Errorf("message %d %q is salted: only a session's first is", j, m.Content)
			}
		}
		if !strings.HasPrefix(msgs[0].Content, "[") {
			t.Errorf("first message %q is not salted", msgs[0].Content)
		}
		firsts[msgs[0].Content] = true
	}
	if len(firsts) != 2 {
		t.Errorf("first messages %v: want one per session, each salted apart", firsts)
	}
	m := metrics(rep)
	for k := 1; k <= 3; k++ {
		// Turn k: the first user message of 3 words ("[salt] prompt N"), k−1
		// more of 2 ("prompt N") and k−1 answers of 3.
		words := float64(3 + 2*(k-1) + 3*(k-1))
		if got := m[metric.TurnPromptTokens(k)]; got != words {
			t.Errorf("turn %d prompt tokens %v, want %v", k, got, words)
		}
		for _, q := range []int{50, 99} {
			if got, want := m[metric.TurnQuantile(k, "ttft", q)], float64(time.Duration(k)*time.Millisecond); got != want {
				t.Errorf("turn %d ttft p%d %v, want %v", k, q, got, want)
			}
			if got, want := m[metric.TurnQuantile(k, "itl", q)], float64(time.Duration(k)*100*time.Microsecond); got != want {
				t.Errorf("turn %d itl p%d %v, want %v", k, q, got, want)
			}
		}
	}
	if got, ok := m["shrunk-turns"]; !ok || got != 0 {
		t.Errorf("shrunk-turns %v (reported %v): want 0, every prompt grew", got, ok)
	}
	if _, ok := m[metric.TurnPromptTokens(4)]; ok {
		t.Error("a fourth turn's metrics")
	}
	for s := range 2 {
		for k := 1; k < 3; k++ {
			i := 3*s + k
			if gap := sends[i].Sub(ends[i-1]); gap < think {
				t.Errorf("session %d turn %d sent %v after the answer's end: want at least the think time %v", s, k+1, gap, think)
			}
		}
	}
}

// TestSessionFailedTurnEndsIt: a turn that fails ends its session (the
// conversation has no answer to go on from), counted as failed; the other
// sessions run whole.
func TestSessionFailedTurnEndsIt(t *testing.T) {
	f := &chatFake{}
	reqs := []backends.Request{{Prompt: "fail here", MaxTokens: 5}, {Prompt: "x", MaxTokens: 5}, {Prompt: "y", MaxTokens: 5}, {Prompt: "z", MaxTokens: 5}}
	p := point(t, loadgen.Spec{Requests: 9, Sessions: &loadgen.SessionSpec{Turns: 3}})
	rep, err := loadgen.RunPoint(context.Background(), f, p, reqs)
	if err != nil {
		t.Fatal(err)
	}
	// Request i = 3s + t takes prompt i mod 4: session 0 starts with "fail
	// here" (its turn 2 fails, its turn 3 is not sent), sessions 1 and 2 with
	// "z" and "y".
	if rep.Succeeded != 7 || rep.Failed != 1 || len(f.seen) != 8 {
		t.Errorf("%d ok, %d failed, %d sent: want 7, 1, 8", rep.Succeeded, rep.Failed, len(f.seen))
	}
	if len(rep.Turns) != 3 || rep.Turns[0].Succeeded != 3 || rep.Turns[1].Succeeded != 2 || rep.Turns[2].Succeeded != 2 {
		t.Errorf("turns %+v: want 3, 2, 2 successes", rep.Turns)
	}
}

// TestSessionShrunk: turns whose prompt does not grow (the engine cut the
// conversation) are counted: prompts of 2, 7 and 12 words capped at 7 make
// turn 3 one of the two later turns.
func TestSessionShrunk(t *testing.T) {
	f := &chatFake{cap: 7}
	p := point(t, loadgen.Spec{Requests: 6, Sessions: &loadgen.SessionSpec{Turns: 3}})
	rep, err := loadgen.RunPoint(context.Background(), f, p, requests(3, 5))
	if err != nil {
		t.Fatal(err)
	}
	if m := metrics(rep); rep.Shrunk != 2 || m["shrunk-turns"] != 0.5 || m[metric.TurnPromptTokens(3)] != 7 {
		t.Errorf("shrunk %d, shrunk-turns %v, turn 3's prompt %v: want 2 (one per session), 0.5, 7", rep.Shrunk, m["shrunk-turns"], m[metric.TurnPromptTokens(3)])
	}
}

func TestSessionPointCheck(t *testing.T) {
	f := &chatFake{}
	for _, p := range []loadgen.Point{
		{Name: "rate=1", Mode: loadgen.ModeRate, Rate: 1, Arrival: loadgen.ArrivalConstant, Requests: 4, Session: loadgen.Session{Turns: 2}},
		{Name: "concurrency=1", Mode: loadgen.ModeSequential, Concurrency: 1, Requests: 5, Session: loadgen.Session{Turns: 2}},
	} {
		if _, err := loadgen.RunPoint(context.Background(), f, p, requests(1, 1)); err == nil {
			t.Errorf("%+v: no error", p)
		}
	}
	if _, err := loadgen.SplitPoint(point(t, loadgen.Spec{Concurrency: loadgen.Ints{4}, Requests: 8, Sessions: &loadgen.SessionSpec{Turns: 2}}), 0, 2, "plan"); err == nil ||
		!strings.Contains(err.Error(), "sessions cannot be split over 2 shards") {
		t.Errorf("split sessions: %v", err)
	}
}
