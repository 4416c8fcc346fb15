// Package openai is the backend for servers that speak the OpenAI API
// (vLLM, SGLang, llama.cpp's server, Ollama's /v1, TGI …): streamed
// /v1/chat/completions or /v1/completions over plain net/http.
//
// The event stream is read by hand, line by line, and every event is timestamped
// on the client's clock as it is read. The time to first token is taken at the
// first chunk that carries generated content (role-only and empty chunks do not
// count), and token counts come only from the server's usage object, which is
// asked for with stream_options.include_usage.
//
// Every failure is an [*Error] naming the model and its [Kind].
package openai

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/http/httptrace"
	"os"
	"slices"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/llmbench/llmbench/backends"
)

// DefaultStallTimeout is how long Generate waits for the next byte of a response
// (its headers included) before failing with KindStall.
const DefaultStallTimeout = 60 * time.Second

// Backend runs streamed generations against one model of an OpenAI-compatible
// server. It is safe for concurrent use.
type Backend struct {
	spec     backends.Spec
	opts     Options
	pid      func(ctx context.Context) (int, error)
	managed  bool   // the suite's own Ollama server, whose port changes per run
	base     string // base URL without trailing slash or /v1
	url      string // full endpoint URL
	chat     bool
	auth     string // "Bearer …" or ""
	key      string // the API key, redacted from errors; "" for none
	prefix   []byte // request body up to the per-request fields
	suffix   []byte // extra_body members, each with a leading comma
	override map[string]bool
	client   *http.Client
	ownTrans *http.Transport // closed by Close when we made it
	stall    time.Duration
	kstamps  bool
}

var (
	_ backends.Backend       = (*Backend)(nil)
	_ backends.Describer     = (*Backend)(nil)
	_ backends.ProcessFinder = (*Backend)(nil)
)

// Options are an openai model's own options in the configuration.
type Options struct {
	// Host is the server's base URL ("http://host:port", with or without a
	// trailing /v1). Empty: the suite's Ollama server through its /v1 API (as for
	// a synthetic model).
	Host string `yaml:"host"`
	// APIKeyEnv names the environment variable holding the bearer token, which
	// must then be non-empty.
	APIKeyEnv string `yaml:"api_key_env"`
	// Endpoint is "chat" (/v1/chat/completions, the default) or "completions"
	// (/v1/completions).
	Endpoint string `yaml:"endpoint"`
	// ExtraBody is merged into every request body as is, its keys winning over the
	// backend's own, e.g. {ignore_eos: true} or {min_tokens: 64}.
	ExtraBody map[string]any `yaml:"extra_body"`
}

// WithProcessFinder names the local process that serves the model (for memory
// metrics); without it EnginePID returns backends.ErrRemote.
func WithProcessFinder(f func(ctx context.Context) (int, error)) Option {
	return func(b *Backend) { b.pid = f }
}

// EnginePID implements backends.ProcessFinder.
func (b *Backend) EnginePID(ctx context.Context) (int, error) {
	if b.pid == nil {
		return 0, backends.ErrRemote
	}
	return b.pid(ctx)
}

// Option configures a Backend.
type Option func(*Backend)

// WithHTTPClient makes the backend send requests with c instead of its own client
// (whose transport is [NewTransport]'s). Close then leaves c's connections alone.
func WithHTTPClient(c *http.Client) Option {
	return func(b *Backend) { b.client = c }
}

// WithStallTimeout sets how long to wait for the next byte of a response before
// failing with KindStall. Zero or less means wait forever (until the context
// ends). The default is DefaultStallTimeout.
func WithStallTimeout(d time.Duration) Option {
	return func(b *Backend) { b.stall = d }
}

// WithKernelTimestamps says whether event times come from the kernel's receive
// timestamps, where the connection has them (Linux, the default transport), or
// always from time.Now as each read returns. Default true: under load a reading
// goroutine may run milliseconds after its data arrived.
func WithKernelTimestamps(on bool) Option {
	return func(b *Backend) { b.kstamps = on }
}

