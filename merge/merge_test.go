package merge

import (
	"bytes"
	"flag"
	"fmt"
	"math/rand/v2"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"golang.org/x/perf/benchfmt"

	"github.com/llmbench/llmbench/loadgen"
	"github.com/llmbench/llmbench/merge/mergetest"
	"github.com/llmbench/llmbench/shard"
)

var update = flag.Bool("update", false, "rewrite the golden files in testdata")

// The configuration of the tests: three generate models of two prompts, and a
// load model.
var cases = []shard.Case{
	{Model: "a", Prompt: "x"}, {Model: "a", Prompt: "y"},
	{Model: "b", Prompt: "x"}, {Model: "b", Prompt: "y"},
	{Model: "load", Prompt: ""},
	{Model: "c/2", Prompt: "x"}, {Model: "c/2", Prompt: "y"}, // a name benchmark names sanitize
}

func sanitize(s string) string { return strings.ReplaceAll(s, "/", "_") }

// writeShard writes shard i of n of cases, leaving out skip.
func writeShard(t *testing.T, dir string, i, n int, by string, skip ...shard.Case) string {
	t.Helper()
	out, err := mergetest.Shard{Dir: dir, Config: "testdata/x.yaml", Spec: shard.Spec{Index: i, Count: n, By: by},
		Cases: cases, Sanitize: sanitize, Skip: skip}.Write()
	if err != nil {
		t.Fatal(err)
	}
	return out
}

func shards(t *testing.T, n int, by string) []string {
	dir := t.TempDir()
	var out []string
	for i := range n {
		out = append(out, writeShard(t, dir, i, n, by))
	}
	return out
}

// A complete set merges into one run: every result once, in shard order, the
// shard lines gone, everything else kept (golden file).
func TestMergeComplete(t *testing.T) {
	for _, by := range []string{shard.ByModel, shard.ByCase} {
		paths := shards(t, 3, by)
		// Given out of order: the merged file is in shard order all the same.
		paths[0], paths[2] = paths[2], paths[0]
		set, err := Read(paths)
		if err != nil {
			t.Fatal(err)
		}
		if err := set.Check(cases, sanitize); err != nil {
			t.Fatalf("by %s: %v", by, err)
		}
		if set.ConfigFile != "testdata/x.yaml" {
			t.Errorf("config file %q", set.ConfigFile)
		}
		var buf bytes.Buffer
		if err := set.Write(&buf); err != nil {
			t.Fatal(err)
		}
		golden(t, "merged-by-"+by+".txt", buf.Bytes())

		r := benchfmt.NewReader(bytes.NewReader(buf.Bytes()), "merged")
		n := 0
		for r.Scan() {
			res, ok := r.Result().(*benchfmt.Result)
			if !ok {
				continue
			}
			n++
			for _, k := range []string{shard.KeyShard, shard.KeyPlan, shard.KeyBy} {
				if v := res.GetConfig(k); v != "" {
					t.Errorf("merged result %s keeps %s: %s", res.Name, k, v)
				}
			}
			if res.GetConfig("goos") != "linux" || !strings.HasPrefix(res.GetConfig("engine"), "engine-of-") {
				t.Errorf("merged result %s lost its configuration: %v", res.Name, res.Config)
			}
		}
		if want := 2 * len(cases); n != want {
			t.Errorf("by %s: %d merged results, want %d", by, n, want)
		}
	}
}

func golden(t *testing.T, name string, got []byte) {
	t.Helper()
	path := filepath.Join("testdata", name)
	if *update {
		if err := os.WriteFile(path, got, 0o644); err != nil {
			t.Fatal(err)
		}
	}
	want, err := os.ReadFile(path)
	if err != nil {
		t.Fatalf("%v (run go test -update)", err)
	}
	if !bytes.Equal(got, want) {
		os.WriteFile(path+".got", got, 0o644)
		t.Errorf("%s differs from the golden file: see %s.got", name, path)
	}
}

