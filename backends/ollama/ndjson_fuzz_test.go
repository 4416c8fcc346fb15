package ollama_test

import (
	"bufio"
	"bytes"
	"context"
	"encoding/json"
	"net/http"
	"net/http/httptest"
	"net/url"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/ollama/ollama/api"

	"github.com/llmbench/llmbench/backends"
	"github.com/llmbench/llmbench/backends/ollama"
)

// fuzzStatuses are the HTTP statuses FuzzGenerateNDJSON answers with, picked by
// one input byte: mostly 200.
var fuzzStatuses = []int{200, 200, 200, 200, 400, 404, 500, 503}

// FuzzGenerateNDJSON serves arbitrary bytes as the NDJSON body of Ollama's
// /api/generate to the ollama backend's public Generate. It must not panic or
// hang, must return a result, every error must name the model, and a success
// must be what the stream says: the text and content chunks of its messages,
// a final done message, and its eval_count of at least the tokens asked for
// (an independent reading of the same lines, as Ollama's client reads them).
func FuzzGenerateNDJSON(f *testing.F) {
	var (
		mu     sync.Mutex
		body   []byte
		status int
	)
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.URL.Path != "/api/generate" {
			http.NotFound(w, r)
			return
		}
		w.Header().Set("Content-Type", "application/x-ndjson")
		w.WriteHeader(status)
		w.Write(body)
	}))
	f.Cleanup(srv.Close)
	u, _ := url.Parse(srv.URL)
	b := ollama.New(u, "m", backends.Spec{Name: "fault-model", Model: "m", Options: backends.Options{MaxTokens: 8, Seed: 1, Context: 64}})

	f.Add([]byte("{\"response\":\"a\",\"done\":false}\n{\"response\":\"\",\"done\":true,\"eval_count\":1}\n"), uint8(0), uint8(1))
	f.Fuzz(func(t *testing.T, data []byte, st, maxTokens uint8) {
		mu.Lock()
		defer mu.Unlock()
		body, status = data, fuzzStatuses[int(st)%len(fuzzStatuses)]
		req := backends.Request{Prompt: "p", MaxTokens: int(maxTokens % 4), Seed: 1}
		ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
		defer cancel()
		res, err := b.Generate(ctx, req)
		if ctx.Err() != nil {
			t.Fatalf("Generate took 10 s over a %d-byte body: %v", len(data), err)
		}
		if res == nil {
			t.Fatalf("nil result (error %v)", err)
		}
		if err != nil {
			if !strings.Contains(err.Error(), "fault-model") {
				t.Fatalf("error %q does not name the model", err)
			}
			return
		}
		want, ok := readNDJSON(data, status, req.MaxTokens)
		if !ok {
			t.Fatalf("Generate succeeded (%q) on a stream that fails: status %d, %q", res.Text, status, data)
		}
		if res.Text != want.Text || len(res.Chunks) != len(want.Chunks) || res.OutputTokens != want.OutputTokens ||
			res.PromptTokens != want.PromptTokens || res.Done.IsZero() {
			t.Fatalf("got %q, %d chunks, %d/%d tokens, done %v; the stream says %q, %d chunks, %d/%d tokens",
				res.Text, len(res.Chunks), res.PromptTokens, res.OutputTokens, !res.Done.IsZero(),
				want.Text, len(want.Chunks), want.PromptTokens, want.OutputTokens)
		}
	})
}

// readNDJSON reads a /api/generate body line by line as Ollama's Go client
// does, and says what a generation asking for maxTokens must return: ok is
// false when it must fail.
func readNDJSON(data []byte, status, maxTokens int) (res backends.Result, ok bool) {
	var last api.GenerateResponse
	sc := bufio.NewScanner(bytes.NewReader(data))
	sc.Buffer(nil, 8<<20)
	for sc.Scan() {
		var e struct {
			Error string `json:"error"`
		}
		if json.Unmarshal(sc.Bytes(), &e) != nil || status >= 400 || e.Error != "" {
			return res, false
		}
		var m api.GenerateResponse
		if json.Unmarshal(sc.Bytes(), &m) != nil {
			return res, false
		}
		if m.Response != "" {
			res.Text += m.Response
			res.Chunks = append(res.Chunks, time.Time{})
		}
		last = m
	}
	res.PromptTokens, res.OutputTokens = last.PromptEvalCount, last.EvalCount
	return res, last.Done && last.EvalCount >= maxTokens
}
