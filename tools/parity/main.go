//go:build llamacpp

// Command parity measures one GGUF model on llama.cpp in this process and on an
// Ollama server (its llama.cpp runner), alternating the two, and prints what each
// engine reported: prefill and decode rates from the engines' own timings, and the
// client's time per output token. scripts/llamacpp-parity.sh starts the server and
// runs it.
//
//	parity -gguf FILE -ollama URL -name MODEL [-threads 2] [-prompt-tokens 512] [-tokens 128] [-reps 5]
//	parity -write PRESET[:TYPE] -dir DIR   # writes the synthetic GGUF file, prints its path
package main

import (
	"context"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"os"
	"sort"
	"strconv"
	"strings"
	"time"

	"github.com/ollama/ollama/api"

	"github.com/llmbench/llmbench/backends"
	"github.com/llmbench/llmbench/backends/llamacpp"
	"github.com/llmbench/llmbench/backends/ollama"
	"github.com/llmbench/llmbench/synth"
)

func main() {
	if err := run(context.Background(), os.Stdout, os.Stderr, os.Args[1:]); err != nil {
		fmt.Fprintln(os.Stderr, "parity:", err)
		os.Exit(1)
	}
}

// record is one measured generation.
type record struct {
	Engine       string  `json:"engine"` // "in-process" or "ollama"
	Rep          int     `json:"rep"`
	Load1        float64 `json:"load1"` // 1-minute load average before the run
	PromptTokens int     `json:"prompt_tokens"`
	PromptEvalN  int     `json:"prompt_evaluated"` // tokens evaluated in PromptEvalNs
	PromptCached int     `json:"prompt_cached"`    // Ollama: tokens it took from its cache (in its prompt_eval_count)
	PromptEvalNs int64   `json:"prompt_eval_ns"`
	EvalN        int     `json:"eval_count"` // as the engine counts
	EvalNs       int64   `json:"eval_ns"`
	Decodes      int     `json:"decodes"` // decode steps EvalNs covers
	OutputTokens int     `json:"output_tokens"`
	TTFTNs       int64   `json:"ttft_ns"`
	E2ENs        int64   `json:"e2e_ns"`
	TPOTNs       int64   `json:"tpot_ns"`
	// OtherCPU is the share of the machine's CPU time during the run that went
	// to processes other than this one and the Ollama server's tree (0 to 1);
	// -1 when unknown.
	OtherCPU float64 `json:"other_cpu"`
}

func (r record) prefillRate() float64 {
	return float64(r.PromptEvalN) / (float64(r.PromptEvalNs) / 1e9)
}
func (r record) decodeRate() float64 { return float64(r.Decodes) / (float64(r.EvalNs) / 1e9) }
func (r record) reportedRate() float64 {
	return float64(r.EvalN) / (float64(r.EvalNs) / 1e9)
}

