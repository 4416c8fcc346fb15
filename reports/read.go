package reports

import (
	"errors"
	"fmt"
	"io"
	"math"
	"slices"
	"strconv"
	"strings"

	"golang.org/x/perf/benchfmt"
	"golang.org/x/perf/benchproc"
)

// Config keys llmbench writes before each model's results.
const (
	// ConfigParams is the config key of a model's parameter count.
	ConfigParams = "model-params"
	// ConfigSynthetic is the config key that marks a random-weight model ("true").
	ConfigSynthetic = "model-synthetic"
)

// Stage lines. A result line with a stage key, "BenchmarkGenerate/model=M/stage=load",
// holds what was measured once per model at that stage (the one-shot
// figures: load-ns, rss-after-load-B), not a case: reports show it as a
// per-model row of its own and never average it with the cases.
const (
	// StageKey is the name key of a stage line.
	StageKey = "stage"
	// StageLoad is the stage of the model load.
	StageLoad = "load"
)

// ErrNoResults is returned (wrapped, with the file names) when the input holds no
// benchmark result lines at all.
var ErrNoResults = errors.New("no benchmark results")

// A Label is one key=value part of a benchmark name, such as model=llama3.2-1b.
type Label struct {
	Key, Value string
}

// A Group is every result line of one benchmark with one set of sub-benchmark
// keys, for example all iterations of BenchmarkGenerate/model=a/prompt=p1.
type Group struct {
	// Benchmark is the benchmark name without the "Benchmark" prefix and without
	// its key=value parts and GOMAXPROCS suffix: "Generate".
	Benchmark string
	// Labels are the key=value parts of the name in the Set's key order. A key
	// the name lacks is absent. GOMAXPROCS appears (key "gomaxprocs") only when
	// it differs between results of the Set.
	Labels []Label
	// Params is the model's parameter count from its `model-params` config
	// line; 0 when unknown.
	Params float64
	// Synthetic reports a `model-synthetic: true` config line: a random-weight
	// model whose timings and memory are real but whose text is meaningless.
	Synthetic bool
	// Config holds the configuration lines in effect for the group's first
	// result (goos, cpu, engine, model-id, …); keys with empty values are
	// left out.
	Config map[string]string
	// Samples maps a metric (its unit as written: "ns/op", "ttft-ns/op",
	// "tokens/s") to its values, one per result line, in input order. A metric
	// a result line lacks has no value from that line.
	Samples map[string][]float64
}

// Get returns the value of the name key (without its slash), or "".
func (g *Group) Get(key string) string {
	for _, l := range g.Labels {
		if l.Key == key {
			return l.Value
		}
	}
	return ""
}

// Model is g.Get("model").
func (g *Group) Model() string { return g.Get("model") }

// Stage is g.Get(StageKey): "" for a case, "load" for a model's load figures.
func (g *Group) Stage() string { return g.Get(StageKey) }

// ID is the benchmark name rebuilt from Benchmark and Labels, like
// "Generate/model=a/prompt=p1": the identity used to pair old and new results.
func (g *Group) ID() string {
	var b strings.Builder
	b.WriteString(g.Benchmark)
	for _, l := range g.Labels {
		fmt.Fprintf(&b, "/%s=%s", l.Key, l.Value)
	}
	return b.String()
}

// Stats summarises one metric; ok is false when the group has no value for it.
func (g *Group) Stats(metric string) (s Stats, ok bool) {
	vs := g.Samples[metric]
	if len(vs) == 0 {
		return Stats{}, false
	}
	return Summarize(vs), true
}

