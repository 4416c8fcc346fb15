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

	l, err = parseLoad(t, "rate: [2, 4]\narrival: gamma\nburstiness: 0.5\nramp: {from: 1, over: 30s}")
	if err != nil || l.Arrival != loadgen.ArrivalGamma || l.Burstiness != 0.5 || l.Ramp == nil || l.Ramp.From != 1 || l.Ramp.Over.Duration != 30*time.Second {
		t.Errorf("gamma and ramp: %+v %v", l, err)
	}
	ps, err := loadgen.Points(l)
	if err != nil || len(ps) != 2 || ps[1].Burstiness != 0.5 || ps[1].Ramp != (loadgen.Ramp{From: 1, Over: 30 * time.Second}) {
		t.Errorf("gamma and ramp points: %+v %v", ps, err)
	}
	l, _ = parseLoad(t, "rate: 2\narrival: gamma")
	if ps, _ := loadgen.Points(l); ps[0].Burstiness != 1 {
		t.Errorf("gamma's default burstiness: %+v", ps[0])
	}

	l, err = parseLoad(t, "rate: 4\nstop: {error_rate: 0.2, lag: 2s, ttft_growth: 5, window: 20}")
	if err != nil || *l.Stop != (loadgen.StopSpec{ErrorRate: 0.2, Lag: loadgen.Duration{Duration: 2 * time.Second}, TTFTGrowth: 5, Window: 20}) {
		t.Errorf("stop: %+v %v", l.Stop, err)
	}
	if ps, _ := loadgen.Points(l); ps[0].Stop != (loadgen.Stop{ErrorRate: 0.2, Lag: 2 * time.Second, TTFTGrowth: 5, Window: 20}) {
		t.Errorf("stop point: %+v", ps[0].Stop)
	}

	l, err = parseLoad(t, "rate: [1, 33]\nslo: {ttft: 1s}\nsearch: {target: 0.9}")
	if err != nil || l.Search == nil || l.Search.Target != 0.9 {
		t.Errorf("search: %+v %v", l, err)
	}
	if ps, _ := loadgen.Points(l); len(ps) != 1 || ps[0].Name != "search=rate" || ps[0].Search != (loadgen.Search{Over: "rate", Low: 1, High: 33, Tolerance: 1, Target: 0.9}) {
		t.Errorf("search point: %+v", ps)
	}
	l, _ = parseLoad(t, "concurrency: [1, 64]\nslo: {ttft: 1s}\nsearch: {}")
	if ps, _ := loadgen.Points(l); ps[0].Name != "search=concurrency" || ps[0].Search.Target != loadgen.DefaultSearchTarget || ps[0].Search.Tolerance != 1 {
		t.Errorf("search defaults: %+v", ps[0].Search)
	}

	l, err = parseLoad(t, "trace: {file: traces/a.jsonl, time_scale: 0.5, window: {from: 10s, to: 1m}}\nmax_concurrency: 4")
	if err != nil || l.EffectiveMode() != loadgen.ModeTrace || l.Trace.File != "traces/a.jsonl" || l.Trace.TimeScale != 0.5 ||
		l.Trace.Window.From.Duration != 10*time.Second || l.Trace.Window.To.Duration != time.Minute {
		t.Errorf("trace: %+v %v", l, err)
	}
	if ps, _ := loadgen.Points(l); len(ps) != 1 || ps[0].Name != "trace=a" || ps[0].Mode != loadgen.ModeTrace || ps[0].MaxConcurrency != 4 || ps[0].Requests != 0 {
		t.Errorf("trace point: %+v", ps)
	}

	l, err = parseLoad(t, "concurrency: 2\ndataset: {input: {min: 100, max: 200}, output: {mean: 16, stddev: 4, min: 1}, seed: 3, prefix: {count: 4, tokens: 64, suffixes: 8}, order: grouped}")
	if err != nil || l.Dataset == nil || l.Dataset.Input != (loadgen.LengthSpec{Min: 100, Max: 200}) || *l.Dataset.Output != (loadgen.LengthSpec{Mean: 16, StdDev: 4, Min: 1}) ||
		l.Dataset.Seed != 3 || *l.Dataset.Prefix != (loadgen.PrefixSpec{Count: 4, Tokens: 64, Suffixes: 8}) || l.Dataset.Order != loadgen.OrderGrouped {
		t.Errorf("dataset: %+v %v", l.Dataset, err)
	}
	if ps, _ := loadgen.Points(l); !ps[0].SharedPrefix {
		t.Errorf("dataset point: %+v", ps[0])
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

func TestLoadSessions(t *testing.T) {
	l, err := parseLoad(t, "concurrency: [1, 4]\nrequests: 12\nsessions: {turns: 3, think_time: 2s}")
	if err != nil || l.Sessions == nil || *l.Sessions != (loadgen.SessionSpec{Turns: 3, ThinkTime: loadgen.Duration{Duration: 2 * time.Second}}) {
		t.Fatalf("sessions: %+v %v", l, err)
	}
	ps, err := loadgen.Points(l)
	if err != nil || len(ps) != 2 || ps[1].Session != (loadgen.Session{Turns: 3, ThinkTime: 2 * time.Second}) || ps[1].Requests != 12 {
		t.Errorf("sessions points: %+v %v", ps, err)
	}
	l, _ = parseLoad(t, "sessions: {turns: 3}")
	if ps, _ := loadgen.Points(l); ps[0].Mode != loadgen.ModeSequential || ps[0].Requests != 102 {
		t.Errorf("sessions' default: %+v; want sequential, 102 requests (100 in whole sessions of 3)", ps[0])
	}
}

// TestLoadSessionsNeedChat: a sessions load on an engine or endpoint that
// sends a single prompt is refused when the configuration is read, naming
// its file and line.
func TestLoadSessionsNeedChat(t *testing.T) {
	for _, tc := range []struct{ model, want string }{
		{"backend: openai, model: x, endpoint: completions", "endpoint completions sends a single prompt, not a conversation: use endpoint chat"},
		{"backend: openai, model: x, extra_body: {messages: []}", "extra_body sets messages"},
		{"backend: llamacpp, model: m.gguf", "the llamacpp engine sends a single prompt, not a conversation: use backend ollama or openai (endpoint chat)"},
		{"backend: transformers, model: gpt2", "the transformers engine sends a single prompt"},
	} {
		doc := "models:\n  - {name: m, " + tc.model + ", load: {sessions: {turns: 2}}}\n"
		_, err := Parse("test.yaml", []byte(doc))
		if want := `test.yaml:2: model "m": load: sessions: ` + tc.want; err == nil || !strings.Contains(err.Error(), want) {
			t.Errorf("%s: got %v, want %q", tc.model, err, want)
		}
	}
	for _, model := range []string{"backend: openai, model: x", "backend: ollama, model: x"} {
		if _, err := Parse("test.yaml", []byte("models:\n  - {name: m, "+model+", load: {sessions: {turns: 2}}}\n")); err != nil {
			t.Errorf("%s: %v", model, err)
		}
	}
}

func TestLoadSpecErrors(t *testing.T) {
	for _, tc := range []struct{ load, want string }{
		{"mode: burst", `mode "burst": want sequential, concurrency, rate or trace`},
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
		{"rate: 1\narrival: burst", `arrival "burst": want constant, poisson or gamma`},
		{"concurrency: 2\narrival: gamma", "arrival gamma applies to mode rate only"},
		{"rate: 1\narrival: gamma\nburstiness: -1", "burstiness -1: want a number above 0"},
		{"rate: 1\narrival: gamma\nburstiness: .inf", "burstiness +Inf"},
		{"rate: 1\nburstiness: 2", "burstiness applies to arrival gamma only"},
		{"rate: 1\nramp: {from: 1}", "ramp.over: want the ramp's length"},
		{"ramp: {from: 1, over: 1s}", "ramp applies to mode rate or concurrency"},
		{"rate: 1\nramp: {from: -1, over: 1s}", "ramp.from -1: want 0 or more"},
		{"concurrency: 4\nramp: {from: 0.5, over: 1s}", "ramp.from 0.5: in mode concurrency, want a whole number"},
		{"concurrency: [8, 2]\nramp: {from: 4, over: 1s}", "ramp.from 4 is above concurrency 2"},
		{"rate: 1\nramp: {from: 1, over: 1s, to: 3}", "unknown key models.load.ramp.to: want one of from, over"},
		{"concurrency: 2\narrival: poisson", "arrival poisson applies to mode rate only"},
		{"concurrency: 2\nmax_concurrency: 4", "max_concurrency applies to modes rate and trace only"},
		{"rate: 1\nmax_concurrency: -1", "max_concurrency -1"},
		{"requests: -1", "requests -1"},
		{"duration: -1s", "duration -1s"},
		{"duration: soon", `"soon" is not a duration`},
		{"warmup: -2", "warmup -2"},
		{"slo: {ttft: -1ms}", "slo: thresholds must not be negative"},
		{"slo: {ttfb: 1ms}", "unknown key models.load.slo.ttfb: want one of ttft, tpot, e2e"},
		{"stop: {error_rate: 1}", "stop.error_rate 1: want a share from 0"},
		{"stop: {error_rate: -0.1}", "stop.error_rate -0.1"},
		{"stop: {lag: -1s}", "stop.lag -1s"},
		{"stop: {ttft_growth: 0.5}", "stop.ttft_growth 0.5: want a factor above 1"},
		{"stop: {error_rate: 0.1, window: -1}", "stop.window -1"},
		{"stop: {window: 5}", "stop: set error_rate, lag or ttft_growth"},
		{"stop: {errors: 0.1}", "unknown key models.load.stop.errors: want one of error_rate, lag, ttft_growth, window"},
		{"concurrency: [1, 4, 8]\nslo: {ttft: 1s}\nsearch: {}", "search: give concurrency as [low, high]"},
		{"search: {}", "search: over rate or concurrency"},
		{"rate: [4, 2]\nslo: {ttft: 1s}\nsearch: {}", "search: rate [4, 2]: want low below high"},
		{"rate: [1, 2]\nsearch: {}", "search: needs an slo"},
		{"rate: [1, 2]\nslo: {ttft: 1s}\nsearch: {target: 1.5}", "search.target 1.5"},
		{"rate: [1, 2]\nslo: {ttft: 1s}\nsearch: {tolerance: -1}", "search.tolerance -1"},
		{"concurrency: [1, 8]\nslo: {ttft: 1s}\nsearch: {tolerance: 1.5}", "search.tolerance 1.5: a concurrency search's is a whole number"},
		{"mode: trace", "mode trace needs trace: {file: FILE}"},
		{"trace: {file: a.jsonl}\nrate: 2", "mode trace takes neither concurrency nor rate"},
		{"mode: rate\nrate: 2\ntrace: {file: a.jsonl}", "trace applies to mode trace only (mode is rate)"},
		{"trace: {format: mooncake}", "trace.file: name the trace file"},
		{"trace: {file: a, format: sharegpt}", `trace.format "sharegpt": want mooncake or burstgpt`},
		{"trace: {file: a, time_scale: -1}", "trace.time_scale -1"},
		{"trace: {file: a, window: {from: -1s}}", "trace.window.from -1s"},
		{"trace: {file: a, window: {from: 5s, to: 5s}}", "trace.window.to 5s: want after from (5s)"},
		{"trace: {file: a}\nramp: {from: 1, over: 1s}", "ramp applies to mode rate or concurrency"},
		{"trace: {file: a, speed: 2}", "unknown key models.load.trace.speed: want one of file, format, time_scale, window"},
		{"requets: 10", "unknown key models.load.requets: want one of mode, trace, concurrency"},
		{"sessions: {turns: 1}", "sessions.turns 1: want 2 to 10 requests per session"},
		{"sessions: {turns: 11}", "sessions.turns 11: want 2 to 10"},
		{"sessions: {think_time: 1s}", "sessions.turns 0: want 2 to 10"},
		{"sessions: {turns: 3, think_time: -1s}", "sessions.think_time -1s: want 0 or more"},
		{"sessions: {turns: 2, think_time: soon}", `"soon" is not a duration`},
		{"rate: 1\nsessions: {turns: 2}", "sessions apply to modes sequential and concurrency (N sessions at once), not rate"},
		{"trace: {file: a}\nsessions: {turns: 2}", "sessions apply to modes sequential and concurrency (N sessions at once), not trace"},
		{"concurrency: [1, 4]\nslo: {ttft: 1s}\nsearch: {}\nsessions: {turns: 2}", "sessions cannot be searched"},
		{"requests: 10\nsessions: {turns: 3}", "requests 10 is not a whole number of sessions of 3 turns: want a multiple of 3"},
		{"sessions: {turns: 2, think: 1s}", "unknown key models.load.sessions.think: want one of turns, think_time"},
		{"dataset: {}", "dataset.input: give tokens: N, {min, max} (uniform) or {mean, stddev} (normal)"},
		{"dataset: {input: {tokens: 64, max: 80}}", "dataset.input: tokens is a fixed length: leave out min, max, mean and stddev"},
		{"dataset: {input: {min: 80, max: 64}}", "dataset.input: a uniform length needs min and max, min at most max (got 80, 64)"},
		{"dataset: {input: {max: 64}}", "dataset.input: a uniform length needs min and max"},
		{"dataset: {input: {mean: 64}}", "dataset.input: a normal length needs stddev above 0"},
		{"dataset: {input: {stddev: 8}}", "dataset.input: stddev needs a mean"},
		{"dataset: {input: {mean: 64, stddev: 8, min: 70}}", "dataset.input: mean 64 is outside [min, max]"},
		{"dataset: {input: {mean: 64, stddev: 8}}", "dataset.input: a normal length needs a min"},
		{"dataset: {input: {tokens: -1}}", "dataset.input: lengths must be finite and not negative"},
		{"dataset: {input: {mean: .inf, stddev: 1}}", "dataset.input: lengths must be finite"},
		{"dataset: {input: {tokens: 64}, output: {min: 3}}", "dataset.output: a uniform length needs min and max"},
		{"dataset: {input: {tokens: 64}, prompts: -1}", "dataset.prompts -1"},
		{"dataset: {input: {tokens: 64}, order: grouped}", "dataset.order applies to a dataset with a prefix"},
		{"dataset: {input: {tokens: 64}, prefix: {count: 2, tokens: 32}}", "dataset.prefix: want count, tokens and suffixes, each at least 1"},
		{"dataset: {input: {tokens: 64}, prompts: 8, prefix: {count: 2, tokens: 32, suffixes: 4}}", "dataset.prompts: with a prefix there are count × suffixes = 8 prompts: leave prompts out"},
		{"dataset: {input: {min: 32, max: 64}, prefix: {count: 2, tokens: 32, suffixes: 4}}", "dataset.input: the shortest prompt, 32 tokens, is not longer than prefix.tokens 32"},
		{"dataset: {input: {mean: 64, stddev: 8}, prefix: {count: 2, tokens: 32, suffixes: 4}}", "dataset.input: a normal length needs a min, above the model's template and salt"},
		{"dataset: {input: {tokens: 64}, prefix: {count: 2, tokens: 32, suffixes: 4}, order: sorted}", `dataset.order "sorted": want random, grouped or interleaved`},
		{"dataset: {input: {tokens: 64}, kind: random}", "unknown key models.load.dataset.kind: want one of input, output, prompts, seed, prefix, order"},
		{"dataset: {input: {tokens: 64, len: 3}}", "unknown key models.load.dataset.input.len: want one of tokens, min, max, mean, stddev"},
		{"trace: {file: a}\ndataset: {input: {tokens: 64}}", "dataset and trace both make the prompts"},
		{"sessions: {turns: 2}\ndataset: {input: {tokens: 64}}", "sessions and dataset both make the prompts"},
	} {
		_, err := parseLoad(t, tc.load)
		if err == nil || !strings.Contains(err.Error(), tc.want) {
			t.Errorf("%q: got error %v, want it to contain %q", tc.load, err, tc.want)
		}
		if err != nil && !strings.Contains(err.Error(), `test.yaml:2: model "m": load: `) && !strings.Contains(err.Error(), "line 6") && !strings.Contains(err.Error(), "line 7") {
			t.Errorf("%q: error %q does not say where", tc.load, err)
		}
	}
}