// NewTransport returns the transport the backend uses by default: HTTP/1.1
// keep-alive connections, one per concurrent stream, kept idle between requests
// without a per-host limit, so a load of N streams reuses N connections; no
// compression (which would delay events); no proxy from the environment. On
// Linux its connections ask the kernel for receive timestamps (SO_TIMESTAMPNS),
// which Generate uses for event times.
func NewTransport() *http.Transport {
	return &http.Transport{
		DialContext:           dialStamped(&net.Dialer{Timeout: 30 * time.Second, KeepAlive: 30 * time.Second}),
		MaxIdleConns:          0, // no limit
		MaxIdleConnsPerHost:   1 << 16,
		IdleConnTimeout:       90 * time.Second,
		TLSHandshakeTimeout:   10 * time.Second,
		ExpectContinueTimeout: 0,
		DisableCompression:    true,
		ForceAttemptHTTP2:     false,
		WriteBufferSize:       16 << 10,
		ReadBufferSize:        32 << 10,
	}
}

// New returns a backend for the model spec.Model (the server's model id) of the
// server o.Host, with generation options from spec.Options (see [Options]).
func New(spec backends.Spec, o Options, opts ...Option) (*Backend, error) {
	m := o
	b := &Backend{spec: spec, opts: o, stall: DefaultStallTimeout, kstamps: true}
	for _, o := range opts {
		o(b)
	}
	fail := func(format string, args ...any) (*Backend, error) {
		return nil, fmt.Errorf("openai: model %q: %s", spec.Name, fmt.Sprintf(format, args...))
	}
	if m.Host == "" {
		return fail("no host: set host: http://HOST:PORT (the server's base URL)")
	}
	host := strings.TrimRight(m.Host, "/")
	if !strings.Contains(host, "://") {
		host = "http://" + host
	}
	b.base = strings.TrimSuffix(host, "/v1")
	switch m.Endpoint {
	case "", "chat":
		b.chat = true
		b.url = b.base + "/v1/chat/completions"
	case "completions":
		b.url = b.base + "/v1/completions"
	default:
		return fail("endpoint %q: want chat or completions", m.Endpoint)
	}
	if _, err := http.NewRequest(http.MethodPost, b.url, nil); err != nil {
		return fail("host %q: %v", m.Host, err)
	}
	if m.APIKeyEnv != "" {
		key := os.Getenv(m.APIKeyEnv)
		if key == "" {
			return fail("api_key_env names %s, which is empty or unset", m.APIKeyEnv)
		}
		b.auth = "Bearer " + key
		b.key = key
	}
	if err := b.renderBody(); err != nil {
		return fail("%v", err)
	}
	if b.client == nil {
		b.ownTrans = NewTransport()
		b.client = &http.Client{Transport: b.ownTrans}
	}
	return b, nil
}

// renderBody pre-encodes the parts of the request body that are the same for every
// request: the fixed members and extra_body.
func (b *Backend) renderBody() error {
	m := b.opts
	b.override = map[string]bool{}
	keys := make([]string, 0, len(m.ExtraBody))
	for k := range m.ExtraBody {
		keys = append(keys, k)
		b.override[k] = true
	}
	slices.Sort(keys)
	var suf bytes.Buffer
	for _, k := range keys {
		v, err := json.Marshal(m.ExtraBody[k])
		if err != nil {
			return fmt.Errorf("extra_body.%s: %v", k, err)
		}
		kq, _ := json.Marshal(k)
		fmt.Fprintf(&suf, ",%s:%s", kq, v)
	}
	b.suffix = suf.Bytes()

	var pre bytes.Buffer
	pre.WriteByte('{')
	first := true
	member := func(k string, v any) {
		if b.override[k] {
			return
		}
		if !first {
			pre.WriteByte(',')
		}
		first = false
		enc, _ := json.Marshal(v)
		fmt.Fprintf(&pre, "%q:%s", k, enc)
	}
	member("model", b.spec.Model)
	member("stream", true)
	member("stream_options", map[string]bool{"include_usage": true})
	member("temperature", b.spec.Options.Temperature)
	if first {
		// Every fixed member was overridden; per-request members start the body.
		pre.WriteString(`"stream":true`)
	}
	b.prefix = pre.Bytes()
	return nil
}

