package bench

import (
	"context"
	"fmt"

	"github.com/llmbench/llmbench/backends"
	"github.com/llmbench/llmbench/loadgen"
)

// LoadCase is one point of a load-generation model's sweep: a concurrency or a
// request rate.
type LoadCase struct {
	Model *Model
	Point loadgen.Point
	reqs  []backends.Request
}

// LoadCases returns the sweep points of m, a model with a load: section.
func (s *Suite) LoadCases(m *Model) ([]*LoadCase, error) {
	points, err := loadgen.Points(m.Config.Load)
	if err != nil {
		return nil, fmt.Errorf("%s:%d: model %s: load: %w", s.Config.File, m.Config.Line, m.Config.Name, err)
	}
	reqs := loadgen.RequestsFor(m.Config, s.Prompts)
	out := make([]*LoadCase, len(points))
	for i, p := range points {
		out[i] = &LoadCase{Model: m, Point: p, reqs: reqs}
	}
	return out, nil
}

// Name is the case's sub-benchmark name: model=M/concurrency=N or model=M/rate=R.
func (c *LoadCase) Name() string {
	return "model=" + Sanitize(c.Model.Config.Name) + "/" + c.Point.Name
}

// Run runs the point once. Per-case memory peaks are reset first.
func (c *LoadCase) Run(ctx context.Context) (*loadgen.Report, error) {
	if mem := c.Model.Memory; mem != nil {
		if err := mem.Reset(); err != nil {
			return nil, fmt.Errorf("model %s, %s: resetting the memory peak: %w", c.Model.Config.Name, c.Point.Name, err)
		}
	}
	opts := []loadgen.Option{}
	if c.Model.Config.Options.SaltPrompts {
		opts = append(opts, loadgen.WithSalt())
	}
	r, err := loadgen.RunPoint(ctx, c.Model.Backend, c.Point, c.reqs, opts...)
	if err != nil {
		return r, fmt.Errorf("model %s, %s: %w", c.Model.Config.Name, c.Point.Name, err)
	}
	return r, nil
}

// Metrics returns the report's metrics (docs/load.md) and the memory peak of the
// engine process over the run.
func (c *LoadCase) Metrics(r *loadgen.Report) ([]Metric, error) {
	var out []Metric
	for _, m := range r.Metrics() {
		out = append(out, Metric{Unit: m.Name, Value: m.Value})
	}
	if mem := c.Model.Memory; mem != nil {
		peak, err := mem.Peak()
		if err != nil {
			return out, fmt.Errorf("model %s, %s: %w", c.Model.Config.Name, c.Point.Name, err)
		}
		out = append(out, Metric{Unit: "peak-rss-B", Value: float64(peak)})
	}
	return out, nil
}
