// Package merge joins the outputs of a sharded run (package shard) into one
// benchmark file that stock benchstat reads as a single run.
//
// Every result line of a shard carries the shard's configuration lines (shard,
// shard-plan, shard-by). Merge reads each output with benchfmt, checks that the
// outputs are the shards of one plan — every shard once, every case of the plan
// present exactly once and on the shard the plan gives it to — and writes the
// results in shard order with the shard lines left out, since a value that
// differs between shards would split benchstat's tables. Everything else is kept
// as the shards wrote it: the Unit lines once, and each result's own
// configuration (model lines, host lines). The merged results are byte for byte
// the shards' results, so merging adds no error: a case's samples are those one
// machine running that case would have printed.
//
//	set, err := merge.Read(paths)
//	err = set.Check(shard.CasesOf(cfg, prompts), bench.Sanitize)
//	err = set.Write(w)
package merge

import (
	"bytes"
	"cmp"
	"errors"
	"fmt"
	"io"
	"maps"
	"os"
	"path/filepath"
	"slices"
	"strings"

	"golang.org/x/perf/benchfmt"

	"github.com/llmbench/llmbench/loadgen"
	"github.com/llmbench/llmbench/shard"
)

// Set is the outputs of the shards of one plan.
type Set struct {
	// Spec is the plan's shard count and grouping (Index unused).
	Spec shard.Spec
	// Hash is the plan's hash, as the shards wrote it.
	Hash string
	// ConfigFile is the configuration the shards ran (their llmbench-config
	// line), "" when they did not say.
	ConfigFile string
	// Files are the inputs read, in the order given.
	Files []*File

	units []*benchfmt.UnitMetadata
	split map[string]bool // the split load models' sanitized names, set by Check
}

// File is one shard's output.
type File struct {
	// Path is the file read (a folder given is read as FOLDER/bench.txt).
	Path string
	// Index is the shard the file's results say it is; -1 when it has none.
	Index int
	// Results are the file's results, in order.
	Results []*benchfmt.Result
	// Load are the shard's load records (loadgen.ShardRecordsFile beside the
	// bench.txt) for load points split over the shards.
	Load []loadgen.ShardRecord
}

// Read reads shard outputs: each path is a bench.txt or a folder holding one.
// Errors are a file that cannot be read, a malformed benchmark line, a result
// without shard lines, and files of different plans.
func Read(paths []string) (*Set, error) {
	if len(paths) == 0 {
		return nil, errors.New("merge: no shard outputs given")
	}
	s := &Set{}
	seenUnit := map[benchfmt.UnitMetadataKey]*benchfmt.UnitMetadata{}
	var errs []error
	for _, p := range paths {
		f, err := s.read(p, seenUnit)
		if err != nil {
			errs = append(errs, err)
			continue
		}
		s.Files = append(s.Files, f)
	}
	return s, errors.Join(errs...)
}

func (s *Set) read(path string, seenUnit map[benchfmt.UnitMetadataKey]*benchfmt.UnitMetadata) (*File, error) {
	if fi, err := os.Stat(path); err == nil && fi.IsDir() {
		path = filepath.Join(path, "bench.txt")
	}
	fh, err := os.Open(path)
	if err != nil {
		return nil, fmt.Errorf("merge: %w", err)
	}
	defer fh.Close()
	f := &File{Path: path, Index: -1}
	r := benchfmt.NewReader(fh, path)
	for r.Scan() {
		switch rec := r.Result().(type) {
		case *benchfmt.SyntaxError:
			return nil, fmt.Errorf("merge: %w", rec)
		case *benchfmt.UnitMetadata:
			if have, ok := seenUnit[rec.UnitMetadataKey]; ok {
				if have.Value != rec.Value {
					hf, hl := have.Pos()
					return nil, fmt.Errorf("merge: %s:%d: Unit %s %s=%s, but %s:%d says %s", path, lineOf(rec), rec.Unit, rec.Key, rec.Value, hf, hl, have.Value)
				}
				continue
			}
			u := *rec
			seenUnit[rec.UnitMetadataKey] = &u
			s.units = append(s.units, &u)
		case *benchfmt.Result:
			if err := s.addResult(f, rec.Clone()); err != nil {
				return nil, err
			}
		}
	}
	if err := r.Err(); err != nil {
		return nil, fmt.Errorf("merge: %s: %w", path, err)
	}
	recs := filepath.Join(filepath.Dir(path), loadgen.ShardRecordsFile)
	if rf, err := os.Open(recs); err == nil {
		defer rf.Close()
		if f.Load, err = loadgen.ReadShardRecords(rf, recs); err != nil {
			return nil, fmt.Errorf("merge: %w", err)
		}
	} else if !errors.Is(err, os.ErrNotExist) {
		return nil, fmt.Errorf("merge: %w", err)
	}
	return f, nil
}

