// Package transformers runs models with Hugging Face transformers (PyTorch) in a
// Python worker process and measures them like any other engine.
//
// [New] starts python3 on worker.py (shipped inside this package and written to a
// temporary folder), loads one model in it, and talks JSON lines over the worker's
// stdin and stdout; the worker's stderr is kept for error messages. The worker
// decodes with its own loop over the KV cache, one forward pass per token, and
// writes each token as soon as it is known on the host; the Go side stamps each
// token line with its own clock as it is read ([backends.Result.Chunks]) and takes
// token counts and prefill/decode times from the worker.
//
// A model is a Hugging Face Hub id, a local folder, or "synthetic:NAME" for a
// random-weight model built from one of the shipped configurations ([Presets]).
// Synthetic models need no download and no tokenizer: the prompt's UTF-8 bytes
// are the input ids (byte b is id b+4).
//
// Python 3 with torch and transformers must be installed; [Available] says what
// is missing. docs/transformers.md describes the protocol and the GPU run.
package transformers

import (
	"context"
	"embed"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"os"
	"path/filepath"
	"sort"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/llmbench/llmbench/backends"
)

//go:embed worker.py presets/*.json
var files embed.FS

// Presets returns the names of the shipped synthetic models, for "synthetic:NAME".
func Presets() []string {
	ents, _ := fs.ReadDir(files, "presets")
	var names []string
	for _, e := range ents {
		if n, ok := strings.CutSuffix(e.Name(), ".json"); ok {
			names = append(names, n)
		}
	}
	sort.Strings(names)
	return names
}

// WorkerSource returns the worker script shipped in this package.
func WorkerSource() []byte {
	b, _ := files.ReadFile("worker.py")
	return b
}

// Option configures [New]. The zero set of options runs the shipped worker under
// [DefaultPython] with the timeouts given below.
type Option func(*settings)

type settings struct {
	python          string
	worker          string
	env             []string
	stderr          io.Writer
	loadTimeout     time.Duration
	shutdownTimeout time.Duration
	cancelTimeout   time.Duration
}

// WithPython sets the Python interpreter. Default: [DefaultPython].
func WithPython(path string) Option { return func(s *settings) { s.python = path } }

// WithWorker runs the given script instead of the shipped worker.py (tests use a
// fake worker that speaks the protocol without torch). torch and transformers are
// then not checked for.
func WithWorker(path string) Option { return func(s *settings) { s.worker = path } }

// WithEnv adds KEY=VALUE entries to the worker's environment (for example
// CUDA_VISIBLE_DEVICES=1).
func WithEnv(kv ...string) Option {
	return func(s *settings) { s.env = append(s.env, kv...) }
}

// WithStderr copies the worker's stderr to w as it is written. The last lines are
// kept for error messages either way.
func WithStderr(w io.Writer) Option { return func(s *settings) { s.stderr = w } }

// WithLoadTimeout bounds the worker's start and model load (downloads from the
// Hub included). Default 10 minutes.
func WithLoadTimeout(d time.Duration) Option { return func(s *settings) { s.loadTimeout = d } }

// WithShutdownTimeout is how long [Backend.Close] waits for the worker to exit
// before it kills it. Default 10 seconds.
func WithShutdownTimeout(d time.Duration) Option {
	return func(s *settings) { s.shutdownTimeout = d }
}

// WithCancelTimeout is how long a cancelled generation may take to stop at the end
// of its current step before the worker is killed. Default 30 seconds.
func WithCancelTimeout(d time.Duration) Option {
	return func(s *settings) { s.cancelTimeout = d }
}

// Info describes the loaded model and the worker's software, as the worker reported
// them when it loaded the model.
type Info struct {
	// Model is the model id given ("synthetic:opt-1.3b", a Hub id or a folder).
	Model string
	// Arch is the model class, e.g. "OPTForCausalLM"; Params its parameter count.
	Arch   string
	Params int64
	// Device is cpu or cuda; DeviceName the GPU's or CPU's name.
	Device, DeviceName string
	// DType is the weight type: float32, float16 or bfloat16.
	DType string
	// Threads is torch's CPU thread count.
	Threads int
	// Tokenizer is the tokenizer's class, or "bytes+4" for synthetic models.
	Tokenizer string
	// Decode is how the worker makes tokens: generate or loop (Options.Decode).
	Decode string
	// Torch, Transformers and Python are the worker's library versions.
	Torch, Transformers, Python string
	// Load is the worker's time to build or read the model and place it on the
	// device; Warmup the untimed two-token generation after it.
	Load, Warmup time.Duration
	// MemoryAllocated is torch's allocated GPU memory after the load, in bytes
	// (zero on cpu).
	MemoryAllocated int64
}

