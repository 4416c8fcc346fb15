//go:build llamacpp

package llamacpp

import (
	"context"
	"errors"
	"fmt"
	"math/rand/v2"
	"os"
	"runtime"
	"runtime/debug"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/ollama/ollama/llama"
	"github.com/ollama/ollama/ml"

	"github.com/llmbench/llmbench/backends"
)

// Backend is one GGUF model loaded in this process, with one llama.cpp context
// (one sequence). Its methods are safe for concurrent use; they run one at a time.
type Backend struct {
	path string
	name string // for errors: the model's configured name, else the path
	opts backends.Options
	set  settings
	info ModelInfo
	// synthetic is set by the engine for a model it made.
	synthetic bool

	threads, nBatch int
	gpuLayers       int
	trainedCap      bool // the context was cut to the model's trained positions
	load            time.Duration
	offload         offload // what llama.cpp said it put on a GPU

	mu       sync.Mutex
	closed   bool
	loadSeen bool
	model    *llama.Model
	lc       *llama.Context
	c        engineCtx
	batch    *llama.Batch
	nCtx     int
	nVocab   int
	eog      []bool // eog[id]: id ends generation
	bos      []int  // what Tokenize adds to an empty text (BOS, or nothing)
}

var (
	_ backends.Backend       = (*Backend)(nil)
	_ backends.Loader        = (*Backend)(nil)
	_ backends.Describer     = (*Backend)(nil)
	_ backends.ProcessFinder = (*Backend)(nil)
)

var (
	initOnce sync.Once
	loadMu   sync.Mutex // loads one at a time, so a failure's log lines are its own
)

// New loads the GGUF file at path into this process. Generation options come
// from spec.Options: Context (default 2048 tokens), Batch (default 512), Threads
// (default runtime.NumCPU()), Temperature and MaxTokens; spec.Name names the
// model in errors, and spec.Model is not read (the engine resolves
// "synthetic:PRESET" to a file first).
//
// The file's header is checked with [Inspect] before llama.cpp sees it: a missing
// file gives an error wrapping fs.ErrNotExist, a corrupt one [ErrInvalidModel];
// both name the file. ctx is checked before loading; a load, once started, runs
// to its end.
func New(ctx context.Context, path string, m backends.Spec, opts ...Option) (*Backend, error) {
	b := &Backend{path: path, name: name(m, path), opts: m.Options}
	for _, o := range opts {
		o(&b.set)
	}
	info, err := Inspect(path)
	if err != nil {
		return nil, b.err("load", err)
	}
	b.info = *info
	if err := ctx.Err(); err != nil {
		return nil, b.err("load", err)
	}
	b.threads = m.Options.Threads
	if b.threads <= 0 {
		b.threads = runtime.NumCPU()
	}
	nCtx := m.Options.Context
	if nCtx <= 0 {
		nCtx = 2048
	}
	b.nBatch = m.Options.Batch
	if b.nBatch <= 0 {
		b.nBatch = 512
	}
	b.nBatch = min(b.nBatch, nCtx) // as Ollama does
	if m.Options.GPULayers != nil {
		b.gpuLayers = max(*m.Options.GPULayers, 0)
	}

	if held := gpuHeld.Load(); held != nil {
		return nil, b.err("load", errGPUHeld(*held))
	}
	initOnce.Do(backendInit)
	loadMu.Lock()
	defer loadMu.Unlock()
	logs.reset()
	start := time.Now()
	b.model, err = llama.LoadModelFromFile(path, llama.ModelParams{UseMmap: b.set.mmap, NumGpuLayers: b.gpuLayers})
	b.offload = parseOffload(logs.loadText())
	if err != nil {
		return nil, b.err("load", b.withLog(fmt.Errorf("llama.cpp could not load %s", path)))
	}
	// More context than the model has positions would let a long prompt index
	// past a learned position table, which llama.cpp answers by aborting the
	// process: cap it, as Ollama's runner does, and say so in the errors.
	if t := trainedCtx(b.model); t > 0 && nCtx > t {
		nCtx, b.trainedCap = t, true
	}
	fa := ml.FlashAttentionAuto
	switch b.set.flash {
	case FlashAttentionOn:
		fa = ml.FlashAttentionEnabled
	case FlashAttentionOff:
		fa = ml.FlashAttentionDisabled
	}
	b.lc, err = llama.NewContextWithModel(b.model, llama.NewContextParams(nCtx, b.nBatch, 1, b.threads, fa, ""))
	if err != nil {
		llama.FreeModel(b.model)
		return nil, b.err("load", b.withLog(fmt.Errorf("llama.cpp could not make a context of %d tokens for %s", nCtx, path)))
	}
	b.c = ctxOf(b.lc)
	if !b.c.sameModel(b.model) {
		// Freeing through a wrong pointer would crash: leak instead, and say why.
		return nil, b.err("load", errors.New("github.com/ollama/ollama/llama's Context no longer starts with its C pointer: this package needs updating for that version"))
	}
	b.batch, err = llama.NewBatch(b.nBatch, 1, 0)
	if err != nil {
		b.free()
		return nil, b.err("load", err)
	}
	b.load = time.Since(start)

	// llama.cpp rounds the context up (to 256); keep to the size asked for, as
	// Ollama's runner does.
	b.nCtx = min(nCtx, b.c.nCtx())
	b.nVocab = b.model.NumVocab()
	b.eog = make([]bool, b.nVocab)
	for id := range b.eog {
		b.eog[id] = b.model.TokenIsEog(id)
	}
	if b.bos, err = b.model.Tokenize("", true, false); err != nil {
		b.free()
		return nil, b.err("load", err)
	}
	return b, nil
}