func lineOf(r interface{ Pos() (string, int) }) int {
	_, l := r.Pos()
	return l
}

// addResult checks res's shard lines against the file's and the set's.
func (s *Set) addResult(f *File, res *benchfmt.Result) error {
	file, line := res.Pos()
	where := fmt.Sprintf("merge: %s:%d", file, line)
	spec, hash, err := shard.FromConfigLines(res.GetConfig)
	if errors.Is(err, shard.ErrNotInPlan) {
		return fmt.Errorf("%s: a result without a %s: line: not the output of a sharded run (llmbench run --shard i/n)", where, shard.KeyShard)
	}
	if err != nil {
		return fmt.Errorf("%s: %w", where, err)
	}
	if f.Index >= 0 && spec.Index != f.Index {
		return fmt.Errorf("%s: shard %d/%d, but earlier results of the file are shard %d", where, spec.Index, spec.Count, f.Index)
	}
	f.Index = spec.Index
	if s.Hash == "" {
		s.Spec, s.Hash = shard.Spec{Count: spec.Count, By: spec.By, SplitLoad: spec.SplitLoad}, hash
		s.ConfigFile = res.GetConfig("llmbench-config")
	}
	if hash != s.Hash || spec.Count != s.Spec.Count || spec.By != s.Spec.By || spec.SplitLoad != s.Spec.SplitLoad {
		return fmt.Errorf("%s: shard %s of plan %s, but the outputs before it are of plan %s (%d shards, by %s): shards of different configurations", where, spec, hash, s.Hash, s.Spec.Count, s.Spec.By)
	}
	f.Results = append(f.Results, res)
	return nil
}

