package openai_test

import (
	"context"
	"encoding/json"
	"errors"
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"github.com/llmbench/llmbench/backends/openai"
)

// embedServer answers /v1/embeddings with body, after recording the request.
func embedServer(t *testing.T, status int, body string, delay time.Duration) (*httptest.Server, *map[string]any) {
	t.Helper()
	got := map[string]any{}
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.URL.Path != openai.EmbedPath {
			http.NotFound(w, r)
			return
		}
		data, _ := io.ReadAll(r.Body)
		json.Unmarshal(data, &got)
		got["authorization"] = r.Header.Get("Authorization")
		time.Sleep(delay)
		w.WriteHeader(status)
		io.WriteString(w, body)
	}))
	t.Cleanup(srv.Close)
	return srv, &got
}

// A scripted /v1/embeddings: the vectors come back out of order and are put
// in input order by index; the count is usage.prompt_tokens; the request
// names the model, the inputs and float encoding; the latency covers the
// server's delay.
func TestEmbedScripted(t *testing.T) {
	const body = `{"object":"list","data":[{"object":"embedding","index":1,"embedding":[0,1]},{"object":"embedding","index":0,"embedding":[1,0]}],"model":"fake","usage":{"prompt_tokens":9,"total_tokens":9}}`
	srv, got := embedServer(t, 200, body, 30*time.Millisecond)
	b := newBackend(t, model(srv.URL))
	r, err := b.Embed(context.Background(), []string{"first", "second"})
	if err != nil {
		t.Fatal(err)
	}
	if len(r.Vectors) != 2 || r.Vectors[0][0] != 1 || r.Vectors[1][1] != 1 {
		t.Errorf("vectors not in index order: %v", r.Vectors)
	}
	if r.InputTokens != 9 {
		t.Errorf("input tokens %d, want usage.prompt_tokens 9", r.InputTokens)
	}
	if r.Latency() < 30*time.Millisecond {
		t.Errorf("latency %v is shorter than the server's 30ms delay", r.Latency())
	}
	if (*got)["model"] != "fake" || (*got)["encoding_format"] != "float" || len((*got)["input"].([]any)) != 2 {
		t.Errorf("request %v", *got)
	}
}

func TestEmbedScriptedFaults(t *testing.T) {
	for _, tc := range []struct {
		name   string
		status int
		body   string
		delay  time.Duration
		kind   openai.Kind
	}{
		{"status", 500, `{"error":"overloaded"}`, 0, openai.KindStatus},
		{"not json", 200, `<html>`, 0, openai.KindMalformed},
		{"too few", 200, `{"data":[{"index":0,"embedding":[1]}]}`, 0, openai.KindMalformed},
		{"repeated index", 200, `{"data":[{"index":0,"embedding":[1]},{"index":0,"embedding":[1]}]}`, 0, openai.KindMalformed},
		{"dimensions differ", 200, `{"data":[{"index":0,"embedding":[1]},{"index":1,"embedding":[1,2]}]}`, 0, openai.KindMalformed},
		{"stall", 200, `{}`, 600 * time.Millisecond, openai.KindStall},
	} {
		t.Run(tc.name, func(t *testing.T) {
			srv, _ := embedServer(t, tc.status, tc.body, tc.delay)
			b := newBackend(t, model(srv.URL), openai.WithStallTimeout(200*time.Millisecond))
			_, err := b.Embed(context.Background(), []string{"a", "b"})
			var oe *openai.Error
			if !errors.As(err, &oe) || oe.Kind != tc.kind || oe.Model != "fake-model" {
				t.Errorf("error %v, want kind %s naming the model", err, tc.kind)
			}
		})
	}
}

// The API key is sent as a bearer token and never shown in an error.
func TestEmbedAPIKey(t *testing.T) {
	t.Setenv("EMBED_TEST_KEY", "sk-secret-123")
	srv, got := embedServer(t, 401, `{"error":"bad key sk-secret-123"}`, 0)
	m := model(srv.URL)
	m.opts.APIKeyEnv = "EMBED_TEST_KEY"
	b := newBackend(t, m)
	_, err := b.Embed(context.Background(), []string{"a"})
	if (*got)["authorization"] != "Bearer sk-secret-123" {
		t.Errorf("authorization %v", (*got)["authorization"])
	}
	if err == nil || strings.Contains(err.Error(), "sk-secret-123") {
		t.Errorf("error %v shows the key or is missing", err)
	}
}
