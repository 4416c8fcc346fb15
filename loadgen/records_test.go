package loadgen_test

import (
	"bytes"
	"context"
	"errors"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/llmbench/llmbench/backends"
	"github.com/llmbench/llmbench/backends/openai/openaitest"
	"github.com/llmbench/llmbench/loadgen"
)

// readRecords parses JSON lines of records.
func readRecords(t *testing.T, data []byte) []loadgen.Record {
	t.Helper()
	recs, err := loadgen.ReadRecords(bytes.NewReader(data), "records")
	require.NoError(t, err)
	return recs
}

// TestRecordsGroundTruth runs a constant-rate point on the scripted server and
// checks every request's record against the schedule, the server's own send
// times and the report: the records hold exactly the samples the report's
// metrics are computed from.
func TestRecordsGroundTruth(t *testing.T) {
	const n, tokens = 12, 4
	delays := []time.Duration{30 * time.Millisecond, 5 * time.Millisecond, 5 * time.Millisecond, 5 * time.Millisecond}
	srv := openaitest.NewServer(openaitest.Script{}, openaitest.WithTraces(), openaitest.WithPlan(func(r openaitest.Request) openaitest.Script {
		if r.Prompt == "prompt 5" {
			return openaitest.Script{Fault: openaitest.FaultStatus, Status: 503}
		}
		return openaitest.Script{Delays: delays}
	}))
	defer srv.Close()
	var buf bytes.Buffer
	rw := loadgen.NewRecordWriter(&buf)
	p := point(t, loadgen.Spec{Rate: loadgen.Floats{20}, Requests: n, SLO: loadgen.SLOSpec{TTFT: loadgen.Duration{Duration: 10 * time.Second}}})
	var (
		mu      sync.Mutex
		results = map[int]*backends.Result{} // as Generate returned them, on the monotonic clock
	)
	observe := loadgen.WithObserver(func(i int, _ backends.Request, res *backends.Result, _ error) {
		mu.Lock()
		results[i] = res
		mu.Unlock()
	})
	rep, err := loadgen.RunPoint(context.Background(), backend(t, srv.URL), p, requests(n, tokens), loadgen.WithRecords(rw, "Load/model=m/rate=20"), observe)
	require.NoError(t, err)
	require.Equal(t, n-1, rep.Succeeded)
	recs := readRecords(t, buf.Bytes())
	require.Len(t, recs, n, "one record per request")

	var lag, ttft, itl, e2e []int64
	seen := map[int64]bool{}
	for _, r := range recs {
		assert.Equal(t, 1, r.V)
		assert.Equal(t, "Load/model=m/rate=20", r.Bench)
		assert.Equal(t, 0, r.Run)
		assert.False(t, seen[r.I], "request %d twice", r.I)
		seen[r.I] = true
		assert.True(t, r.Start.Equal(recs[0].Start), "one time zero per run")
		assert.Equal(t, int64(time.Duration(r.I)*50*time.Millisecond), r.Scheduled, "request %d: constant rate 20/s plans it at i·50ms", r.I)
		assert.GreaterOrEqual(t, r.Sent, r.Scheduled, "never sent before its time")
		lag = append(lag, r.Sent-r.Scheduled)
		if r.I == 5 {
			assert.Equal(t, "status", r.Error)
			assert.Contains(t, r.Message, "503")
			assert.Nil(t, r.Good)
			assert.Empty(t, r.Chunks)
			continue
		}
		assert.Empty(t, r.Error)
		require.Len(t, r.Chunks, tokens)
		assert.Equal(t, tokens, r.OutputTokens)
		assert.Equal(t, 2, r.PromptTokens, `"prompt N" is 2 words on the scripted server`)
		require.NotNil(t, r.TTFT)
		assert.Equal(t, r.Chunks[0], *r.TTFT)
		require.NotNil(t, r.Good)
		assert.True(t, *r.Good)
		ttft = append(ttft, *r.TTFT)
		e2e = append(e2e, r.E2E)
		for k := 1; k < len(r.Chunks); k++ {
			itl = append(itl, r.Chunks[k]-r.Chunks[k-1])
		}
		// The record holds the result's times exactly, and they agree with
		// the server's ground truth (one monotonic clock, one process): a
		// chunk is read after the server began writing it, and the request
		// is sent before the server saw it.
		res := results[int(r.I)]
		require.NotNil(t, res)
		trs := srv.Traces(requests(n, tokens)[r.I].Prompt)
		require.Len(t, trs, 1)
		assert.False(t, trs[0].Arrived.Before(res.Sent), "request %d arrived before it was sent", r.I)
		for k, c := range r.Chunks {
			assert.Equal(t, int64(res.Chunks[k].Sub(res.Sent)), c, "request %d chunk %d: the record is the result's", r.I, k)
			at := res.Chunks[k]
			assert.False(t, at.Before(trs[0].Before[k]), "request %d chunk %d read %v before the server wrote it", r.I, k, trs[0].Before[k].Sub(at))
			assert.Less(t, at.Sub(trs[0].Sent[k]), 2*time.Second, "request %d chunk %d", r.I, k)
		}
		assert.GreaterOrEqual(t, time.Duration(*r.TTFT), delays[0], "the scripted TTFT is a floor")
	}
	for _, c := range []struct {
		name      string
		got, want []int64
	}{{"lag", lag, rep.Lag.Values()}, {"ttft", ttft, rep.TTFT.Values()}, {"itl", itl, rep.ITL.Values()}, {"e2e", e2e, rep.E2E.Values()}} {
		slices.Sort(c.got)
		assert.Equal(t, c.want, c.got, "%s: the records' samples are the report's", c.name)
	}
}

