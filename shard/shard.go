// Package shard divides a benchmark configuration's cases among n shards, so n
// machines (a Slurm job array, a Kubernetes Indexed Job) each run a deterministic
// share and their outputs merge into one run (package merge).
//
// The plan depends on the configuration alone — the models in order, the prompts
// in order — so every node computes the same one without talking to the others.
// Shards are numbered from 0, as Slurm array task ids (--array=0-N) and Kubernetes
// completion indexes are:
//
//	spec, err := shard.Parse("2/4")               // shard 2 of 0..3
//	plan := spec.Plan(shard.CasesOf(cfg, prompts))
//	if plan.Has(model, prompt) { … run it … }
//	for _, kv := range plan.ConfigLines() { … write "key: value" … }
package shard

import (
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"strconv"
	"strings"

	"github.com/llmbench/llmbench/config"
)

// Ways of splitting, the values of Spec.By.
const (
	// ByModel keeps every case of a model on one shard: each model is loaded
	// once, on one machine. The default.
	ByModel = "model"
	// ByCase splits model×prompt cases: finer balance, but a model whose cases
	// land on two shards is loaded on both.
	ByCase = "case"
)

// Config keys a shard writes before its results (Plan.ConfigLines).
const (
	KeyShard = "shard"      // "2/4": this shard's index and the count
	KeyPlan  = "shard-plan" // the plan's hash, the same on every shard
	KeyBy    = "shard-by"   // ByModel or ByCase
	KeyLoad  = "shard-load" // "split" with Spec.SplitLoad, else absent
)

// Keys are every configuration key a shard writes.
var Keys = []string{KeyShard, KeyPlan, KeyBy, KeyLoad}

// Spec names one shard of a plan. The zero value is not a shard (Count 0):
// Enabled reports false and Plan gives everything to it.
type Spec struct {
	// Index is this shard, 0 ≤ Index < Count.
	Index int
	// Count is the number of shards.
	Count int
	// By is how cases are grouped into units: ByModel ("" means ByModel) or
	// ByCase.
	By string
	// SplitLoad runs every load model (a model-wide case) on every shard, each
	// with 1/Count of the load (loadgen.SplitPoint), for one endpoint that one
	// client cannot saturate; merge pools the shards' samples. Off, a load model
	// is a unit like any other.
	SplitLoad bool
}

// Parse reads "i/n" (0 ≤ i < n), optionally followed by ",by=model" or
// ",by=case" and ",load=split". An empty string is the zero Spec (not sharded).
func Parse(s string) (Spec, error) {
	if s == "" {
		return Spec{}, nil
	}
	head, opts, _ := strings.Cut(s, ",")
	is, ns, ok := strings.Cut(head, "/")
	i, err1 := strconv.Atoi(is)
	n, err2 := strconv.Atoi(ns)
	if !ok || err1 != nil || err2 != nil {
		return Spec{}, fmt.Errorf("shard %q: want INDEX/COUNT, e.g. 0/4", s)
	}
	sp := Spec{Index: i, Count: n, By: ByModel}
	for _, opt := range strings.Split(opts, ",") {
		k, v, _ := strings.Cut(opt, "=")
		switch {
		case opt == "":
			if opts != "" {
				return Spec{}, fmt.Errorf("shard %q: an empty option", s)
			}
		case k == "by":
			sp.By = v
		case opt == "load=split":
			sp.SplitLoad = true
		default:
			return Spec{}, fmt.Errorf("shard %q: unknown option %q (want by=model, by=case or load=split)", s, opt)
		}
	}
	if err := sp.Check(); err != nil {
		return Spec{}, fmt.Errorf("shard %q: %w", s, err)
	}
	return sp, nil
}

// Check reports whether the spec is a valid shard.
func (s Spec) Check() error {
	switch {
	case s.Count < 1:
		return fmt.Errorf("count %d: want at least 1", s.Count)
	case s.Index < 0 || s.Index >= s.Count:
		return fmt.Errorf("index %d: want 0 to %d (shards count from 0)", s.Index, s.Count-1)
	case s.By != "" && s.By != ByModel && s.By != ByCase:
		return fmt.Errorf("by=%s: want %s or %s", s.By, ByModel, ByCase)
	}
	return nil
}

// Enabled reports whether s names a shard (Count > 0).
func (s Spec) Enabled() bool { return s.Count > 0 }

// String is the "i/n" form Parse reads, with ",by=case" when split by case.
func (s Spec) String() string {
	out := fmt.Sprintf("%d/%d", s.Index, s.Count)
	if s.by() == ByCase {
		out += ",by=" + ByCase
	}
	if s.SplitLoad {
		out += ",load=split"
	}
	return out
}

func (s Spec) by() string {
	if s.By == "" {
		return ByModel
	}
	return s.By
}

// Case is one unit of work of a configuration: a model and a prompt id, or a
// model alone (Prompt "") for work that belongs to the model as a whole: a load
// sweep, which cycles through every prompt.
type Case struct {
	Model, Prompt string
}

func (c Case) String() string {
	if c.Prompt == "" {
		return "model " + c.Model
	}
	return "model " + c.Model + ", prompt " + c.Prompt
}

// CasesOf lists a configuration's cases in order: for each model, one case per
// prompt, or one model-wide case for a model with a load: or embed: section.
func CasesOf(cfg *config.Config, prompts []config.Prompt) []Case {
	var out []Case
	for _, m := range cfg.Models {
		if m.Load != nil || m.Embed != nil {
			out = append(out, Case{Model: m.Name})
			continue
		}
		for _, p := range prompts {
			out = append(out, Case{Model: m.Name, Prompt: p.ID})
		}
	}
	return out
}

