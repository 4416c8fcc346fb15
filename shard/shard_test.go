package shard

import (
	"fmt"
	"slices"
	"testing"

	"github.com/llmbench/llmbench/config"
	"github.com/llmbench/llmbench/loadgen"
)

func TestParse(t *testing.T) {
	for _, tc := range []struct {
		in   string
		want Spec
		err  bool
	}{
		{"", Spec{}, false},
		{"0/1", Spec{0, 1, ByModel, false}, false},
		{"2/4", Spec{2, 4, ByModel, false}, false},
		{"3/4,by=case", Spec{3, 4, ByCase, false}, false},
		{"1/2,by=model", Spec{1, 2, ByModel, false}, false},
		{"4/4", Spec{}, true},  // shards count from 0
		{"-1/4", Spec{}, true}, // negative
		{"0/0", Spec{}, true},
		{"1", Spec{}, true},
		{"a/b", Spec{}, true},
		{"1/2,by=prompt", Spec{}, true},
		{"1/2,per=case", Spec{}, true},
	} {
		got, err := Parse(tc.in)
		if (err != nil) != tc.err || got != tc.want {
			t.Errorf("Parse(%q) = %+v, %v; want %+v, error %v", tc.in, got, err, tc.want, tc.err)
		}
		if err == nil && tc.in != "" {
			if back, _ := Parse(got.String()); back != got {
				t.Errorf("Parse(%q).String() = %q does not read back", tc.in, got.String())
			}
		}
	}
}

func cases(models, prompts int) []Case {
	var out []Case
	for m := range models {
		for p := range prompts {
			out = append(out, Case{fmt.Sprintf("m%d", m), fmt.Sprintf("p%d", p)})
		}
	}
	return out
}

// Every case is on exactly one shard, whatever the count; by model, all of a
// model's cases are on the same one.
func TestPlanPartitions(t *testing.T) {
	cs := cases(5, 3)
	for _, by := range []string{ByModel, ByCase} {
		for n := 1; n <= 17; n++ {
			seen := map[Case]int{}
			for i := range n {
				p := Spec{Index: i, Count: n, By: by}.Plan(cs)
				for _, c := range p.Mine() {
					seen[c]++
					if !p.Has(c.Model, c.Prompt) || !p.HasModel(c.Model) {
						t.Fatalf("by %s, %d/%d: Mine has %v but Has says no", by, i, n, c)
					}
				}
			}
			for _, c := range cs {
				if seen[c] != 1 {
					t.Errorf("by %s, n=%d: %v on %d shards", by, n, c, seen[c])
				}
			}
			if by == ByModel {
				p := Spec{Index: 0, Count: n, By: by}.Plan(cs)
				for k, c := range cs {
					if p.Shard[k] != p.Owner(c.Model) {
						t.Errorf("n=%d: %v on shard %d, its model's first case on %d", n, c, p.Shard[k], p.Owner(c.Model))
					}
				}
			}
		}
	}
}

// Known answers: 5 models over 2 shards are cut 3+2 in order; 15 cases by case
// over 4 shards are cut 4+4+4+3.
func TestPlanKnownAnswer(t *testing.T) {
	p := Spec{0, 2, ByModel, false}.Plan(cases(5, 3))
	var models []string
	for _, c := range p.Mine() {
		if !slices.Contains(models, c.Model) {
			models = append(models, c.Model)
		}
	}
	if want := []string{"m0", "m1", "m2"}; !slices.Equal(models, want) {
		t.Errorf("shard 0/2 by model runs %v, want %v", models, want)
	}
	var sizes []int
	q := Spec{0, 4, ByCase, false}.Plan(cases(5, 3))
	for i := range 4 {
		sizes = append(sizes, len(q.Of(i)))
	}
	if want := []int{4, 4, 4, 3}; !slices.Equal(sizes, want) {
		t.Errorf("15 cases by case over 4 shards: sizes %v, want %v", sizes, want)
	}
	if got := (Spec{1, 4, ByCase, false}.Plan(cases(5, 3))).Mine()[0]; got != (Case{"m1", "p1"}) {
		t.Errorf("shard 1/4 by case starts at %v, want m1 p1", got)
	}
}