// Every sad path names what is wrong: the shard, the case, the file.
func TestMergeErrors(t *testing.T) {
	check := func(t *testing.T, paths []string, cs []shard.Case, want ...string) {
		t.Helper()
		set, err := Read(paths)
		if err == nil {
			err = set.Check(cs, sanitize)
		}
		if err == nil {
			t.Fatalf("no error; want one saying %q", want)
		}
		for _, w := range want {
			if !strings.Contains(err.Error(), w) {
				t.Errorf("error %q does not say %q", err, w)
			}
		}
	}
	t.Run("missing shard", func(t *testing.T) {
		// Four models over three shards: 0 runs a and b, 1 runs load, 2 runs c/2.
		p := shards(t, 3, shard.ByModel)
		check(t, []string{p[0], p[2]}, cases, "shard 1/3 missing", "its cases: model load")
	})
	t.Run("duplicated shard", func(t *testing.T) {
		p := shards(t, 2, shard.ByModel)
		check(t, []string{p[0], p[1], p[0]}, cases, "shard 0/2 given twice", p[0])
	})
	t.Run("killed shard", func(t *testing.T) {
		// A task killed after its first model: the rest of its cases are missing.
		dir := t.TempDir()
		p0 := writeShard(t, dir, 0, 2, shard.ByModel, shard.Case{Model: "b", Prompt: "y"})
		p1 := writeShard(t, dir, 1, 2, shard.ByModel)
		check(t, []string{p0, p1}, cases, "shard 0/2", "incomplete", "model b, prompt y")
	})
	t.Run("changed configuration", func(t *testing.T) {
		check(t, shards(t, 2, shard.ByModel), cases[:4], "plan")
	})
	t.Run("different plans", func(t *testing.T) {
		a := shards(t, 2, shard.ByModel)
		b := shards(t, 2, shard.ByCase)
		check(t, []string{a[0], b[1]}, cases, "different configurations")
	})
	t.Run("case on the wrong shard", func(t *testing.T) {
		// Shard 1's output copied into shard 0's: same plan, wrong cases.
		p := shards(t, 2, shard.ByModel)
		data, _ := os.ReadFile(filepath.Join(p[1], "bench.txt"))
		os.WriteFile(filepath.Join(p[0], "bench.txt"), bytes.ReplaceAll(data, []byte("shard: 1/2"), []byte("shard: 0/2")), 0o644)
		check(t, p, cases, "model c/2, prompt x: results on shard 0/2", "the plan gives it to shard 1/2", "shard 0/2 ("+p[0], "incomplete: no results for model a, prompt x")
	})
	t.Run("not sharded", func(t *testing.T) {
		dir := t.TempDir()
		path := filepath.Join(dir, "bench.txt")
		os.WriteFile(path, []byte("goos: linux\nBenchmarkGenerate/model=a/prompt=x 1 5 ns/op\n"), 0o644)
		check(t, []string{path}, cases, path+":2", "without a shard: line")
	})
	t.Run("unknown case", func(t *testing.T) {
		p := shards(t, 2, shard.ByModel)
		f, _ := os.OpenFile(filepath.Join(p[1], "bench.txt"), os.O_APPEND|os.O_WRONLY, 0)
		fmt.Fprintln(f, "BenchmarkGenerate/model=zzz/prompt=x-2 1 5 ns/op")
		f.Close()
		check(t, p, cases, "model=zzz", "no case")
	})
	t.Run("no inputs", func(t *testing.T) {
		if _, err := Read(nil); err == nil {
			t.Error("no error")
		}
	})
}

