// Package openaitest is a scripted OpenAI-compatible streaming server for tests:
// the ground truth for the client's timing and its fault handling. It is not an
// engine: it generates no text, it sends chunks at planned times.
//
// For each request the server sends a role-only chunk at once, then content
// chunks (one token each) at the planned delays, a final chunk with
// finish_reason, a usage chunk, and "data: [DONE]"; a [Script] can fail the
// request instead in one of several ways ([Fault]).
package openaitest

import (
	"bytes"
	"encoding/json"
	"fmt"
	"io"
	"log"
	"net"
	"net/http"
	"net/http/httptest"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"time"
)

// Fault is a way for a scripted request to fail.
type Fault int

// The faults a Script can inject. At is the number of content chunks sent before
// the fault strikes, where that applies.
const (
	// FaultNone: the stream completes normally.
	FaultNone Fault = iota
	// FaultStatus: answer with Script.Status (default 500) and a JSON error body.
	FaultStatus
	// FaultDrop: after At chunks, close the connection in the middle of the
	// chunked response (the client reads an unexpected EOF).
	FaultDrop
	// FaultReset: after At chunks, reset the TCP connection (RST).
	FaultReset
	// FaultMalformed: after At chunks, send a data line that is not JSON, then
	// carry on normally.
	FaultMalformed
	// FaultStall: after At chunks, send nothing more until the client goes away
	// or the server closes.
	FaultStall
	// FaultNoDone: send everything but the final "data: [DONE]".
	FaultNoDone
	// FaultNoUsage: leave out the usage chunk.
	FaultNoUsage
	// FaultErrorEvent: after At chunks, send a data event holding an error
	// object, and end the stream.
	FaultErrorEvent
	// FaultTruncated: after At chunks, send the first half of a content event
	// (JSON cut off, no line end) and end the response cleanly.
	FaultTruncated
	// FaultAfterDone: complete the stream, then send Script.Garbage (default:
	// bytes that are neither events nor UTF-8) after "data: [DONE]".
	FaultAfterDone
	// FaultStallAfterDone: complete the stream, then keep the response open
	// without a byte more, until the client goes away or the server closes.
	FaultStallAfterDone
	// FaultTrickleAfterDone: complete the stream, then send a garbage line every
	// 10 ms, never ending the response, until the client goes away.
	FaultTrickleAfterDone
	// FaultStallHeaders: send nothing at all, not even the status line, until
	// the client goes away or the server closes.
	FaultStallHeaders
)

// Script is what the server does for one request. The zero value streams the
// request's max_tokens content chunks (16 when it asks none) with no delay.
type Script struct {
	// Tokens is the number of content chunks, one token each. 0 means the
	// request's max_tokens, or 16 when it has none.
	Tokens int
	// TTFT is the delay from the request's arrival to the first content chunk.
	TTFT time.Duration
	// ITL is the delay between successive content chunks.
	ITL time.Duration
	// Delays, when set, replaces Tokens, TTFT and ITL: one content chunk per
	// element, each sent that long after the previous one (the first after the
	// request's arrival).
	Delays []time.Duration
	// Text is every content chunk's text. Default "tok ".
	Text string
	// Fault makes the request fail; At places it.
	Fault Fault
	At    int
	// Status is the HTTP status of FaultStatus. Default 500.
	Status int
	// EmptyBody makes FaultStatus answer with no body at all.
	EmptyBody bool
	// Garbage is what FaultAfterDone sends after [DONE].
	Garbage string
	// CachedTokens, when set, is reported in the usage as
	// prompt_tokens_details.cached_tokens (as vLLM and SGLang do).
	CachedTokens *int
}

// Request is what the server read from one request.
type Request struct {
	// Index counts requests from 0 in arrival order.
	Index int64
	// Path is the URL path (/v1/chat/completions or /v1/completions).
	Path string
	// Header is the request's header.
	Header http.Header
	// Body is the raw JSON body.
	Body []byte
	// Model, Prompt (the user message or prompt) and MaxTokens (0 when absent) are
	// read from Body.
	Model     string
	Prompt    string
	MaxTokens int
	// IncludeUsage is stream_options.include_usage.
	IncludeUsage bool
}

