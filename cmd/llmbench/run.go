package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"io/fs"
	"os"
	"path/filepath"
	"runtime"
	"time"

	"github.com/schollz/progressbar/v3"
	"golang.org/x/perf/benchfmt"

	"github.com/llmbench/llmbench"
	"github.com/llmbench/llmbench/bench"
	"github.com/llmbench/llmbench/config"
	"github.com/llmbench/llmbench/loadgen"
	"github.com/llmbench/llmbench/reports"
	"github.com/llmbench/llmbench/shard"
)

func init() { commands["run"] = runBench }

// runBench is `llmbench run`: every model×prompt case of the configuration, each
// timed generation written as its own result line (iterations 1), so benchstat gets
// one sample per generation. The raw output goes to stdout and OUTPUT/bench.txt;
// progress goes to stderr.
func runBench(ctx context.Context, stdout, stderr io.Writer, args []string) error {
	fs := flag.NewFlagSet("run", flag.ContinueOnError)
	fs.SetOutput(stderr)
	cfgPath := fs.String("config", "", "benchmark configuration `file` (default $LLMBENCH_CONFIG, else the embedded "+llmbench.DefaultConfig+")")
	outDir := fs.String("o", "", "output `folder` (default: the configuration's output)")
	iters := fs.Int("iterations", 0, "timed generations per case (default: the configuration's iterations)")
	quiet := fs.Bool("q", false, "no progress bar")
	shardFlag := fs.String("shard", "", "run only shard `i/n[,by=case][,load=split]` of the cases (docs/distributed.md)")
	if err := fs.Parse(args); err != nil {
		return &exitError{code: 2}
	}
	if fs.NArg() > 0 {
		return &exitError{code: 2, err: fmt.Errorf("run: unexpected arguments %q", fs.Args())}
	}
	sh, err := shard.Parse(*shardFlag)
	if err != nil {
		return &exitError{code: 2, err: fmt.Errorf("run: --shard: %w", err)}
	}
	cfg, prompts, err := bench.LoadConfig(*cfgPath, llmbench.Defaults, llmbench.DefaultConfig)
	if err != nil {
		return &exitError{code: 2, err: err}
	}
	if *outDir != "" {
		cfg.Output = *outDir
	}
	if *iters > 0 {
		cfg.Iterations = *iters
	}
	if err := os.MkdirAll(cfg.Output, 0o755); err != nil {
		return err
	}
	rawPath := filepath.Join(cfg.Output, "bench.txt")
	raw, err := os.Create(rawPath)
	if err != nil {
		return err
	}
	defer raw.Close()

	suite, err := bench.Open(ctx, cfg, prompts, stderr)
	if err != nil {
		return err
	}
	defer suite.Close()
	if err := suite.Shard(sh); err != nil {
		return &exitError{code: 2, err: fmt.Errorf("run: --shard: %w", err)}
	}

	r := &runner{
		suite:   suite,
		w:       benchfmt.NewWriter(io.MultiWriter(raw, stdout)),
		res:     &benchfmt.Result{Iters: 1},
		procs:   runtime.GOMAXPROCS(0),
		out:     cfg.Output,
		rawPath: rawPath,
	}
	for _, kv := range bench.HostLines() {
		setConfig(r.res, kv[0], kv[1])
	}
	for _, kv := range suite.ConfigLines() {
		setConfig(r.res, kv[0], kv[1])
	}
	for _, line := range suite.UnitLines() {
		// The first write: a full disk or an unwritable file fails here, before
		// any engine starts.
		if _, err := fmt.Fprintln(raw, line); err != nil {
			return &exitError{code: 1, err: writeError(rawPath, err)}
		}
		fmt.Fprintln(stdout, line)
	}
	total := 0
	for _, m := range suite.Models() {
		total += r.steps(m)
	}
	if !*quiet {
		r.bar = progressbar.NewOptions(total,
			progressbar.OptionSetWriter(stderr),
			progressbar.OptionShowCount(),
			progressbar.OptionSetElapsedTime(true),
			progressbar.OptionSetPredictTime(true),
			progressbar.OptionThrottle(100*time.Millisecond),
			progressbar.OptionClearOnFinish())
	}
	for _, mc := range suite.Models() {
		if ctx.Err() != nil || r.writeErr != nil {
			break
		}
		r.model(ctx, mc)
	}
	if r.bar != nil {
		r.bar.Finish()
	}
	if r.records != nil {
		if err := r.records.Close(); err != nil {
			fmt.Fprintf(stderr, "llmbench: %v\n", err)
		}
	}
	fmt.Fprintf(stderr, "llmbench: %d results in %s\n", r.results, rawPath)
	if r.results > 0 {
		raw.Sync()
		if err := writeReport(cfg.Output, rawPath, stderr); err != nil {
			fmt.Fprintf(stderr, "llmbench: report: %v\n", err)
		}
	}
	if err := ctx.Err(); err != nil {
		return &exitError{code: 130, err: fmt.Errorf("interrupted: the results so far are in %s", rawPath)}
	}
	if r.writeErr != nil {
		return &exitError{code: 1, err: fmt.Errorf("%w: the run stopped there; the results before it are in %s", r.writeErr, rawPath)}
	}
	if r.failed > 0 {
		return &exitError{code: 1, err: fmt.Errorf("%d of %d cases failed (see above); the rest are in %s", r.failed, r.cases, rawPath)}
	}
	return nil
}

