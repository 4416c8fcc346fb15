package openai

import (
	"context"
	"fmt"
	"os"

	"github.com/llmbench/llmbench/backends"
	"github.com/llmbench/llmbench/backends/ollama"
)

func init() { backends.Register("openai", engine{}) }

type engine struct{}

// Configure implements backends.Engine: the options of [Options], checked.
func (engine) Configure(spec backends.Spec, decode func(any) error) (any, error) {
	var o Options
	if err := decode(&o); err != nil {
		return nil, err
	}
	switch o.Endpoint {
	case "", "chat", "completions":
	default:
		return nil, fmt.Errorf("endpoint %q: want chat or completions", o.Endpoint)
	}
	if spec.Options.Think != nil {
		// Servers differ in how thinking is switched (vLLM and SGLang take
		// chat_template_kwargs, others a field of their own): the user says it.
		return nil, fmt.Errorf("options.think: the openai engine sends no think switch, since servers differ; set it in extra_body, e.g. {chat_template_kwargs: {enable_thinking: false}} for vLLM or SGLang")
	}
	if o.APIKeyEnv != "" && os.Getenv(o.APIKeyEnv) == "" {
		return nil, fmt.Errorf("api_key_env names %s, which is empty or unset", o.APIKeyEnv)
	}
	if o.Host == "" || isSynthetic(spec) {
		// Served by the suite's Ollama through /v1.
		if err := ollama.CheckModel(spec, o.Host); err != nil {
			return nil, err
		}
	}
	return o, nil
}

// CheckChat implements backends.Chatter: the chat endpoint sends a
// conversation; the completions endpoint, a single prompt, cannot; nor can a
// model whose extra_body sets messages itself.
func (engine) CheckChat(spec backends.Spec) error {
	o, _ := spec.Engine.(Options)
	if o.Endpoint == "completions" {
		return fmt.Errorf("endpoint completions sends a single prompt, not a conversation: use endpoint chat")
	}
	if _, ok := o.ExtraBody["messages"]; ok {
		return fmt.Errorf("extra_body sets messages, which would replace every turn's conversation: remove it")
	}
	return nil
}

func isSynthetic(spec backends.Spec) bool {
	_, ok := spec.Synthetic()
	return ok
}

// Open implements backends.Engine. A model without a host, or a synthetic one, is
// served by Ollama (the suite's server, or the host given) through its /v1 API.
func (engine) Open(ctx context.Context, spec backends.Spec, env backends.Env) (backends.Backend, error) {
	o, _ := spec.Engine.(Options)
	if o.Host != "" && !isSynthetic(spec) {
		return New(spec, o)
	}
	sv, err := ollama.Serve(ctx, env, spec, o.Host)
	if err != nil {
		return nil, err
	}
	o.Host = sv.URL.String()
	served := spec
	served.Model = sv.Name
	b, err := New(served, o, WithProcessFinder(sv.PID))
	if err != nil {
		return nil, err
	}
	b.managed = sv.Managed
	return b, nil
}