// body renders one request's body.
func (b *Backend) body(req backends.Request) []byte {
	buf := make([]byte, 0, len(b.prefix)+len(b.suffix)+len(req.Prompt)+96)
	buf = append(buf, b.prefix...)
	if !b.override["seed"] {
		buf = append(buf, `,"seed":`...)
		buf = strconv.AppendInt(buf, int64(req.Seed), 10)
	}
	if req.MaxTokens > 0 && !b.override["max_tokens"] {
		buf = append(buf, `,"max_tokens":`...)
		buf = strconv.AppendInt(buf, int64(req.MaxTokens), 10)
	}
	prompt, _ := json.Marshal(req.Prompt)
	switch {
	case b.chat && !b.override["messages"] && len(req.Messages) > 0:
		buf = append(buf, `,"messages":`...)
		buf = appendMessages(buf, req.Messages)
	case b.chat && !b.override["messages"]:
		buf = append(buf, `,"messages":[{"role":"user","content":`...)
		buf = append(buf, prompt...)
		buf = append(buf, "}]"...)
	case !b.chat && !b.override["prompt"]:
		buf = append(buf, `,"prompt":`...)
		buf = append(buf, prompt...)
	}
	buf = append(buf, b.suffix...)
	return append(buf, '}')
}

// appendMessages appends a conversation as the chat API's messages array.
func appendMessages(buf []byte, msgs []backends.Message) []byte {
	buf = append(buf, '[')
	for i, m := range msgs {
		if i > 0 {
			buf = append(buf, ',')
		}
		role, _ := json.Marshal(m.Role)
		content, _ := json.Marshal(m.Content)
		buf = append(buf, `{"role":`...)
		buf = append(buf, role...)
		buf = append(buf, `,"content":`...)
		buf = append(buf, content...)
		buf = append(buf, '}')
	}
	return append(buf, ']')
}

// Describe returns the engine, and as extra facts the base URL ("managed" for the
// suite's own Ollama server, whose port changes from run to run), the endpoint
// path (EmbedPath for an embedding model) and the server's model id.
func (b *Backend) Describe(ctx context.Context) (backends.Description, error) {
	base := b.base
	if b.managed {
		base = "managed"
	}
	endpoint := strings.TrimPrefix(b.url, b.base)
	if b.spec.Embed {
		endpoint = EmbedPath
	}
	return backends.Description{
		Engine: "openai-compatible",
		Extra: [][2]string{
			{"base-url", base},
			{"endpoint", endpoint},
			{"server-model", b.spec.Model},
		},
	}, nil
}

// Close closes the idle connections of the backend's own transport.
func (b *Backend) Close() error {
	if b.ownTrans != nil {
		b.ownTrans.CloseIdleConnections()
	}
	return nil
}

var errStall = errors.New("stalled")

// What follows "data: [DONE]" is drained in the background (see drain) for
// at most afterDoneGrace and afterDoneMax bytes.
const (
	afterDoneGrace = 100 * time.Millisecond
	afterDoneMax   = 64 << 10
)

var errAfterDone = errors.New("response still open after data: [DONE]")

// Generate streams one completion. On failure it returns an *Error together with
// the partial Result read so far. No error shows the API key (see redact).
func (b *Backend) Generate(ctx context.Context, req backends.Request) (*backends.Result, error) {
	res, err := b.generate(ctx, req)
	return res, b.redact(err)
}

