package loadgen_test

import (
	"bytes"
	"context"
	"fmt"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/llmbench/llmbench/backends"
	"github.com/llmbench/llmbench/backends/openai/openaitest"
	"github.com/llmbench/llmbench/loadgen"
)

const (
	mooncakeTrace = "../testdata/traces/mooncake-small.jsonl"
	burstTrace    = "../testdata/traces/burstgpt-small.csv"
)

func traceSpec(file string, scale float64, from, to time.Duration) *loadgen.TraceSpec {
	t := &loadgen.TraceSpec{File: file, TimeScale: scale}
	t.Window.From.Duration, t.Window.To.Duration = from, to
	return t
}

// TestReadTrace: the shipped synthetic traces' known entries, a window and a
// time scale: Mooncake's entries at 339 and 354 ms in the window [300 ms,
// 1 s) at scale 0.5 are sent at 19.5 and 27 ms; BurstGPT's first row (0.103
// s, 241 → 4 tokens) and its failed row (0 response tokens) left out.
func TestReadTrace(t *testing.T) {
	all, err := loadgen.ReadTrace(traceSpec(mooncakeTrace, 0, 0, 0))
	require.NoError(t, err)
	require.Len(t, all, 40)
	assert.Equal(t, loadgen.TraceEntry{At: 202 * time.Millisecond, Input: 513, Output: 4, HashIDs: []int{0, 1}, Line: 1}, all[0])
	assert.Equal(t, 5041*time.Millisecond, all[39].At)

	win, err := loadgen.ReadTrace(traceSpec(mooncakeTrace, 0.5, 300*time.Millisecond, time.Second))
	require.NoError(t, err)
	var want int
	for _, e := range all {
		if e.At >= 300*time.Millisecond && e.At < time.Second {
			want++
		}
	}
	require.Len(t, win, want)
	assert.Equal(t, 19500*time.Microsecond, win[0].At, "(339 ms − 300 ms) × 0.5")
	assert.Equal(t, 27*time.Millisecond, win[1].At, "(354 ms − 300 ms) × 0.5")
	assert.Equal(t, 3, win[0].Line)

	b, err := loadgen.ReadTrace(traceSpec(burstTrace, 0, 0, 0))
	require.NoError(t, err)
	assert.Len(t, b, 23, "24 rows, one with 0 response tokens left out")
	assert.Equal(t, loadgen.TraceEntry{At: 103 * time.Millisecond, Input: 241, Output: 4, Line: 2}, b[0])
	for _, e := range b {
		assert.NotEqual(t, 6, e.Line, "line 6 is the failed request")
	}
}

func TestParseTraceErrors(t *testing.T) {
	for _, tc := range []struct{ file, text, want string }{
		{"t.jsonl", `{"timestamp": 1, "input_length": 2, "output_length": 3}` + "\nnot json\n", "t.jsonl:2: invalid character"},
		{"t.jsonl", `{"timestamp": 1, "input_length": 2}`, "t.jsonl:1: want timestamp, input_length and output_length"},
		{"t.jsonl", `{"timestamp": 1, "input_length": 0, "output_length": 3}`, "t.jsonl:1: want timestamp ≥ 0 and lengths ≥ 1"},
		{"t.jsonl", `{"timestamp": 5, "input_length": 2, "output_length": 3}` + "\n" + `{"timestamp": 4, "input_length": 2, "output_length": 3}`, "t.jsonl:2: timestamp 4ms is before the previous entry's 5ms"},
		{"t.csv", "Timestamp,Request tokens\n1,2\n", `t.csv:1: no column "Response tokens"`},
		{"t.csv", "Timestamp,Request tokens,Response tokens\n1,2,x\n", `t.csv:2: Response tokens "x": want a number ≥ 0`},
		{"t.csv", "Timestamp,Request tokens,Response tokens\n1,2,0\n", "t.csv: no entry in the window [0s, 0s)"},
	} {
		_, err := loadgen.ParseTrace(strings.NewReader(tc.text), &loadgen.TraceSpec{File: tc.file})
		if err == nil || !strings.Contains(err.Error(), tc.want) {
			t.Errorf("%q: got %v, want %q", tc.text, err, tc.want)
		}
	}
}