// Backend is one model loaded in one Python worker. Generations are serialised:
// concurrent calls to Generate wait for each other (the worker runs one at a time).
type Backend struct {
	spec backends.Spec
	opts Options
	name string // for errors: the model's configured name, else its id
	set  settings
	dir  string // temporary folder holding the shipped worker, "" with WithWorker
	proc *process
	info Info

	mu       sync.Mutex // held for a whole request/reply exchange
	nextID   int64
	loadSeen bool
	peakVRAM int64
	broken   error // set when the worker can no longer serve (it died, was killed)

	closeOnce sync.Once
	closeErr  error
}

var (
	_ backends.Backend       = (*Backend)(nil)
	_ backends.Loader        = (*Backend)(nil)
	_ backends.Describer     = (*Backend)(nil)
	_ backends.ProcessFinder = (*Backend)(nil)
)

// Error is a failure of the worker or of one of its requests.
type Error struct {
	// Model names the model (its configured name, else its id).
	Model string
	// Op is the request that failed: start, load, generate, baseline or close.
	Op string
	// Err is the cause: the worker's own message for a failed request, an
	// exit error carrying the last lines of its stderr when it died, a
	// [ProtocolError], or a context error.
	Err error
}

func (e *Error) Error() string {
	return fmt.Sprintf("transformers: model %q: %s: %v", e.Model, e.Op, e.Err)
}

func (e *Error) Unwrap() error { return e.Err }

// WorkerError is the worker's own {"error": ...} answer to a request; the worker
// goes on serving after it.
type WorkerError struct{ Msg string }

func (e *WorkerError) Error() string { return e.Msg }

// workerError drops the op the worker names its message with ("load: ..."):
// Error.Op says it already.
func workerError(op, msg string) *WorkerError {
	return &WorkerError{Msg: strings.TrimPrefix(msg, op+": ")}
}

// ProtocolError is a line from the worker that does not follow the protocol.
type ProtocolError struct {
	Line string // the line, shortened
	Err  error
}

func (e *ProtocolError) Error() string {
	return fmt.Sprintf("malformed line from worker %q: %v", e.Line, e.Err)
}

func (e *ProtocolError) Unwrap() error { return e.Err }

// Options are a transformers model's own options in the configuration.
type Options struct {
	// Device is cpu or cuda (default cpu).
	Device string `yaml:"device"`
	// DType is float32, float16 or bfloat16 (default float32 on cpu, float16 on
	// cuda).
	DType string `yaml:"dtype"`
	// Decode is how tokens are made: "generate" (the default) times
	// model.generate, what users run, with a streamer stamping each token as it
	// reaches the host; "loop" is the worker's own loop of one forward pass per
	// token over the KV cache (greedy or softmax sampling, no logits processors).
	Decode string `yaml:"decode"`
}

// The values of Options.Decode.
const (
	DecodeGenerate = "generate"
	DecodeLoop     = "loop"
)

// New starts a worker and loads the model of spec in it. spec.Model is a Hub id, a
// local folder or "synthetic:NAME" (see [Presets]; "synthetic:NAME:DTYPE" sets the
// dtype when o.DType is empty); spec.Options.Threads and Seed go to the worker.
// ctx bounds the start and load, as does [WithLoadTimeout].
func New(ctx context.Context, spec backends.Spec, o Options, opts ...Option) (*Backend, error) {
	b := &Backend{spec: spec, opts: o, name: spec.Name}
	if b.name == "" {
		b.name = spec.Model
	}
	b.set = settings{
		python:          DefaultPython(),
		loadTimeout:     10 * time.Minute,
		shutdownTimeout: 10 * time.Second,
		cancelTimeout:   30 * time.Second,
	}
	for _, o := range opts {
		o(&b.set)
	}
	req, err := b.loadRequest()
	if err != nil {
		return nil, b.err("load", err)
	}
	script := b.set.worker
	if script == "" {
		if err := availableFor(b.set.python); err != nil {
			return nil, b.err("start", err)
		}
		if script, err = b.writeWorker(); err != nil {
			return nil, b.err("start", err)
		}
	}
	b.proc, err = start(b.set.python, script, b.set.env, b.set.stderr)
	if err != nil {
		b.removeDir()
		return nil, b.err("start", err)
	}
	if err := b.load(ctx, req); err != nil {
		b.proc.kill()
		b.removeDir()
		return nil, b.err("load", err)
	}
	return b, nil
}

