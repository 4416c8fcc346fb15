package openai_test

import (
	"context"
	"encoding/json"
	"errors"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"github.com/llmbench/llmbench/backends"
	"github.com/llmbench/llmbench/backends/openai"
	"github.com/llmbench/llmbench/backends/openai/openaitest"
)

// testModel is one model as the engine receives it: the spec and its options.
type testModel struct {
	spec backends.Spec
	opts openai.Options
}

func model(host string) testModel {
	return testModel{
		backends.Spec{Name: "fake-model", Model: "fake", Options: backends.Options{MaxTokens: 8, Temperature: 0.5, Seed: 42}},
		openai.Options{Host: host},
	}
}

func newBackend(t *testing.T, m testModel, opts ...openai.Option) *openai.Backend {
	t.Helper()
	b, err := openai.New(m.spec, m.opts, opts...)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { b.Close() })
	return b
}

func TestGenerateChat(t *testing.T) {
	srv := openaitest.NewServer(openaitest.Script{TTFT: 20 * time.Millisecond, ITL: 2 * time.Millisecond})
	defer srv.Close()
	m := model(srv.URL + "/v1/")
	m.opts.ExtraBody = map[string]any{"ignore_eos": true, "min_tokens": 8, "temperature": 0.0}
	t.Setenv("FAKE_KEY", "sekret")
	m.opts.APIKeyEnv = "FAKE_KEY"
	b := newBackend(t, m)

	res, err := b.Generate(context.Background(), backends.Request{Prompt: "say \"hi\" now", MaxTokens: 8, Seed: 7})
	if err != nil {
		t.Fatal(err)
	}
	if len(res.Chunks) != 8 || res.OutputTokens != 8 || res.PromptTokens != 3 {
		t.Errorf("chunks %d, output tokens %d, prompt tokens %d: want 8, 8, 3", len(res.Chunks), res.OutputTokens, res.PromptTokens)
	}
	if res.Text != strings.Repeat("tok ", 8) {
		t.Errorf("text %q", res.Text)
	}
	// The role chunk comes at once; TTFT must be the first content chunk's.
	if ttft := res.TTFT(); ttft < 20*time.Millisecond {
		t.Errorf("TTFT %v < 20ms: the role chunk was counted", ttft)
	}
	if res.Done.Before(res.Chunks[7]) || res.E2E() < res.TTFT() {
		t.Errorf("done %v before last chunk %v", res.Done, res.Chunks[7])
	}

	req := srv.Last()
	if req.Path != "/v1/chat/completions" || req.Header.Get("Authorization") != "Bearer sekret" {
		t.Errorf("path %q, auth %q", req.Path, req.Header.Get("Authorization"))
	}
	var body map[string]any
	if err := json.Unmarshal(req.Body, &body); err != nil {
		t.Fatalf("body %s: %v", req.Body, err)
	}
	want := map[string]any{
		"model": "fake", "stream": true, "stream_options": map[string]any{"include_usage": true},
		"max_tokens": 8.0, "seed": 7.0, "temperature": 0.0, "ignore_eos": true, "min_tokens": 8.0,
		"messages": []any{map[string]any{"role": "user", "content": `say "hi" now`}},
	}
	if g, w := mustJSON(body), mustJSON(want); g != w {
		t.Errorf("body\n got %s\nwant %s", g, w)
	}
}

func mustJSON(v any) string {
	b, _ := json.Marshal(v)
	return string(b)
}

func TestGenerateCompletions(t *testing.T) {
	srv := openaitest.NewServer(openaitest.Script{Text: "é\n\"x\""})
	defer srv.Close()
	m := model(srv.URL)
	m.opts.Endpoint = "completions"
	b := newBackend(t, m)
	res, err := b.Generate(context.Background(), backends.Request{Prompt: "p", MaxTokens: 5})
	if err != nil {
		t.Fatal(err)
	}
	if res.Text != strings.Repeat("é\n\"x\"", 5) || res.OutputTokens != 5 || len(res.Chunks) != 5 {
		t.Errorf("text %q tokens %d chunks %d", res.Text, res.OutputTokens, len(res.Chunks))
	}
	req := srv.Last()
	var body map[string]any
	json.Unmarshal(req.Body, &body)
	if req.Path != "/v1/completions" || body["prompt"] != "p" || body["seed"] != 0.0 || body["messages"] != nil {
		t.Errorf("path %s body %s", req.Path, req.Body)
	}
}