// Plan is the division of a configuration's cases among shards, seen from one
// shard.
type Plan struct {
	Spec Spec
	// Cases are all cases of the configuration, in order.
	Cases []Case
	// Shard[k] is the shard that runs Cases[k].
	Shard []int

	hash string
}

// All is Plan.Shard's value for a case every shard runs: a load model with
// Spec.SplitLoad.
const All = -1

// Plan divides cases among s.Count shards. The cases are grouped into units (a
// model's cases, or each case alone) and the units, in order, are cut into
// s.Count contiguous runs whose sizes differ by at most one: unit u of U goes to
// shard ⌊u·Count/U⌋. With more shards than units, some shards run nothing.
// With SplitLoad, load models (model-wide cases) are no unit: every shard runs
// them (Shard All). A zero Spec gives every case to its one shard.
func (s Spec) Plan(cases []Case) Plan {
	if !s.Enabled() {
		s = Spec{Index: 0, Count: 1, By: ByModel}
	}
	s.By = s.by()
	split := func(c Case) bool { return s.SplitLoad && c.Prompt == "" }
	unit := make([]int, len(cases)) // unit of each case
	units := 0
	prev := -1 // the last case that is a unit
	for k, c := range cases {
		if split(c) {
			continue
		}
		if prev >= 0 && !(s.By == ByModel && c.Model == cases[prev].Model) {
			units++
		}
		unit[k], prev = units, k
	}
	if prev >= 0 {
		units++
	}
	p := Plan{Spec: s, Cases: cases, Shard: make([]int, len(cases))}
	for k, c := range cases {
		if split(c) {
			p.Shard[k] = All
		} else {
			p.Shard[k] = unit[k] * s.Count / units
		}
	}
	h := sha256.New()
	fmt.Fprintf(h, "llmbench shard plan v1\nby %s\ncount %d\n", s.By, s.Count)
	if s.SplitLoad {
		fmt.Fprintf(h, "load split\n")
	}
	for _, c := range cases {
		fmt.Fprintf(h, "%q %q\n", c.Model, c.Prompt)
	}
	p.hash = hex.EncodeToString(h.Sum(nil))[:16]
	return p
}

// runs reports whether shard i runs case k.
func (p Plan) runs(i, k int) bool { return p.Shard[k] == i || p.Shard[k] == All }

// Hash identifies the plan (the cases, their order, the count and the grouping;
// not the index): the same on every shard of one plan.
func (p Plan) Hash() string { return p.hash }

// Has reports whether this shard runs the case of model and prompt. For a model's
// whole-model work (a load sweep, or an engine's own benchmarks that belong to no
// prompt), ask HasModel.
func (p Plan) Has(model, prompt string) bool {
	for k, c := range p.Cases {
		if c.Model == model && c.Prompt == prompt {
			return p.runs(p.Spec.Index, k)
		}
	}
	return false
}

// HasModel reports whether this shard runs any case of model, i.e. must open it.
func (p Plan) HasModel(model string) bool {
	for k, c := range p.Cases {
		if c.Model == model && p.runs(p.Spec.Index, k) {
			return true
		}
	}
	return false
}

// Owner returns the shard that runs model's first case: the one that runs the
// model's whole-model work, so it runs exactly once. All for a split load model;
// -2 for an unknown model.
func (p Plan) Owner(model string) int {
	for k, c := range p.Cases {
		if c.Model == model {
			return p.Shard[k]
		}
	}
	return -2
}

// Mine returns the cases this shard runs, in order.
func (p Plan) Mine() []Case { return p.Of(p.Spec.Index) }

// Of returns the cases shard i runs, in order.
func (p Plan) Of(i int) []Case {
	var out []Case
	for k, c := range p.Cases {
		if p.runs(i, k) {
			out = append(out, c)
		}
	}
	return out
}

// ConfigLines returns the configuration lines a shard writes before its results:
// shard (i/n), shard-plan (the hash), shard-by and, with SplitLoad, shard-load.
// Package merge reads them and leaves them out of the merged file, where a
// per-shard value would split benchstat's tables.
func (p Plan) ConfigLines() [][2]string {
	out := [][2]string{
		{KeyShard, fmt.Sprintf("%d/%d", p.Spec.Index, p.Spec.Count)},
		{KeyPlan, p.hash},
		{KeyBy, p.Spec.By},
	}
	if p.Spec.SplitLoad {
		out = append(out, [2]string{KeyLoad, "split"})
	}
	return out
}

// ErrNotInPlan is returned by FromConfigLines for output without shard lines.
var ErrNotInPlan = errors.New("no shard configuration lines")

// FromConfigLines reads a Spec and plan hash back from configuration lines
// (key → value), as Plan.ConfigLines wrote them.
func FromConfigLines(get func(key string) string) (Spec, string, error) {
	v := get(KeyShard)
	if v == "" {
		return Spec{}, "", ErrNotInPlan
	}
	s, err := Parse(v)
	if err != nil {
		return Spec{}, "", err
	}
	if by := get(KeyBy); by != "" {
		s.By = by
		if err := s.Check(); err != nil {
			return Spec{}, "", fmt.Errorf("%s: %w", KeyBy, err)
		}
	}
	switch v := get(KeyLoad); v {
	case "split":
		s.SplitLoad = true
	case "":
	default:
		return Spec{}, "", fmt.Errorf("%s: %q, want split", KeyLoad, v)
	}
	return s, get(KeyPlan), nil
}