// setConfig sets a configuration line of res that the writer writes (a file
// configuration); an empty value deletes it.
func setConfig(res *benchfmt.Result, key, value string) {
	res.SetConfig(key, value)
	if i, ok := res.ConfigIndex(key); ok {
		res.Config[i].File = true
	}
}

// writeReport writes results.csv, summary.md and the plots of the raw output.
func writeReport(dir, rawPath string, stderr io.Writer) error {
	set, err := reports.Read([]string{rawPath}, stderr)
	if err != nil {
		return err
	}
	files, err := reports.WriteReport(dir, set, stderr)
	if len(files) > 0 {
		fmt.Fprintf(stderr, "llmbench: report in %s (%d files)\n", dir, len(files))
	}
	return err
}

// runner writes one configuration's results.
type runner struct {
	suite *bench.Suite
	w     *benchfmt.Writer
	res   *benchfmt.Result // reused: its configuration carries over between lines
	bar   *progressbar.ProgressBar
	procs int

	cases, failed, results int
	out                    string   // the output folder
	rawPath                string   // bench.txt
	writeErr               error    // the first failed write of a result; the run stops
	records                *os.File // the split load runs' reports (loadgen.ShardRecordsFile)
}

// fail reports the failure of n cases.
func (r *runner) fail(err error, n int) {
	r.failed += n
	if r.bar != nil {
		r.bar.Clear()
	}
	fmt.Fprintln(r.suite.Notices, "llmbench: FAIL:", err)
}

// steps is the progress a model's cases make: warm-up and timed generations.
func (r *runner) steps(mc config.Model) int {
	if mc.Load != nil || mc.Embed != nil {
		return 0
	}
	cfg := r.suite.Config
	return len(r.suite.PromptsOf(mc.Name)) * (cfg.Warmup + cfg.Iterations)
}

// model runs every case of one model (bench.Suite.Cases, as go test does), each
// timed generation (or load run) its own window and result line.
func (r *runner) model(ctx context.Context, mc config.Model) {
	r.progress(mc.Name, "", "loading")
	m, err := r.suite.OpenModel(ctx, mc)
	var cases []bench.Case
	if err == nil {
		defer func() {
			if err := m.Close(); err != nil {
				fmt.Fprintln(r.suite.Notices, "llmbench:", err)
			}
		}()
		cases, err = r.suite.Cases(m)
	}
	if err != nil {
		n := len(r.suite.PromptsOf(mc.Name))
		if mc.Load != nil || mc.Embed != nil {
			n = 1
		}
		r.cases += n
		r.fail(err, n)
		if r.bar != nil {
			r.bar.Add(r.steps(mc))
		}
		return
	}
	for _, kv := range r.suite.ModelLines(m) {
		setConfig(r.res, kv[0], kv[1])
	}
	for _, c := range cases {
		if ctx.Err() != nil || r.writeErr != nil {
			return
		}
		if !bench.IsStage(c) {
			r.cases++
		}
		if err := r.runCase(ctx, m, c); err != nil {
			r.fail(err, 1)
		}
	}
}

