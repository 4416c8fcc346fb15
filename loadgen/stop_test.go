package loadgen_test

import (
	"bytes"
	"context"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/llmbench/llmbench/backends/openai/openaitest"
	"github.com/llmbench/llmbench/loadgen"
)

// TestStopErrorRate: a server that fails every request from the 11th on.
// Sequential, window 10, error_rate 0.5: after k ≥ 10 finished, k − 10 failed,
// and (k − 10)/k > 0.5 first at k = 21, so exactly 21 requests are sent of the
// 100 asked, 10 succeed, and the report says why it stopped.
func TestStopErrorRate(t *testing.T) {
	srv := openaitest.NewServer(openaitest.Script{}, openaitest.WithPlan(func(r openaitest.Request) openaitest.Script {
		if r.Index >= 10 {
			return openaitest.Script{Fault: openaitest.FaultStatus, Status: 503}
		}
		return openaitest.Script{}
	}))
	defer srv.Close()
	p := point(t, loadgen.Spec{Requests: 100, Stop: &loadgen.StopSpec{ErrorRate: 0.5}})
	rep, err := loadgen.RunPoint(context.Background(), backend(t, srv.URL), p, requests(3, 2))
	require.NoError(t, err, "an early stop is a result, not an error")
	assert.Equal(t, int64(21), srv.Requests())
	assert.Equal(t, 10, rep.Succeeded)
	assert.Equal(t, 11, rep.Failed)
	assert.Equal(t, "error rate 0.524 > 0.5 after 21 requests", rep.Stopped)
	m := metrics(rep)
	assert.Equal(t, 1.0, m["stopped-early"])
	assert.InDelta(t, 11.0/21, m["error-rate"], 1e-12)
	var text strings.Builder
	require.NoError(t, rep.WriteText(&text))
	assert.Contains(t, text.String(), "(stopped early: error rate 0.524 > 0.5 after 21 requests)")

	// Merged with a run that did not stop: half the runs stopped early.
	calm := openaitest.NewServer(openaitest.Script{})
	defer calm.Close()
	other, err := loadgen.RunPoint(context.Background(), backend(t, calm.URL), p, requests(3, 2))
	require.NoError(t, err)
	assert.Equal(t, 0.0, metrics(other)["stopped-early"], "reported as 0 when a bound is set and the run went to its end")
	rep.Merge(other)
	assert.Equal(t, 0.5, metrics(rep)["stopped-early"])
	var round loadgen.Report
	data, err := rep.MarshalJSON()
	require.NoError(t, err)
	require.NoError(t, round.UnmarshalJSON(data))
	assert.Equal(t, 0.5, metrics(&round)["stopped-early"], "lossless: merges across shards keep it")
}

// TestStopTTFTGrowth: an open loop at 4× the capacity of a one-slot server
// (100 ms a request: 10 requests/s) queues without end, and each TTFT is
// longer than the one before. ttft_growth 3 over windows of 5 stops it long
// before its 200 requests: the requests in flight then are cancelled and
// counted as aborted, and their records say so.
func TestStopTTFTGrowth(t *testing.T) {
	srv := openaitest.NewQueue(1, 100*time.Millisecond, 10*time.Millisecond, 4).Start()
	defer srv.Close()
	var buf bytes.Buffer
	p := point(t, loadgen.Spec{Rate: loadgen.Floats{40}, Requests: 200, Stop: &loadgen.StopSpec{TTFTGrowth: 3, Window: 5}})
	rep, err := loadgen.RunPoint(context.Background(), backend(t, srv.URL), p, requests(3, 4), loadgen.WithRecords(loadgen.NewRecordWriter(&buf), "q"))
	require.NoError(t, err)
	t.Logf("%s: %d ok, %d aborted, %d sent", rep.Stopped, rep.Succeeded, rep.Aborted, srv.Requests())
	assert.Contains(t, rep.Stopped, "median TTFT of the latest 5 requests")
	assert.GreaterOrEqual(t, rep.Succeeded, 10, "two windows finished before the bound could trip")
	assert.Less(t, int(srv.Requests()), 200, "stopped before the end")
	assert.Positive(t, rep.Aborted, "at 4× capacity, requests were waiting when it stopped")
	assert.Zero(t, rep.Failed, "the cancelled ones are not failures")
	aborted := 0
	for _, r := range readRecords(t, buf.Bytes()) {
		if r.Aborted {
			aborted++
			assert.Equal(t, "canceled", r.Error)
		}
	}
	assert.Equal(t, rep.Aborted, aborted)
	assert.Equal(t, 1.0, metrics(rep)["stopped-early"])
}

// TestStopLag: rate 50/s with at most one request in flight on a server that
// takes 100 ms: request i waits about i × 80 ms for its slot. lag 300ms stops
// the run at the first request that waited longer, unsent.
func TestStopLag(t *testing.T) {
	srv := openaitest.NewServer(openaitest.Script{TTFT: 100 * time.Millisecond, Tokens: 1})
	defer srv.Close()
	p := point(t, loadgen.Spec{Rate: loadgen.Floats{50}, MaxConcurrency: 1, Requests: 100,
		Stop: &loadgen.StopSpec{Lag: loadgen.Duration{Duration: 300 * time.Millisecond}}})
	rep, err := loadgen.RunPoint(context.Background(), backend(t, srv.URL), p, requests(3, 1))
	require.NoError(t, err)
	t.Log(rep.Stopped)
	assert.Contains(t, rep.Stopped, "> 300ms at request ")
	assert.Less(t, rep.Succeeded, 10, "about 4 requests fit in 300 ms of lag (bounded generously)")
	// The bound is checked just before the send; the lag recorded is to the
	// transport's send stamp, a little later.
	assert.LessOrEqual(t, rep.Lag.Max(), 350*time.Millisecond, "no request beyond the bound was sent")
	assert.Equal(t, int64(rep.Succeeded+rep.Aborted), srv.Requests())
}
