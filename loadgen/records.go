package loadgen

import (
	"bufio"
	"encoding/json"
	"fmt"
	"io"
	"sync"
	"time"

	"github.com/llmbench/llmbench/backends"
)

// RecordsVersion is the version of the per-request record format ([Record],
// docs/load.md): every line carries it as "v". A change that renames or
// redefines a field raises it; adding a field does not.
const RecordsVersion = 1

// RecordsFile is the file, in the output folder, that a configuration's load
// runs with `records: true` write their per-request records to.
const RecordsFile = "requests.jsonl"

// Record is one request of a load run, as one JSON line: the raw data every
// metric of a run is computed from, so distributions can be drawn and runs
// merged exactly elsewhere. Times are in nanoseconds; send times are offsets
// from the run's Start (the origin of its schedule), chunk times offsets from
// the request's send.
type Record struct {
	// V is RecordsVersion.
	V int `json:"v"`
	// Bench names the run's benchmark (Load/model=M/rate=R) and Run counts the
	// runs of that benchmark in this output from 0.
	Bench string `json:"bench"`
	Run   int    `json:"run"`
	// I is the request's index in its run (request I used prompt I mod the
	// number of prompts; a trace's entry I).
	I int64 `json:"i"`
	// Start is the run's time zero, on the wall clock.
	Start time.Time `json:"start"`
	// Scheduled is when the request was planned to be sent and Sent when it
	// was: their difference is its schedule lag.
	Scheduled int64 `json:"scheduled_ns"`
	Sent      int64 `json:"sent_ns"`
	// TTFT is the time from Sent to the first content chunk; absent when no
	// content arrived.
	TTFT *int64 `json:"ttft_ns,omitempty"`
	// Chunks holds the arrival of every content chunk, from Sent (Chunks[0] is
	// the TTFT; the differences of successive ones are the ITLs).
	Chunks []int64 `json:"chunks_ns"`
	// E2E is from Sent to the end of the response (a failed request: to when
	// the failure was seen).
	E2E int64 `json:"e2e_ns"`
	// PromptTokens, OutputTokens and ReasoningTokens are the server's counts.
	PromptTokens    int `json:"prompt_tokens"`
	OutputTokens    int `json:"output_tokens"`
	ReasoningTokens int `json:"reasoning_tokens"`
	// Error is the kind of a failed request (docs/load.md's error kinds) and
	// Message its error; both absent for a success.
	Error   string `json:"error,omitempty"`
	Message string `json:"message,omitempty"`
	// Aborted marks a request the run's end cancelled: neither success nor
	// failure in the report.
	Aborted bool `json:"aborted,omitempty"`
	// Good says whether a successful request met every SLO of the point;
	// absent without an SLO.
	Good *bool `json:"good,omitempty"`
	// Session and Turn place a request of a multi-turn load (load: sessions):
	// its session's index in the run, from 0, and its turn in the session,
	// from 1 (I is Session·turns + Turn − 1). Both absent otherwise.
	Session *int64 `json:"session,omitempty"`
	Turn    int    `json:"turn,omitempty"`
}

// ReadRecords reads the records a RecordWriter wrote, one per line; file
// names the input in errors.
func ReadRecords(r io.Reader, file string) ([]Record, error) {
	var out []Record
	sc := bufio.NewScanner(r)
	sc.Buffer(nil, 1<<26) // a record holds every chunk time of its request
	for line := 1; sc.Scan(); line++ {
		var rec Record
		if err := json.Unmarshal(sc.Bytes(), &rec); err != nil {
			return nil, fmt.Errorf("%s:%d: %w", file, line, err)
		}
		if rec.V != RecordsVersion {
			return nil, fmt.Errorf("%s:%d: request record version %d: this llmbench reads version %d", file, line, rec.V, RecordsVersion)
		}
		out = append(out, rec)
	}
	if err := sc.Err(); err != nil {
		return nil, fmt.Errorf("%s: %w", file, err)
	}
	return out, nil
}

// RecordWriter writes records (and a search's probes, WriteSearch) as JSON lines, one Write each, so an unbuffered
// file holds every finished request at once. It is safe for concurrent use; the
// first write error is kept and returned by every later Write.
type RecordWriter struct {
	mu   sync.Mutex
	w    io.Writer
	err  error
	runs map[string]int
}

// NewRecordWriter returns a RecordWriter writing to w.
func NewRecordWriter(w io.Writer) *RecordWriter {
	return &RecordWriter{w: w, runs: map[string]int{}}
}

// Write writes one record.
func (rw *RecordWriter) Write(rec *Record) error { return rw.line(rec) }

// line writes v as one JSON line.
func (rw *RecordWriter) line(v any) error {
	data, err := json.Marshal(v)
	if err != nil {
		return fmt.Errorf("record: %w", err)
	}
	rw.mu.Lock()
	defer rw.mu.Unlock()
	if rw.err != nil {
		return rw.err
	}
	if _, err := rw.w.Write(append(data, '\n')); err != nil {
		rw.err = fmt.Errorf("writing request records: %w", err)
	}
	return rw.err
}

// nextRun returns the next run number of bench.
func (rw *RecordWriter) nextRun(bench string) int {
	rw.mu.Lock()
	defer rw.mu.Unlock()
	n := rw.runs[bench]
	rw.runs[bench]++
	return n
}

// WithRecords writes one record of every request of the run (not the warmup)
// to rw as it finishes, under the benchmark name bench. A failed write stops
// the run: no request is sent after it, and RunPoint returns the error.
func WithRecords(rw *RecordWriter, bench string) Option {
	return func(c *runConfig) { c.records, c.bench = rw, bench }
}

// newRecord returns the record of request i of a run that started at start:
// planned and sent are when it was planned and sent (res.Sent wins when set),
// done when it ended.
func newRecord(start time.Time, i int64, planned, sent, done time.Time, res *backends.Result, err error, aborted bool, slo SLO) *Record {
	if res != nil && !res.Sent.IsZero() {
		sent = res.Sent
	}
	rec := &Record{V: RecordsVersion, I: i, Start: start, Scheduled: int64(planned.Sub(start)),
		Sent: int64(sent.Sub(start)), E2E: int64(done.Sub(sent)), Chunks: []int64{}, Aborted: aborted}
	if res != nil {
		if !res.Done.IsZero() {
			rec.E2E = int64(res.E2E())
		}
		for _, c := range res.Chunks {
			rec.Chunks = append(rec.Chunks, int64(c.Sub(sent)))
		}
		if len(rec.Chunks) > 0 {
			rec.TTFT = &rec.Chunks[0]
		}
		rec.PromptTokens, rec.OutputTokens, rec.ReasoningTokens = res.PromptTokens, res.OutputTokens, res.ReasoningTokens
	}
	if err != nil {
		rec.Error, rec.Message = Kind(err), err.Error()
	} else if slo.Any() {
		g := meets(slo, res)
		rec.Good = &g
	}
	return rec
}