// backendInit loads ggml's backends once per process. Where OLLAMA_LIBRARY_PATH
// is unset, it names the GPU backends laid out next to this executable
// ([libraryPath]) for the load only, so the servers this process starts later
// do not inherit it.
func backendInit() {
	if _, set := os.LookupEnv("OLLAMA_LIBRARY_PATH"); !set {
		if exe, err := os.Executable(); err == nil {
			if p := libraryPath(exe); p != "" {
				os.Setenv("OLLAMA_LIBRARY_PATH", p)
				defer os.Unsetenv("OLLAMA_LIBRARY_PATH")
			}
		}
	}
	llama.BackendInit()
}

// ctxSource says where the context size came from, for errors.
func (b *Backend) ctxSource() string {
	if b.trainedCap {
		return "the model's trained positions; options.context asks for more"
	}
	return "options.context"
}

// withLog appends llama.cpp's warnings and errors since the load began to err.
func (b *Backend) withLog(err error) error {
	if t := logs.text(); t != "" {
		return fmt.Errorf("%w: %s", err, t)
	}
	return err
}

func (b *Backend) err(op string, err error) error {
	return fmt.Errorf("llamacpp: model %s: %s: %w", b.name, op, err)
}

// free releases what New made; b.mu is held or b is not shared yet.
func (b *Backend) free() {
	if b.batch != nil {
		b.batch.Free()
		b.batch = nil
	}
	if b.lc != nil {
		b.c.free()
		b.lc, b.c = nil, engineCtx{}
	}
	if b.model != nil {
		llama.FreeModel(b.model)
		b.model = nil
	}
}

// Close implements [backends.Backend]: it frees the context, the batch and the
// model, and asks glibc to give its free heap back (malloc_trim), so this
// process's RSS returns near where it was before [New]. Close may be called
// more than once.
//
// A model with layers on a GPU is not freed: llama_free of a context on the
// CUDA backend (loaded from lib/ollama beside the binary, with its own copy of
// ggml-base) kills the process with SIGSEGV, after the results but before the
// report (seen on an H200; Ollama's runner never frees its context, it exits).
// Its memory stays held until the process exits, so [New] refuses any further
// model in this process (errGPUHeld): its GPU and RAM figures would include it.
func (b *Backend) Close() error {
	b.mu.Lock()
	defer b.mu.Unlock()
	if !b.closed {
		b.closed = true
		if b.offload.onGPU() {
			gpuHeld.CompareAndSwap(nil, &b.name)
			b.batch.Free()
			b.batch, b.lc, b.c, b.model = nil, nil, engineCtx{}, nil
			return nil
		}
		b.free()
		trimHeap()
	}
	return nil
}

// gpuHeld names the first model closed in this process with its GPU memory
// still held (Close); nil while there is none.
var gpuHeld atomic.Pointer[string]

// errGPUHeld is New's error once a GPU model's memory is held.
func errGPUHeld(held string) error {
	return fmt.Errorf("model %s, closed earlier in this process, still holds its GPU memory (llama.cpp's CUDA context cannot be freed in-process), so this model's GPU and RAM figures would include it: run each llamacpp model that uses a GPU in its own llmbench run (docs/gpu.md)", held)
}

// Info returns what the file's header says about the model.
func (b *Backend) Info() ModelInfo { return b.info }

// Load implements [backends.Loader]. The model is loaded by [New]; the first call
// returns the time that took (llama.cpp's load and the context's allocation),
// later calls zero.
func (b *Backend) Load(ctx context.Context) (time.Duration, error) {
	b.mu.Lock()
	defer b.mu.Unlock()
	if b.closed {
		return 0, b.err("load", ErrClosed)
	}
	if b.loadSeen {
		return 0, nil
	}
	b.loadSeen = true
	return b.load, nil
}