// A Set is benchmark results read from one or more files, grouped.
type Set struct {
	// Files are the input names, in order.
	Files []string
	// Keys are the sub-benchmark name keys (without the slash: "model",
	// "prompt", "concurrency") in the order first seen.
	Keys []string
	// Metrics are the metrics present in any result: known llmbench metrics in
	// their canonical order (see KnownMetrics), then others in the order first
	// seen.
	Metrics []string
	// Groups are the groups in the order first seen.
	Groups []*Group
	// ConfigKeys are the keys of the groups' Config in the order first seen.
	ConfigKeys []string
	// Units holds the metadata of `Unit … better=… assume=…` lines.
	Units benchfmt.UnitMetadataMap
	// Errors are the malformed lines, in input order: those benchfmt cannot
	// read, and results with a value that is not a finite number (the value
	// is skipped) or a name key benchproc cannot project (the line is
	// skipped).
	Errors []*benchfmt.SyntaxError
	// Results is the number of result lines read, less those skipped: a
	// line with an odd name key, or one left without values.
	Results int
}

// Synthetic reports whether any group is a synthetic model.
func (s *Set) Synthetic() bool {
	return slices.ContainsFunc(s.Groups, func(g *Group) bool { return g.Synthetic })
}

// Better returns +1 when higher values of metric are better, -1 when lower
// are, 0 when unknown: a `Unit` line of the input wins, then the defaults of
// DefaultBetter.
func (s *Set) Better(metric string) int {
	return better(s.Units, metric)
}

// Read reads Go benchmark output from the named files ("-" is standard input).
// A malformed line is written to warn as "file:line: message", recorded in
// Set.Errors, and skipped; everything else is kept. Results whose benchmark
// groups differ in some configuration line (cpu, engine, …) are also reported
// to warn. The error is about I/O or ErrNoResults; warn may be nil.
func Read(paths []string, warn io.Writer) (*Set, error) {
	files := &benchfmt.Files{Paths: paths, AllowStdin: true}
	s, err := build(files, warn)
	if err != nil {
		return nil, err
	}
	s.Files = slices.Clone(paths)
	if s.Results == 0 {
		return nil, fmt.Errorf("%s: %w", strings.Join(paths, ", "), ErrNoResults)
	}
	return s, nil
}

// Parse is Read of one stream; name is used in messages.
func Parse(r io.Reader, name string, warn io.Writer) (*Set, error) {
	s, err := build(&readerScanner{benchfmt.NewReader(r, name)}, warn)
	if err != nil {
		return nil, err
	}
	s.Files = []string{name}
	if s.Results == 0 {
		return nil, fmt.Errorf("%s: %w", name, ErrNoResults)
	}
	return s, nil
}

// scanner is what benchfmt.Reader and benchfmt.Files have in common.
type scanner interface {
	Scan() bool
	Result() benchfmt.Record
	Err() error
}

type readerScanner struct{ *benchfmt.Reader }

func (r *readerScanner) Result() benchfmt.Record { return r.Reader.Result() }