func (b *Backend) loadRequest() (loadRequest, error) {
	return checkLoad(b.spec, b.opts, b.set.worker != "")
}

// checkLoad makes the worker's load request of a model, checking its options;
// custom says a test worker is used, which knows models the presets do not.
func checkLoad(m backends.Spec, o Options, custom bool) (loadRequest, error) {
	req := loadRequest{Op: "load", Model: m.Model, DType: o.DType, Device: o.Device, Decode: o.Decode, Threads: m.Options.Threads, Seed: m.Options.Seed}
	switch req.Decode {
	case "":
		req.Decode = DecodeGenerate
	case DecodeGenerate, DecodeLoop:
	default:
		return req, fmt.Errorf("decode %q: want %s or %s", req.Decode, DecodeGenerate, DecodeLoop)
	}
	if req.Device == "" {
		req.Device = "cpu"
	}
	if req.Device != "cpu" && req.Device != "cuda" {
		return req, fmt.Errorf("device %q: want cpu or cuda", req.Device)
	}
	if spec, ok := m.Synthetic(); ok {
		name, dtype, hasType := strings.Cut(spec, ":")
		if hasType {
			if req.DType != "" && req.DType != dtype {
				return req, fmt.Errorf("model %q names dtype %s but dtype is %s", m.Model, dtype, req.DType)
			}
			req.DType = dtype
		}
		if !custom && !contains(Presets(), name) {
			return req, fmt.Errorf("no synthetic preset %q: have %s", name, strings.Join(Presets(), ", "))
		}
		req.Model = "synthetic:" + name
	}
	if req.DType == "" {
		req.DType = "float32"
		if req.Device == "cuda" {
			req.DType = "float16"
		}
	}
	switch req.DType {
	case "float32", "float16", "bfloat16":
	default:
		return req, fmt.Errorf("dtype %q: want float32, float16 or bfloat16", req.DType)
	}
	return req, nil
}

// writeWorker writes the shipped worker and presets to a new temporary folder.
func (b *Backend) writeWorker() (string, error) {
	dir, err := os.MkdirTemp("", "llmbench-transformers-")
	if err != nil {
		return "", err
	}
	b.dir = dir
	err = fs.WalkDir(files, ".", func(path string, d fs.DirEntry, err error) error {
		if err != nil || path == "." {
			return err
		}
		if d.IsDir() {
			return os.MkdirAll(filepath.Join(dir, path), 0o755)
		}
		data, err := files.ReadFile(path)
		if err != nil {
			return err
		}
		return os.WriteFile(filepath.Join(dir, path), data, 0o644)
	})
	if err != nil {
		b.removeDir()
		return "", err
	}
	return filepath.Join(dir, "worker.py"), nil
}

func (b *Backend) removeDir() {
	if b.dir != "" {
		_ = os.RemoveAll(b.dir)
		b.dir = ""
	}
}

// load sends the load request and waits for the answer.
func (b *Backend) load(ctx context.Context, req loadRequest) error {
	if b.set.loadTimeout > 0 {
		var cancel context.CancelFunc
		ctx, cancel = context.WithTimeout(ctx, b.set.loadTimeout)
		defer cancel()
	}
	if err := b.proc.send(req); err != nil {
		return b.deadOr(err)
	}
	for {
		select {
		case <-ctx.Done():
			err := ctx.Err()
			if errors.Is(err, context.DeadlineExceeded) {
				err = fmt.Errorf("no answer within %v: %w", b.set.loadTimeout, err)
			}
			if tail := b.proc.stderr.lastLines(6); tail != "" {
				err = fmt.Errorf("%w; worker stderr: %s", err, tail)
			}
			return err
		case l, ok := <-b.proc.lines:
			if !ok {
				return b.proc.exitError()
			}
			r, err := parseReply(l.data)
			if err != nil {
				return &ProtocolError{Line: shorten(l.data), Err: err}
			}
			if r.Error != nil {
				return workerError("load", *r.Error)
			}
			if !r.OK {
				return &ProtocolError{Line: shorten(l.data), Err: errors.New(`want {"ok":true,...} or {"error":...}`)}
			}
			var lr loadReply
			_ = json.Unmarshal(l.data, &lr)
			b.info = Info{
				Model: b.spec.Model, Arch: lr.Arch, Params: lr.Params,
				Device: lr.Device, DeviceName: lr.DeviceName, DType: lr.DType, Threads: lr.Threads,
				Tokenizer: lr.Tokenizer, Decode: lr.Decode, Torch: lr.Torch, Transformers: lr.Transformers, Python: lr.Python,
				Load: seconds(lr.LoadS), Warmup: seconds(lr.WarmupS),
			}
			if lr.MemoryAllocated != nil {
				b.info.MemoryAllocated = *lr.MemoryAllocated
			}
			return nil
		}
	}
}

