package loadgen

import (
	"time"

	"github.com/llmbench/llmbench/backends"
)

// Sequence writes the records of generations sent one after another outside a
// load run — the timed generations of one window of a Generate case — as one
// run of a benchmark: request i is the run's i-th generation, scheduled when it
// was sent (nothing schedules them, so there is no lag), and the run's start is
// when the Sequence began.
type Sequence struct {
	rw    *RecordWriter
	bench string
	run   int
	start time.Time
	n     int64
}

// Sequence begins the next run of bench, its time zero now.
func (rw *RecordWriter) Sequence(bench string) *Sequence {
	return &Sequence{rw: rw, bench: bench, run: rw.nextRun(bench), start: time.Now()}
}

// Write writes the record of the run's next generation: sent is when it was
// handed to the backend (res.Sent, the transport's, wins when set), done when
// Generate returned res and err.
func (s *Sequence) Write(sent, done time.Time, res *backends.Result, err error) error {
	if res != nil && !res.Sent.IsZero() {
		sent = res.Sent
	}
	rec := newRecord(s.start, s.n, sent, sent, done, res, err, false, SLO{})
	rec.Bench, rec.Run = s.bench, s.run
	s.n++
	return s.rw.Write(rec)
}