func build(sc scanner, warn io.Writer) (*Set, error) {
	if warn == nil {
		warn = io.Discard
	}
	s := &Set{Units: benchfmt.UnitMetadataMap{}}

	// Pass 1: keep the results, move one-shot figures to stage lines, learn
	// the name keys (the stage key last).
	var results []*benchfmt.Result
	keyOK := map[string]bool{}
	for sc.Scan() {
		switch rec := sc.Result().(type) {
		case *benchfmt.SyntaxError:
			s.malformed(warn, rec.FileName, rec.Line, rec.Msg)
		case *benchfmt.UnitMetadata:
			s.Units[rec.UnitMetadataKey] = rec
		case *benchfmt.Result:
			if res := s.check(rec, warn, keyOK); res != nil {
				results = append(results, res)
			}
		}
	}
	if err := sc.Err(); err != nil {
		return nil, err
	}
	s.Results = len(results)
	results = oneShotToStage(results)
	seenKey := map[string]bool{}
	procs := map[string]bool{}
	for _, res := range results {
		n := splitResultName(res)
		procs[n.procs] = true
		for _, p := range n.parts {
			if k, _, ok := strings.Cut(p[1:], "="); ok && !seenKey[k] && k != StageKey {
				seenKey[k] = true
				s.Keys = append(s.Keys, k)
			}
		}
		if n.stage != "" {
			seenKey[StageKey] = true
		}
	}
	if seenKey[StageKey] {
		s.Keys = append(s.Keys, StageKey)
	}
	if len(procs) > 1 {
		s.Keys = append(s.Keys, "gomaxprocs")
	}

	// Pass 2: project with benchproc. ".fullname" minus the projected keys is
	// the benchmark name plus any positional parts; "/gomaxprocs" is always
	// projected so that a -N suffix never splits groups on its own.
	var parser benchproc.ProjectionParser
	var filter benchproc.Filter
	nameProj, err := parser.Parse(".fullname", &filter)
	if err != nil {
		return nil, err
	}
	keyFields := make([]string, 0, len(s.Keys)+1)
	for _, k := range s.Keys {
		keyFields = append(keyFields, "/"+k)
	}
	if len(procs) <= 1 {
		keyFields = append(keyFields, "/gomaxprocs")
	}
	keyProj, err := parser.Parse(strings.Join(keyFields, ","), &filter)
	if err != nil {
		return nil, fmt.Errorf("sub-benchmark keys %v: %w", s.Keys, err)
	}
	modelProj, err := parser.Parse(ConfigParams+","+ConfigSynthetic, &filter)
	if err != nil {
		return nil, err
	}
	residue := parser.Residue()

	type gkey struct{ name, keys benchproc.Key }
	groups := map[gkey]*Group{}
	residues := map[gkey]map[benchproc.Key]bool{}
	var order []gkey
	metricSeen := map[string]bool{}
	var metricOrder []string
	for _, res := range results {
		k := gkey{nameProj.Project(res), keyProj.Project(res)}
		g := groups[k]
		if g == nil {
			g = &Group{Benchmark: k.name.Get(nameProj.Fields()[0]), Samples: map[string][]float64{}, Config: map[string]string{}}
			for _, c := range res.Config {
				if !c.File || len(c.Value) == 0 {
					continue
				}
				if !slices.Contains(s.ConfigKeys, c.Key) {
					s.ConfigKeys = append(s.ConfigKeys, c.Key)
				}
				g.Config[c.Key] = string(c.Value)
			}
			kf := keyProj.Fields()
			for i, key := range s.Keys {
				if v := k.keys.Get(kf[i]); v != "" {
					g.Labels = append(g.Labels, Label{key, v})
				}
			}
			groups[k] = g
			residues[k] = map[benchproc.Key]bool{}
			order = append(order, k)
		}
		mk := modelProj.Project(res)
		mf := modelProj.Fields()
		if p := mk.Get(mf[0]); p != "" && g.Params == 0 {
			if f, err := strconv.ParseFloat(p, 64); err == nil && f > 0 {
				g.Params = f
			} else {
				file, line := res.Pos()
				fmt.Fprintf(warn, "%s:%d: %s: not a positive number: %q\n", file, line, ConfigParams, p)
			}
		}
		if mk.Get(mf[1]) == "true" {
			g.Synthetic = true
		}
		residues[k][residue.Project(res)] = true
		for _, v := range res.Values {
			unit, val := asWritten(v)
			g.Samples[unit] = append(g.Samples[unit], val)
			if !metricSeen[unit] {
				metricSeen[unit] = true
				metricOrder = append(metricOrder, unit)
			}
		}
	}

	// Groups in first-seen order of (name, keys).
	slices.SortStableFunc(order, func(a, b gkey) int {
		if a.name != b.name {
			if a.name.Less(b.name) {
				return -1
			}
			return 1
		}
		if a.keys.Less(b.keys) {
			return -1
		}
		if b.keys.Less(a.keys) {
			return 1
		}
		return 0
	})
	for _, k := range order {
		g := groups[k]
		s.Groups = append(s.Groups, g)
		if len(residues[k]) > 1 {
			keys := make([]benchproc.Key, 0, len(residues[k]))
			for r := range residues[k] {
				keys = append(keys, r)
			}
			var names []string
			for _, f := range benchproc.NonSingularFields(keys) {
				names = append(names, f.Name)
			}
			slices.Sort(names)
			fmt.Fprintf(warn, "%s: results differ in %s\n", g.ID(), strings.Join(names, ", "))
		}
	}
	s.Metrics = sortMetrics(metricOrder)
	return s, nil
}

