package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"runtime"
	"time"

	"github.com/schollz/progressbar/v3"
	"golang.org/x/perf/benchfmt"

	"github.com/llmbench/llmbench"
	"github.com/llmbench/llmbench/backends"
	"github.com/llmbench/llmbench/bench"
	"github.com/llmbench/llmbench/config"
	"github.com/llmbench/llmbench/metric"
	"github.com/llmbench/llmbench/reports"
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
	if err := fs.Parse(args); err != nil {
		return &exitError{code: 2}
	}
	if fs.NArg() > 0 {
		return &exitError{code: 2, err: fmt.Errorf("run: unexpected arguments %q", fs.Args())}
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

	r := &runner{
		suite: suite,
		w:     benchfmt.NewWriter(io.MultiWriter(raw, stdout)),
		res:   &benchfmt.Result{Iters: 1},
		procs: runtime.GOMAXPROCS(0),
	}
	for _, kv := range bench.HostLines() {
		setConfig(r.res, kv[0], kv[1])
	}
	for _, kv := range suite.ConfigLines() {
		setConfig(r.res, kv[0], kv[1])
	}
	for _, line := range metric.UnitLines() {
		fmt.Fprintln(raw, line)
		fmt.Fprintln(stdout, line)
	}
	total := 0
	for _, m := range cfg.Models {
		if m.Load == nil {
			total += len(prompts) * (cfg.Warmup + cfg.Iterations)
		}
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
	for _, mc := range cfg.Models {
		if ctx.Err() != nil {
			break
		}
		if mc.Load != nil {
			r.loadModel(ctx, mc)
			continue
		}
		r.model(ctx, mc)
	}
	if r.bar != nil {
		r.bar.Finish()
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
}

// fail reports the failure of n cases.
func (r *runner) fail(err error, n int) {
	r.failed += n
	if r.bar != nil {
		r.bar.Clear()
	}
	fmt.Fprintln(r.suite.Notices, "llmbench: FAIL:", err)
}

func (r *runner) model(ctx context.Context, mc config.Model) {
	r.progress(mc.Name, "", "loading")
	m, err := r.suite.OpenModel(ctx, mc)
	if err != nil {
		r.cases += len(r.suite.Prompts)
		r.fail(err, len(r.suite.Prompts))
		if r.bar != nil {
			r.bar.Add((r.suite.Config.Warmup + r.suite.Config.Iterations) * len(r.suite.Prompts))
		}
		return
	}
	defer func() {
		if err := m.Close(); err != nil {
			fmt.Fprintln(r.suite.Notices, "llmbench:", err)
		}
	}()
	for _, kv := range m.ConfigLines() {
		setConfig(r.res, kv[0], kv[1])
	}
	for _, p := range r.suite.Prompts {
		if ctx.Err() != nil {
			return
		}
		r.cases++
		if err := r.runCase(ctx, m.Case(p)); err != nil {
			r.fail(err, 1)
		}
	}
}

// loadModel runs every sweep point of a load-generation model, each point
// `iterations` times, one result line per run: Load/model=M/concurrency=N.
func (r *runner) loadModel(ctx context.Context, mc config.Model) {
	r.progress(mc.Name, "", "loading")
	m, err := r.suite.OpenModel(ctx, mc)
	if err == nil {
		defer m.Close()
	}
	var cases []*bench.LoadCase
	if err == nil {
		cases, err = r.suite.LoadCases(m)
	}
	if err != nil {
		r.cases++
		r.fail(err, 1)
		return
	}
	for _, kv := range m.ConfigLines() {
		setConfig(r.res, kv[0], kv[1])
	}
	for _, c := range cases {
		r.cases++
		var errs []error
		for i := range r.suite.Config.Iterations {
			if ctx.Err() != nil {
				break
			}
			r.progress(mc.Name, c.Point.Name, fmt.Sprintf("run %d/%d", i+1, r.suite.Config.Iterations))
			rep, err := c.Run(ctx)
			if err != nil {
				errs = append(errs, err)
			}
			if rep == nil || rep.Succeeded+rep.Failed == 0 {
				continue
			}
			ms, err := c.Metrics(rep)
			if err != nil {
				errs = append(errs, err)
			}
			if err := r.write("Load/"+c.Name(), ms); err != nil {
				errs = append(errs, err)
				break
			}
		}
		if err := errors.Join(errs...); err != nil {
			r.fail(err, 1)
		}
	}
}

func (r *runner) runCase(ctx context.Context, c *bench.Case) error {
	cfg := r.suite.Config
	step := func() {
		if r.bar != nil {
			r.bar.Add(1)
		}
	}
	for i := range cfg.Warmup {
		r.progress(c.Model.Config.Name, c.Prompt.ID, fmt.Sprintf("warm-up %d/%d", i+1, cfg.Warmup))
		if _, err := c.Generate(ctx); err != nil {
			if r.bar != nil {
				r.bar.Add(cfg.Warmup - i + cfg.Iterations)
			}
			return fmt.Errorf("warm-up: %w", err)
		}
		step()
	}
	var errs []error
	for i := range cfg.Iterations {
		r.progress(c.Model.Config.Name, c.Prompt.ID, fmt.Sprintf("iteration %d/%d", i+1, cfg.Iterations))
		if err := c.Begin(); err != nil {
			errs = append(errs, err)
			step()
			continue
		}
		res, err := c.Generate(ctx)
		step()
		if err != nil {
			errs = append(errs, err)
			if ctx.Err() != nil {
				break
			}
			continue
		}
		ms, err := c.Metrics([]*backends.Result{res})
		if err != nil {
			errs = append(errs, err)
		}
		if err := r.write("Generate/"+c.Name(), ms); err != nil {
			return err
		}
	}
	return errors.Join(errs...)
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
	return r.w.Write(r.res)
}

func (r *runner) progress(model, prompt, what string) {
	if r.bar == nil {
		return
	}
	d := model
	if prompt != "" {
		d += " / " + prompt
	}
	r.bar.Describe(d + " " + what)
}