func run(ctx context.Context, stdout, stderr io.Writer, args []string) error {
	fs := flag.NewFlagSet("parity", flag.ContinueOnError)
	fs.SetOutput(stderr)
	gguf := fs.String("gguf", "", "the GGUF file (required)")
	host := fs.String("ollama", "", "the Ollama server's URL (required)")
	name := fs.String("name", "", "the model's name on the server (required)")
	threads := fs.Int("threads", 2, "threads for both engines (num_thread)")
	ctxLen := fs.Int("ctx", 2048, "context size for both engines (num_ctx)")
	batch := fs.Int("batch", 512, "batch size for both engines (num_batch)")
	promptTokens := fs.Int("prompt-tokens", 512, "prompt length in tokens (approximately: whole words)")
	tokens := fs.Int("tokens", 128, "output tokens per generation (num_predict)")
	reps := fs.Int("reps", 5, "measured generations per engine, alternating")
	mmap := fs.Bool("mmap", false, "in-process: map the file (Ollama on a CPU does not)")
	flash := fs.String("flash", "auto", "in-process flash attention: auto, on or off")
	only := fs.String("only", "", "measure only this engine: in-process or ollama")
	reload := fs.Bool("reload", false, "load the model again in both engines before every repetition")
	nostream := fs.Bool("ollama-nostream", false, "also measure Ollama answering without streaming (a third engine, ollama-nostream)")
	jsonOut := fs.String("json", "", "write every run as a JSON line to this file")
	ollamaPID := fs.Int("ollama-pid", 0, "the Ollama server's process id, to tell its CPU time from other processes'")
	quiet := fs.Float64("quiet", 0.05, "a run is quiet when other processes took less than this share of the CPU")
	wait := fs.Duration("wait", 0, "before each run, wait up to this long for a 2-second window in which other processes are quiet")
	retries := fs.Int("retries", 0, "run again, up to this many times, a run during which other processes were not quiet")
	write := fs.String("write", "", "write the synthetic model PRESET[:TYPE] into -dir, print its path and exit")
	dir := fs.String("dir", "models", "folder for -write")
	if err := fs.Parse(args); err != nil {
		return err
	}
	if *write != "" {
		sp, err := synth.ParseSpec(*write)
		if err != nil {
			return err
		}
		path, err := synth.WriteFileContext(ctx, *dir, sp)
		if err != nil {
			return err
		}
		fmt.Fprintln(stdout, path)
		return nil
	}
	if *gguf == "" || (*only != "in-process" && (*host == "" || *name == "")) {
		fs.Usage()
		return errors.New("-gguf, -ollama and -name are required")
	}
	fa := map[string]llamacpp.FlashAttention{"auto": llamacpp.FlashAttentionAuto, "on": llamacpp.FlashAttentionOn, "off": llamacpp.FlashAttentionOff}
	flashOpt, ok := fa[*flash]
	if !ok {
		return fmt.Errorf("-flash %q: want auto, on or off", *flash)
	}

	opts := backends.Options{MaxTokens: *tokens, Seed: 42, Context: *ctxLen, Threads: *threads, Batch: *batch,
		KeepAlive: 30 * time.Minute}
	m := backends.Spec{Name: "parity", Options: opts}

	var engines []engine
	var lc *llamacpp.Backend
	defer func() {
		if lc != nil {
			lc.Close()
		}
	}()
	load := func() error {
		if lc != nil {
			lc.Close()
		}
		start := time.Now()
		var err error
		if lc, err = llamacpp.New(ctx, *gguf, m, llamacpp.WithMmap(*mmap), llamacpp.WithFlashAttention(flashOpt)); err != nil {
			return err
		}
		fmt.Fprintf(stderr, "in-process: loaded %s in %v\n", *gguf, time.Since(start).Round(time.Millisecond))
		engines[0].b = lc
		return nil
	}
	if *only != "ollama" {
		engines = append(engines, engine{name: "in-process"})
		if err := load(); err != nil {
			return err
		}
	}
	if *only != "in-process" {
		u, err := url.Parse(*host)
		if err != nil {
			return err
		}
		engines = append(engines, engine{"ollama", ollama.New(u, *name, m)})
		if *nostream {
			engines = append(engines, engine{"ollama-nostream", &whole{client: api.NewClient(u, http.DefaultClient), name: *name, opts: opts}})
		}
	}

	// A prompt of about promptTokens tokens (counted by the in-process tokenizer,
	// which is Ollama's runner's), salted per run so that at most a few leading
	// tokens are in Ollama's prefix cache (counted below).
	words := strings.Fields("the quick brown fox jumps over the lazy dog while seven wise owls count silver coins near an old stone bridge")
	var sb strings.Builder
	for i := 0; i < *promptTokens-8; i++ { // a word is at least one token; trimmed below
		sb.WriteString(words[i%len(words)])
		sb.WriteByte(' ')
	}
	body := sb.String()
	// Every run gets its own prompt: the engines share nothing, and Ollama's one
	// cache slot holds the previous run's prompt.
	prompt := func(run int) string { return fmt.Sprintf("run %04d: %s", run, body) }
	runs := 0
	if lc != nil {
		for {
			t, err := lc.Tokenize(prompt(0))
			if err != nil {
				return err
			}
			if len(t) <= *promptTokens {
				break
			}
			body = body[:strings.LastIndexByte(strings.TrimSpace(body), ' ')+1]
		}
	}
	// cached returns how many leading tokens of p Ollama's runner takes from its
	// cache, whose last prompt was prev: their common prefix, less one when that
	// is all of p. Ollama's prompt_eval_count counts them; its duration does not.
	cached := func(prev, p string) int {
		if lc == nil || prev == "" {
			return 0
		}
		a, err1 := lc.Tokenize(prev)
		b, err2 := lc.Tokenize(p)
		if err1 != nil || err2 != nil {
			return 0
		}
		n := 0
		for n < len(a) && n < len(b) && a[n] == b[n] {
			n++
		}
		if n == len(b) {
			n--
		}
		return n
	}
	lastOllama := ""

	var jw io.Writer = io.Discard
	if *jsonOut != "" {
		f, err := os.Create(*jsonOut)
		if err != nil {
			return err
		}
		defer f.Close()
		jw = f
	}
	enc := json.NewEncoder(jw)

	// Warm-up: one untimed generation each (loads Ollama's runner, faults pages in).
	warm := func() error {
		for _, e := range engines {
			if _, err := e.b.Generate(ctx, backends.Request{Prompt: prompt(-1), MaxTokens: 8}); err != nil {
				return fmt.Errorf("%s warm-up: %w", e.name, err)
			}
			if e.name != "in-process" {
				lastOllama = prompt(-1)
			}
		}
		return nil
	}
	if err := warm(); err != nil {
		return err
	}
	// reloadAll loads the model again in both engines: where a load's memory
	// lands changes the decode rate by several percent from load to load.
	reloadAll := func() error {
		for _, e := range engines {
			switch b := e.b.(type) {
			case *llamacpp.Backend:
				if err := load(); err != nil {
					return err
				}
			case *ollama.Backend:
				start := time.Now()
				if _, err := b.Load(ctx); err != nil {
					return err
				}
				fmt.Fprintf(stderr, "ollama: reloaded in %v\n", time.Since(start).Round(time.Millisecond))
			}
		}
		return warm()
	}

	var recs []record
	for rep := range *reps {
		if *reload && rep > 0 {
			if err := reloadAll(); err != nil {
				return err
			}
		}
		// Rotate the order, so no engine always runs first or after the same one.
		order := append(append([]engine(nil), engines[rep%len(engines):]...), engines[:rep%len(engines)]...)
		for _, e := range order {
			for try := 0; ; try++ {
				if *wait > 0 {
					waitQuiet(*ollamaPID, *quiet, *wait)
				}
				runs++
				p := prompt(runs)
				rec, err := measure(ctx, e, rep, p, *tokens, *ollamaPID)
				if err != nil {
					return err
				}
				if e.name != "in-process" {
					rec.PromptCached = cached(lastOllama, p)
					rec.PromptEvalN -= rec.PromptCached
					lastOllama = p
				}
				recs = append(recs, rec)
				if err := enc.Encode(rec); err != nil {
					return err
				}
				fmt.Fprintf(stderr, "rep %d %-10s load %.2f, other CPU %3.0f%%: prefill %d tokens %.1f tok/s, decode %.2f tok/s, tpot %v\n",
					rep, e.name, rec.Load1, 100*rec.OtherCPU, rec.PromptEvalN, rec.prefillRate(), rec.decodeRate(), time.Duration(rec.TPOTNs).Round(time.Microsecond))
				if rec.OtherCPU < *quiet || try >= *retries {
					break
				}
			}
		}
	}
	fmt.Fprintln(stdout, "All runs:")
	fmt.Fprintln(stdout)
	summary(stdout, recs, engines)
	var calm []record
	for _, r := range recs {
		if r.OtherCPU >= 0 && r.OtherCPU < *quiet {
			calm = append(calm, r)
		}
	}
	fmt.Fprintf(stdout, "\nQuiet runs (other processes under %.0f%% of the CPU):\n\n", 100**quiet)
	summary(stdout, calm, engines)
	return nil
}

