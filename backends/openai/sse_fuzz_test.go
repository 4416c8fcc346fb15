package openai_test

import (
	"bytes"
	"context"
	"errors"
	"io"
	"net/http"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/llmbench/llmbench/backends"
	"github.com/llmbench/llmbench/backends/openai"
)

// bodyTransport answers every request with 200 and body, handed to the reader
// split bytes at a time (0: all at once), with no network in between.
type bodyTransport struct {
	body  []byte
	split int
}

func (t bodyTransport) RoundTrip(r *http.Request) (*http.Response, error) {
	if r.Body != nil {
		io.Copy(io.Discard, r.Body)
		r.Body.Close()
	}
	var body io.Reader = bytes.NewReader(t.body)
	if t.split > 0 {
		body = &pieceReader{b: t.body, n: t.split}
	}
	return &http.Response{
		StatusCode: http.StatusOK, Status: "200 OK", Proto: "HTTP/1.1", ProtoMajor: 1, ProtoMinor: 1,
		Header:  http.Header{"Content-Type": {"text/event-stream"}},
		Body:    io.NopCloser(body),
		Request: r, ContentLength: -1,
	}, nil
}

// pieceReader returns at most n bytes per Read.
type pieceReader struct {
	b []byte
	n int
}

func (p *pieceReader) Read(b []byte) (int, error) {
	if len(p.b) == 0 {
		return 0, io.EOF
	}
	k := copy(b[:min(len(b), p.n)], p.b)
	p.b = p.b[k:]
	return k, nil
}

// impossibleKinds are the kinds a 200 response read from memory to its end
// cannot fail with: no network, no clock, no caller's context.
var impossibleKinds = []openai.Kind{"", openai.KindStatus, openai.KindStall, openai.KindConnection, openai.KindCanceled, openai.KindRequest}

// FuzzGenerateSSE feeds arbitrary bytes to the openai backend as the body of a
// 200 event-stream response, through the public Generate. It must not panic or
// hang; it must return a result with every failure an *openai.Error of a stream
// kind naming the model; what it reads must not depend on how the bytes are
// split into reads; and a success must hold what Generate promises.
func FuzzGenerateSSE(f *testing.F) {
	for _, s := range []string{
		"data: {\"choices\":[{\"delta\":{\"content\":\"a\"}}]}\n\ndata: {\"choices\":[],\"usage\":{\"prompt_tokens\":1,\"completion_tokens\":1}}\n\ndata: [DONE]\n\n",
		": ping\r\n\r\ndata: {\"choices\":[{\"text\":\"x\"}]}\r\n\r\ndata: [DONE]\r\n\r\n",
		"data: {\"choices\":[{\"delta\":\ndata: {\"content\":\"a\"}}]}\n\ndata: [DONE]",
		"data: {\"error\":{\"message\":\"boom\"}}\n\n",
		"{\"error\":{\"message\":\"bare\"}}\n",
		"data: [DONE]\n\ngarbage after done\n",
		"data: {\"choices\":[{\"delta\":{\"content\":\"tr",
	} {
		f.Add([]byte(s), uint8(1), uint8(1))
	}
	f.Fuzz(func(t *testing.T, data []byte, split, maxTokens uint8) {
		req := backends.Request{Prompt: "p", MaxTokens: int(maxTokens % 4), Seed: 1}
		whole, wholeErr := fuzzGenerate(t, data, 0, req)
		piece, pieceErr := fuzzGenerate(t, data, 1+int(split)%23, req)
		for _, e := range []error{wholeErr, pieceErr} {
			if e == nil {
				continue
			}
			var oe *openai.Error
			if !errors.As(e, &oe) || oe.Model != "fault-model" || slices.Contains(impossibleKinds, oe.Kind) ||
				!strings.HasPrefix(e.Error(), `openai: model "fault-model": `) {
				t.Fatalf("error %v (%T): want an *openai.Error of a stream kind naming the model", e, e)
			}
		}
		if kind(wholeErr) != kind(pieceErr) || line(wholeErr) != line(pieceErr) || whole.Text != piece.Text ||
			len(whole.Chunks) != len(piece.Chunks) || whole.PromptTokens != piece.PromptTokens ||
			whole.OutputTokens != piece.OutputTokens || whole.Done.IsZero() != piece.Done.IsZero() {
			t.Fatalf("the split into reads changed the outcome:\nwhole:  %v %q %d chunks %d/%d tokens\npieces: %v %q %d chunks %d/%d tokens",
				wholeErr, whole.Text, len(whole.Chunks), whole.PromptTokens, whole.OutputTokens,
				pieceErr, piece.Text, len(piece.Chunks), piece.PromptTokens, piece.OutputTokens)
		}
		if len(whole.Chunks) > bytes.Count(data, []byte("data")) {
			t.Fatalf("%d content chunks from %d data fields", len(whole.Chunks), bytes.Count(data, []byte("data")))
		}
		for _, r := range []*backends.Result{whole, piece} {
			prev := r.Sent
			for _, c := range r.Chunks {
				if c.Before(prev) {
					t.Fatalf("chunk times go back: %v", r.Chunks)
				}
				prev = c
			}
			if !r.Done.IsZero() && r.Done.Before(prev) {
				t.Fatalf("done %v before the last chunk %v", r.Done, prev)
			}
		}
		if wholeErr == nil && (whole.Done.IsZero() || whole.OutputTokens < req.MaxTokens) {
			t.Fatalf("success without [DONE] or with %d of %d tokens", whole.OutputTokens, req.MaxTokens)
		}
	})
}

func fuzzGenerate(t *testing.T, body []byte, split int, req backends.Request) (*backends.Result, error) {
	t.Helper()
	b := faultBackend(t, openai.Options{Host: "http://127.0.0.1:9"},
		openai.WithHTTPClient(&http.Client{Transport: bodyTransport{body, split}}), openai.WithKernelTimestamps(false))
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	res, err := b.Generate(ctx, req)
	if ctx.Err() != nil {
		t.Fatalf("Generate took 10 s over a %d-byte body: %v", len(body), err)
	}
	if res == nil {
		t.Fatalf("nil result (error %v)", err)
	}
	return res, err
}

func kind(err error) openai.Kind {
	var oe *openai.Error
	if errors.As(err, &oe) {
		return oe.Kind
	}
	return ""
}

func line(err error) int {
	var oe *openai.Error
	if errors.As(err, &oe) {
		return oe.Line
	}
	return 0
}