// Check checks the set against the plan of the configuration's cases (as
// shard.CasesOf lists them): the plan's hash is the shards' one, no shard is
// given twice, and every case is present exactly once, on the shard the plan
// gives it to. sanitize maps a model name or prompt id to its form in benchmark
// names (bench.Sanitize); nil leaves names as they are. Every problem is
// reported, each naming its shard, case and file.
func (s *Set) Check(cases []shard.Case, sanitize func(string) string) error {
	if sanitize == nil {
		sanitize = func(s string) string { return s }
	}
	if len(s.Files) == 0 || s.Hash == "" {
		return errors.New("merge: no results in the shard outputs")
	}
	plan := shard.Spec{Index: 0, Count: s.Spec.Count, By: s.Spec.By, SplitLoad: s.Spec.SplitLoad}.Plan(cases)
	if plan.Hash() != s.Hash {
		return fmt.Errorf("merge: the shards ran plan %s, but the configuration's cases give plan %s (%d shards, by %s): a different configuration, or one changed since", s.Hash, plan.Hash(), s.Spec.Count, s.Spec.By)
	}
	var errs []error
	byIndex := map[int][]string{}
	for _, f := range s.Files {
		if f.Index < 0 {
			// A shard whose every case failed writes no results: it is named below
			// as a missing shard, unless the plan gives it nothing to do.
			continue
		}
		byIndex[f.Index] = append(byIndex[f.Index], f.Path)
	}
	for i := range s.Spec.Count {
		if paths := byIndex[i]; len(paths) > 1 {
			errs = append(errs, fmt.Errorf("merge: shard %d/%d given twice: %s", i, s.Spec.Count, strings.Join(paths, ", ")))
		}
	}

	// Where each case's results are: case index → shard → first file.
	type key struct{ model, prompt string }
	caseOf := map[key]int{}
	models := map[string]string{} // sanitized → name
	for k, c := range cases {
		caseOf[key{sanitize(c.Model), sanitize(c.Prompt)}] = k
		models[sanitize(c.Model)] = c.Model
	}
	found := make([]map[int]string, len(cases))
	for _, f := range s.Files {
		for _, res := range f.Results {
			model, prompt, ok := nameParts(res.Name)
			if _, known := models[model]; !ok || !known {
				file, line := res.Pos()
				errs = append(errs, fmt.Errorf("merge: %s:%d: %s is no case of the configuration's plan", file, line, res.Name))
				continue
			}
			k, ok := caseOf[key{model, prompt}]
			if !ok {
				// Work of the model as a whole (a load sweep point, an engine's own
				// benchmark): its owner's first case.
				k = caseOf[key{model, sanitize(firstPrompt(cases, models[model]))}]
			}
			if found[k] == nil {
				found[k] = map[int]string{}
			}
			if _, ok := found[k][f.Index]; !ok {
				found[k][f.Index] = f.Path
			}
		}
	}
	missing := map[int][]string{}
	split := map[string]bool{}
	for k, c := range cases {
		if want := plan.Shard[k]; want != shard.All {
			for i, path := range found[k] {
				if i != want {
					errs = append(errs, fmt.Errorf("merge: %s: results on shard %d/%d (%s), but the plan gives it to shard %d/%d", c, i, s.Spec.Count, path, want, s.Spec.Count))
				}
			}
			if _, ok := found[k][want]; !ok {
				missing[want] = append(missing[want], c.String())
			}
			continue
		}
		// A split load model: on every shard, with its lossless records.
		for i := range s.Spec.Count {
			if _, ok := found[k][i]; !ok {
				missing[i] = append(missing[i], c.String()+" (its share of the load)")
			}
		}
		errs = append(errs, s.checkRecords(sanitize(c.Model))...)
		split[sanitize(c.Model)] = true
	}
	for _, i := range slices.Sorted(maps.Keys(missing)) {
		cs := missing[i]
		if paths := byIndex[i]; len(paths) == 0 {
			errs = append(errs, fmt.Errorf("merge: shard %d/%d missing: no output given has its results (its cases: %s)", i, s.Spec.Count, strings.Join(cs, "; ")))
		} else {
			errs = append(errs, fmt.Errorf("merge: shard %d/%d (%s) incomplete: no results for %s", i, s.Spec.Count, paths[0], strings.Join(cs, "; ")))
		}
	}
	if err := errors.Join(errs...); err != nil {
		return err
	}
	s.split = split
	return nil
}

// checkRecords checks that each shard has one load record per result line of
// the split load model (sanitized name) model.
func (s *Set) checkRecords(model string) []error {
	var errs []error
	for _, f := range s.Files {
		lines, recs := map[string]int{}, map[string]int{}
		for _, res := range f.Results {
			if m, _, _ := nameParts(res.Name); m == model {
				lines[baseName(res.Name)]++
			}
		}
		for _, r := range f.Load {
			if m, _, _ := nameParts(benchfmt.Name(r.Name)); m == model {
				recs[r.Name]++
			}
		}
		for _, name := range slices.Sorted(maps.Keys(lines)) {
			if lines[name] != recs[name] {
				errs = append(errs, fmt.Errorf("merge: shard %d/%d (%s): %d results of %s but %d load records in %s: the split load cannot be merged exactly", f.Index, s.Spec.Count, f.Path, lines[name], name, recs[name], loadgen.ShardRecordsFile))
			}
		}
	}
	return errs
}

// baseName is a benchmark name without its -GOMAXPROCS suffix.
func baseName(n benchfmt.Name) string {
	base, parts := n.Parts()
	out := string(base)
	for _, p := range parts {
		if !bytes.HasPrefix(p, []byte("-")) {
			out += string(p)
		}
	}
	return out
}

func firstPrompt(cases []shard.Case, model string) string {
	for _, c := range cases {
		if c.Model == model {
			return c.Prompt
		}
	}
	return ""
}

