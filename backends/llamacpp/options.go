package llamacpp

import (
	"errors"
	"io"
	"sync/atomic"
)

// ErrNotBuilt is returned by [New] in a binary built without the llamacpp tag.
var ErrNotBuilt = errors.New("backend llamacpp is not built in: build with -tags llamacpp and the CGO flags of make ollama (see README)")

// ErrInvalidModel is wrapped by the error of [Inspect] and [New] when a file is
// not a GGUF model llama.cpp can load (bad magic, truncated, inconsistent header).
var ErrInvalidModel = errors.New("not a valid GGUF model")

// ErrClosed is wrapped by the errors of a Backend's methods after Close.
var ErrClosed = errors.New("backend closed")

// FlashAttention says whether llama.cpp uses flash attention.
type FlashAttention int

const (
	// FlashAttentionAuto lets llama.cpp decide (the default, as Ollama does when
	// OLLAMA_FLASH_ATTENTION is unset).
	FlashAttentionAuto FlashAttention = iota
	// FlashAttentionOn forces it on.
	FlashAttentionOn
	// FlashAttentionOff forces it off.
	FlashAttentionOff
)

func (f FlashAttention) String() string {
	switch f {
	case FlashAttentionOn:
		return "on"
	case FlashAttentionOff:
		return "off"
	}
	return "auto"
}

// Option configures [New]. The zero set gives the defaults in the package
// documentation.
type Option func(*settings)

type settings struct {
	mmap  bool
	flash FlashAttention
}

// WithMmap maps the GGUF file instead of reading the weights into allocated
// memory. Default false, as Ollama on a CPU.
func WithMmap(on bool) Option { return func(s *settings) { s.mmap = on } }

// WithFlashAttention sets flash attention. Default [FlashAttentionAuto].
func WithFlashAttention(f FlashAttention) Option { return func(s *settings) { s.flash = f } }

// logOut is where llama.cpp's log goes; nil discards it.
var logOut atomic.Pointer[io.Writer]

// SetLogOutput sends llama.cpp's and ggml's log to w; nil (the default) discards
// it. The log is process-wide, so this is not an Option. Warnings and errors are
// kept either way and quoted in the error of a failed load.
func SetLogOutput(w io.Writer) {
	if w == nil {
		logOut.Store(nil)
		return
	}
	logOut.Store(&w)
}