func TestNewErrors(t *testing.T) {
	for _, tc := range []struct {
		edit func(*testModel)
		want string
	}{
		{func(m *testModel) { m.opts.Host = "" }, `model "fake-model": no host`},
		{func(m *testModel) { m.opts.Endpoint = "embeddings" }, `endpoint "embeddings"`},
		{func(m *testModel) { m.opts.APIKeyEnv = "LLMBENCH_SURELY_UNSET" }, "api_key_env names LLMBENCH_SURELY_UNSET, which is empty or unset"},
		{func(m *testModel) { m.opts.ExtraBody = map[string]any{"f": func() {}} }, "extra_body.f"},
		{func(m *testModel) { m.opts.Host = "http://[::1" }, "host"},
	} {
		m := model("http://127.0.0.1:1")
		tc.edit(&m)
		_, err := openai.New(m.spec, m.opts)
		if err == nil || !strings.Contains(err.Error(), tc.want) {
			t.Errorf("got %v, want %q", err, tc.want)
		}
	}
}

func TestDescribe(t *testing.T) {
	b := newBackend(t, model("127.0.0.1:8000/v1"))
	d, err := b.Describe(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	want := backends.Description{Engine: "openai-compatible", Extra: [][2]string{
		{"base-url", "http://127.0.0.1:8000"}, {"endpoint", "/v1/chat/completions"}, {"server-model", "fake"}}}
	if mustJSON(d) != mustJSON(want) {
		t.Errorf("got %v want %v", d, want)
	}
}

func TestErrors(t *testing.T) {
	for _, tc := range []struct {
		name      string
		script    openaitest.Script
		maxTokens int
		kind      openai.Kind
		want      string // in the message
		chunks    int    // content chunks kept in the partial result
	}{
		{"status", openaitest.Script{Fault: openaitest.FaultStatus, Status: 503}, 8, openai.KindStatus, `HTTP 503: "{\"error\":{\"message\":\"scripted failure\"`, 0},
		{"drop", openaitest.Script{Fault: openaitest.FaultDrop, At: 3}, 8, openai.KindConnection, "unexpected EOF", 3},
		{"reset", openaitest.Script{Fault: openaitest.FaultReset, At: 2}, 8, openai.KindConnection, "", 2},
		{"malformed", openaitest.Script{Fault: openaitest.FaultMalformed, At: 4}, 8, openai.KindMalformed, "stream line 11", 4},
		{"stall", openaitest.Script{Fault: openaitest.FaultStall, At: 2}, 8, openai.KindStall, "no data for 200ms", 2},
		{"no-done", openaitest.Script{Fault: openaitest.FaultNoDone}, 8, openai.KindNoDone, "without data: [DONE]", 8},
		{"no-usage", openaitest.Script{Fault: openaitest.FaultNoUsage}, 8, openai.KindNoUsage, "cannot verify 8 output tokens", 8},
		{"error-event", openaitest.Script{Fault: openaitest.FaultErrorEvent, At: 1}, 8, openai.KindServer, "scripted error event", 1},
		{"short", openaitest.Script{Tokens: 5}, 8, openai.KindShort, "got 5 of 8 output tokens", 5},
	} {
		t.Run(tc.name, func(t *testing.T) {
			srv := openaitest.NewServer(tc.script)
			defer srv.Close()
			b := newBackend(t, model(srv.URL), openai.WithStallTimeout(200*time.Millisecond))
			res, err := b.Generate(context.Background(), backends.Request{Prompt: "p", MaxTokens: tc.maxTokens})
			var oe *openai.Error
			if !errors.As(err, &oe) {
				t.Fatalf("error %v (%T) is not an *openai.Error", err, err)
			}
			if oe.Kind != tc.kind || oe.Model != "fake-model" || !strings.Contains(err.Error(), `model "fake-model"`) {
				t.Errorf("kind %q model %q: want %q", oe.Kind, oe.Model, tc.kind)
			}
			if !strings.Contains(err.Error(), tc.want) {
				t.Errorf("error %q does not contain %q", err, tc.want)
			}
			if oe.ErrorKind() != string(tc.kind) {
				t.Errorf("ErrorKind %q", oe.ErrorKind())
			}
			if tc.kind == openai.KindShort && !errors.Is(err, backends.ErrShort) {
				t.Errorf("short error %v does not wrap backends.ErrShort", err)
			}
			if res == nil || len(res.Chunks) != tc.chunks {
				t.Errorf("partial result has %d chunks, want %d", len(res.Chunks), tc.chunks)
			}
		})
	}
}

func TestCanceled(t *testing.T) {
	srv := openaitest.NewServer(openaitest.Script{Fault: openaitest.FaultStall, At: 1})
	defer srv.Close()
	b := newBackend(t, model(srv.URL))
	ctx, cancel := context.WithTimeout(context.Background(), 100*time.Millisecond)
	defer cancel()
	_, err := b.Generate(ctx, backends.Request{Prompt: "p", MaxTokens: 4})
	var oe *openai.Error
	if !errors.As(err, &oe) || oe.Kind != openai.KindCanceled || !errors.Is(err, context.DeadlineExceeded) {
		t.Errorf("got %v, want kind canceled wrapping context.DeadlineExceeded", err)
	}
}

func TestConnectionRefused(t *testing.T) {
	srv := httptest.NewServer(http.NotFoundHandler())
	url := srv.URL
	srv.Close()
	b := newBackend(t, model(url))
	_, err := b.Generate(context.Background(), backends.Request{Prompt: "p"})
	var oe *openai.Error
	if !errors.As(err, &oe) || oe.Kind != openai.KindConnection {
		t.Errorf("got %v, want kind connection", err)
	}
}

// TestStreams feeds hand-written streams through Generate.
func TestStreams(t *testing.T) {
	chunk := func(content string) string {
		return `data: {"choices":[{"index":0,"delta":{"content":` + mustJSON(content) + `}}]}`
	}
	usage := `data: {"choices":[],"usage":{"prompt_tokens":1,"completion_tokens":2}}`
	for _, tc := range []struct {
		name, stream string
		kind         openai.Kind // "" for success
		text         string
		chunks       int
	}{
		{"crlf and comments", ": keep-alive\r\n\r\n" + chunk("a") + "\r\n\r\nevent: message\r\nid: 1\r\n" + chunk("b") + "\r\n\r\n" + usage + "\r\n\r\ndata: [DONE]\r\n\r\n", "", "ab", 2},
		{"role and empty chunks", `data: {"choices":[{"delta":{"role":"assistant"}}]}` + "\n\n" + chunk("") + "\n\n" + chunk("x") + "\n\n" + usage + "\n\ndata: [DONE]\n\n", "", "x", 1},
		{"no space after colon", "data:" + chunk("a")[6:] + "\n\n" + usage + "\n\ndata:[DONE]\n\n", "", "a", 1},
		{"multi-line data", "data: {\"choices\":[{\"delta\":\ndata: {\"content\":\"a\"}}]}\n\n" + usage + "\n\ndata: [DONE]\n", "", "a", 1},
		{"done without blank line at EOF", chunk("a") + "\n\n" + usage + "\n\ndata: [DONE]", "", "a", 1},
		{"reasoning is a chunk, not text", `data: {"choices":[{"delta":{"content":"","reasoning_content":"hm"}}]}` + "\n\n" + usage + "\n\ndata: [DONE]\n\n", "", "", 1},
		{"usage in every chunk, last wins", `data: {"choices":[{"text":"a"}],"usage":{"prompt_tokens":0,"completion_tokens":0}}` + "\n\n" + usage + "\n\ndata: [DONE]\n\n", "", "a", 1},
		{"bare JSON error", chunk("a") + "\n\n" + `{"error":{"message":"model crashed"}}` + "\n", openai.KindServer, "a", 1},
		{"not an event line", chunk("a") + "\n\nhello\n\n", openai.KindMalformed, "a", 1},
		{"bad JSON", "data: {\"choices\":\n\n", openai.KindMalformed, "", 0},
		{"wrong type", `data: {"choices":[{"delta":{"content":5}}]}` + "\n\n", openai.KindMalformed, "", 0},
		{"long line", "data: \"" + strings.Repeat("x", 5<<20) + "\"\n\n", openai.KindMalformed, "", 0},
		{"empty stream", "", openai.KindNoDone, "", 0},
	} {
		t.Run(tc.name, func(t *testing.T) {
			srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
				w.Header().Set("Content-Type", "text/event-stream")
				w.Write([]byte(tc.stream))
			}))
			defer srv.Close()
			b := newBackend(t, model(srv.URL))
			res, err := b.Generate(context.Background(), backends.Request{Prompt: "p"})
			var oe *openai.Error
			switch {
			case tc.kind == "" && err != nil:
				t.Fatalf("unexpected error %v", err)
			case tc.kind != "" && (!errors.As(err, &oe) || oe.Kind != tc.kind):
				t.Fatalf("got %v, want kind %s", err, tc.kind)
			}
			if res.Text != tc.text || len(res.Chunks) != tc.chunks {
				t.Errorf("text %q chunks %d, want %q %d", res.Text, len(res.Chunks), tc.text, tc.chunks)
			}
			if want := strings.Count(tc.stream, "reasoning_content"); res.Reasoning != want {
				t.Errorf("%d reasoning chunks, want %d", res.Reasoning, want)
			}
			if tc.kind == "" && (res.OutputTokens != 2 || res.PromptTokens != 1) {
				t.Errorf("usage %d %d", res.PromptTokens, res.OutputTokens)
			}
		})
	}
}

