package metric

import (
	"slices"
	"strings"
	"testing"
)

func TestTable(t *testing.T) {
	seen := map[string]bool{}
	for _, i := range All() {
		if seen[i.Unit] {
			t.Errorf("%s: listed twice", i.Unit)
		}
		seen[i.Unit] = true
		if i.Title == "" || i.Family == "" {
			t.Errorf("%s: no title or family", i.Unit)
		}
		// Units benchstat tidies must be ns or B, never ms or MB (METRICS.md).
		last := i.Unit[strings.LastIndex(i.Unit, "-")+1:]
		if last == "ms/op" || last == "ms" || last == "MB" {
			t.Errorf("%s: a unit benchstat mis-scales", i.Unit)
		}
	}
	for unit, want := range map[string]Better{
		"ns/op": Lower, "tokens/s": Higher, "J/token": Lower, "avg-power-W": None,
		"ttft-p90-ns": Lower, "error-rate": Lower, "gen-tokens/op": None, "rep4": Lower,
	} {
		i, ok := Lookup(unit)
		if !ok || i.Better != want {
			t.Errorf("Lookup(%s) = %+v, %v; want better %v", unit, i, ok, want)
		}
	}
	if i, ok := Lookup("ttft-ns"); !ok || i.Unit != "ttft-ns/op" {
		t.Errorf("Lookup without /op = %+v, %v", i, ok)
	}
	if _, ok := Lookup("nonsense"); ok {
		t.Error("Lookup(nonsense) found something")
	}
	for _, u := range []string{"load-ns", "rss-after-load-B"} {
		if i, _ := Lookup(u); !i.OneShot {
			t.Errorf("%s is not one-shot", u)
		}
	}
}

func TestUnitLines(t *testing.T) {
	lines := UnitLines()
	for _, want := range []string{"Unit ns better=lower", "Unit tokens/s better=higher", "Unit gen-tokens assume=exact",
		"Unit J/token better=lower", "Unit ttft-p99-ns better=lower"} {
		if !slices.Contains(lines, want) {
			t.Errorf("no line %q in %q", want, lines)
		}
	}
	for _, l := range lines {
		if strings.Contains(l, "avg-power-W") || strings.Contains(l, "out-words") {
			t.Errorf("a metric without direction has a line: %q", l)
		}
	}
}