// A load model split over every shard (load=split): the merged file has one
// line per run whose load metrics are those of one report holding every
// shard's requests (exact percentiles, the union's wall time), and whose other
// values are the largest shard's.
func TestMergeSplitLoad(t *testing.T) {
	const n, runs = 3, 2
	whole := loadgen.Point{Name: "concurrency=4", Mode: "concurrency", Concurrency: 6}
	t0 := time.Date(2026, 3, 4, 5, 6, 7, 0, time.UTC)
	rng := rand.New(rand.NewPCG(1, 2))
	one := make([]*loadgen.Report, runs)
	for it := range one {
		one[it] = loadgen.NewReport(whole)
		one[it].Start = t0
	}
	dir := t.TempDir()
	var paths []string
	for i := range n {
		var reps []*loadgen.Report
		for it := range runs {
			p, err := loadgen.SplitPoint(whole, i, n, "h")
			if err != nil {
				t.Fatal(err)
			}
			r := loadgen.NewReport(p)
			r.Start = t0.Add(time.Duration(i) * time.Millisecond)
			r.End = r.Start.Add(time.Duration(900+rng.IntN(300)) * time.Millisecond)
			r.Wall = r.End.Sub(r.Start)
			for range 10 + i {
				ttft := time.Duration(rng.IntN(1e8))
				r.TTFT.Record(ttft)
				one[it].TTFT.Record(ttft)
				r.E2E.Record(5 * ttft)
				one[it].E2E.Record(5 * ttft)
				r.Succeeded++
				one[it].Succeeded++
				r.OutputTokens += 16
				one[it].OutputTokens += 16
			}
			if r.End.After(one[it].End) {
				one[it].End = r.End
			}
			reps = append(reps, r)
		}
		path, err := mergetest.Shard{Dir: dir, Config: "x.yaml", Spec: shard.Spec{Index: i, Count: n, SplitLoad: true},
			Cases: cases, Sanitize: sanitize, Load: reps}.Write()
		if err != nil {
			t.Fatal(err)
		}
		paths = append(paths, path)
	}
	set, err := Read(paths)
	if err != nil {
		t.Fatal(err)
	}
	if err := set.Check(cases, sanitize); err != nil {
		t.Fatal(err)
	}
	var buf bytes.Buffer
	if err := set.Write(&buf); err != nil {
		t.Fatal(err)
	}
	var loads []*benchfmt.Result
	for r := benchfmt.NewReader(&buf, "merged"); r.Scan(); {
		if res, ok := r.Result().(*benchfmt.Result); ok && strings.HasPrefix(string(res.Name), "Load/") {
			loads = append(loads, res.Clone())
		}
	}
	if len(loads) != runs {
		t.Fatalf("%d merged load lines, want %d (one per run, not per shard)", len(loads), runs)
	}
	for it, res := range loads {
		one[it].Wall = one[it].End.Sub(one[it].Start)
		want := one[it].Metrics()
		if len(res.Values) != len(want)+1 {
			t.Errorf("run %d: values %v, want %v and peak-rss-B", it, res.Values, want)
			continue
		}
		for j, m := range want {
			v := res.Values[j]
			if v.OrigUnit != "" { // benchfmt tidies ns to sec
				v.Unit, v.Value = v.OrigUnit, v.OrigValue
			}
			if v.Unit != m.Name || v.Value != m.Value {
				t.Errorf("run %d: %s = %v, one process: %s = %v", it, v.Unit, v.Value, m.Name, m.Value)
			}
		}
		if v := res.Values[len(want)]; v.Unit != "peak-rss-B" || v.Value != float64(1000*(it+1)*n) {
			t.Errorf("run %d: %v, want the largest shard's peak-rss-B %d", it, v, 1000*(it+1)*n)
		}
	}

	// A shard whose records are gone cannot be merged exactly: an error.
	os.Remove(filepath.Join(paths[1], loadgen.ShardRecordsFile))
	set, err = Read(paths)
	if err == nil {
		err = set.Check(cases, sanitize)
	}
	if err == nil || !strings.Contains(err.Error(), "shard 1/3") || !strings.Contains(err.Error(), "0 load records") {
		t.Errorf("records missing: %v", err)
	}
}