// Trace is when the server sent one request's content chunks.
type Trace struct {
	// Arrived is when the handler started.
	Arrived time.Time
	// Planned, Before and Sent are, for each content chunk, when it was planned,
	// the server's clock just before writing it, and just after writing and
	// flushing it. The bytes left between Before and Sent: when the two are
	// close, the send time is known that precisely.
	Planned, Before, Sent []time.Time
}

// Server is a running scripted server on a loopback port.
type Server struct {
	// URL is the base URL, "http://127.0.0.1:PORT".
	URL string

	srv    *httptest.Server
	script Script
	plan   func(Request) Script
	record bool
	quit   chan struct{}

	count, inflight, maxInflight atomic.Int64
	last                         atomic.Pointer[Request]

	mu     sync.Mutex
	traces map[string][]Trace
}

// Option configures a Server.
type Option func(*Server)

// WithPlan chooses each request's script; it overrides the default script and
// must be safe for concurrent use.
func WithPlan(plan func(Request) Script) Option { return func(s *Server) { s.plan = plan } }

// WithTraces makes the server keep a Trace of every request, keyed by prompt.
func WithTraces() Option { return func(s *Server) { s.record = true } }

// NewServer starts a server on 127.0.0.1 that runs script for every request
// (unless WithPlan says otherwise). Close it when done.
func NewServer(script Script, opts ...Option) *Server {
	s := &Server{script: script, quit: make(chan struct{}), traces: map[string][]Trace{}}
	for _, o := range opts {
		o(s)
	}
	s.srv = httptest.NewUnstartedServer(http.HandlerFunc(s.serve))
	s.srv.Config.ErrorLog = log.New(io.Discard, "", 0)
	s.srv.Start()
	s.URL = s.srv.URL
	return s
}

// Close makes stalled handlers return, closes every connection and stops the
// server.
func (s *Server) Close() {
	close(s.quit)
	s.srv.CloseClientConnections()
	s.srv.Close()
}

// Requests returns the number of requests received.
func (s *Server) Requests() int64 { return s.count.Load() }

// MaxInFlight returns the largest number of requests handled at once.
func (s *Server) MaxInFlight() int64 { return s.maxInflight.Load() }

// Last returns the latest request received (nil before the first).
func (s *Server) Last() *Request { return s.last.Load() }

// Traces returns the traces of the requests with this prompt (WithTraces).
func (s *Server) Traces(prompt string) []Trace {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.traces[prompt]
}

type wireRequest struct {
	Model    string `json:"model"`
	Prompt   string `json:"prompt"`
	Messages []struct {
		Content string `json:"content"`
	} `json:"messages"`
	MaxTokens     *int `json:"max_tokens"`
	StreamOptions *struct {
		IncludeUsage bool `json:"include_usage"`
	} `json:"stream_options"`
}

