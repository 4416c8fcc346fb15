package openai_test

import (
	"context"
	"errors"
	"strings"
	"testing"
	"time"

	"github.com/llmbench/llmbench/backends"
	"github.com/llmbench/llmbench/backends/openai"
	"github.com/llmbench/llmbench/backends/openai/openaitest"
)

// faultBackend is the one place the fault, fuzz and leak tests of this package
// build a backend: model "fault-model" (the server's "fake") with 8 output
// tokens asked for.
func faultBackend(t testing.TB, o openai.Options, opts ...openai.Option) *openai.Backend {
	t.Helper()
	b, err := openai.New(backends.Spec{Name: "fault-model", Model: "fake", Options: backends.Options{MaxTokens: 8, Seed: 42}}, o, opts...)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { b.Close() })
	return b
}

// hangLimit is how long a generation that should end at once may take before
// the test calls it a hang: orders of magnitude above the milliseconds these
// scripted streams take.
const hangLimit = 3 * time.Second

// TestFaults injects each fault of issue 21 that a scripted server can, one per
// case, and checks the kind Generate names, what the partial result keeps, and
// that it neither hangs nor panics.
func TestFaults(t *testing.T) {
	const stall = 300 * time.Millisecond
	for _, tc := range []struct {
		name    string
		script  openaitest.Script
		kind    openai.Kind // "" for success
		status  int
		snippet bool // the error carries a body snippet
		chunks  int
		minTime time.Duration // the generation must have waited this long
	}{
		{name: "truncated JSON, clean end", script: openaitest.Script{Fault: openaitest.FaultTruncated, At: 3}, kind: openai.KindMalformed, snippet: true, chunks: 3},
		{name: "truncated JSON, connection cut", script: openaitest.Script{Fault: openaitest.FaultDrop, At: 0}, kind: openai.KindConnection},
		{name: "connection reset", script: openaitest.Script{Fault: openaitest.FaultReset, At: 4}, kind: openai.KindConnection, chunks: 4},
		{name: "429 with body", script: openaitest.Script{Fault: openaitest.FaultStatus, Status: 429}, kind: openai.KindStatus, status: 429, snippet: true},
		{name: "429 without body", script: openaitest.Script{Fault: openaitest.FaultStatus, Status: 429, EmptyBody: true}, kind: openai.KindStatus, status: 429},
		{name: "500 with body", script: openaitest.Script{Fault: openaitest.FaultStatus, Status: 500}, kind: openai.KindStatus, status: 500, snippet: true},
		{name: "500 without body", script: openaitest.Script{Fault: openaitest.FaultStatus, Status: 500, EmptyBody: true}, kind: openai.KindStatus, status: 500},
		{name: "503 with body", script: openaitest.Script{Fault: openaitest.FaultStatus, Status: 503}, kind: openai.KindStatus, status: 503, snippet: true},
		{name: "503 without body", script: openaitest.Script{Fault: openaitest.FaultStatus, Status: 503, EmptyBody: true}, kind: openai.KindStatus, status: 503},
		{name: "garbage after DONE", script: openaitest.Script{Fault: openaitest.FaultAfterDone}, chunks: 8},
		{name: "stall after DONE", script: openaitest.Script{Fault: openaitest.FaultStallAfterDone}, chunks: 8},
		{name: "stall before headers", script: openaitest.Script{Fault: openaitest.FaultStallHeaders}, kind: openai.KindStall, minTime: stall},
		{name: "stall mid-stream", script: openaitest.Script{Fault: openaitest.FaultStall, At: 5, ITL: time.Millisecond}, kind: openai.KindStall, chunks: 5, minTime: stall},
	} {
		t.Run(tc.name, func(t *testing.T) {
			srv := openaitest.NewServer(tc.script)
			defer srv.Close()
			b := faultBackend(t, openai.Options{Host: srv.URL}, openai.WithStallTimeout(stall))
			start := time.Now()
			res, err := b.Generate(context.Background(), backends.Request{Prompt: "p", MaxTokens: 8, Seed: 1})
			took := time.Since(start)
			if took > tc.minTime+hangLimit {
				t.Errorf("took %v: a hang", took)
			}
			if took < tc.minTime {
				t.Errorf("ended after %v, before the stall timeout %v", took, tc.minTime)
			}
			if res == nil {
				t.Fatalf("nil result, error %v", err)
			}
			if len(res.Chunks) != tc.chunks {
				t.Errorf("%d content chunks kept, want %d", len(res.Chunks), tc.chunks)
			}
			if tc.kind == "" {
				if err != nil || res.OutputTokens != 8 || res.Done.IsZero() {
					t.Errorf("got %v, %d tokens: want a complete generation", err, res.OutputTokens)
				}
				return
			}
			var oe *openai.Error
			if !errors.As(err, &oe) {
				t.Fatalf("error %v (%T) is not an *openai.Error", err, err)
			}
			if oe.Kind != tc.kind || oe.Status != tc.status || oe.Model != "fault-model" {
				t.Errorf("kind %q status %d model %q: want %q %d fault-model (%v)", oe.Kind, oe.Status, oe.Model, tc.kind, tc.status, err)
			}
			if (oe.Snippet != "") != tc.snippet {
				t.Errorf("snippet %q: want one: %v", oe.Snippet, tc.snippet)
			}
			if tc.kind == openai.KindStall && !strings.Contains(err.Error(), "no data for 300ms") {
				t.Errorf("stall error %q does not name the timeout", err)
			}
		})
	}
}

// TestAfterDoneBounded checks that once "data: [DONE]" is read, what the server
// does next cannot hold the generation: neither a response left open with no
// stall timeout set, nor garbage that keeps coming forever (which no stall
// timeout catches).
func TestAfterDoneBounded(t *testing.T) {
	for _, tc := range []struct {
		name  string
		fault openaitest.Fault
		stall time.Duration
	}{
		{"open response, no stall timeout", openaitest.FaultStallAfterDone, 0},
		{"endless garbage", openaitest.FaultTrickleAfterDone, 300 * time.Millisecond},
	} {
		t.Run(tc.name, func(t *testing.T) {
			srv := openaitest.NewServer(openaitest.Script{Fault: tc.fault})
			defer srv.Close()
			b := faultBackend(t, openai.Options{Host: srv.URL}, openai.WithStallTimeout(tc.stall))
			ctx, cancel := context.WithTimeout(context.Background(), hangLimit)
			defer cancel()
			res, err := b.Generate(ctx, backends.Request{Prompt: "p", MaxTokens: 8, Seed: 1})
			if ctx.Err() != nil {
				t.Fatalf("Generate read on after [DONE] until the caller's context ended (%v later)", hangLimit)
			}
			if err != nil || res.OutputTokens != 8 {
				t.Errorf("got %v, %d tokens: want the complete generation", err, res.OutputTokens)
			}
		})
	}
}
