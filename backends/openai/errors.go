package openai

import (
	"bytes"
	"errors"
	"fmt"
	"strings"
)

// Kind classifies why a generation failed. Load reports count errors by kind.
type Kind string

// The kinds of failure Generate reports.
const (
	// KindStatus: the server answered with an HTTP status other than 200.
	KindStatus Kind = "status"
	// KindServer: the stream carried an error object instead of a chunk.
	KindServer Kind = "server-error"
	// KindMalformed: a line of the stream was not valid server-sent events, or a
	// data payload was not a valid chunk.
	KindMalformed Kind = "malformed"
	// KindNoDone: the stream ended cleanly without its final "data: [DONE]".
	KindNoDone Kind = "no-done"
	// KindStall: no byte arrived for the stall timeout.
	KindStall Kind = "stall"
	// KindConnection: the connection failed (refused, reset, or closed in the
	// middle of the response).
	KindConnection Kind = "connection"
	// KindNoUsage: an exact length was asked for but the stream carried no usage,
	// so it could not be verified.
	KindNoUsage Kind = "no-usage"
	// KindNoContent: the stream ended without a single content chunk (the error
	// also wraps backends.ErrNoContent).
	KindNoContent Kind = "no-content"
	// KindShort: fewer output tokens than asked for (the error also wraps
	// backends.ErrShort).
	KindShort Kind = "short"
	// KindCanceled: the caller's context ended the request.
	KindCanceled Kind = "canceled"
	// KindRequest: the request could not be built or sent for another reason.
	KindRequest Kind = "request"
)

// Error is the error Generate returns. It names the model and says what kind of
// failure it was; Err is the cause.
type Error struct {
	// Model is the configured model name (config.Model.Name).
	Model string
	// Kind classifies the failure.
	Kind Kind
	// Status is the HTTP status, for KindStatus.
	Status int
	// Line is the 1-based line of the stream where the failure was seen, for
	// KindMalformed, KindServer and KindNoDone (0 when not applicable).
	Line int
	// Snippet is up to 200 bytes of the response body (KindStatus) or of the
	// offending line (KindMalformed, KindServer).
	Snippet string
	// Err is the underlying cause, if any.
	Err error
}

func (e *Error) Error() string {
	var b strings.Builder
	fmt.Fprintf(&b, "openai: model %q: %s", e.Model, e.Kind)
	if e.Status != 0 {
		fmt.Fprintf(&b, ": HTTP %d", e.Status)
	}
	if e.Line != 0 {
		fmt.Fprintf(&b, ": stream line %d", e.Line)
	}
	if e.Err != nil {
		fmt.Fprintf(&b, ": %v", e.Err)
	}
	if e.Snippet != "" {
		fmt.Fprintf(&b, ": %q", e.Snippet)
	}
	return b.String()
}

func (e *Error) Unwrap() error { return e.Err }

// ErrorKind returns the kind as a string, for load generators that classify
// errors without importing this package.
func (e *Error) ErrorKind() string { return string(e.Kind) }

const snippetLen = 200

// redacted stands in for the API key in error text.
const redacted = "[redacted]"

// snippet returns up to snippetLen bytes of data as valid UTF-8, with the
// API key redacted. The key is replaced before data is cut, so that a key
// across the cut leaves no prefix of itself either: data should hold
// snippetLen+len(b.key) bytes where it has them.
func (b *Backend) snippet(data []byte) string {
	if b.key != "" {
		data = data[:min(len(data), snippetLen+len(b.key))]
		data = bytes.ReplaceAll(data, []byte(b.key), []byte(redacted))
	}
	if len(data) > snippetLen {
		data = data[:snippetLen]
	}
	return strings.ToValidUTF8(string(data), "\uFFFD")
}

// redact returns err with the API key replaced wherever its text would show
// it: a server may echo the Authorization header it rejected (some proxies
// do) into a body or stream line that the error quotes, or a cause may
// quote it. A cause whose text holds the key is replaced by one of its
// redacted text, which drops its chain: a key reached through errors.As
// would leak as surely as one printed.
func (b *Backend) redact(err error) error {
	if b.key == "" || err == nil {
		return err
	}
	leaks := func(s string) bool { return strings.Contains(s, b.key) }
	scrub := func(s string) string { return strings.ReplaceAll(s, b.key, redacted) }
	e, ok := err.(*Error)
	if !ok {
		if leaks(err.Error()) {
			return errors.New(scrub(err.Error()))
		}
		return err
	}
	errLeaks := e.Err != nil && leaks(e.Err.Error())
	if !errLeaks && !leaks(e.Snippet) {
		return err
	}
	c := *e
	c.Snippet = scrub(c.Snippet)
	if errLeaks {
		c.Err = errors.New(scrub(c.Err.Error()))
	}
	return &c
}