// deadOr returns the worker's exit error when it has died (waiting briefly for
// it to be reaped), else err.
func (b *Backend) deadOr(err error) error {
	select {
	case <-b.proc.exited:
		return b.proc.exitError()
	case <-time.After(2 * time.Second):
		return err
	}
}

func (b *Backend) err(op string, err error) error {
	return &Error{Model: b.name, Op: op, Err: err}
}

// Info describes the loaded model and the worker's libraries.
func (b *Backend) Info() Info { return b.info }

// Load implements [backends.Loader]. The model is loaded by [New]; the first call
// returns the worker's load time, later calls zero.
func (b *Backend) Load(ctx context.Context) (time.Duration, error) {
	b.mu.Lock()
	defer b.mu.Unlock()
	if b.broken != nil {
		return 0, b.err("load", b.broken)
	}
	if b.loadSeen {
		return 0, nil
	}
	b.loadSeen = true
	return b.info.Load, nil
}

// Describe implements [backends.Describer]: engine and versions, device and dtype.
func (b *Backend) Describe(ctx context.Context) (backends.Description, error) {
	i := b.info
	engine := "transformers"
	if i.Transformers != "" {
		engine += " " + i.Transformers + " torch " + i.Torch
	}
	_, synthetic := b.spec.Synthetic()
	d := backends.Description{Engine: engine, Arch: i.Arch, Params: i.Params, Quant: i.DType, Device: i.Device, Synthetic: synthetic}
	for _, kv := range [][2]string{{"tokenizer", i.Tokenizer}, {"device-name", i.DeviceName}, {"transformers-decode", i.Decode}} {
		if kv[1] != "" {
			d.Extra = append(d.Extra, kv)
		}
	}
	if i.Threads > 0 {
		d.Extra = append(d.Extra, [2]string{"torch-threads", strconv.Itoa(i.Threads)})
	}
	return d, nil
}

// EnginePID implements [backends.ProcessFinder]: the worker's process id.
func (b *Backend) EnginePID(ctx context.Context) (int, error) {
	if b.proc == nil || !b.proc.alive() {
		return 0, b.err("pid", errors.New("worker is not running"))
	}
	return b.proc.cmd.Process.Pid, nil
}

// PeakVRAM returns the largest torch.cuda.max_memory_allocated the worker has
// reported since the load, in bytes: weights, KV cache and activations as torch's
// allocator saw them (the driver's figure for the process is larger). Zero on cpu.
func (b *Backend) PeakVRAM() int64 {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.peakVRAM
}