// generate is Generate before its error is redacted.
func (b *Backend) generate(ctx context.Context, req backends.Request) (*backends.Result, error) {
	res := &backends.Result{}
	if req.MaxTokens > 0 {
		res.Chunks = make([]time.Time, 0, req.MaxTokens)
	}
	body := b.body(req)
	ctx, cancel := context.WithCancelCause(ctx)
	drained := false // drain owns the response body and cancel
	defer func() {
		if !drained {
			cancel(nil)
		}
	}()
	sr := &stampReader{}
	if b.kstamps && kernelStamps {
		ctx = httptrace.WithClientTrace(ctx, &httptrace.ClientTrace{
			GotConn: func(info httptrace.GotConnInfo) { sr.conn = info.Conn },
		})
	}
	hreq, err := http.NewRequestWithContext(ctx, http.MethodPost, b.url, bytes.NewReader(body))
	if err != nil {
		return res, b.fail(KindRequest, err)
	}
	hreq.Header.Set("Content-Type", "application/json")
	hreq.Header.Set("Accept", "text/event-stream")
	if b.auth != "" {
		hreq.Header.Set("Authorization", b.auth)
	}

	res.Sent = time.Now()
	w := newWatchdog(b.stall, res.Sent, cancel)
	defer w.stop()
	resp, err := b.client.Do(hreq)
	if err != nil {
		return res, b.readError(ctx, err, 0)
	}
	defer func() {
		if !drained {
			resp.Body.Close()
		}
	}()
	w.touch(time.Now())
	if resp.StatusCode != http.StatusOK {
		snip, _ := io.ReadAll(io.LimitReader(resp.Body, int64(snippetLen+len(b.key))))
		io.Copy(io.Discard, io.LimitReader(resp.Body, 64<<10))
		return res, &Error{Model: b.spec.Name, Kind: KindStatus, Status: resp.StatusCode, Snippet: b.snippet(bytes.TrimSpace(snip))}
	}

	// Events are stamped with the time the read that completed them returned: one
	// clock reading per read, however many events it brought.
	sr.r, sr.w = resp.Body, w
	lr := newLineReader(sr)
	defer lr.release()
	var (
		text     strings.Builder
		data     []byte // the pending event's data
		dataTime time.Time
		dataLine int
		pending  bool
		done     bool
		sawUsage bool
		c        chunk
	)
	if req.MaxTokens > 0 {
		text.Grow(req.MaxTokens * 4)
	}
	// dispatch handles one complete event.
	dispatch := func() error {
		pending = false
		if string(data) == "[DONE]" {
			done = true
			res.Done = dataTime
			return nil
		}
		if err := parseChunk(data, &c); err != nil {
			return &Error{Model: b.spec.Name, Kind: KindMalformed, Line: dataLine, Snippet: b.snippet(data), Err: err}
		}
		if c.isError {
			return &Error{Model: b.spec.Name, Kind: KindServer, Line: dataLine, Snippet: b.snippet(data)}
		}
		if len(c.content) > 0 {
			res.Chunks = append(res.Chunks, dataTime)
			if !c.reasoning {
				text.Write(c.content)
			} else if res.Reasoning == len(res.Chunks)-1 {
				res.Reasoning++
			}
		}
		if c.usage {
			res.PromptTokens, res.OutputTokens = c.promptTokens, c.completionTokens
			res.CachedTokens, res.CachedKnown = c.cachedTokens, c.cached
			sawUsage = true
		}
		return nil
	}
	// The generation is complete at [DONE]: whatever the server does next
	// (garbage, a response left open, lines that never end) must not hold
	// or fail it, so the loop ends there and drain reads the rest.
	eof := false
	for !done {
		line, err := lr.next()
		now := sr.t
		if err != nil {
			if err == io.EOF {
				eof = true
				if pending {
					if err := dispatch(); err != nil {
						return b.partial(res, &text, err)
					}
				}
				break
			}
			if err == errLineTooLong {
				return b.partial(res, &text, &Error{Model: b.spec.Name, Kind: KindMalformed, Line: lr.n, Err: err})
			}
			return b.partial(res, &text, b.readError(ctx, err, lr.n))
		}
		if len(line) == 0 {
			if pending {
				if err := dispatch(); err != nil {
					return b.partial(res, &text, err)
				}
			}
			continue
		}
		name, value := field(line)
		switch string(name) {
		case "data":
			if !pending {
				data = append(data[:0], value...)
				dataTime = now
				dataLine = lr.n
				pending = true
			} else {
				data = append(append(data, '\n'), value...)
			}
		case "", "event", "id", "retry":
			// Comments and fields OpenAI-style streams do not use.
		default:
			if line[0] == '{' && parseChunk(line, &c) == nil && c.isError {
				// Some servers write a bare JSON error into the stream.
				return b.partial(res, &text, &Error{Model: b.spec.Name, Kind: KindServer, Line: lr.n, Snippet: b.snippet(line)})
			}
			return b.partial(res, &text, &Error{Model: b.spec.Name, Kind: KindMalformed, Line: lr.n, Snippet: b.snippet(line),
				Err: errors.New("not a server-sent events line")})
		}
	}
	if done && !eof {
		drained = true
		go drain(resp.Body, cancel)
	}
	res.Text = text.String()
	if !done {
		return res, &Error{Model: b.spec.Name, Kind: KindNoDone, Line: lr.n, Err: errors.New("stream ended without data: [DONE]")}
	}
	if len(res.Chunks) == 0 {
		return res, &Error{Model: b.spec.Name, Kind: KindNoContent, Err: backends.ErrNoContent}
	}
	if req.MaxTokens > 0 {
		if !sawUsage {
			return res, &Error{Model: b.spec.Name, Kind: KindNoUsage, Err: fmt.Errorf("no usage in the stream: cannot verify %d output tokens", req.MaxTokens)}
		}
		if err := backends.CheckLength(res, req.MaxTokens); err != nil {
			return res, &Error{Model: b.spec.Name, Kind: KindShort, Err: err}
		}
	}
	return res, nil
}

