package config

import (
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/llmbench/llmbench/backends"
)

const good = `prompts: data/p.jsonl
warmup: 2
models:
  - name: a
    backend: ollama
    model: synthetic:tiny-llama
  - name: b
    backend: ollama
    model: llama3.2:1b
    options: {max_tokens: 16, temperature: 0.7, seed: 7, context: 4096, threads: 2, keep_alive: 5m}
`

func TestParseGood(t *testing.T) {
	c, err := Parse("b.yaml", []byte(good))
	require.NoError(t, err)
	require.Len(t, c.Models, 2)
	assert.Equal(t, 2, c.Warmup)
	assert.Equal(t, 3, c.Iterations)
	assert.Equal(t, "outputs", c.Output)
	assert.Equal(t, 4, c.Models[0].Line)
	assert.Equal(t, 7, c.Models[1].Line)
	a, b := c.Models[0], c.Models[1]
	ao, bo := a.Spec.Options, b.Spec.Options
	assert.Equal(t, 64, ao.MaxTokens)
	assert.Equal(t, 42, ao.Seed)
	assert.Equal(t, 2048, ao.Context)
	assert.Equal(t, 30*time.Minute, ao.KeepAlive)
	assert.Equal(t, backends.PrefixCold, ao.PrefixCache)
	assert.Nil(t, ao.Think)
	assert.Equal(t, "b.yaml:4", a.Spec.Where)
	spec, ok := a.Spec.Synthetic()
	assert.True(t, ok)
	assert.Equal(t, "tiny-llama", spec)
	assert.Equal(t, 16, bo.MaxTokens)
	assert.Equal(t, 7, bo.Seed)
	assert.Equal(t, 0.7, bo.Temperature)
	assert.Equal(t, 4096, bo.Context)
	assert.Equal(t, 2, bo.Threads)
	assert.Equal(t, 5*time.Minute, bo.KeepAlive)
	_, ok = b.Spec.Synthetic()
	assert.False(t, ok)
}

func TestParseErrors(t *testing.T) {
	for _, tc := range []struct{ name, yaml, want string }{
		{"unknown top key", "modles: []\n", "b.yaml: line 1: unknown key modles: want one of prompts, warmup, iterations, records, output, models_dir, gpu, models, "},
		{"unknown model key", "models:\n  - name: a\n    backend: ollama\n    model: m\n    colour: red\n", `b.yaml:2: model "a": line 5: unknown key colour: want one of host (the ollama engine's own keys are host; every model takes name, backend, model, options, load, embed)`},
		{"unknown option", "models:\n  - name: a\n    backend: ollama\n    model: m\n    options: {max_token: 3}\n", "b.yaml: line 5: unknown key models.options.max_token: want one of max_tokens, temperature"},
		{"bad duration", "models:\n  - name: a\n    backend: ollama\n    model: m\n    options:\n      keep_alive: soon\n", `line 6: "soon" is not a duration`},
		{"no models", "warmup: 1\n", "b.yaml: no models"},
		{"empty", "", "b.yaml: empty configuration"},
		{"bad backend", "models:\n  - name: a\n    backend: vllm\n    model: m\n", `b.yaml:2: model "a": backend "vllm": want one of llamacpp, ollama, openai, or transformers`},
		{"duplicate name", "models:\n  - {name: a, backend: ollama, model: m}\n  - {name: a, backend: ollama, model: n}\n", `b.yaml:3: model "a": name already used at line 2`},
		{"no model id", "models:\n  - {name: a, backend: ollama}\n", `b.yaml:2: model "a": no model`},
		{"negative tokens", "models:\n  - {name: a, backend: ollama, model: m, options: {max_tokens: -1}}\n", "options.max_tokens is -1"},
		{"bad device", "models:\n  - {name: a, backend: transformers, model: m, device: tpu}\n", `device "tpu"`},
		{"bad manage", "ollama: {manage: sometimes}\nmodels:\n  - {name: a, backend: ollama, model: m}\n", `ollama.manage is "sometimes"`},
		{"unknown preset", "models:\n  - {name: a, backend: ollama, model: synthetic:tiny-lama}\n", `b.yaml:2: model "a": `},
		{"unknown preset llamacpp", "models:\n  - {name: a, backend: llamacpp, model: synthetic:nope}\n", `b.yaml:2: model "a": `},
		{"bad flash", "models:\n  - {name: a, backend: llamacpp, model: m.gguf, flash_attention: maybe}\n", `flash_attention "maybe": want auto, on or off`},
		{"bad endpoint", "models:\n  - {name: a, backend: openai, model: m, host: http://x, endpoint: embed}\n", `endpoint "embed": want chat or completions`},
		{"bad prefix cache", "models:\n  - {name: a, backend: ollama, model: m, options: {prefix_cache: hot}}\n", `options.prefix_cache is "hot": want cold or warm`},
		{"think on openai", "models:\n  - {name: a, backend: openai, model: m, host: http://x, options: {think: false}}\n", "options.think: the openai engine sends no think switch"},
		{"think on llamacpp", "models:\n  - {name: a, backend: llamacpp, model: m.gguf, options: {think: true}}\n", "options.think: the llamacpp engine has no thinking mode"},
		{"bad think", "models:\n  - {name: a, backend: ollama, model: m, options: {think: maybe}}\n", "line 2: cannot unmarshal"},
		{"section of an engine without one", "llamacpp: {x: 1}\nmodels:\n  - {name: a, backend: ollama, model: m}\n", "line 1: the llamacpp engine takes no top-level section"},
		{"wrong type", "warmup: lots\nmodels: []\n", "line 1: cannot unmarshal"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			_, err := Parse("b.yaml", []byte(tc.yaml))
			require.Error(t, err)
			assert.Contains(t, err.Error(), tc.want)
		})
	}
}