// malformed records a malformed line in s.Errors and writes it to warn.
func (s *Set) malformed(warn io.Writer, file string, line int, msg string) {
	e := &benchfmt.SyntaxError{FileName: file, Line: line, Msg: msg}
	fmt.Fprintln(warn, e)
	s.Errors = append(s.Errors, e)
}

// check returns a copy of res fit to group, recording in s.Errors what it
// leaves out. A value that is not a finite number (benchfmt reads "NaN" and
// "Inf" as numbers) is skipped: no statistic of it means anything, and
// benchmath's U test never returns on a NaN. A line with a name key that
// benchproc cannot project (see projectable) is skipped whole, as is a line
// left without values; check returns nil for those. keyOK caches projectable
// by key.
func (s *Set) check(res *benchfmt.Result, warn io.Writer, keyOK map[string]bool) *benchfmt.Result {
	file, line := res.Pos()
	res = res.Clone()
	res.Values = slices.DeleteFunc(res.Values, func(v benchfmt.Value) bool {
		unit, val := asWritten(v)
		if !math.IsNaN(val) && !math.IsInf(val, 0) && !math.IsNaN(v.Value) && !math.IsInf(v.Value, 0) {
			return false
		}
		s.malformed(warn, file, line, fmt.Sprintf("%s: %v is not a finite number; value skipped", unit, val))
		return true
	})
	for _, p := range splitResultName(res).parts {
		k, _, ok := strings.Cut(p[1:], "=")
		if !ok {
			continue
		}
		if _, seen := keyOK[k]; !seen {
			keyOK[k] = projectable(k)
		}
		if !keyOK[k] {
			s.malformed(warn, file, line, fmt.Sprintf("name key %q is not one benchproc can project; line skipped", k))
			return nil
		}
	}
	if len(res.Values) == 0 {
		return nil
	}
	return res
}

// projectable reports whether benchproc can project the name key k as the
// one field "/k". Its projection syntax reads "(", ")", ":", "@", "," and
// spaces as operators: "/(" does not parse, and "/a,b" parses as two fields,
// so such a key would fail or garble the projection of every line.
func projectable(k string) bool {
	var parser benchproc.ProjectionParser
	var filter benchproc.Filter
	proj, err := parser.Parse("/"+k, &filter)
	return err == nil && len(proj.Fields()) == 1 && proj.Fields()[0].Name == "/"+k
}

// asWritten is a value in the unit the benchmark wrote, before any tidying.
func asWritten(v benchfmt.Value) (unit string, value float64) {
	if v.OrigUnit != "" {
		return v.OrigUnit, v.OrigValue
	}
	return v.Unit, v.Value
}

// resultName is a result's name taken apart.
type resultName struct {
	base  string   // "BenchmarkGenerate"
	parts []string // "/model=a", "/prompt=p1", …: the slash parts, in order
	model string   // the "/model=…" part, or ""
	stage string   // the value of the stage key, or ""
	procs string   // the GOMAXPROCS suffix without its "-", or ""
}

func splitResultName(res *benchfmt.Result) resultName {
	base, parts := res.Name.Parts()
	n := resultName{base: string(base)}
	for _, p := range parts {
		ps := string(p)
		switch {
		case ps[0] == '-':
			n.procs = ps[1:]
		case ps[0] == '/':
			n.parts = append(n.parts, ps)
			if strings.HasPrefix(ps, "/model=") {
				n.model = ps
			}
			if v, ok := strings.CutPrefix(ps, "/"+StageKey+"="); ok {
				n.stage = v
			}
		}
	}
	return n
}

