// Package config reads llmbench's benchmark configuration (YAML) and prompt set
// (JSON lines). Decoding is strict: an unknown key is an error, and every error
// names the file and line.
package config

import (
	"bytes"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"os"
	"strings"
	"time"

	"go.yaml.in/yaml/v3"
)

// Config is one benchmark configuration.
type Config struct {
	// File is the path the configuration was read from (for error messages).
	File string `yaml:"-"`
	// Prompts is the prompt file (JSON lines). Relative paths are relative to the
	// working directory. Default: data/prompts.jsonl.
	Prompts string `yaml:"prompts"`
	// Warmup is the number of untimed generations per model×prompt before the
	// timed ones. Default 1; a negative value means none.
	Warmup int `yaml:"warmup"`
	// Iterations is the number of timed generations per model×prompt for
	// `llmbench run` (go test takes its count from -benchtime). Default 3.
	Iterations int `yaml:"iterations"`
	// Output is the folder results are written to. Default: outputs.
	Output string `yaml:"output"`
	// ModelsDir is where synthetic GGUF files are written. Default: models.
	ModelsDir string `yaml:"models_dir"`
	// Ollama configures the Ollama server used by models with backend ollama.
	Ollama OllamaConfig `yaml:"ollama"`
	// GPU configures GPU measurement (NVML).
	GPU GPUConfig `yaml:"gpu"`
	// Models are the models to benchmark, in order.
	Models []Model `yaml:"models"`
}

// OllamaConfig says where the Ollama server is, and whether llmbench may start one.
type OllamaConfig struct {
	// Host is the server's base URL. Default: $OLLAMA_HOST, else
	// http://127.0.0.1:11434.
	Host string `yaml:"host"`
	// Manage says what to do when Host does not answer: "auto" (the default) starts
	// a private `ollama serve` on a free loopback port when an ollama binary is in
	// ./bin or on PATH; "never" fails instead; "always" starts one even when Host
	// answers.
	Manage string `yaml:"manage"`
	// Binary is the ollama binary to start. Default: ./bin/ollama, else PATH.
	Binary string `yaml:"binary"`
	// Parallel is the number of requests a started server serves at once per
	// model (OLLAMA_NUM_PARALLEL). Default 1; raise it for load generation.
	Parallel int `yaml:"num_parallel"`
}

// GPUConfig configures GPU measurement. The zero value measures every NVIDIA GPU
// there is, sampling per-process memory every 10 ms.
type GPUConfig struct {
	// Off turns GPU measurement off: no GPU metrics, no NVML queries.
	Off bool `yaml:"off"`
	// Interval is how often per-process GPU memory (and power) is sampled.
	// Default 10ms.
	Interval Duration `yaml:"interval"`
}

// Model is one model to benchmark.
type Model struct {
	// Name names the model in benchmark names and reports. Required, unique.
	Name string `yaml:"name"`
	// Backend is the engine: ollama, openai, transformers or llamacpp.
	Backend string `yaml:"backend"`
	// Model is the engine's model id (e.g. "llama3.2:1b"), a path, or
	// "synthetic:PRESET[:TYPE]" for a random-weight model llmbench makes itself.
	Model string `yaml:"model"`
	// Options tune generation.
	Options Options `yaml:"options"`
	// Host overrides the server URL for this model (ollama, openai).
	Host string `yaml:"host"`
	// APIKeyEnv names the environment variable holding the API key (openai).
	APIKeyEnv string `yaml:"api_key_env"`
	// Endpoint is "chat" (/v1/chat/completions, the default) or "completions"
	// (/v1/completions) for the openai backend.
	Endpoint string `yaml:"endpoint"`
	// ExtraBody is merged into every request body as is (openai), e.g.
	// {ignore_eos: true} or {min_tokens: 64}.
	ExtraBody map[string]any `yaml:"extra_body"`
	// Device is "cpu" or "cuda" (transformers). Default cpu.
	Device string `yaml:"device"`
	// DType is the weight type for the transformers engine: float32, float16 or
	// bfloat16. Default float32 on cpu, float16 on cuda.
	DType string `yaml:"dtype"`
	// Load describes load generation (openai); nil means sequential.
	Load *LoadSpec `yaml:"load"`

	// Line is the line of the model's entry in the configuration file.
	Line int `yaml:"-"`
}

