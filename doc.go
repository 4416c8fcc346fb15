// Package llmbench is a test-suite-native benchmark framework for the system-level
// performance of large language models: latency, time to first token, time per
// output token, throughput, peak memory, GPU memory and energy, and simple quality
// metrics.
//
// `go test -bench=. -benchtime=3x` in the module root turns every model×prompt pair
// of configs/benchmark.yaml into a sub-benchmark BenchmarkGenerate/model=M/prompt=P
// whose output stock benchstat reads. The llmbench command (cmd/llmbench) runs the
// same cases for people who do not think in go test.
//
// Synthetic models (model: synthetic:PRESET) have random weights: they measure
// speed and memory faithfully and produce meaningless text.
package llmbench

import "embed"

// Defaults holds the embedded default configuration (configs/benchmark.yaml) and
// prompt set (data/prompts.jsonl), used when no configuration file is given.
//
//go:embed configs/benchmark.yaml data/prompts.jsonl
var Defaults embed.FS

// DefaultConfig is the path of the default configuration, in the working tree and
// in Defaults.
const DefaultConfig = "configs/benchmark.yaml"
