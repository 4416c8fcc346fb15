// Package mergetest writes the outputs a sharded run's shards would, for tests of
// merging without running engines.
package mergetest

import (
	"bytes"
	"fmt"
	"os"
	"path/filepath"

	"golang.org/x/perf/benchfmt"

	"github.com/llmbench/llmbench/loadgen"
	"github.com/llmbench/llmbench/shard"
)

// Shard describes a shard's output.
type Shard struct {
	// Dir is where the shard's folder is made.
	Dir string
	// Config is its llmbench-config line.
	Config string
	// Spec is the shard, Cases the configuration's cases.
	Spec  shard.Spec
	Cases []shard.Case
	// Sanitize maps names to their form in benchmark names.
	Sanitize func(string) string
	// Skip are cases left out, as if they failed or the task was killed.
	Skip []shard.Case
	// Load, when set, are the runs of each model-wide case on this shard: each
	// is written as a result line of its metrics and a peak-rss-B of 1000·run,
	// and as a record in loadgen.ShardRecordsFile.
	Load []*loadgen.Report
}

// Write writes DIR/shardI/bench.txt as shard s.Spec of the plan of s.Cases
// would: the Unit lines, host and shard configuration lines, an engine line per
// model, and two results per case (Generate/model=M/prompt=P, or
// Load/model=M/concurrency=4 for a model-wide case), leaving out s.Skip, then a
// notice line. It returns the folder.
func (s Shard) Write() (string, error) {
	plan, sanitize, skip := s.Spec.Plan(s.Cases), s.Sanitize, s.Skip
	out := filepath.Join(s.Dir, fmt.Sprintf("shard%d", s.Spec.Index))
	if err := os.MkdirAll(out, 0o755); err != nil {
		return "", err
	}
	var buf, recs bytes.Buffer
	fmt.Fprintln(&buf, "Unit ns/op better=lower")
	fmt.Fprintln(&buf, "Unit tokens/s better=higher")
	w := benchfmt.NewWriter(&buf)
	res := &benchfmt.Result{Iters: 1}
	set := func(k, v string) {
		res.SetConfig(k, v)
		j, _ := res.ConfigIndex(k)
		res.Config[j].File = true
	}
	set("goos", "linux")
	set("llmbench-config", s.Config)
	for _, kv := range plan.ConfigLines() {
		set(kv[0], kv[1])
	}
next:
	for k, c := range plan.Mine() {
		for _, x := range skip {
			if x == c {
				continue next
			}
		}
		set("engine", "engine-of-"+c.Model)
		name := "Generate/model=" + sanitize(c.Model) + "/prompt=" + sanitize(c.Prompt)
		if c.Prompt == "" {
			name = "Load/model=" + sanitize(c.Model) + "/concurrency=4"
		}
		if c.Prompt == "" && s.Load != nil {
			for it, rep := range s.Load {
				res.Name = benchfmt.Name(name + "-2")
				res.Values = res.Values[:0]
				for _, m := range rep.Metrics() {
					res.Values = append(res.Values, benchfmt.Value{Value: m.Value, Unit: m.Name})
				}
				res.Values = append(res.Values, benchfmt.Value{Value: float64(1000 * (it + 1) * (s.Spec.Index + 1)), Unit: "peak-rss-B"})
				if err := w.Write(res); err != nil {
					return "", err
				}
				if err := loadgen.WriteShardRecord(&recs, loadgen.ShardRecord{Name: name, Iteration: it, Report: rep}); err != nil {
					return "", err
				}
			}
			continue
		}
		for it := range 2 {
			res.Name = benchfmt.Name(name + "-2")
			res.Values = []benchfmt.Value{
				{Value: float64(1000*(k+1) + it), Unit: "ns/op"},
				{Value: float64(10 + it), Unit: "tokens/s"},
			}
			if err := w.Write(res); err != nil {
				return "", err
			}
		}
	}
	fmt.Fprintln(&buf, "llmbench note: a notice line, not benchmark output")
	if recs.Len() > 0 {
		if err := os.WriteFile(filepath.Join(out, loadgen.ShardRecordsFile), recs.Bytes(), 0o644); err != nil {
			return "", err
		}
	}
	return out, os.WriteFile(filepath.Join(out, "bench.txt"), buf.Bytes(), 0o644)
}