func TestPrompts(t *testing.T) {
	ps, err := ParsePrompts("p.jsonl", strings.NewReader(`{"id":"a","prompt":"hi"}

# a comment
{"id":"b","prompt":"there","max_tokens":8,"reference":"ref"}
`))
	require.NoError(t, err)
	require.Len(t, ps, 2)
	assert.Equal(t, 1, ps[0].Line)
	assert.Equal(t, 4, ps[1].Line)
	assert.Equal(t, 8, ps[1].MaxTokens)
	assert.Equal(t, "ref", ps[1].Reference)
}

func TestPromptErrors(t *testing.T) {
	for _, tc := range []struct{ name, text, want string }{
		{"bad json", "{\"id\":\"a\",\"prompt\":\"x\"}\n{\"id\": \n", "p.jsonl:2:"},
		{"unknown field", `{"id":"a","prompt":"x","temp":1}`, `p.jsonl:1: json: unknown field "temp"`},
		{"no id", `{"prompt":"x"}`, "p.jsonl:1: prompt has no id"},
		{"empty prompt", `{"id":"a","prompt":""}`, `p.jsonl:1: prompt "a" has an empty prompt`},
		{"duplicate", "{\"id\":\"a\",\"prompt\":\"x\"}\n{\"id\":\"a\",\"prompt\":\"y\"}", `p.jsonl:2: prompt id "a" already used at line 1`},
		{"two values", `{"id":"a","prompt":"x"} {"id":"b","prompt":"y"}`, "p.jsonl:1: more than one JSON value"},
		{"negative", `{"id":"a","prompt":"x","max_tokens":-2}`, "max_tokens is -2"},
		{"none", "\n\n", "p.jsonl: no prompts"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			_, err := ParsePrompts("p.jsonl", strings.NewReader(tc.text))
			require.Error(t, err)
			assert.Contains(t, err.Error(), tc.want)
		})
	}
}

func TestShippedFiles(t *testing.T) {
	c, err := Load("../configs/benchmark.yaml")
	require.NoError(t, err)
	assert.NotEmpty(t, c.Models)
	ps, err := LoadPrompts("../data/prompts.jsonl")
	require.NoError(t, err)
	assert.GreaterOrEqual(t, len(ps), 10)
}
