package loadgen_test

import (
	"bytes"
	"context"
	"slices"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/llmbench/llmbench/backends/openai/openaitest"
	"github.com/llmbench/llmbench/loadgen"
)

// TestConcurrencyRampRun: a concurrency ramp from 1 to 4 over 300 ms starts
// the workers at 0, 100, 200 and 300 ms: each worker's first request is
// scheduled exactly then (the records say so), and all four end up in flight.
func TestConcurrencyRampRun(t *testing.T) {
	srv := openaitest.NewServer(openaitest.Script{TTFT: 60 * time.Millisecond, ITL: 10 * time.Millisecond})
	defer srv.Close()
	var buf bytes.Buffer
	p := point(t, loadgen.Spec{Concurrency: loadgen.Ints{4}, Requests: 24,
		Ramp: &loadgen.RampSpec{From: 1, Over: loadgen.Duration{Duration: 300 * time.Millisecond}}})
	rep, err := loadgen.RunPoint(context.Background(), backend(t, srv.URL), p, requests(3, 4), loadgen.WithRecords(loadgen.NewRecordWriter(&buf), "ramp"))
	require.NoError(t, err)
	assert.Equal(t, 24, rep.Succeeded)
	assert.Equal(t, 4, rep.MaxInFlight)
	var scheduled []int64
	for _, r := range readRecords(t, buf.Bytes()) {
		scheduled = append(scheduled, r.Scheduled)
	}
	for _, at := range []time.Duration{0, 100 * time.Millisecond, 200 * time.Millisecond, 300 * time.Millisecond} {
		assert.Contains(t, scheduled, int64(at), "a worker starts at %v", at)
	}
	assert.Equal(t, int64(0), slices.Min(scheduled))
}

// TestRateRampRun: a rate ramp from 10 to 40 requests/s over 1 s sends its
// 25 requests (Λ(1 s) = 25) on the ramp's schedule, each at the root of
// Λ(t) = 10t + 15t² = i, and none early.
func TestRateRampRun(t *testing.T) {
	srv := openaitest.NewServer(openaitest.Script{})
	defer srv.Close()
	var buf bytes.Buffer
	p := point(t, loadgen.Spec{Rate: loadgen.Floats{40}, Requests: 25,
		Ramp: &loadgen.RampSpec{From: 10, Over: loadgen.Duration{Duration: time.Second}}})
	_, err := loadgen.RunPoint(context.Background(), backend(t, srv.URL), p, requests(3, 2), loadgen.WithRecords(loadgen.NewRecordWriter(&buf), "ramp"))
	require.NoError(t, err)
	recs := readRecords(t, buf.Bytes())
	require.Len(t, recs, 25)
	for _, r := range recs {
		s := time.Duration(r.Scheduled).Seconds()
		assert.InDelta(t, float64(r.I), 10*s+15*s*s, 1e-6, "request %d at %.6fs", r.I, s)
		assert.GreaterOrEqual(t, r.Sent, r.Scheduled)
	}
}