// oneShotToStage moves the one-shot figures (IsOneShot) that case lines
// carry, as llmbench wrote them before it wrote stage lines, to a stage line
// of their own, "BenchmarkGenerate/model=M/stage=load", inserted before the
// case line they came from. A figure repeated on every case line of a model
// is one measurement: each distinct value counts once per file, benchmark
// and model. Where a file has stage lines for a model, its case lines'
// copies are dropped. A case line left without values is dropped.
func oneShotToStage(results []*benchfmt.Result) []*benchfmt.Result {
	type modelKey struct{ file, base, model string }
	keyOf := func(res *benchfmt.Result, n resultName) modelKey {
		file, _ := res.Pos()
		return modelKey{file, n.base, n.model}
	}
	hasStage := map[modelKey]bool{}
	for _, res := range results {
		if n := splitResultName(res); n.stage != "" {
			hasStage[keyOf(res, n)] = true
		}
	}
	seen := map[modelKey]map[string][]float64{}
	out := make([]*benchfmt.Result, 0, len(results))
	for _, res := range results {
		n := splitResultName(res)
		if n.stage != "" || !slices.ContainsFunc(res.Values, func(v benchfmt.Value) bool { u, _ := asWritten(v); return IsOneShot(u) }) {
			out = append(out, res)
			continue
		}
		k := keyOf(res, n)
		if seen[k] == nil {
			seen[k] = map[string][]float64{}
		}
		var keep, fresh []benchfmt.Value
		for _, v := range res.Values {
			u, val := asWritten(v)
			switch {
			case !IsOneShot(u):
				keep = append(keep, v)
			case !hasStage[k] && !slices.Contains(seen[k][u], val):
				seen[k][u] = append(seen[k][u], val)
				fresh = append(fresh, v)
			}
		}
		if len(fresh) > 0 {
			st := res.Clone()
			name := n.base + n.model + "/" + StageKey + "=" + StageLoad
			if n.procs != "" {
				name += "-" + n.procs
			}
			st.Name, st.Iters, st.Values = benchfmt.Name(name), 1, fresh
			out = append(out, st)
		}
		if len(keep) > 0 {
			res.Values = keep
			out = append(out, res)
		}
	}
	return out
}

// Merge returns a copy of s without the named keys: groups that differ only in
// them are pooled into one (samples appended in order). s.Merge("prompt") gives
// one group per benchmark and model.
func (s *Set) Merge(keys ...string) *Set {
	out := *s
	out.Keys = slices.DeleteFunc(slices.Clone(s.Keys), func(k string) bool { return slices.Contains(keys, k) })
	out.Groups = nil
	byID := map[string]*Group{}
	for _, g := range s.Groups {
		m := &Group{
			Benchmark: g.Benchmark,
			Labels:    slices.DeleteFunc(slices.Clone(g.Labels), func(l Label) bool { return slices.Contains(keys, l.Key) }),
		}
		if have := byID[m.ID()]; have != nil {
			m = have
		} else {
			m.Samples = map[string][]float64{}
			byID[m.ID()] = m
			out.Groups = append(out.Groups, m)
		}
		if m.Params == 0 {
			m.Params = g.Params
		}
		if m.Config == nil {
			m.Config = g.Config
		}
		m.Synthetic = m.Synthetic || g.Synthetic
		for metric, vs := range g.Samples {
			m.Samples[metric] = append(m.Samples[metric], vs...)
		}
	}
	return &out
}

// benchmarks returns the distinct Benchmark names in group order.
func (s *Set) benchmarks() []string {
	var names []string
	for _, g := range s.Groups {
		if !slices.Contains(names, g.Benchmark) {
			names = append(names, g.Benchmark)
		}
	}
	return names
}

// has reports whether any group has a value of metric.
func (s *Set) has(metric string) bool {
	for _, g := range s.Groups {
		if len(g.Samples[metric]) > 0 {
			return true
		}
	}
	return false
}