// measure runs one generation on e.
func measure(ctx context.Context, e engine, rep int, prompt string, tokens, ollamaPID int) (record, error) {
	load := load1()
	before := sample(ollamaPID)
	r, err := e.b.Generate(ctx, backends.Request{Prompt: prompt, MaxTokens: tokens})
	other := sample(ollamaPID).otherSince(before)
	if err != nil {
		return record{}, fmt.Errorf("%s rep %d: %w", e.name, rep, err)
	}
	rec := record{
		Engine: e.name, Rep: rep, Load1: load,
		PromptTokens: r.PromptTokens, PromptEvalN: r.Server.PromptEvalTokens, PromptEvalNs: int64(r.Server.PromptEval),
		EvalN: r.Server.EvalTokens, EvalNs: int64(r.Server.Eval), Decodes: r.Server.EvalTokens,
		OutputTokens: r.OutputTokens, TTFTNs: int64(r.TTFT()), E2ENs: int64(r.E2E()), TPOTNs: int64(r.TPOT()),
		OtherCPU: other,
	}
	if e.name != "in-process" {
		// Ollama counts every output token but times the n−1 decodes after the
		// first (the first token comes out of the prefill).
		rec.Decodes = r.Server.EvalTokens - 1
	}
	return rec, nil
}

// waitQuiet waits, up to max, for a 2-second window in which other processes
// take less than quiet of the CPU.
func waitQuiet(ollamaPID int, quiet float64, max time.Duration) {
	deadline := time.Now().Add(max)
	for time.Now().Before(deadline) {
		a := sample(ollamaPID)
		time.Sleep(2 * time.Second)
		if o := sample(ollamaPID).otherSince(a); o >= 0 && o < quiet {
			return
		}
	}
}

