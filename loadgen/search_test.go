package loadgen_test

import (
	"bytes"
	"context"
	"fmt"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/llmbench/llmbench/backends/openai/openaitest"
	"github.com/llmbench/llmbench/loadgen"
)

func probed(res *loadgen.SearchResult) []string {
	var out []string
	for _, p := range res.Probes {
		out = append(out, fmt.Sprintf("%g:%v", p.Value, p.Pass))
	}
	return out
}

// TestSearchConcurrencyKnee: a scripted server of 5 slots of 150 ms (TTFT
// 10 ms when a slot is free). Up to concurrency 5 no request waits; at 6 one
// request in each round of 5 waits a whole service time (TTFT ≈ 160 ms), so
// about a fifth miss TTFT ≤ 90 ms and the probe misses a target of 95% (the
// 80 ms of margin absorb a loaded machine). The bisection over [2, 16] probes
// 2, 16, 9, 5, 7, 6 and finds 5, the knee.
func TestSearchConcurrencyKnee(t *testing.T) {
	srv := openaitest.NewQueue(5, 150*time.Millisecond, 10*time.Millisecond, 4).Start()
	defer srv.Close()
	p := point(t, loadgen.Spec{Concurrency: loadgen.Ints{2, 16}, Requests: 20,
		SLO: loadgen.SLOSpec{TTFT: loadgen.Duration{Duration: 90 * time.Millisecond}}, Search: &loadgen.SearchSpec{Target: 0.95}})
	assert.Equal(t, "search=concurrency", p.Name)
	var buf bytes.Buffer
	res, err := loadgen.RunSearch(context.Background(), backend(t, srv.URL), p, requests(3, 4), loadgen.WithRecords(loadgen.NewRecordWriter(&buf), "Load/model=m/search=concurrency"))
	require.NoError(t, err)
	assert.Equal(t, []string{"2:true", "16:false", "9:false", "5:true", "7:false", "6:false"}, probed(res))
	require.NotNil(t, res.Best)
	assert.Equal(t, 5.0, res.Best.Value)
	assert.False(t, res.AtHigh)
	for _, pr := range res.Probes {
		assert.Equal(t, 20, pr.Report.Succeeded+pr.Report.Failed, "every probe kept whole")
	}
	assert.Less(t, res.Probes[5].Share, 0.9, "concurrency 6: a fifth of the requests queue")
	names := map[string]int{}
	for _, r := range readRecords(t, buf.Bytes()) {
		names[r.Bench]++
	}
	assert.Equal(t, 20, names["Load/model=m/search=concurrency/concurrency=6"], "each probe's records under its own name")
	assert.Len(t, names, 6)
}

// TestSearchRateKnee: 4 slots of 100 ms serve 40 requests/s. Below that a
// constant rate never queues; above it request i of 40 waits about
// ⌊i/4⌋ × (100 ms − 4/R), so 90% of them stay within TTFT ≤ 60 ms (10 ms of
// service, 50 of wait) up to R = 4/(100 ms − 50 ms/8) = 42.7/s. The search
// over [20, 80] to within 1.875/s ends between 40 and 42.7 (bounded
// generously, for a loaded machine: 35 to 45).
func TestSearchRateKnee(t *testing.T) {
	srv := openaitest.NewQueue(4, 100*time.Millisecond, 10*time.Millisecond, 4).Start()
	defer srv.Close()
	p := point(t, loadgen.Spec{Rate: loadgen.Floats{20, 80}, Requests: 40,
		SLO: loadgen.SLOSpec{TTFT: loadgen.Duration{Duration: 60 * time.Millisecond}}, Search: &loadgen.SearchSpec{Target: 0.9}})
	res, err := loadgen.RunSearch(context.Background(), backend(t, srv.URL), p, requests(3, 4))
	require.NoError(t, err)
	t.Log(probed(res))
	require.NotNil(t, res.Best)
	assert.GreaterOrEqual(t, res.Best.Value, 35.0)
	assert.LessOrEqual(t, res.Best.Value, 45.0)
	assert.Len(t, res.Probes, 2+5, "two bounds, then 60/32 needs 5 halvings")
}

// TestSearchEnds: when the low bound fails there is no best; when the high one
// passes the search stops there and says so.
func TestSearchEnds(t *testing.T) {
	srv := openaitest.NewQueue(2, 100*time.Millisecond, 5*time.Millisecond, 2).Start()
	defer srv.Close()
	slo := loadgen.SLOSpec{TTFT: loadgen.Duration{Duration: 60 * time.Millisecond}}
	p := point(t, loadgen.Spec{Concurrency: loadgen.Ints{4, 8}, Requests: 8, SLO: slo, Search: &loadgen.SearchSpec{}})
	res, err := loadgen.RunSearch(context.Background(), backend(t, srv.URL), p, requests(3, 2))
	require.NoError(t, err)
	assert.Equal(t, []string{"4:false"}, probed(res))
	assert.Nil(t, res.Best)
	p = point(t, loadgen.Spec{Concurrency: loadgen.Ints{1, 2}, Requests: 6, SLO: slo, Search: &loadgen.SearchSpec{}})
	res, err = loadgen.RunSearch(context.Background(), backend(t, srv.URL), p, requests(3, 2))
	require.NoError(t, err)
	assert.Equal(t, []string{"1:true", "2:true"}, probed(res))
	assert.True(t, res.AtHigh)
	assert.Equal(t, 2.0, res.Best.Value)
}