// TestTraceRequests: a prompt of as many words as the entry's input length,
// its output length asked for, and a shared prefix where Mooncake's hash ids
// are shared (entries 0 and 1 both start with blocks 0 and 1).
func TestTraceRequests(t *testing.T) {
	es, err := loadgen.ReadTrace(traceSpec(mooncakeTrace, 0, 0, 0))
	require.NoError(t, err)
	reqs := loadgen.TraceRequests(es, backends.Request{Seed: 7, MaxTokens: 99})
	for i, r := range reqs {
		assert.Len(t, strings.Fields(r.Prompt), es[i].Input)
		assert.Equal(t, es[i].Output, r.MaxTokens)
		assert.Equal(t, 7, r.Seed)
	}
	w0, w1, w2 := strings.Fields(reqs[0].Prompt), strings.Fields(reqs[1].Prompt), strings.Fields(reqs[2].Prompt)
	assert.Equal(t, w0, w1[:513], "entry 1 shares entry 0's blocks 0 and 1, as far as entry 0 goes")
	assert.NotEqual(t, w0[:32], w2[:32], "entry 2's block is its own")
	assert.Equal(t, reqs, loadgen.TraceRequests(es, backends.Request{Seed: 7, MaxTokens: 99}), "the same every time")
}

// TestTraceReplay replays the Mooncake trace's first 1.5 s at half speed on
// the scripted server: every request is scheduled exactly at its entry's
// scaled time, sent within the lag bound (100 ms, generous on a shared
// machine) and gets its own lengths: the server counts the prompt's words and
// streams the output length asked for.
func TestTraceReplay(t *testing.T) {
	srv := openaitest.NewServer(openaitest.Script{TTFT: 5 * time.Millisecond, ITL: time.Millisecond})
	defer srv.Close()
	spec := loadgen.Spec{Trace: traceSpec(mooncakeTrace, 0.5, 0, 1500*time.Millisecond)}
	p := point(t, spec)
	assert.Equal(t, "trace=mooncake-small", p.Name)
	es, err := loadgen.ReadTrace(spec.Trace)
	require.NoError(t, err)
	for _, e := range es {
		p.Trace = append(p.Trace, e.At)
	}
	var buf bytes.Buffer
	rep, err := loadgen.RunPoint(context.Background(), backend(t, srv.URL), p, loadgen.TraceRequests(es, backends.Request{}), loadgen.WithRecords(loadgen.NewRecordWriter(&buf), "trace"))
	require.NoError(t, err)
	assert.Equal(t, len(es), rep.Succeeded, "every entry of the window, no other")
	const bound = 100 * time.Millisecond
	assert.LessOrEqual(t, rep.Lag.Max(), bound)
	recs := readRecords(t, buf.Bytes())
	require.Len(t, recs, len(es))
	for _, r := range recs {
		e := es[r.I]
		assert.Equal(t, int64(e.At), r.Scheduled, "entry %d (line %d): scheduled at its scaled time", r.I, e.Line)
		assert.LessOrEqual(t, time.Duration(r.Sent-r.Scheduled), bound, "entry %d sent within the lag bound", r.I)
		assert.GreaterOrEqual(t, r.Sent, r.Scheduled)
		assert.Equal(t, e.Output, r.OutputTokens)
		assert.Equal(t, e.Input, r.PromptTokens, "the scripted server counts words")
	}
	_, err = loadgen.RunPoint(context.Background(), backend(t, srv.URL), p, requests(3, 2))
	assert.ErrorContains(t, err, fmt.Sprintf("3 requests for a trace of %d entries", len(es)))
}
