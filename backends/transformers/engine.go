package transformers

import (
	"context"

	"github.com/llmbench/llmbench/backends"
)

func init() { backends.Register("transformers", engine{}) }

type engine struct{}

// Configure implements backends.Engine: the options of [Options], checked with the
// model id as the worker's load request would be.
func (engine) Configure(spec backends.Spec, decode func(any) error) (any, error) {
	var o Options
	if err := decode(&o); err != nil {
		return nil, err
	}
	if err := backends.NoThink(spec, "transformers"); err != nil {
		return nil, err
	}
	if _, err := checkLoad(spec, o, false); err != nil {
		return nil, err
	}
	return o, nil
}

// Open implements backends.Engine: a worker with the model loaded.
func (engine) Open(ctx context.Context, spec backends.Spec, env backends.Env) (backends.Backend, error) {
	o, _ := spec.Engine.(Options)
	return New(ctx, spec, o)
}