// nameParts returns the model= and prompt= values of a benchmark name
// (Generate/model=M/prompt=P-8, Load/model=M/rate=R-8); ok is false without a
// model.
func nameParts(name benchfmt.Name) (model, prompt string, ok bool) {
	_, parts := name.Parts()
	for _, p := range parts {
		seg := strings.TrimPrefix(string(p), "/")
		if v, found := strings.CutPrefix(seg, "model="); found {
			model, ok = v, true
		} else if v, found := strings.CutPrefix(seg, "prompt="); found {
			prompt = v
		}
	}
	return model, prompt, ok
}

// Write writes the merged run: a note line naming the plan (not a
// configuration line, so benchstat ignores it), the Unit lines, then every
// shard's results in shard order without the shard configuration lines. After
// Check, the results of a load model split over every shard are merged: one
// line per run, at the first shard's line, whose load metrics are those of the
// pooled records (loadgen.MergeShards) and whose other values are the largest
// of the shards'.
func (s *Set) Write(out io.Writer) error {
	if _, err := fmt.Fprintf(out, "llmbench merge: %d shards of plan %s (by %s); shard configuration lines left out\n", s.Spec.Count, s.Hash, s.Spec.By); err != nil {
		return err
	}
	w := benchfmt.NewWriter(out)
	for _, u := range s.units {
		if err := w.Write(u); err != nil {
			return err
		}
	}
	files := slices.Clone(s.Files)
	slices.SortStableFunc(files, func(a, b *File) int { return cmp.Compare(a.Index, b.Index) })
	for fi, f := range files {
		seen := map[string]int{} // runs of each split load point so far
		for _, res := range f.Results {
			out := res.Clone()
			if s.splitLoad(res.Name) {
				if fi > 0 {
					continue // merged into the first shard's line
				}
				name := baseName(res.Name)
				var err error
				out.Values, err = s.mergeLoad(files, name, seen[name])
				if err != nil {
					return err
				}
				seen[name]++
			}
			for _, k := range shard.Keys {
				out.SetConfig(k, "")
			}
			if err := w.Write(out); err != nil {
				return err
			}
		}
	}
	return nil
}

// splitLoad reports whether name is a result of a load model the checked plan
// splits over every shard.
func (s *Set) splitLoad(name benchfmt.Name) bool {
	model, _, _ := nameParts(name)
	return s.split[model]
}

// mergeLoad returns the values of run it of the split load point name: the
// load metrics of every shard's record merged (loadgen.MergeShards: exact
// percentiles, the union's wall time), then each other value of the shards'
// lines (the engines' memory peaks) at its largest.
func (s *Set) mergeLoad(files []*File, name string, it int) ([]benchfmt.Value, error) {
	var reps []*loadgen.Report
	other := map[string]float64{}
	var order []string
	loadMetric := map[string]bool{}
	for _, m := range loadgen.MetricNames() {
		loadMetric[m] = true
	}
	for _, f := range files {
		var rep *loadgen.Report
		for _, r := range f.Load {
			if r.Name == name && r.Iteration == it {
				rep = r.Report
			}
		}
		var line *benchfmt.Result
		n := 0
		for _, res := range f.Results {
			if baseName(res.Name) == name {
				if n == it {
					line = res
				}
				n++
			}
		}
		if rep == nil || line == nil {
			return nil, fmt.Errorf("merge: shard %d/%d (%s) has no run %d of %s", f.Index, s.Spec.Count, f.Path, it+1, name)
		}
		reps = append(reps, rep)
		for _, v := range line.Values {
			unit, val := v.Unit, v.Value
			if v.OrigUnit != "" { // as written, before benchfmt tidied ns to sec
				unit, val = v.OrigUnit, v.OrigValue
			}
			if loadMetric[unit] {
				continue
			}
			if old, ok := other[unit]; !ok {
				order = append(order, unit)
				other[unit] = val
			} else {
				other[unit] = max(old, val)
			}
		}
	}
	merged, err := loadgen.MergeShards(reps)
	if err != nil {
		return nil, fmt.Errorf("merge: %s: %w", name, err)
	}
	var vals []benchfmt.Value
	for _, m := range merged.Metrics() {
		vals = append(vals, benchfmt.Value{Value: m.Value, Unit: m.Name})
	}
	for _, u := range order {
		vals = append(vals, benchfmt.Value{Value: other[u], Unit: u})
	}
	return vals, nil
}
