package llamacpp

import (
	"context"
	"fmt"

	"github.com/llmbench/llmbench/backends"
	"github.com/llmbench/llmbench/synth"
)

func init() { backends.Register("llamacpp", engine{}) }

// Options are a llamacpp model's own options in the configuration.
type Options struct {
	// Mmap maps the GGUF file instead of reading the weights into memory
	// (default false, as Ollama on a CPU).
	Mmap bool `yaml:"mmap"`
	// FlashAttention is auto (the default), on or off.
	FlashAttention string `yaml:"flash_attention"`
}

func (o Options) options() ([]Option, error) {
	out := []Option{WithMmap(o.Mmap)}
	switch o.FlashAttention {
	case "", "auto":
	case "on":
		out = append(out, WithFlashAttention(FlashAttentionOn))
	case "off":
		out = append(out, WithFlashAttention(FlashAttentionOff))
	default:
		return nil, fmt.Errorf("flash_attention %q: want auto, on or off", o.FlashAttention)
	}
	return out, nil
}

type engine struct{}

// Configure implements backends.Engine: the options of [Options], and the
// synthetic preset when the model names one.
func (engine) Configure(spec backends.Spec, decode func(any) error) (any, error) {
	var o Options
	if err := decode(&o); err != nil {
		return nil, err
	}
	if err := backends.NoThink(spec, "llamacpp"); err != nil {
		return nil, err
	}
	if _, err := o.options(); err != nil {
		return nil, err
	}
	if p, ok := spec.Synthetic(); ok {
		if _, err := synth.ParseSpec(p); err != nil {
			return nil, err
		}
	}
	return o, nil
}

// Open implements backends.Engine: the model's GGUF file, written first for a
// synthetic model, loaded into this process.
func (engine) Open(ctx context.Context, spec backends.Spec, env backends.Env) (backends.Backend, error) {
	o, _ := spec.Engine.(Options)
	opts, err := o.options()
	if err != nil {
		return nil, err
	}
	path := spec.Model
	p, synthetic := spec.Synthetic()
	if synthetic {
		sp, err := synth.ParseSpec(p)
		if err != nil {
			return nil, err
		}
		if path, err = synth.WriteFileContext(ctx, env.ModelsDir(), sp); err != nil {
			return nil, fmt.Errorf("writing synthetic model %s: %w", p, err)
		}
	}
	b, err := New(ctx, path, spec, opts...)
	if err != nil {
		return nil, err
	}
	b.synthetic = synthetic
	return b, nil
}
