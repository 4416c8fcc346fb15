package config

import (
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/llmbench/llmbench/loadgen"
)

func parseLoad(t *testing.T, load string) (*loadgen.Spec, error) {
	t.Helper()
	doc := "models:\n  - name: m\n    backend: openai\n    model: x\n    load:\n" + indent(load, "      ")
	c, err := Parse("test.yaml", []byte(doc))
	if err != nil {
		return nil, err
	}
	return c.Models[0].Load, nil
}

func indent(s, pre string) string {
	lines := strings.Split(strings.TrimSpace(s), "\n")
	for i := range lines {
		lines[i] = pre + lines[i]
	}
	return strings.Join(lines, "\n") + "\n"
}

func TestLoadSpecParse(t *testing.T) {
	l, err := parseLoad(t, `
concurrency: [1, 4, 16]
requests: 200
duration: 90s
warmup: 2
slo: {ttft: 500ms, tpot: 50ms, e2e: 10s}`)
	if err != nil {
		t.Fatal(err)
	}
	if l.EffectiveMode() != loadgen.ModeConcurrency || !slices.Equal(l.Concurrency, loadgen.Ints{1, 4, 16}) {
		t.Errorf("mode %q concurrency %v", l.EffectiveMode(), l.Concurrency)
	}
	if l.Requests != 200 || l.Duration.Duration != 90*time.Second || l.Warmup != 2 {
		t.Errorf("bounds: %+v", l)
	}
	if l.SLO.TTFT.Duration != 500*time.Millisecond || l.SLO.TPOT.Duration != 50*time.Millisecond || l.SLO.E2E.Duration != 10*time.Second || !l.SLO.Any() {
		t.Errorf("slo: %+v", l.SLO)
	}

	l, err = parseLoad(t, "rate: 2.5\narrival: poisson\nmax_concurrency: 8\nseed: 7")
	if err != nil {
		t.Fatal(err)
	}
	if l.EffectiveMode() != loadgen.ModeRate || !slices.Equal(l.Rate, loadgen.Floats{2.5}) || l.Arrival != loadgen.ArrivalPoisson || l.MaxConcurrency != 8 || l.Seed != 7 {
		t.Errorf("rate spec: %+v", l)
	}

	l, err = parseLoad(t, "records: true")
	if err != nil || !l.Records {
		t.Errorf("records: %+v %v", l, err)
	}

	l, err = parseLoad(t, "mode: concurrency\nconcurrency: 3")
	if err != nil || !slices.Equal(l.Concurrency, loadgen.Ints{3}) {
		t.Errorf("scalar concurrency: %v %v", l, err)
	}

	if (*loadgen.Spec)(nil).EffectiveMode() != loadgen.ModeSequential || (&loadgen.Spec{}).EffectiveMode() != loadgen.ModeSequential {
		t.Error("zero spec is not sequential")
	}
	if err := (*loadgen.Spec)(nil).Check(); err != nil {
		t.Error(err)
	}
}

func TestLoadSpecErrors(t *testing.T) {
	for _, tc := range []struct{ load, want string }{
		{"mode: burst", `mode "burst": want sequential, concurrency or rate`},
		{"mode: sequential\nconcurrency: 4", "mode sequential takes neither"},
		{"mode: concurrency", "mode concurrency needs concurrency"},
		{"mode: rate", "mode rate needs rate"},
		{"concurrency: 4\nrate: 2", "mode rate takes no concurrency"},
		{"mode: concurrency\nconcurrency: 2\nrate: 2", "mode concurrency takes no rate"},
		{"concurrency: [1, 0]", "concurrency 0: want at least 1"},
		{"concurrency: [4, 4]", "concurrency 4 is listed twice"},
		{"rate: [1, 1]", "rate 1 is listed twice"},
		{"rate: -1", "rate -1: want more than 0"},
		{"rate: .nan", `".nan" is not a number`},
		{"concurrency: x", `"x" is not an integer`},
		{"concurrency: {a: 1}", "want an integer or a list of them"},
		{"concurrency: [[1]]", "want an integer"},
		{"rate: 1\narrival: burst", `arrival "burst": want constant or poisson`},
		{"concurrency: 2\narrival: poisson", "arrival poisson applies to mode rate only"},
		{"concurrency: 2\nmax_concurrency: 4", "max_concurrency applies to mode rate only"},
		{"rate: 1\nmax_concurrency: -1", "max_concurrency -1"},
		{"requests: -1", "requests -1"},
		{"duration: -1s", "duration -1s"},
		{"duration: soon", `"soon" is not a duration`},
		{"warmup: -2", "warmup -2"},
		{"slo: {ttft: -1ms}", "slo: thresholds must not be negative"},
		{"slo: {ttfb: 1ms}", "unknown key models.load.slo.ttfb: want one of ttft, tpot, e2e"},
		{"requets: 10", "unknown key models.load.requets: want one of mode, concurrency"},
	} {
		_, err := parseLoad(t, tc.load)
		if err == nil || !strings.Contains(err.Error(), tc.want) {
			t.Errorf("%q: got error %v, want it to contain %q", tc.load, err, tc.want)
		}
		if err != nil && !strings.Contains(err.Error(), `test.yaml:2: model "m": load: `) && !strings.Contains(err.Error(), "line 6") {
			t.Errorf("%q: error %q does not say where", tc.load, err)
		}
	}
}