// drain reads and discards the rest of a response after its "data: [DONE]",
// so that net/http, which reuses a connection only once its response body
// was read to the end, can reuse it: a well-behaved server ends the response
// at once. A server that keeps it open for afterDoneGrace, or sends more than
// afterDoneMax bytes, is cut off: cancel ends the request and its connection.
func drain(body io.ReadCloser, cancel context.CancelCauseFunc) {
	t := time.AfterFunc(afterDoneGrace, func() { cancel(errAfterDone) })
	io.Copy(io.Discard, io.LimitReader(body, afterDoneMax))
	t.Stop()
	body.Close()
	cancel(nil)
}

func (b *Backend) partial(res *backends.Result, text *strings.Builder, err error) (*backends.Result, error) {
	res.Text = text.String()
	return res, err
}

// readError classifies an error from sending the request or reading the body.
func (b *Backend) readError(ctx context.Context, err error, line int) error {
	kind := KindConnection
	switch cause := context.Cause(ctx); {
	case errors.Is(cause, errStall):
		kind, err = KindStall, cause
	case cause != nil:
		kind, err = KindCanceled, cause
	}
	return &Error{Model: b.spec.Name, Kind: kind, Line: line, Err: err}
}

func (b *Backend) fail(kind Kind, err error) error {
	return &Error{Model: b.spec.Name, Kind: kind, Err: err}
}

// stampReader notes when the data of each read that returned some arrived: the
// kernel's receive timestamp of the latest data read from conn, when conn has
// them, else the time the read returned. It also tells the watchdog.
type stampReader struct {
	r    io.Reader
	w    *watchdog
	conn net.Conn // set by the client trace; nil without kernel timestamps
	t    time.Time
}

func (s *stampReader) Read(p []byte) (int, error) {
	n, err := s.r.Read(p)
	if n > 0 {
		s.t = time.Now()
		if s.conn != nil {
			s.t = received(s.conn, s.t)
		}
		s.w.touch(s.t)
	}
	return n, err
}

// watchdog cancels a request when no byte arrived for the stall timeout. Reads only
// store the time (one atomic store); the timer re-arms itself for the remainder
// when it fires early.
type watchdog struct {
	stall  time.Duration
	base   time.Time
	cancel context.CancelCauseFunc
	last   atomic.Int64 // ns since base of the latest read

	mu      sync.Mutex
	t       *time.Timer
	stopped bool
}

func newWatchdog(stall time.Duration, base time.Time, cancel context.CancelCauseFunc) *watchdog {
	w := &watchdog{stall: stall, base: base, cancel: cancel}
	if stall > 0 {
		w.mu.Lock()
		w.t = time.AfterFunc(stall, w.fire)
		w.mu.Unlock()
	}
	return w
}

func (w *watchdog) fire() {
	w.mu.Lock()
	defer w.mu.Unlock()
	if w.stopped {
		return
	}
	idle := time.Since(w.base) - time.Duration(w.last.Load())
	if idle >= w.stall {
		w.cancel(fmt.Errorf("%w: no data for %v", errStall, w.stall))
		return
	}
	w.t.Reset(w.stall - idle)
}

func (w *watchdog) touch(now time.Time) {
	if w.stall > 0 {
		w.last.Store(int64(now.Sub(w.base)))
	}
}

func (w *watchdog) stop() {
	if w.stall <= 0 {
		return
	}
	w.mu.Lock()
	w.stopped = true
	w.t.Stop()
	w.mu.Unlock()
}