// Options tune generation for one model. Zero values mean the defaults given.
type Options struct {
	// MaxTokens is the exact output length asked for. A prompt's own max_tokens
	// wins over it. Default 64.
	MaxTokens int `yaml:"max_tokens"`
	// Temperature of sampling; 0 (the default) is greedy.
	Temperature float64 `yaml:"temperature"`
	// Seed of sampling. Default 42.
	Seed *int `yaml:"seed"`
	// Context is the context window in tokens. Default 2048.
	Context int `yaml:"context"`
	// Threads is the number of CPU threads the engine may use; 0 lets it decide.
	Threads int `yaml:"threads"`
	// Batch is the prompt-processing batch size; 0 lets the engine decide.
	Batch int `yaml:"batch"`
	// GPULayers is the number of layers the engine offloads to the GPU (Ollama's
	// num_gpu); unset lets the engine decide, 0 keeps the model on the CPU.
	GPULayers *int `yaml:"gpu_layers"`
	// KeepAlive is how long the engine keeps the model loaded after a request.
	// Default 30m.
	KeepAlive Duration `yaml:"keep_alive"`
	// SaltPrompts prefixes every timed prompt with a unique nonce so no prefix
	// cache is hit: each iteration then measures a cold prefill.
	SaltPrompts bool `yaml:"salt_prompts"`
}

// Duration is a time.Duration written in YAML as "30m", "1h" or "0s".
type Duration struct{ time.Duration }

// UnmarshalYAML implements yaml.Unmarshaler.
func (d *Duration) UnmarshalYAML(n *yaml.Node) error {
	v, err := time.ParseDuration(n.Value)
	if err != nil {
		return fmt.Errorf("line %d: %q is not a duration (e.g. 30m, 90s)", n.Line, n.Value)
	}
	d.Duration = v
	return nil
}

// Backends are the names accepted in Model.Backend.
var Backends = []string{"ollama", "openai", "transformers", "llamacpp"}

// Load reads and checks the configuration file at path.
func Load(path string) (*Config, error) {
	data, err := os.ReadFile(path)
	if err != nil {
		return nil, fmt.Errorf("config: %w", err)
	}
	return Parse(path, data)
}

// LoadFS is Load reading from fsys.
func LoadFS(fsys fs.FS, path string) (*Config, error) {
	data, err := fs.ReadFile(fsys, path)
	if err != nil {
		return nil, fmt.Errorf("config: %w", err)
	}
	return Parse(path, data)
}

// Parse decodes and checks a configuration; file names it in errors.
func Parse(file string, data []byte) (*Config, error) {
	var c Config
	dec := yaml.NewDecoder(bytes.NewReader(data))
	dec.KnownFields(true)
	if err := dec.Decode(&c); err != nil {
		if errors.Is(err, io.EOF) {
			return nil, fmt.Errorf("%s: empty configuration", file)
		}
		msg := strings.TrimPrefix(err.Error(), "yaml: ")
		msg = strings.TrimPrefix(msg, "unmarshal errors:\n  ")
		msg = strings.ReplaceAll(msg, "\n  ", "; ")
		return nil, fmt.Errorf("%s: %s", file, msg)
	}
	c.File = file
	c.setLines(data)
	c.setDefaults()
	if err := c.check(); err != nil {
		return nil, err
	}
	return &c, nil
}

