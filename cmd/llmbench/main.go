// Command llmbench benchmarks large language models: latency, time to first token,
// time per output token, throughput, peak memory and simple quality metrics.
//
//	llmbench run [--config FILE]      run the benchmark, write outputs/
//	llmbench synth PRESET[:TYPE] …    write random-weight GGUF models
//	llmbench report FILE…             CSV, markdown and plots from benchmark output
//	llmbench compare OLD NEW          compare two runs (benchstat statistics)
//	llmbench gate OLD NEW             exit 1 on a significant regression
//	llmbench history add|trend …      runs over commits: store, trends, change points
package main

import (
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"os/signal"
	"syscall"

	_ "github.com/llmbench/llmbench/engines"
)

func main() {
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	err := run(ctx, os.Stdout, os.Stderr, os.Args[1:])
	stop()
	if err != nil {
		var ee *exitError
		if errors.As(err, &ee) {
			if ee.err != nil {
				fmt.Fprintln(os.Stderr, "llmbench:", ee.err)
			}
			os.Exit(ee.code)
		}
		fmt.Fprintln(os.Stderr, "llmbench:", err)
		os.Exit(2)
	}
}

// exitError carries a specific exit status out of run. A nil err prints nothing.
type exitError struct {
	code int
	err  error
}

func (e *exitError) Error() string {
	if e.err == nil {
		return fmt.Sprintf("exit status %d", e.code)
	}
	return e.err.Error()
}

func (e *exitError) Unwrap() error { return e.err }

// commands maps each sub-command to its function.
var commands = map[string]func(ctx context.Context, stdout, stderr io.Writer, args []string) error{}

const usage = `usage: llmbench COMMAND [ARGS]

commands:
  run [--config FILE]       run the benchmark; raw output in outputs/bench.txt
  synth PRESET[:TYPE] …     write random-weight GGUF models (list: llmbench synth -list)
  report FILE…              results.csv, summary.md and plots from benchmark output
  compare OLD NEW           compare two runs: compare.csv, compare.md, a plot
  gate OLD NEW              exit 1 when a metric is significantly worse
  history add|trend …       a history of runs across commits, trends, change points
`

// run is the whole command: main only wires the process to it.
func run(ctx context.Context, stdout, stderr io.Writer, args []string) error {
	if len(args) == 0 || args[0] == "-h" || args[0] == "--help" || args[0] == "help" {
		fmt.Fprint(stderr, usage)
		if len(args) == 0 {
			return &exitError{code: 2}
		}
		return nil
	}
	cmd, ok := commands[args[0]]
	if !ok {
		fmt.Fprint(stderr, usage)
		return &exitError{code: 2, err: fmt.Errorf("unknown command %q", args[0])}
	}
	return cmd(ctx, stdout, stderr, args[1:])
}