// runCase runs one case: its warm-up, then `iterations` windows of one step, each
// written as its own result line (a stage line once).
func (r *runner) runCase(ctx context.Context, m *bench.Model, c bench.Case) error {
	cfg := r.suite.Config
	_, gen := c.(*bench.GenerateCase)
	step := func(n int) {
		if r.bar != nil && gen {
			r.bar.Add(n)
		}
	}
	name := m.Bench() + "/model=" + bench.Sanitize(m.Config.Name) + "/" + c.Name()
	r.progress(m.Config.Name, c.Name(), "warm-up")
	if err := c.Warm(ctx); err != nil {
		step(cfg.Warmup + cfg.Iterations)
		return err
	}
	step(cfg.Warmup)
	iters := cfg.Iterations
	if bench.IsStage(c) {
		iters = 1
	}
	var errs []error
	written := 0
	for i := range iters {
		if ctx.Err() != nil {
			break
		}
		r.progress(m.Config.Name, c.Name(), fmt.Sprintf("iteration %d/%d", i+1, iters))
		if err := c.Begin(); err != nil {
			errs = append(errs, err)
			step(1)
			continue
		}
		stepErr := c.Step(ctx)
		ms, err := c.End()
		step(1)
		if stepErr != nil {
			errs = append(errs, stepErr)
		}
		if err != nil {
			errs = append(errs, err)
		}
		if len(ms) == 0 {
			continue
		}
		if err := r.write(name, ms); err != nil {
			return errors.Join(append(errs, err)...)
		}
		if lc, ok := c.(*bench.LoadCase); ok && lc.Split {
			if err := r.record(loadgen.ShardRecord{Name: name, Iteration: written, Report: lc.Report()}); err != nil {
				return errors.Join(append(errs, err)...)
			}
		}
		written++
	}
	return errors.Join(errs...)
}

// writeError names the file a failed write was to, once: an *fs.PathError names
// it already.
func writeError(path string, err error) error {
	var pe *fs.PathError
	if errors.As(err, &pe) {
		return err
	}
	return fmt.Errorf("writing %s: %w", path, err)
}

// record keeps one run of a split load point for merge, in the output folder's
// loadgen.ShardRecordsFile.
func (r *runner) record(rec loadgen.ShardRecord) error {
	if r.records == nil {
		f, err := os.Create(filepath.Join(r.out, loadgen.ShardRecordsFile))
		if err != nil {
			return err
		}
		r.records = f
	}
	return loadgen.WriteShardRecord(r.records, rec)
}

// write writes one result line for the benchmark name (without "Benchmark").
func (r *runner) write(name string, ms []bench.Metric) error {
	if r.procs > 1 {
		name += fmt.Sprintf("-%d", r.procs)
	}
	r.res.Name = benchfmt.Name(name)
	r.res.Values = r.res.Values[:0]
	for _, m := range ms {
		r.res.Values = append(r.res.Values, benchfmt.Value{Value: m.Value, Unit: m.Unit})
	}
	r.results++
	if r.bar != nil {
		r.bar.Clear()
	}
	if err := r.w.Write(r.res); err != nil {
		r.writeErr = writeError(r.rawPath, err)
		return r.writeErr
	}
	return nil
}

func (r *runner) progress(model, c, what string) {
	if r.bar == nil {
		return
	}
	d := model
	if c != "" {
		d += " / " + c
	}
	r.bar.Describe(d + " " + what)
}