func (s *Server) serve(w http.ResponseWriter, r *http.Request) {
	arrived := time.Now()
	n := s.inflight.Add(1)
	defer s.inflight.Add(-1)
	for m := s.maxInflight.Load(); n > m && !s.maxInflight.CompareAndSwap(m, n); m = s.maxInflight.Load() {
	}
	chat := r.URL.Path == "/v1/chat/completions"
	if !chat && r.URL.Path != "/v1/completions" {
		http.Error(w, `{"error":{"message":"no such endpoint"}}`, http.StatusNotFound)
		return
	}
	body, err := io.ReadAll(r.Body)
	var wr wireRequest
	if err == nil {
		err = json.Unmarshal(body, &wr)
	}
	if err != nil {
		http.Error(w, `{"error":{"message":"bad request body"}}`, http.StatusBadRequest)
		return
	}
	req := &Request{Index: s.count.Add(1) - 1, Path: r.URL.Path, Header: r.Header, Body: body, Model: wr.Model, Prompt: wr.Prompt}
	if len(wr.Messages) > 0 {
		req.Prompt = wr.Messages[len(wr.Messages)-1].Content
	}
	if wr.MaxTokens != nil {
		req.MaxTokens = *wr.MaxTokens
	}
	req.IncludeUsage = wr.StreamOptions != nil && wr.StreamOptions.IncludeUsage
	s.last.Store(req)

	sc := s.script
	if s.plan != nil {
		sc = s.plan(*req)
	}
	if sc.Fault == FaultStatus {
		status := sc.Status
		if status == 0 {
			status = http.StatusInternalServerError
		}
		if sc.EmptyBody {
			w.Header().Set("Content-Length", "0")
			w.WriteHeader(status)
			return
		}
		w.Header().Set("Content-Type", "application/json")
		w.WriteHeader(status)
		fmt.Fprintf(w, `{"error":{"message":"scripted failure","type":"server_error","code":%d}}`, status)
		return
	}
	if sc.Fault == FaultStallHeaders {
		s.stall(r)
		return
	}

	// The plan: content chunk i is due at plan[i].
	plan := make([]time.Time, 0, max(len(sc.Delays), sc.Tokens, req.MaxTokens))
	if sc.Delays != nil {
		t := arrived
		for _, d := range sc.Delays {
			t = t.Add(d)
			plan = append(plan, t)
		}
	} else {
		tokens := sc.Tokens
		if tokens == 0 {
			tokens = req.MaxTokens
		}
		if tokens == 0 {
			tokens = 16
		}
		for i := range tokens {
			plan = append(plan, arrived.Add(sc.TTFT+time.Duration(i)*sc.ITL))
		}
	}
	tokens := len(plan)
	var tr *Trace
	if s.record {
		tr = &Trace{Arrived: arrived, Planned: plan, Before: make([]time.Time, 0, len(plan)), Sent: make([]time.Time, 0, len(plan))}
		defer func() {
			s.mu.Lock()
			s.traces[req.Prompt] = append(s.traces[req.Prompt], *tr)
			s.mu.Unlock()
		}()
	}

	f := frames(chat, sc.Text)
	w.Header().Set("Content-Type", "text/event-stream")
	w.Header().Set("Cache-Control", "no-cache")
	w.WriteHeader(http.StatusOK)
	flusher := w.(http.Flusher)
	w.Write(f.role)
	zero := sc.TTFT == 0 && sc.ITL == 0 && sc.Delays == nil
	if !zero {
		flusher.Flush() // the role chunk goes at once, ahead of the content
	}

	var timer *time.Timer
	wait := func(until time.Time) bool {
		d := time.Until(until)
		if d <= 0 {
			return true
		}
		if timer == nil {
			timer = time.NewTimer(d)
		} else {
			timer.Reset(d)
		}
		select {
		case <-timer.C:
			return true
		case <-r.Context().Done():
		case <-s.quit:
		}
		return false
	}
	if sc.Fault == FaultNone && tr == nil && zero {
		// No delay: write the content in blocks, as fast as the connection takes it.
		for left := len(plan); left > 0; {
			k := min(left, blockFrames)
			w.Write(f.block[:k*len(f.content)])
			left -= k
		}
		plan = plan[:0]
	}
	delayed := false
	for i, due := range plan {
		if midStream(sc.Fault) && i == sc.At && s.fault(w, r, sc.Fault, f) {
			return
		}
		if !due.Equal(arrived) {
			delayed = true
			if !wait(due) {
				return
			}
		}
		if tr != nil {
			tr.Before = append(tr.Before, time.Now())
		}
		w.Write(f.content)
		if delayed {
			flusher.Flush()
		}
		if tr != nil {
			tr.Sent = append(tr.Sent, time.Now())
		}
	}
	if midStream(sc.Fault) && sc.At >= len(plan) && s.fault(w, r, sc.Fault, f) {
		return
	}
	w.Write(f.final)
	if sc.Fault != FaultNoUsage && req.IncludeUsage {
		prompt := len(strings.Fields(req.Prompt))
		usage := fmt.Sprintf(f.usage, prompt, tokens, prompt+tokens)
		if sc.CachedTokens != nil {
			usage = strings.Replace(usage, `"total_tokens"`, fmt.Sprintf(`"prompt_tokens_details":{"cached_tokens":%d},"total_tokens"`, *sc.CachedTokens), 1)
		}
		io.WriteString(w, usage)
	}
	if sc.Fault != FaultNoDone {
		io.WriteString(w, "data: [DONE]\n\n")
	}
	switch sc.Fault {
	case FaultAfterDone:
		g := sc.Garbage
		if g == "" {
			g = "\x00\xff\xfe not an event\ndata: {\"choices\n\n{\"error\":{\"message\":\"late\"}}\n"
		}
		io.WriteString(w, g)
	case FaultStallAfterDone:
		flusher.Flush()
		s.stall(r)
	case FaultTrickleAfterDone:
		tick := time.NewTicker(10 * time.Millisecond)
		defer tick.Stop()
		for {
			io.WriteString(w, "garbage after done\n")
			flusher.Flush()
			select {
			case <-tick.C:
			case <-r.Context().Done():
				return
			case <-s.quit:
				return
			}
		}
	}
}