// The hash is the same on every shard of a plan and changes with anything that
// changes the plan.
func TestPlanHash(t *testing.T) {
	cs := cases(3, 2)
	h := Spec{0, 3, ByModel, false}.Plan(cs).Hash()
	if len(h) != 16 {
		t.Fatalf("hash %q: want 16 hex digits", h)
	}
	if h2 := (Spec{2, 3, ByModel, false}).Plan(cs).Hash(); h2 != h {
		t.Errorf("shards 0 and 2 of one plan: hashes %s and %s", h, h2)
	}
	swapped := slices.Clone(cs)
	swapped[0], swapped[1] = swapped[1], swapped[0]
	for name, other := range map[string]Plan{
		"count":  Spec{0, 2, ByModel, false}.Plan(cs),
		"by":     Spec{0, 3, ByCase, false}.Plan(cs),
		"order":  Spec{0, 3, ByModel, false}.Plan(swapped),
		"subset": Spec{0, 3, ByModel, false}.Plan(cs[1:]),
	} {
		if other.Hash() == h {
			t.Errorf("a different %s gives the same hash %s", name, h)
		}
	}
}

func TestConfigLinesRoundTrip(t *testing.T) {
	p := Spec{1, 3, ByCase, false}.Plan(cases(2, 2))
	kv := map[string]string{}
	for _, l := range p.ConfigLines() {
		kv[l[0]] = l[1]
	}
	if kv[KeyShard] != "1/3" || kv[KeyBy] != ByCase || kv[KeyPlan] != p.Hash() {
		t.Fatalf("config lines %v", kv)
	}
	s, hash, err := FromConfigLines(func(k string) string { return kv[k] })
	if err != nil || s != p.Spec || hash != p.Hash() {
		t.Errorf("FromConfigLines = %+v, %s, %v; want %+v, %s", s, hash, err, p.Spec, p.Hash())
	}
	if _, _, err := FromConfigLines(func(string) string { return "" }); err != ErrNotInPlan {
		t.Errorf("no lines: %v, want ErrNotInPlan", err)
	}
}

func TestCasesOf(t *testing.T) {
	cfg := &config.Config{Models: []config.Model{
		{Name: "a"},
		{Name: "load", Load: &loadgen.Spec{}},
		{Name: "b"},
	}}
	got := CasesOf(cfg, []config.Prompt{{ID: "x"}, {ID: "y"}})
	want := []Case{{"a", "x"}, {"a", "y"}, {"load", ""}, {"b", "x"}, {"b", "y"}}
	if !slices.Equal(got, want) {
		t.Errorf("CasesOf = %v, want %v", got, want)
	}
}

func TestZeroSpecRunsEverything(t *testing.T) {
	p := Spec{}.Plan(cases(2, 2))
	if len(p.Mine()) != 4 || !p.Has("m1", "p1") {
		t.Errorf("zero spec runs %v", p.Mine())
	}
}

// With load=split, every shard runs the load model and the rest is divided as
// without it; the option is in the hash, the lines and the string form.
func TestSplitLoad(t *testing.T) {
	cs := []Case{{"a", "x"}, {"load", ""}, {"b", "x"}, {"c", "x"}}
	for i := range 3 {
		p := Spec{Index: i, Count: 3, By: ByModel, SplitLoad: true}.Plan(cs)
		if !p.Has("load", "") || !p.HasModel("load") {
			t.Errorf("shard %d/3 does not run the split load model", i)
		}
		if want := cs[[]int{0, 2, 3}[i]]; !slices.Contains(p.Mine(), want) || len(p.Mine()) != 2 {
			t.Errorf("shard %d/3 runs %v, want the load model and %v", i, p.Mine(), want)
		}
	}
	split := Spec{Index: 0, Count: 3, SplitLoad: true}.Plan(cs)
	if plain := (Spec{Index: 0, Count: 3}).Plan(cs); plain.Hash() == split.Hash() {
		t.Errorf("load=split does not change the hash %s", plain.Hash())
	}
	kv := map[string]string{}
	for _, l := range split.ConfigLines() {
		kv[l[0]] = l[1]
	}
	s, _, err := FromConfigLines(func(k string) string { return kv[k] })
	if err != nil || !s.SplitLoad || kv[KeyLoad] != "split" {
		t.Errorf("config lines %v read back as %+v, %v", kv, s, err)
	}
	if got, err := Parse("1/3,by=case,load=split"); err != nil || got != (Spec{1, 3, ByCase, true}) || got.String() != "1/3,by=case,load=split" {
		t.Errorf("Parse: %+v %v (%s)", got, err, got.String())
	}
	if _, err := Parse("1/3,load=yes"); err == nil {
		t.Error("load=yes: no error")
	}
	if p := (Spec{Index: 1, Count: 2, SplitLoad: true}).Plan([]Case{{"load", ""}}); !p.Has("load", "") {
		t.Error("a configuration of only a split load model: shard 1 does not run it")
	}
}