// failAfter is a writer whose writes fail after n succeed.
type failAfter struct{ n int }

func (f *failAfter) Write(p []byte) (int, error) {
	if f.n == 0 {
		return 0, errors.New("disk full")
	}
	f.n--
	return len(p), nil
}

// TestRecordsWriteFails: the first failed record write stops the run (no
// request is sent after it) and RunPoint says why; later runs on the same
// writer fail at once.
func TestRecordsWriteFails(t *testing.T) {
	srv := openaitest.NewServer(openaitest.Script{})
	defer srv.Close()
	rw := loadgen.NewRecordWriter(&failAfter{n: 2})
	b := backend(t, srv.URL)
	p := point(t, loadgen.Spec{Requests: 20})
	rep, err := loadgen.RunPoint(context.Background(), b, p, requests(3, 2), loadgen.WithRecords(rw, "Load/model=m/concurrency=1"))
	require.Error(t, err)
	assert.Contains(t, err.Error(), "load concurrency=1: writing request records: disk full: the run stopped there")
	assert.Equal(t, int64(3), srv.Requests(), "sequential: the third record's write failed, nothing sent after it")
	assert.Equal(t, 3, rep.Succeeded, "what was measured is kept")
	_, err = loadgen.RunPoint(context.Background(), b, p, requests(3, 2), loadgen.WithRecords(rw, "Load/model=m/concurrency=1"))
	require.Error(t, err)
	assert.True(t, strings.Contains(err.Error(), "disk full"))
	assert.Equal(t, int64(4), srv.Requests(), "a second run on a failed writer stops after its first request")
}

func TestReadRecordsErrors(t *testing.T) {
	_, err := loadgen.ReadRecords(strings.NewReader(`{"v":1}`+"\n"+`{"v":2}`+"\n"), "r.jsonl")
	assert.EqualError(t, err, "r.jsonl:2: request record version 2: this llmbench reads version 1")
	_, err = loadgen.ReadRecords(strings.NewReader("{\n"), "r.jsonl")
	assert.ErrorContains(t, err, "r.jsonl:1: ")
}
