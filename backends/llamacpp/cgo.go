//go:build llamacpp

package llamacpp

/*
#include <stdint.h>

struct llama_context;
struct llama_model;

typedef void (*llamacpp_log_callback)(int level, const char *text, void *user_data);

// Declared as in llama.h of the llama.cpp that github.com/ollama/ollama/llama
// compiles and links into this binary; its Go wrapper does not expose them.
void llama_log_set(llamacpp_log_callback log_callback, void *user_data);
void llama_free(struct llama_context *ctx);
float *llama_get_logits_ith(struct llama_context *ctx, int32_t i);
const struct llama_model *llama_get_model(const struct llama_context *ctx);
uint32_t llama_n_ctx(const struct llama_context *ctx);
int32_t llama_model_n_ctx_train(const struct llama_model *model);

extern void llamacppLog(int level, char *text, void *user_data);
*/
import "C"

import (
	"io"
	"strings"
	"sync"
	"unsafe"

	"github.com/ollama/ollama/llama"
)

// ollama's llama.Context and llama.Model (v0.17.4) hold the C pointer as their
// first, unexported field. engineCtx reaches it for the calls the wrapper lacks:
// llama_free above all (the wrapper never frees a context: its runner process
// exits instead), and reading logits in place instead of copying them.
type engineCtx struct{ p *C.struct_llama_context }

func ctxOf(lc *llama.Context) engineCtx {
	return engineCtx{*(**C.struct_llama_context)(unsafe.Pointer(lc))}
}

func modelPtr(m *llama.Model) *C.struct_llama_model {
	return *(**C.struct_llama_model)(unsafe.Pointer(m))
}

// sameModel checks the layout assumption: the context's model is m's.
func (c engineCtx) sameModel(m *llama.Model) bool {
	return c.p != nil && C.llama_get_model(c.p) == modelPtr(m)
}

func (c engineCtx) free() { C.llama_free(c.p) }

// trainedCtx is the number of positions the model was trained for (GPT-2's
// learned position table: 1024); a position past it reads outside the table.
func trainedCtx(m *llama.Model) int { return int(C.llama_model_n_ctx_train(modelPtr(m))) }

func (c engineCtx) nCtx() int { return int(C.llama_n_ctx(c.p)) }

// logits returns the last output's logits in place (valid until the next decode),
// or nil.
func (c engineCtx) logits(nVocab int) []float32 {
	p := C.llama_get_logits_ith(c.p, -1)
	if p == nil {
		return nil
	}
	return unsafe.Slice((*float32)(unsafe.Pointer(p)), nVocab)
}

func init() {
	// Replaces the log callback ollama's llama package installs (it prints INFO
	// and up to stderr); llama_log_set sets ggml's too.
	C.llama_log_set(C.llamacpp_log_callback(C.llamacppLog), nil)
}

//export llamacppLog
func llamacppLog(level C.int, text *C.char, _ unsafe.Pointer) {
	s := C.GoString(text)
	logs.add(int(level), s)
	if w := logOut.Load(); w != nil {
		_, _ = io.WriteString(*w, s)
	}
}

// ggml log levels.
const (
	logWarn = 3
	logErr  = 4
	logCont = 5
)

// logs keeps the recent warnings and errors, to quote when a load fails.
var logs logTail

type logTail struct {
	mu   sync.Mutex
	keep bool // the last message was a warning or an error (for CONT pieces)
	buf  []byte
	all  []byte // every message since reset, up to logAllMax, for parseOffload
}

const (
	logTailMax = 2048
	logAllMax  = 64 << 10
)

func (l *logTail) add(level int, s string) {
	l.mu.Lock()
	defer l.mu.Unlock()
	if len(l.all)+len(s) <= logAllMax {
		l.all = append(l.all, s...)
	}
	if level != logCont {
		l.keep = level == logWarn || level == logErr
	}
	if !l.keep {
		return
	}
	l.buf = append(l.buf, s...)
	if len(l.buf) > logTailMax {
		l.buf = append(l.buf[:0], l.buf[len(l.buf)-logTailMax:]...)
	}
}

func (l *logTail) reset() {
	l.mu.Lock()
	defer l.mu.Unlock()
	l.buf = l.buf[:0]
	l.all = l.all[:0]
	l.keep = false
}

// loadText returns every message since reset: a load's whole log.
func (l *logTail) loadText() string {
	l.mu.Lock()
	defer l.mu.Unlock()
	return string(l.all)
}

// text returns the kept lines, joined with "; ".
func (l *logTail) text() string {
	l.mu.Lock()
	defer l.mu.Unlock()
	var lines []string
	for _, s := range strings.Split(string(l.buf), "\n") {
		if s = strings.TrimSpace(s); s != "" {
			lines = append(lines, s)
		}
	}
	return strings.Join(lines, "; ")
}