// Describe implements [backends.Describer].
func (b *Backend) Describe(ctx context.Context) (backends.Description, error) {
	return backends.Description{
		Engine: "llama.cpp (ollama " + ollamaVersion() + ", in-process)",
		Arch:   b.info.Arch, Params: b.info.Params, Quant: b.info.Quant, Size: b.info.Size,
		Synthetic: b.synthetic, Device: b.offload.device(),
		Extra: [][2]string{{"llamacpp-gpu-layers", b.offload.String()}},
	}, nil
}

// ollamaModule is the version of github.com/ollama/ollama that go.mod requires,
// for binaries without module build information (test binaries).
const ollamaModule = "v0.17.4"

// ollamaVersion is the version of the ollama module linked in.
func ollamaVersion() string {
	if bi, ok := debug.ReadBuildInfo(); ok {
		for _, m := range bi.Deps {
			if m.Path == "github.com/ollama/ollama" {
				if m.Replace != nil {
					m = m.Replace
				}
				return m.Version
			}
		}
	}
	return ollamaModule
}

// EnginePID implements [backends.ProcessFinder]: the model is in this process.
func (b *Backend) EnginePID(ctx context.Context) (int, error) { return os.Getpid(), nil }

// Generate implements [backends.Backend]; the package documentation says what it
// measures. With req.MaxTokens > 0 exactly that many tokens come (end of
// generation is masked); with 0, up to options.max_tokens (default 64), stopping at
// end of generation. The prompt and the output must fit the context. When ctx
// ends, Generate stops after the current step and returns the partial result with
// an error wrapping ctx.Err().
func (b *Backend) Generate(ctx context.Context, req backends.Request) (*backends.Result, error) {
	b.mu.Lock()
	defer b.mu.Unlock()
	if b.closed {
		return nil, b.err("generate", ErrClosed)
	}
	res := &backends.Result{Sent: time.Now()}
	prompt, err := b.model.Tokenize(req.Prompt, true, true)
	if err != nil {
		return nil, b.err("generate", fmt.Errorf("tokenizing the prompt: %w", err))
	}
	if len(prompt) == 0 {
		return nil, b.err("generate", errors.New("the prompt has no tokens (empty, and the model adds no BOS)"))
	}
	n, exact := req.MaxTokens, true
	if n <= 0 {
		n, exact = b.opts.MaxTokens, false
		if n <= 0 {
			n = 64
		}
	}
	if len(prompt)+n > b.nCtx {
		return nil, b.err("generate", fmt.Errorf("%d prompt tokens and %d output tokens do not fit the context of %d tokens (%s)",
			len(prompt), n, b.nCtx, b.ctxSource()))
	}
	s := sampler{temp: b.opts.Temperature, rng: rand.New(rand.NewPCG(uint64(req.Seed), 0))}
	if exact {
		s.mask = b.eog
	}

	var text strings.Builder
	defer func() {
		res.Text = text.String()
		res.PromptTokens = len(prompt)
		res.OutputTokens = len(res.Chunks)
		res.Server.PromptEvalTokens = len(prompt)
		if res.OutputTokens > 1 {
			res.Server.EvalTokens = res.OutputTokens - 1
		}
	}()
	b.clearKV()
	pos := len(prompt)
	tok := 0
	for len(res.Chunks) < n {
		if err := ctx.Err(); err != nil {
			res.Done = time.Now()
			return res, b.err("generate", fmt.Errorf("after %d tokens: %w", len(res.Chunks), err))
		}
		start := time.Now()
		if len(res.Chunks) == 0 {
			err = b.decode(prompt, 0)
		} else {
			err = b.decode([]int{tok}, pos)
			pos++
		}
		if err != nil {
			res.Done = time.Now()
			return res, b.err("generate", fmt.Errorf("after %d tokens: %w", len(res.Chunks), err))
		}
		logits := b.c.logits(b.nVocab)
		if logits == nil {
			res.Done = time.Now()
			return res, b.err("generate", fmt.Errorf("after %d tokens: llama.cpp returned no logits", len(res.Chunks)))
		}
		// The engine's own time is llama.cpp's step: llama_decode and the wait
		// for its logits (the backend's kernels and their launches); the
		// sampling and detokenising below are llmbench's, on its clock only.
		// A step that ends at end-of-sequence gives no token and is not counted.
		step := time.Since(start)
		tok = s.sample(logits)
		if !exact && b.eog[tok] {
			break
		}
		if len(res.Chunks) == 0 {
			res.Server.PromptEval = step
		} else {
			res.Server.Eval += step
		}
		piece := b.model.TokenToPiece(tok)
		res.Chunks = append(res.Chunks, time.Now())
		text.WriteString(piece)
	}
	res.Done = time.Now()
	res.Server.Total = res.Done.Sub(res.Sent)
	if exact && len(res.Chunks) != n {
		return res, b.err("generate", backends.CheckLength(&backends.Result{Chunks: res.Chunks, OutputTokens: len(res.Chunks)}, n))
	}
	return res, nil
}

