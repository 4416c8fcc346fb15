package bench

import (
	"context"
	"time"

	"github.com/llmbench/llmbench/config"
)

// Case is one benchmark case as both front ends drive it — the `go test -bench`
// suite and `llmbench run` — so that the two run the same cases the same way:
// Warm once, then timed windows, each Begin, one or more Step, End.
type Case interface {
	// Name is the case's sub-benchmark name below its model: prompt=P,
	// concurrency=N, stage=load.
	Name() string
	// Warm runs the case's untimed warm-up; it runs once, however often it is
	// called.
	Warm(ctx context.Context) error
	// Begin opens a timed window: per-case peaks are reset, GPU measurement starts.
	Begin() error
	// Step runs one timed iteration and keeps what it measured.
	Step(ctx context.Context) error
	// End closes the window and returns the metrics of its steps. It must be
	// called after every Begin, also after a failed Step (it then closes the
	// window and its metrics may be discarded).
	End() ([]Metric, error)
}

// Bench names the top-level benchmark of a model's cases (BenchOf).
func (m *Model) Bench() string { return BenchOf(m.Config) }

// BenchOf names the top-level benchmark of a configured model's cases:
// Generate for a model run prompt by prompt, Load for one with a load: section,
// Embed for one with an embed: section.
func BenchOf(m config.Model) string {
	switch {
	case m.Load != nil:
		return "Load"
	case m.Embed != nil:
		return "Embed"
	}
	return "Generate"
}

// benchOf is c's benchmark name as result lines write it, without "Benchmark"
// and the -GOMAXPROCS suffix: Generate/model=M/prompt=P, Load/model=M/rate=R.
func (m *Model) benchOf(c Case) string {
	return m.Bench() + "/model=" + Sanitize(m.Config.Name) + "/" + c.Name()
}

// Cases returns m's cases in the order they run: the model's load stage (when
// its load was measured), then one case per prompt and llama-bench's pp512 and
// tg128 where the engine can time them — or, for a load model, one case per
// point of its sweep, or for an embedding model one case per batch size.
//
// Sharded (Suite.Shard), a shard gets the prompts the plan gives it, and the
// whole-model cases only on the one shard that owns the model — except a load
// model split over every shard (load=split), whose points each shard runs at its
// share of the load.
func (s *Suite) Cases(m *Model) ([]Case, error) {
	var out []Case
	owns := s.owns(m.Config.Name)
	if st := m.loadStage(); st != nil && owns {
		out = append(out, st)
	}
	if m.Config.Load != nil {
		lcs, err := s.loadCases(m)
		if err != nil {
			return nil, err
		}
		for _, c := range lcs {
			if owns || c.Split {
				out = append(out, c)
			}
		}
		return out, nil
	}
	if m.Config.Embed != nil {
		ecs, err := s.embedCases(m)
		if err != nil {
			return nil, err
		}
		if owns {
			out = append(out, ecs...)
		}
		return out, nil
	}
	for _, p := range s.PromptsOf(m.Config.Name) {
		out = append(out, m.Case(p, s.Config.Warmup))
	}
	if owns {
		for _, l := range m.llamaBenches() {
			out = append(out, l)
		}
	}
	return out, nil
}

// stage is a model's load stage (stage=load): what was measured once, when the
// model was opened — load-ns and rss-after-load-B — and ns/op the load time.
type stage struct{ ms []Metric }

func (m *Model) loadStage() *stage {
	var ms []Metric
	if m.Load > 0 {
		ms = append(ms, Metric{Unit: "ns/op", Value: float64(m.Load)}, Metric{Unit: "load-ns", Value: float64(m.Load)})
	}
	if m.AfterLoad > 0 {
		ms = append(ms, Metric{Unit: "rss-after-load-B", Value: float64(m.AfterLoad)})
	}
	if len(ms) == 0 {
		return nil
	}
	return &stage{ms}
}

// IsStage reports whether c is a model's stage line (stage=load), whose figures
// were measured once: a front end writes it once, whatever the iterations.
func IsStage(c Case) bool {
	_, ok := c.(*stage)
	return ok
}

func (*stage) Name() string               { return "stage=load" }
func (*stage) Warm(context.Context) error { return nil }
func (*stage) Begin() error               { return nil }
func (*stage) Step(context.Context) error { return nil }
func (st *stage) End() ([]Metric, error)  { return st.ms, nil }

// PrefillDecoder is implemented by in-process engines that can time llama-bench's
// two cases: prefill of n tokens (pp<n>) and generation of n tokens (tg<n>).
type PrefillDecoder interface {
	PP(ctx context.Context, n int) (time.Duration, error)
	TG(ctx context.Context, n int) (time.Duration, error)
}

// llamaBench is one llama-bench-style case: pp<N> or tg<N>.
type llamaBench struct {
	name   string // "pp512" or "tg128"
	tokens int
	unit   string // "prompt-tokens/s" or "tokens/s"
	run    func(ctx context.Context, n int) (time.Duration, error)
	ds     []time.Duration
}

// llamaBenches returns llama-bench's default cases, pp512 and tg128, for a model
// whose engine can time them; none otherwise.
func (m *Model) llamaBenches() []*llamaBench {
	pd, ok := m.Backend.(PrefillDecoder)
	if !ok {
		return nil
	}
	return []*llamaBench{
		{name: "pp512", tokens: 512, unit: "prompt-tokens/s", run: pd.PP},
		{name: "tg128", tokens: 128, unit: "tokens/s", run: pd.TG},
	}
}

func (l *llamaBench) Name() string               { return "prompt=" + l.name }
func (l *llamaBench) Warm(context.Context) error { return nil }
func (l *llamaBench) Begin() error               { l.ds = l.ds[:0]; return nil }

func (l *llamaBench) Step(ctx context.Context) error {
	d, err := l.run(ctx, l.tokens)
	if err != nil {
		return err
	}
	l.ds = append(l.ds, d)
	return nil
}

// End returns the mean time per run (ns/op) and the rate, Σ tokens ÷ Σ time.
func (l *llamaBench) End() ([]Metric, error) {
	var sum time.Duration
	for _, d := range l.ds {
		sum += d
	}
	if sum <= 0 {
		return nil, nil
	}
	return []Metric{
		{Unit: "ns/op", Value: float64(sum) / float64(len(l.ds))},
		{Unit: l.unit, Value: float64(l.tokens*len(l.ds)) / sum.Seconds()},
	}, nil
}