// whole is Ollama's /api/generate without streaming: one answer at the end.
type whole struct {
	client *api.Client
	name   string
	opts   backends.Options
}

func (w *whole) Generate(ctx context.Context, req backends.Request) (*backends.Result, error) {
	stream := false
	o := map[string]any{"temperature": w.opts.Temperature, "num_ctx": w.opts.Context, "num_predict": req.MaxTokens,
		"seed": w.opts.Seed, "num_thread": w.opts.Threads, "num_batch": w.opts.Batch}
	r := &backends.Result{Sent: time.Now()}
	var last api.GenerateResponse
	err := w.client.Generate(ctx, &api.GenerateRequest{Model: w.name, Prompt: req.Prompt, Stream: &stream, Options: o,
		KeepAlive: &api.Duration{Duration: w.opts.KeepAlive}}, func(g api.GenerateResponse) error { last = g; return nil })
	r.Done = time.Now()
	if err != nil {
		return nil, err
	}
	m := last.Metrics
	r.Text, r.PromptTokens, r.OutputTokens = last.Response, m.PromptEvalCount, m.EvalCount
	r.Server = backends.ServerTimings{PromptEval: m.PromptEvalDuration, PromptEvalTokens: m.PromptEvalCount,
		Eval: m.EvalDuration, EvalTokens: m.EvalCount, Total: m.TotalDuration}
	return r, backends.CheckLength(r, req.MaxTokens)
}

func (w *whole) Close() error { return nil }

type engine struct {
	name string
	b    backends.Backend
}

// summary prints a Markdown table of medians (and ranges) per engine.
func summary(w io.Writer, recs []record, engines []engine) {
	fmt.Fprintln(w, "| engine | runs | load avg (1 min) | other CPU % | prompt tokens evaluated | prefill tokens/s (engine) | decode tokens/s (engine, per decode step) | eval rate as reported (count/duration) | client TPOT |")
	fmt.Fprintln(w, "|---|---|---|---|---|---|---|---|---|")
	med := map[string][2]float64{}
	for _, e := range engines {
		var load, other, pre, dec, rep, tpot []float64
		prompt := 0
		for _, r := range recs {
			if r.Engine != e.name {
				continue
			}
			load = append(load, r.Load1)
			other = append(other, 100*r.OtherCPU)
			pre = append(pre, r.prefillRate())
			dec = append(dec, r.decodeRate())
			rep = append(rep, r.reportedRate())
			tpot = append(tpot, float64(r.TPOTNs)/1e6)
			prompt = r.PromptEvalN
		}
		fmt.Fprintf(w, "| %s | %d | %s | %s | %d | %s | %s | %s | %s ms |\n", e.name, len(pre), stat(load, "%.1f"), stat(other, "%.0f"), prompt,
			stat(pre, "%.1f"), stat(dec, "%.2f"), stat(rep, "%.2f"), stat(tpot, "%.1f"))
		if len(pre) > 0 {
			med[e.name] = [2]float64{median(pre), median(dec)}
		}
	}
	if a, ok := med["in-process"]; ok {
		for _, e := range engines[1:] {
			if b, ok := med[e.name]; ok && b[0] > 0 && b[1] > 0 {
				fmt.Fprintf(w, "\nin-process / %s (medians): prefill %.3f, decode %.3f\n", e.name, a[0]/b[0], a[1]/b[1])
			}
		}
	}
}

