package openai_test

import (
	"context"
	"fmt"
	"net/http"
	"net/http/httptest"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/llmbench/llmbench/backends"
	"github.com/llmbench/llmbench/backends/openai"
	"github.com/llmbench/llmbench/backends/openai/openaitest"
	"github.com/llmbench/llmbench/loadgen"
)

// plantKey puts a unique API key in an environment variable for the test and
// returns the variable's name and the key.
func plantKey(t *testing.T) (env, key string) {
	key = "sk-planted-" + strconv.FormatInt(time.Now().UnixNano(), 36)
	t.Setenv("LLMBENCH_PLANTED_KEY", key)
	return "LLMBENCH_PLANTED_KEY", key
}

// TestAPIKeyNeverShown plants an API key, runs generations that succeed and
// that fail in every scripted way, one by one and as a load run, and checks
// that the key reaches the server yet appears in nothing the backend says:
// its description, its errors (as text and as values), its results, and the
// load report that quotes the errors.
func TestAPIKeyNeverShown(t *testing.T) {
	env, key := plantKey(t)
	var seen []string
	say := func(format string, args ...any) { seen = append(seen, fmt.Sprintf(format, args...)) }
	for _, sc := range []openaitest.Script{
		{},
		{Fault: openaitest.FaultStatus, Status: 401},
		{Fault: openaitest.FaultStatus, Status: 429, EmptyBody: true},
		{Fault: openaitest.FaultTruncated, At: 1},
		{Fault: openaitest.FaultMalformed, At: 1},
		{Fault: openaitest.FaultErrorEvent, At: 1},
		{Fault: openaitest.FaultReset, At: 1},
		{Fault: openaitest.FaultStall, At: 1},
		{Fault: openaitest.FaultNoUsage},
		{Fault: openaitest.FaultAfterDone},
		{Tokens: 2},
	} {
		srv := openaitest.NewServer(sc)
		b := faultBackend(t, openai.Options{Host: srv.URL, APIKeyEnv: env}, openai.WithStallTimeout(200*time.Millisecond))
		d, err := b.Describe(context.Background())
		say("%+v %v", d, err)
		res, err := b.Generate(context.Background(), backends.Request{Prompt: "p", MaxTokens: 8, Seed: 1})
		say("%v %+v %#v %+v", err, err, err, res)
		if got := srv.Last().Header.Get("Authorization"); got != "Bearer "+key {
			t.Errorf("the server got Authorization %q: the planted key was not used", got)
		}
		p, _ := loadgen.Points(&loadgen.Spec{Concurrency: loadgen.Ints{2}, Requests: 4})
		rep, err := loadgen.RunPoint(context.Background(), b, p[0], []backends.Request{{Prompt: "p", MaxTokens: 8, Seed: 1}})
		var text strings.Builder
		rep.WriteText(&text)
		say("%v %v %v", err, rep.ErrorSamples, text.String())
		srv.Close()
	}
	for _, s := range seen {
		if strings.Contains(s, key) || strings.Contains(s, strings.TrimPrefix(key, "sk-")) {
			t.Errorf("the planted key appears in %q", s)
		}
	}
	if len(seen) < 20 || !strings.Contains(strings.Join(seen, "\n"), "HTTP 401") {
		t.Errorf("too little was said to prove anything: %q", seen)
	}
}

// TestAPIKeyEchoedByServer checks that a key a misbehaving server sends back
// (as some proxies do with the rejected header) is not quoted in the error's
// snippet: in an error body, in one where the key straddles the snippet's
// cut (no prefix of it may show), and in an error event of the stream.
func TestAPIKeyEchoedByServer(t *testing.T) {
	env, key := plantKey(t)
	const prefix = `{"error":{"message":"invalid Authorization: `
	for _, tc := range []struct {
		name   string
		status int
		pad    int // bytes before the echoed header
		want   string
	}{
		{"error body", http.StatusUnauthorized, 0, "HTTP 401"},
		{"key across the snippet's cut", http.StatusUnauthorized, 188 - len(prefix) - len("Bearer "), "HTTP 401"},
		{"error event", http.StatusOK, 0, "server-error"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
				msg := prefix + strings.Repeat("x", tc.pad) + r.Header.Get("Authorization") + `"}}`
				if tc.status == http.StatusOK {
					w.Header().Set("Content-Type", "text/event-stream")
					fmt.Fprintf(w, "data: %s\n\n", msg)
					return
				}
				w.WriteHeader(tc.status)
				fmt.Fprint(w, msg)
			}))
			defer srv.Close()
			b := faultBackend(t, openai.Options{Host: srv.URL, APIKeyEnv: env})
			_, err := b.Generate(context.Background(), backends.Request{Prompt: "p", MaxTokens: 8, Seed: 1})
			if err == nil || !strings.Contains(err.Error(), tc.want) || !strings.Contains(err.Error(), "Bearer [") {
				t.Fatalf("got %v, want a %s error with the key redacted", err, tc.want)
			}
			if strings.Contains(fmt.Sprintf("%v %+v %#v", err, err, err), key[:len("sk-planted-")+1]) {
				t.Errorf("the error quotes the key the server echoed: %v", err)
			}
		})
	}
}
