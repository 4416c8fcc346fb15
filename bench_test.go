package llmbench_test

import (
	"context"
	"flag"
	"fmt"
	"os"
	"os/signal"
	"slices"
	"syscall"
	"testing"
	"time"

	"github.com/llmbench/llmbench"
	"github.com/llmbench/llmbench/backends"
	"github.com/llmbench/llmbench/bench"
	"github.com/llmbench/llmbench/config"
	"github.com/llmbench/llmbench/loadgen"
	"github.com/llmbench/llmbench/metric"
)

var configFlag = flag.String("llmbench.config", "", "benchmark configuration `file` (default $LLMBENCH_CONFIG, else "+llmbench.DefaultConfig+")")

// suite is the benchmark suite, opened by TestMain when benchmarks run.
var (
	suite    *bench.Suite
	suiteErr error
)

func TestMain(m *testing.M) {
	flag.Parse()
	if f := flag.Lookup("test.bench"); f == nil || f.Value.String() == "" {
		os.Exit(m.Run())
	}
	ctx := context.Background()
	cfg, prompts, err := bench.LoadConfig(*configFlag, llmbench.Defaults, llmbench.DefaultConfig)
	if err == nil {
		suite, err = bench.Open(ctx, cfg, prompts, os.Stderr)
	}
	suiteErr = err
	if err == nil {
		// Stop the engines on Ctrl-C too.
		sig := make(chan os.Signal, 1)
		signal.Notify(sig, os.Interrupt, syscall.SIGTERM)
		go func() {
			<-sig
			suite.Close()
			os.Exit(130)
		}()
		for _, kv := range suite.ConfigLines() {
			fmt.Printf("%s: %s\n", kv[0], kv[1])
		}
		for _, l := range metric.UnitLines() {
			fmt.Println(l)
		}
	}
	code := m.Run()
	if suite != nil {
		suite.Close()
	}
	os.Exit(code)
}

func openSuite(b *testing.B) *bench.Suite {
	b.Helper()
	if suiteErr != nil {
		b.Fatal(suiteErr)
	}
	return suite
}

// eachModel runs body as the sub-benchmark model=M of every opened model whose
// configuration has (load true) or lacks (load false) a load: section, printing the
// model's configuration lines first; it skips when there is none.
func eachModel(b *testing.B, load bool, body func(b *testing.B, s *bench.Suite, m *bench.Model)) {
	s := openSuite(b)
	want := func(m config.Model) bool { return (m.Load != nil) == load }
	if !slices.ContainsFunc(s.Config.Models, want) {
		b.Skip("no model of this kind in the configuration")
	}
	for _, mc := range s.Config.Models {
		if !want(mc) {
			continue
		}
		b.Run("model="+bench.Sanitize(mc.Name), func(b *testing.B) {
			m, err := s.OpenModel(context.Background(), mc)
			if err != nil {
				b.Fatal(err)
			}
			defer m.Close()
			printModelLines(m)
			body(b, s, m)
		})
	}
}

// BenchmarkGenerate runs every model×prompt pair of the configuration: one
// streamed generation per iteration, after the configured warm-up.
func BenchmarkGenerate(b *testing.B) {
	eachModel(b, false, func(b *testing.B, s *bench.Suite, m *bench.Model) {
		for _, p := range s.Prompts {
			c := m.Case(p)
			warm := s.Config.Warmup
			b.Run("prompt="+bench.Sanitize(p.ID), func(b *testing.B) {
				runCase(context.Background(), b, c, &warm)
			})
		}
		for _, l := range m.LlamaBenches() {
			b.Run("prompt="+l.Name, func(b *testing.B) {
				var ds []time.Duration
				for b.Loop() {
					d, err := l.Run(context.Background())
					if err != nil {
						b.Fatal(err)
					}
					ds = append(ds, d)
				}
				report(b, l.Metrics(ds))
			})
		}
	})
}

// BenchmarkLoad runs every load-generation model (one with a load: section) at
// each point of its sweep: BenchmarkLoad/model=M/concurrency=N or …/rate=R. One
// iteration is one whole run of the point; the metrics of several are merged.
func BenchmarkLoad(b *testing.B) {
	eachModel(b, true, func(b *testing.B, s *bench.Suite, m *bench.Model) {
		cases, err := s.LoadCases(m)
		if err != nil {
			b.Fatal(err)
		}
		for _, c := range cases {
			b.Run(c.Point.Name, func(b *testing.B) {
				var total *loadgen.Report
				for b.Loop() {
					r, err := c.Run(context.Background())
					if err != nil {
						b.Fatal(err)
					}
					if total == nil {
						total = r
					} else {
						total.Merge(r)
					}
				}
				ms, err := c.Metrics(total)
				if err != nil {
					b.Error(err)
				}
				report(b, ms)
			})
		}
	})
}

// report reports the metrics of a case.
func report(b *testing.B, ms []bench.Metric) {
	for _, m := range ms {
		b.ReportMetric(m.Value, m.Unit)
	}
}

// runCase is one case's benchmark body. warm is the warm-up still owed: it runs once
// per case, however often -count calls the body.
func runCase(ctx context.Context, b *testing.B, c *bench.Case, warm *int) {
	if *warm > 0 {
		if err := c.Warm(ctx, *warm); err != nil {
			b.Fatal(err)
		}
		*warm = 0
	}
	if err := c.Begin(); err != nil {
		b.Fatal(err)
	}
	var rs []*backends.Result
	for b.Loop() {
		r, err := c.Generate(ctx)
		if err != nil {
			b.Fatal(err)
		}
		rs = append(rs, r)
	}
	ms, err := c.Metrics(rs)
	if err != nil {
		b.Error(err)
	}
	report(b, ms)
}

// printModelLines prints the model's configuration lines. A parent benchmark runs
// once per model, between its leaves' result lines, so these lines stand alone.
func printModelLines(m *bench.Model) {
	for _, kv := range m.ConfigLines() {
		fmt.Printf("%s: %s\n", kv[0], kv[1])
	}
}