func stat(xs []float64, f string) string {
	if len(xs) == 0 {
		return "–"
	}
	s := append([]float64(nil), xs...)
	sort.Float64s(s)
	return fmt.Sprintf(f+" ("+f+"–"+f+")", median(s), s[0], s[len(s)-1])
}

func median(xs []float64) float64 {
	s := append([]float64(nil), xs...)
	sort.Float64s(s)
	if len(s) == 0 {
		return 0
	}
	if len(s)%2 == 1 {
		return s[len(s)/2]
	}
	return (s[len(s)/2-1] + s[len(s)/2]) / 2
}

// load1 returns the 1-minute load average.
func load1() float64 {
	b, err := os.ReadFile("/proc/loadavg")
	if err != nil {
		return -1
	}
	f := strings.Fields(string(b))
	if len(f) == 0 {
		return -1
	}
	v, _ := strconv.ParseFloat(f[0], 64)
	return v
}

// cpuSample is CPU time, in clock ticks, at one moment: the machine's busy time,
// this process's, and the Ollama server's with its children (the runner).
type cpuSample struct {
	ok                   bool
	total, busy, self, o int64
}

func sample(ollamaPID int) cpuSample {
	var s cpuSample
	b, err := os.ReadFile("/proc/stat")
	if err != nil {
		return s
	}
	line, _, _ := strings.Cut(string(b), "\n")
	f := strings.Fields(line) // cpu user nice system idle iowait irq softirq steal ...
	if len(f) < 9 || f[0] != "cpu" {
		return s
	}
	for i := 1; i < len(f) && i <= 8; i++ {
		v, _ := strconv.ParseInt(f[i], 10, 64)
		s.total += v
		if i != 4 && i != 5 { // idle, iowait
			s.busy += v
		}
	}
	procs := procTable()
	s.self = procs.treeTicks(os.Getpid())
	if ollamaPID > 0 {
		s.o = procs.treeTicks(ollamaPID)
	}
	s.ok = true
	return s
}

// otherSince returns the share of the machine's CPU time since a that went to
// other processes, or -1.
func (s cpuSample) otherSince(a cpuSample) float64 {
	if !s.ok || !a.ok || s.total <= a.total {
		return -1
	}
	other := (s.busy - a.busy) - (s.self - a.self) - (s.o - a.o)
	return max(0, float64(other)/float64(s.total-a.total))
}

type proc struct {
	ppid  int
	ticks int64 // utime + stime
}

type procs map[int]proc

func procTable() procs {
	t := procs{}
	ents, _ := os.ReadDir("/proc")
	for _, e := range ents {
		pid, err := strconv.Atoi(e.Name())
		if err != nil {
			continue
		}
		b, err := os.ReadFile("/proc/" + e.Name() + "/stat")
		if err != nil {
			continue
		}
		// pid (comm) state ppid ... utime(14) stime(15); comm may hold spaces.
		i := strings.LastIndexByte(string(b), ')')
		if i < 0 {
			continue
		}
		f := strings.Fields(string(b[i+1:]))
		if len(f) < 13 {
			continue
		}
		ppid, _ := strconv.Atoi(f[1])
		ut, _ := strconv.ParseInt(f[11], 10, 64)
		st, _ := strconv.ParseInt(f[12], 10, 64)
		t[pid] = proc{ppid: ppid, ticks: ut + st}
	}
	return t
}

// treeTicks sums the CPU ticks of pid and its descendants.
func (t procs) treeTicks(pid int) int64 {
	n := t[pid].ticks
	for p, pr := range t {
		if pr.ppid == pid && p != pid {
			n += t.treeTicks(p)
		}
	}
	return n
}