// stall waits until the client goes away or the server closes (at most 5
// minutes).
func (s *Server) stall(r *http.Request) {
	select {
	case <-r.Context().Done():
	case <-s.quit:
	case <-time.After(5 * time.Minute):
	}
}

// midStream reports whether f strikes at Script.At, in the middle of the stream.
func midStream(f Fault) bool {
	switch f {
	case FaultNone, FaultAfterDone, FaultStallAfterDone, FaultTrickleAfterDone:
		return false
	}
	return true
}

// fault injects f; it returns true when the handler must stop.
func (s *Server) fault(w http.ResponseWriter, r *http.Request, f Fault, fr *frameSet) bool {
	switch f {
	case FaultDrop:
		w.(http.Flusher).Flush()
		panic(http.ErrAbortHandler)
	case FaultReset:
		w.(http.Flusher).Flush()
		conn, _, err := http.NewResponseController(w).Hijack()
		if err != nil {
			panic(http.ErrAbortHandler)
		}
		if tc, ok := conn.(*net.TCPConn); ok {
			tc.SetLinger(0)
		}
		conn.Close()
		return true
	case FaultMalformed:
		io.WriteString(w, "data: {\"choices\": [{\"delta\": {\"content\": \"tok\n\n")
		return false
	case FaultStall:
		w.(http.Flusher).Flush()
		s.stall(r)
		return true
	case FaultTruncated:
		w.Write(fr.content[:len(fr.content)/2])
		return true
	case FaultErrorEvent:
		io.WriteString(w, "data: {\"error\":{\"message\":\"scripted error event\",\"type\":\"server_error\"}}\n\n")
		return true
	}
	return false
}

// blockFrames is the number of content frames in frameSet.block.
const blockFrames = 64

type frameSet struct {
	role, content, final []byte
	block                []byte // blockFrames content frames
	usage                string // format with prompt, completion, total tokens
}

var (
	framesMu    sync.Mutex
	framesCache = map[string]*frameSet{}
)

// frames returns the pre-rendered events for an endpoint and chunk text.
func frames(chat bool, text string) *frameSet {
	if text == "" {
		text = "tok "
	}
	key := strconv.FormatBool(chat) + text
	framesMu.Lock()
	defer framesMu.Unlock()
	if f, ok := framesCache[key]; ok {
		return f
	}
	t, _ := json.Marshal(text)
	var f frameSet
	if chat {
		head := `data: {"id":"chatcmpl-fake","object":"chat.completion.chunk","created":0,"model":"fake","choices":[`
		f.role = []byte(head + `{"index":0,"delta":{"role":"assistant","content":""},"finish_reason":null}]}` + "\n\n")
		f.content = []byte(head + `{"index":0,"delta":{"content":` + string(t) + `},"finish_reason":null}]}` + "\n\n")
		f.final = []byte(head + `{"index":0,"delta":{},"finish_reason":"length"}]}` + "\n\n")
		f.usage = head + `],"usage":{"prompt_tokens":%d,"completion_tokens":%d,"total_tokens":%d}}` + "\n\n"
	} else {
		head := `data: {"id":"cmpl-fake","object":"text_completion","created":0,"model":"fake","choices":[`
		f.role = []byte(head + `{"index":0,"text":"","finish_reason":null}]}` + "\n\n")
		f.content = []byte(head + `{"index":0,"text":` + string(t) + `,"finish_reason":null}]}` + "\n\n")
		f.final = []byte(head + `{"index":0,"text":"","finish_reason":"length"}]}` + "\n\n")
		f.usage = head + `],"usage":{"prompt_tokens":%d,"completion_tokens":%d,"total_tokens":%d}}` + "\n\n"
	}
	f.block = bytes.Repeat(f.content, blockFrames)
	framesCache[key] = &f
	return &f
}