// Generate implements [backends.Backend]. It asks the worker for exactly
// req.MaxTokens tokens (end-of-sequence is suppressed until then) and checks the
// count with [backends.CheckLength]; req.MaxTokens == 0 asks for the model's
// options.max_tokens (default 64) and lets end-of-sequence stop it early.
//
// Result.Chunks holds the client time each token line was read (every token is
// one chunk, also one whose text is empty because it ends inside a UTF-8
// sequence). Server timings: PromptEval is the worker's time from the start of
// the prompt's forward pass to the first token on the host, over PromptEvalTokens
// prompt tokens; Eval is its time from the first token to the last, over
// EvalTokens = output tokens − 1; Total is its whole time for the request.
//
// When ctx ends, the worker is told to stop after its current step; if it does
// not within the cancel timeout it is killed and the Backend fails from then on.
func (b *Backend) Generate(ctx context.Context, req backends.Request) (*backends.Result, error) {
	b.mu.Lock()
	defer b.mu.Unlock()
	if b.broken != nil {
		return nil, b.err("generate", b.broken)
	}
	if err := ctx.Err(); err != nil {
		return nil, b.err("generate", err)
	}
	o := b.spec.Options
	g := generateRequest{Op: "generate", Prompt: req.Prompt, MaxNewTokens: req.MaxTokens, Temperature: o.Temperature, Seed: req.Seed}
	if g.MaxNewTokens > 0 {
		g.MinNewTokens = g.MaxNewTokens
	} else if g.MaxNewTokens = o.MaxTokens; g.MaxNewTokens <= 0 {
		g.MaxNewTokens = 64
	}
	b.nextID++
	g.ID = b.nextID

	res := &backends.Result{}
	var text strings.Builder
	tokens := 0
	var protoErr error
	cancelled := false
	var cancelTimer <-chan time.Time
	done := ctx.Done()

	res.Sent = time.Now()
	if err := b.proc.send(g); err != nil {
		return nil, b.fail("generate", b.deadOr(err))
	}
	for {
		select {
		case <-done:
			done = nil
			cancelled = true
			_ = b.proc.send(opRequest{Op: "cancel", ID: g.ID})
			cancelTimer = time.After(b.set.cancelTimeout)
		case <-cancelTimer:
			b.proc.kill()
			return res, b.fail("generate", fmt.Errorf("%w; worker did not stop within %v and was killed", ctx.Err(), b.set.cancelTimeout))
		case l, ok := <-b.proc.lines:
			if !ok {
				res.Text = text.String()
				return res, b.fail("generate", fmt.Errorf("after %d tokens: %w", tokens, b.proc.exitError()))
			}
			r, err := parseReply(l.data)
			if err == nil && r.Token == nil && !r.Done && r.Error == nil {
				err = errors.New(`want a token, done or error line`)
			}
			if err != nil {
				if protoErr == nil {
					protoErr = &ProtocolError{Line: shorten(l.data), Err: err}
				}
				continue
			}
			switch {
			case r.Error != nil:
				res.Text = text.String()
				return res, b.err("generate", workerError("generate", *r.Error))
			case r.Token != nil:
				res.Chunks = append(res.Chunks, l.t)
				text.WriteString(r.Text)
				tokens++
				continue
			}
			// The final line.
			res.Done = l.t
			res.Text = text.String()
			res.PromptTokens = r.PromptTokens
			res.OutputTokens = r.OutputTokens
			res.Server = backends.ServerTimings{
				PromptEval:       seconds(r.PrefillS),
				PromptEvalTokens: r.PromptTokens,
				Eval:             seconds(r.DecodeS),
				Total:            seconds(r.TotalS),
			}
			if r.OutputTokens > 1 {
				res.Server.EvalTokens = r.OutputTokens - 1
			}
			if r.MaxMemoryAllocated != nil {
				res.EngineMemory = uint64(*r.MaxMemoryAllocated)
				b.peakVRAM = max(b.peakVRAM, *r.MaxMemoryAllocated)
			}
			if cancelled {
				return res, b.err("generate", ctx.Err())
			}
			if protoErr != nil {
				return res, b.err("generate", protoErr)
			}
			if tokens != r.OutputTokens {
				return res, b.err("generate", &ProtocolError{Line: shorten(l.data),
					Err: fmt.Errorf("worker counted %d output tokens but sent %d token lines", r.OutputTokens, tokens)})
			}
			if err := backends.CheckLength(res, req.MaxTokens); err != nil {
				return res, b.err("generate", err)
			}
			return res, nil
		}
	}
}

// fail marks the backend broken (its worker is gone) and returns the error.
func (b *Backend) fail(op string, err error) error {
	b.broken = fmt.Errorf("worker no longer running: %w", err)
	return b.err(op, err)
}

// Close implements [backends.Backend]: it asks the worker to exit, kills it if it
// has not within the shutdown timeout, and removes the temporary folder. An
// error says the worker had to be killed. Close may be called more than once.
func (b *Backend) Close() error {
	b.closeOnce.Do(func() {
		if b.proc != nil && b.proc.shutdown(b.set.shutdownTimeout) {
			b.closeErr = b.err("close", fmt.Errorf("worker did not exit within %v and was killed", b.set.shutdownTimeout))
		}
		b.mu.Lock()
		if b.broken == nil {
			b.broken = errClosed
		}
		b.mu.Unlock()
		b.removeDir()
	})
	return b.closeErr
}

func seconds(s float64) time.Duration { return time.Duration(s * float64(time.Second)) }

func shorten(b []byte) string {
	s := strings.TrimSpace(string(b))
	if len(s) > 200 {
		s = s[:200] + "…"
	}
	return s
}

func contains(list []string, s string) bool {
	for _, x := range list {
		if x == s {
			return true
		}
	}
	return false
}