// TestAfterDone checks that what follows [DONE] does not fail a complete
// generation.
func TestAfterDone(t *testing.T) {
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Type", "text/event-stream")
		w.Write([]byte(`data: {"choices":[{"delta":{"content":"a"}}],"usage":{"prompt_tokens":1,"completion_tokens":1}}` + "\n\ndata: [DONE]\n\ngarbage\n"))
		w.(http.Flusher).Flush()
		panic(http.ErrAbortHandler) // and a connection cut
	}))
	defer srv.Close()
	b := newBackend(t, model(srv.URL))
	res, err := b.Generate(context.Background(), backends.Request{Prompt: "p", MaxTokens: 1})
	if err != nil || res.Text != "a" || res.Done.IsZero() {
		t.Errorf("got %v, text %q", err, res.Text)
	}
}

// TestGenerateConversation: a request with Messages sends them, in order and
// escaped, as the chat body's messages (and not Prompt).
func TestGenerateConversation(t *testing.T) {
	srv := openaitest.NewServer(openaitest.Script{})
	defer srv.Close()
	b := newBackend(t, model(srv.URL))
	msgs := []backends.Message{
		{Role: backends.RoleUser, Content: `say "hi"`},
		{Role: backends.RoleAssistant, Content: "hi\n\té"},
		{Role: backends.RoleUser, Content: "again"},
	}
	if _, err := b.Generate(context.Background(), backends.Request{Prompt: "not sent", Messages: msgs, MaxTokens: 3}); err != nil {
		t.Fatal(err)
	}
	var body struct {
		Messages []backends.Message `json:"messages"`
	}
	if err := json.Unmarshal(srv.Last().Body, &body); err != nil {
		t.Fatalf("body %s: %v", srv.Last().Body, err)
	}
	if g, w := mustJSON(body.Messages), mustJSON(msgs); g != w {
		t.Errorf("messages\n got %s\nwant %s", g, w)
	}
	if strings.Contains(string(srv.Last().Body), "not sent") {
		t.Errorf("body %s carries Prompt", srv.Last().Body)
	}
}