// decode evaluates tokens at positions from pos on, in batches of options.batch
// tokens, asking for the last one's logits; it returns when they are computed.
func (b *Backend) decode(tokens []int, pos int) error {
	for i := 0; i < len(tokens); i += b.nBatch {
		end := min(i+b.nBatch, len(tokens))
		b.batch.Clear()
		for j := i; j < end; j++ {
			b.batch.Add(tokens[j], nil, pos+j, j == len(tokens)-1, 0)
		}
		if err := b.lc.Decode(b.batch); err != nil {
			return fmt.Errorf("llama_decode of tokens %d to %d: %w", pos+i, pos+end-1, err)
		}
	}
	b.lc.Synchronize()
	return nil
}

// Tokenize returns the tokens Generate evaluates for prompt (BOS added when the
// model adds one, special tokens parsed).
func (b *Backend) Tokenize(prompt string) ([]int, error) {
	b.mu.Lock()
	defer b.mu.Unlock()
	if b.closed {
		return nil, b.err("tokenize", ErrClosed)
	}
	t, err := b.model.Tokenize(prompt, true, true)
	if err != nil {
		return nil, b.err("tokenize", err)
	}
	return t, nil
}

// PP is llama-bench's pp case: it clears the KV cache and evaluates n tokens of a
// fixed pattern (BOS first when the model adds one) in batches of options.batch,
// returning the wall time of the evaluation. Report n/PP as prompt-tokens/s.
func (b *Backend) PP(ctx context.Context, n int) (time.Duration, error) {
	b.mu.Lock()
	defer b.mu.Unlock()
	if err := b.benchCheck(ctx, "pp", n); err != nil {
		return 0, err
	}
	tokens := b.pattern(n)
	b.clearKV()
	start := time.Now()
	if err := b.decode(tokens, 0); err != nil {
		return 0, b.err("pp", err)
	}
	return time.Since(start), nil
}

// TG is llama-bench's tg case: it clears the KV cache and decodes n tokens of the
// fixed pattern one at a time (no sampling), returning the wall time of the n
// steps. Report n/TG as tokens/s. ctx is checked between steps.
func (b *Backend) TG(ctx context.Context, n int) (time.Duration, error) {
	b.mu.Lock()
	defer b.mu.Unlock()
	if err := b.benchCheck(ctx, "tg", n); err != nil {
		return 0, err
	}
	tokens := b.pattern(n)
	b.clearKV()
	start := time.Now()
	for i, t := range tokens {
		if err := ctx.Err(); err != nil {
			return 0, b.err("tg", fmt.Errorf("after %d tokens: %w", i, err))
		}
		if err := b.decode([]int{t}, i); err != nil {
			return 0, b.err("tg", err)
		}
	}
	return time.Since(start), nil
}

// clearKV empties the KV cache of the one sequence, as Ollama's runner does
// (llama_memory_seq_rm; llama_memory_clear would also zero the whole buffer,
// hundreds of MB for a 1B model at 2048 tokens).
func (b *Backend) clearKV() {
	if !b.lc.KvCacheSeqRm(0, 0, -1) {
		b.lc.KvCacheClear()
	}
}

func (b *Backend) benchCheck(ctx context.Context, op string, n int) error {
	switch {
	case b.closed:
		return b.err(op, ErrClosed)
	case n < 1:
		return b.err(op, fmt.Errorf("%d tokens: want at least 1", n))
	case n > b.nCtx:
		return b.err(op, fmt.Errorf("%d tokens do not fit the context of %d tokens (%s)", n, b.nCtx, b.ctxSource()))
	}
	if err := ctx.Err(); err != nil {
		return b.err(op, err)
	}
	return nil
}

// pattern returns n token ids: the model's BOS (if it adds one), then a fixed
// sequence spread over the vocabulary.
func (b *Backend) pattern(n int) []int {
	tokens := make([]int, 0, n)
	tokens = append(tokens, b.bos[:min(len(b.bos), n)]...)
	for i := len(tokens); i < n; i++ {
		tokens = append(tokens, (i*7919+17)%b.nVocab)
	}
	return tokens
}
