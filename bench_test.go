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

	"github.com/llmbench/llmbench"
	"github.com/llmbench/llmbench/bench"
	"github.com/llmbench/llmbench/config"
	_ "github.com/llmbench/llmbench/engines"
	"github.com/llmbench/llmbench/shard"
)

var (
	configFlag = flag.String("llmbench.config", "", "benchmark configuration `file` (default $LLMBENCH_CONFIG, else "+llmbench.DefaultConfig+")")
	shardFlag  = flag.String("llmbench.shard", "", "run only shard `i/n[,by=case]` of the cases (docs/distributed.md)")
)

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
	sh, err := shard.Parse(*shardFlag)
	if err == nil && sh.SplitLoad {
		// The shards' load reports must be kept for merge: llmbench run does.
		err = fmt.Errorf("-llmbench.shard %s: load=split needs llmbench run --shard", *shardFlag)
	}
	var (
		cfg     *config.Config
		prompts []config.Prompt
	)
	if err == nil {
		cfg, prompts, err = bench.LoadConfig(*configFlag, llmbench.Defaults, llmbench.DefaultConfig)
	}
	if err == nil {
		suite, err = bench.Open(ctx, cfg, prompts, os.Stderr)
	}
	if err == nil {
		err = suite.Shard(sh)
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
		for _, l := range suite.UnitLines() {
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

// eachModel runs every opened model whose cases belong to the top-level
// benchmark kind (bench.BenchOf: Generate, Load or Embed) as the sub-benchmark
// model=M, printing the model's configuration lines first, and each of its cases
// (bench.Suite.Cases) below it; it skips when there is no such model.
func eachModel(b *testing.B, kind string) {
	s := openSuite(b)
	want := func(m config.Model) bool { return bench.BenchOf(m) == kind }
	models := s.Models()
	if !slices.ContainsFunc(models, want) {
		b.Skip("no model of this kind in the configuration (or this shard)")
	}
	for _, mc := range models {
		if !want(mc) {
			continue
		}
		b.Run("model="+bench.Sanitize(mc.Name), func(b *testing.B) {
			m, err := s.OpenModel(context.Background(), mc)
			if err != nil {
				b.Fatal(err)
			}
			defer m.Close()
			cases, err := s.Cases(m)
			if err != nil {
				b.Fatal(err)
			}
			for _, kv := range s.ModelLines(m) {
				fmt.Printf("%s: %s\n", kv[0], kv[1])
			}
			for _, c := range cases {
				b.Run(c.Name(), func(b *testing.B) { runCase(b, c) })
			}
		})
	}
}

// BenchmarkGenerate runs every model×prompt pair of the configuration: one
// streamed generation per iteration, after the configured warm-up; and each
// model's load stage and llama-bench cases where its engine has them.
func BenchmarkGenerate(b *testing.B) { eachModel(b, "Generate") }

// BenchmarkLoad runs every load-generation model (one with a load: section) at
// each point of its sweep: BenchmarkLoad/model=M/concurrency=N or …/rate=R. One
// iteration is one whole run of the point; the metrics of several are merged.
func BenchmarkLoad(b *testing.B) { eachModel(b, "Load") }

// BenchmarkEmbed runs every embedding model (one with an embed: section) at each
// batch size of its sweep: BenchmarkEmbed/model=M/batch=N. One iteration is one
// run of the point's requests; the metrics of several are merged (docs/embed.md).
func BenchmarkEmbed(b *testing.B) { eachModel(b, "Embed") }

// runCase is one case's benchmark body: its warm-up (once, however often -count
// calls the body), then one timed window over b.Loop. The window is closed on
// every path, a failed iteration's too.
func runCase(b *testing.B, c bench.Case) {
	ctx := context.Background()
	if err := c.Warm(ctx); err != nil {
		b.Fatal(err)
	}
	if err := c.Begin(); err != nil {
		b.Fatal(err)
	}
	var stepErr error
	for b.Loop() {
		if stepErr = c.Step(ctx); stepErr != nil {
			break
		}
	}
	ms, err := c.End()
	if stepErr != nil {
		b.Fatal(stepErr)
	}
	if err != nil {
		b.Error(err)
	}
	// testing's own ns/op would time the loop, which is not what a case's
	// ns/op means (a load stage, a load run): without the case's, there is none,
	// as in llmbench run's lines.
	if !slices.ContainsFunc(ms, func(m bench.Metric) bool { return m.Unit == "ns/op" }) {
		b.ReportMetric(0, "ns/op")
	}
	for _, m := range ms {
		b.ReportMetric(m.Value, m.Unit)
	}
}