func (c *Config) setDefaults() {
	if c.Prompts == "" {
		c.Prompts = "data/prompts.jsonl"
	}
	if c.Warmup == 0 {
		c.Warmup = 1
	} else if c.Warmup < 0 {
		c.Warmup = 0
	}
	if c.Iterations == 0 {
		c.Iterations = 3
	}
	if c.Output == "" {
		c.Output = "outputs"
	}
	if c.ModelsDir == "" {
		c.ModelsDir = "models"
	}
	if c.Ollama.Host == "" {
		c.Ollama.Host = os.Getenv("OLLAMA_HOST")
	}
	if c.Ollama.Host == "" {
		c.Ollama.Host = "http://127.0.0.1:11434"
	}
	if !strings.Contains(c.Ollama.Host, "://") {
		c.Ollama.Host = "http://" + c.Ollama.Host
	}
	if c.GPU.Interval.Duration == 0 {
		c.GPU.Interval.Duration = 10 * time.Millisecond
	}
	if c.Ollama.Parallel == 0 {
		c.Ollama.Parallel = 1
	}
	if c.Ollama.Manage == "" {
		c.Ollama.Manage = "auto"
	}
	for i := range c.Models {
		o := &c.Models[i].Options
		if o.MaxTokens == 0 {
			o.MaxTokens = 64
		}
		if o.Seed == nil {
			seed := 42
			o.Seed = &seed
		}
		if o.Context == 0 {
			o.Context = 2048
		}
		if o.KeepAlive.Duration == 0 {
			o.KeepAlive.Duration = 30 * time.Minute
		}
		if c.Models[i].Device == "" {
			c.Models[i].Device = "cpu"
		}
	}
}

func (c *Config) check() error {
	if len(c.Models) == 0 {
		return fmt.Errorf("%s: no models: add at least one under models:", c.File)
	}
	switch c.Ollama.Manage {
	case "auto", "never", "always":
	default:
		return fmt.Errorf("%s: ollama.manage is %q: want auto, never or always", c.File, c.Ollama.Manage)
	}
	if c.Iterations < 0 {
		return fmt.Errorf("%s: iterations is %d: want at least 1", c.File, c.Iterations)
	}
	seen := map[string]int{}
	for _, m := range c.Models {
		at := fmt.Sprintf("%s:%d: model %q", c.File, m.Line, m.Name)
		if m.Name == "" {
			return fmt.Errorf("%s:%d: model has no name", c.File, m.Line)
		}
		if prev, ok := seen[m.Name]; ok {
			return fmt.Errorf("%s: name already used at line %d", at, prev)
		}
		seen[m.Name] = m.Line
		if !contains(Backends, m.Backend) {
			return fmt.Errorf("%s: backend %q: want one of %s", at, m.Backend, strings.Join(Backends, ", "))
		}
		if m.Model == "" {
			return fmt.Errorf("%s: no model: give the engine's model id or synthetic:PRESET", at)
		}
		o := m.Options
		switch {
		case o.MaxTokens < 0:
			return fmt.Errorf("%s: options.max_tokens is %d: want at least 1", at, o.MaxTokens)
		case o.Temperature < 0:
			return fmt.Errorf("%s: options.temperature is %g: want 0 or more", at, o.Temperature)
		case o.Context < 0, o.Threads < 0, o.Batch < 0:
			return fmt.Errorf("%s: options.context, threads and batch must not be negative", at)
		}
		if m.Device != "cpu" && m.Device != "cuda" {
			return fmt.Errorf("%s: device %q: want cpu or cuda", at, m.Device)
		}
		if m.Endpoint != "" && m.Endpoint != "chat" && m.Endpoint != "completions" {
			return fmt.Errorf("%s: endpoint %q: want chat or completions", at, m.Endpoint)
		}
		if m.Load != nil {
			if err := m.Load.check(); err != nil {
				return fmt.Errorf("%s: load: %w", at, err)
			}
		}
	}
	return nil
}

// Synthetic returns the preset spec of a "synthetic:PRESET[:TYPE]" model id and
// whether the id is one.
func (m *Model) Synthetic() (spec string, ok bool) {
	return strings.CutPrefix(m.Model, "synthetic:")
}

func contains(list []string, s string) bool {
	for _, x := range list {
		if x == s {
			return true
		}
	}
	return false
}

// setLines records each model's line, read from the document's node tree.
func (c *Config) setLines(data []byte) {
	var doc yaml.Node
	if yaml.Unmarshal(data, &doc) != nil || len(doc.Content) == 0 {
		return
	}
	root := doc.Content[0]
	for i := 0; i+1 < len(root.Content); i += 2 {
		if root.Content[i].Value != "models" {
			continue
		}
		for j, n := range root.Content[i+1].Content {
			if j < len(c.Models) {
				c.Models[j].Line = n.Line
			}
		}
	}
}
