// Package config reads llmbench's benchmark configuration (YAML) and prompt set
// (JSON lines). Decoding is strict: an unknown key is an error naming its file and
// line, in the configuration's own words. Each model's engine (see package
// backends) checks the model and decodes its own options while the file is read,
// so every mistake is found before anything starts.
package config

import (
	"errors"
	"fmt"
	"io/fs"
	"math"
	"os"
	"reflect"
	"slices"
	"strings"
	"time"

	"go.yaml.in/yaml/v3"

	"github.com/llmbench/llmbench/backends"
	"github.com/llmbench/llmbench/embedbench"
	"github.com/llmbench/llmbench/loadgen"
)

// Defaults are the values of every setting a configuration leaves out: the one
// place they are written.
var Defaults = struct {
	Prompts     string
	Warmup      int
	Iterations  int
	Output      string
	ModelsDir   string
	GPUInterval time.Duration
	MaxTokens   int
	Seed        int
	Context     int
	KeepAlive   time.Duration
	PrefixCache backends.PrefixCache
}{
	Prompts:     "data/prompts.jsonl",
	Warmup:      1,
	Iterations:  3,
	Output:      "outputs",
	ModelsDir:   "models",
	GPUInterval: 10 * time.Millisecond,
	MaxTokens:   64,
	Seed:        42,
	Context:     2048,
	KeepAlive:   30 * time.Minute,
	PrefixCache: backends.PrefixCold,
}

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
	// Records writes one JSON line per timed request of every case — each
	// generation of a prompt's case, each request of a load run — to the output
	// folder's requests.jsonl (docs/load.md, "Per-request records"). A model's
	// load: records: true does the same for that model's load runs alone.
	// Default false.
	Records bool `yaml:"records"`
	// Output is the folder results are written to. Default: outputs.
	Output string `yaml:"output"`
	// ModelsDir is where synthetic model files are written. Default: models.
	ModelsDir string `yaml:"models_dir"`
	// GPU configures GPU measurement (NVML).
	GPU GPUConfig `yaml:"gpu"`
	// Models are the models to benchmark, in order.
	Models []Model `yaml:"models"`

	// Settings holds what each engine made of its top-level section (`ollama:`),
	// by engine name; engines without a section that take one get their defaults.
	Settings map[string]any `yaml:"-"`
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

// Model is one model to benchmark. Keys of its entry other than the ones below
// are the engine's own options (host, endpoint, device, …), which the engine
// decodes itself.
type Model struct {
	// Name names the model in benchmark names and reports. Required, unique.
	Name string `yaml:"name"`
	// Backend is the engine: one of backends.Engines().
	Backend string `yaml:"backend"`
	// Model is the engine's model id (e.g. "llama3.2:1b"), a path, or
	// "synthetic:PRESET[:TYPE]" for a random-weight model llmbench makes itself.
	Model string `yaml:"model"`
	// Options tune generation.
	Options Options `yaml:"options"`
	// Load describes load generation; nil means sequential generations.
	Load *loadgen.Spec `yaml:"load"`
	// Embed makes the model an embedding benchmark (docs/embed.md): its batch
	// sizes and requests; nil means generations. A model has load or embed, not
	// both.
	Embed *embedbench.Spec `yaml:"embed"`

	// Spec is the model as its engine receives it: options resolved, the
	// engine's own options decoded. Set by Parse.
	Spec backends.Spec `yaml:"-"`
	// Line is the line of the model's entry in the configuration file.
	Line int `yaml:"-"`
}

// Options tune generation for one model. An unset field takes its default from
// Defaults.
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
	// PrefixCache is cold (the default: every timed prompt starts with a unique
	// nonce, so the engine evaluates it whole) or warm (prompts sent as they are,
	// so an engine's prefix cache may serve repeats).
	PrefixCache string `yaml:"prefix_cache"`
	// Think asks a thinking-capable model to think (true) or not (false); unset
	// leaves it to the engine.
	Think *bool `yaml:"think"`
}

// Duration is a time.Duration written in YAML as "30m", "1h" or "0s".
type Duration = loadgen.Duration

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

// Parse decodes and checks a configuration; file names it in errors. Every
// model's engine must be registered (imported) by then.
func Parse(file string, data []byte) (*Config, error) {
	var doc yaml.Node
	if err := yaml.Unmarshal(data, &doc); err != nil {
		return nil, fmt.Errorf("%s: %s", file, strings.TrimPrefix(err.Error(), "yaml: "))
	}
	if len(doc.Content) == 0 {
		return nil, fmt.Errorf("%s: empty configuration", file)
	}
	root := doc.Content[0]
	if root.Kind != yaml.MappingNode {
		return nil, fmt.Errorf("%s: line %d: want a mapping of settings (prompts:, models:, …)", file, root.Line)
	}
	c := Config{File: file, Settings: map[string]any{}}
	sections := map[string]*yaml.Node{}
	core := &yaml.Node{Kind: yaml.MappingNode, Line: root.Line}
	for i := 0; i+1 < len(root.Content); i += 2 {
		k, v := root.Content[i], root.Content[i+1]
		if _, err := backends.Lookup(k.Value); err == nil {
			sections[k.Value] = v
			continue
		}
		core.Content = append(core.Content, k, v)
	}
	engineKeys := func() []string {
		var out []string
		for _, n := range backends.Engines() {
			e, _ := backends.Lookup(n)
			if _, ok := e.(backends.SuiteConfigurer); ok {
				out = append(out, n)
			}
		}
		return out
	}
	if err := decodeStrict(core, &c, engineKeys()...); err != nil {
		return nil, fmt.Errorf("%s: %w", file, err)
	}
	if len(core.Content) > 0 {
		c.setLines(core)
	}
	c.setDefaults()
	if err := c.check(); err != nil {
		return nil, err
	}
	for _, name := range backends.Engines() {
		e, _ := backends.Lookup(name)
		sc, ok := e.(backends.SuiteConfigurer)
		if !ok {
			if n, ok := sections[name]; ok {
				return nil, fmt.Errorf("%s: line %d: the %s engine takes no top-level section", file, n.Line, name)
			}
			continue
		}
		var decode func(any) error
		if n, ok := sections[name]; ok {
			decode = func(v any) error { return decodeStrict(n, v) }
		}
		s, err := sc.ConfigureSuite(decode)
		if err != nil {
			return nil, fmt.Errorf("%s: %s: %w", file, name, err)
		}
		c.Settings[name] = s
	}
	if err := c.configureModels(core); err != nil {
		return nil, err
	}
	return &c, nil
}

// decodeStrict decodes n into v after checking that every key of every mapping
// names a field of v's type (or is one of allowed, at the top), so an unknown key
// is an error with its line and the keys that would be known there.
func decodeStrict(n *yaml.Node, v any, allowed ...string) error {
	if err := checkKeys(n, reflect.TypeOf(v), "", allowed); err != nil {
		return err
	}
	if err := n.Decode(v); err != nil {
		msg := strings.TrimPrefix(err.Error(), "yaml: ")
		msg = strings.TrimPrefix(msg, "unmarshal errors:\n  ")
		return errors.New(strings.ReplaceAll(msg, "\n  ", "; "))
	}
	return nil
}

var (
	unmarshaler = reflect.TypeFor[yaml.Unmarshaler]()
	modelType   = reflect.TypeFor[Model]()
)

func checkKeys(n *yaml.Node, t reflect.Type, where string, allowed []string) error {
	for t.Kind() == reflect.Pointer {
		if reflect.PointerTo(t.Elem()).Implements(unmarshaler) && t.Elem().Kind() != reflect.Pointer {
			return nil
		}
		t = t.Elem()
	}
	if reflect.PointerTo(t).Implements(unmarshaler) {
		return nil
	}
	switch t.Kind() {
	case reflect.Struct:
		if n.Kind != yaml.MappingNode {
			return nil // a type error, which Decode reports with its line
		}
		fields := map[string]reflect.Type{}
		var known []string
		for i := range t.NumField() {
			f := t.Field(i)
			tag, _, _ := strings.Cut(f.Tag.Get("yaml"), ",")
			if tag == "" || tag == "-" || !f.IsExported() {
				continue
			}
			fields[tag] = f.Type
			known = append(known, tag)
		}
		known = append(known, allowed...)
		for i := 0; i+1 < len(n.Content); i += 2 {
			k, val := n.Content[i], n.Content[i+1]
			ft, ok := fields[k.Value]
			if !ok {
				if slices.Contains(allowed, k.Value) || t == modelType {
					continue // a model's other keys are its engine's (configureModels)
				}
				return fmt.Errorf("line %d: unknown key %s%s: want one of %s", k.Line, where, k.Value, strings.Join(known, ", "))
			}
			if err := checkKeys(val, ft, where+k.Value+".", nil); err != nil {
				return err
			}
		}
	case reflect.Slice:
		if n.Kind == yaml.SequenceNode {
			for _, e := range n.Content {
				if err := checkKeys(e, t.Elem(), where, nil); err != nil {
					return err
				}
			}
		}
	}
	return nil
}

func (c *Config) setDefaults() {
	d := Defaults
	if c.Prompts == "" {
		c.Prompts = d.Prompts
	}
	if c.Warmup == 0 {
		c.Warmup = d.Warmup
	} else if c.Warmup < 0 {
		c.Warmup = 0
	}
	if c.Iterations == 0 {
		c.Iterations = d.Iterations
	}
	if c.Output == "" {
		c.Output = d.Output
	}
	if c.ModelsDir == "" {
		c.ModelsDir = d.ModelsDir
	}
	if c.GPU.Interval.Duration == 0 {
		c.GPU.Interval.Duration = d.GPUInterval
	}
}

func (c *Config) check() error {
	if len(c.Models) == 0 {
		return fmt.Errorf("%s: no models: add at least one under models:", c.File)
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
		if _, err := backends.Lookup(m.Backend); err != nil {
			return fmt.Errorf("%s: %w", at, err)
		}
		if m.Model == "" {
			return fmt.Errorf("%s: no model: give the engine's model id or synthetic:PRESET", at)
		}
		o := m.Options
		switch {
		case o.MaxTokens < 0:
			return fmt.Errorf("%s: options.max_tokens is %d: want at least 1", at, o.MaxTokens)
		case o.Temperature < 0 || math.IsNaN(o.Temperature) || math.IsInf(o.Temperature, 0):
			// YAML reads .nan and .inf as floats; neither is a sampling
			// temperature, and NaN cannot be written as JSON.
			return fmt.Errorf("%s: options.temperature is %g: want a finite number 0 or more", at, o.Temperature)
		case o.Context < 0, o.Threads < 0, o.Batch < 0:
			return fmt.Errorf("%s: options.context, threads and batch must not be negative", at)
		}
		switch backends.PrefixCache(o.PrefixCache) {
		case "", backends.PrefixCold, backends.PrefixWarm:
		default:
			return fmt.Errorf("%s: options.prefix_cache is %q: want cold or warm", at, o.PrefixCache)
		}
		if m.Load != nil {
			if err := m.Load.Check(); err != nil {
				return fmt.Errorf("%s: load: %w", at, err)
			}
		}
		if err := m.checkEmbed(); err != nil {
			return fmt.Errorf("%s: embed: %w", at, err)
		}
	}
	return nil
}

// resolve returns the model's options with every default applied.
func (o Options) resolve() backends.Options {
	d := Defaults
	r := backends.Options{
		MaxTokens: o.MaxTokens, Temperature: o.Temperature, Seed: d.Seed, Context: o.Context,
		Threads: o.Threads, Batch: o.Batch, GPULayers: o.GPULayers, KeepAlive: o.KeepAlive.Duration,
		PrefixCache: backends.PrefixCache(o.PrefixCache), Think: o.Think,
	}
	if r.MaxTokens == 0 {
		r.MaxTokens = d.MaxTokens
	}
	if o.Seed != nil {
		r.Seed = *o.Seed
	}
	if r.Context == 0 {
		r.Context = d.Context
	}
	if r.KeepAlive == 0 {
		r.KeepAlive = d.KeepAlive
	}
	if r.PrefixCache == "" {
		r.PrefixCache = d.PrefixCache
	}
	return r
}

// modelKeys are the keys of a model entry that this package decodes; the rest
// belong to the engine.
var modelKeys = []string{"name", "backend", "model", "options", "load", "embed"}

// configureModels resolves each model's Spec: its options with defaults, and the
// engine's own options from the entry's other keys, decoded and checked by the
// engine.
func (c *Config) configureModels(core *yaml.Node) error {
	entries := modelNodes(core)
	for i := range c.Models {
		m := &c.Models[i]
		at := fmt.Sprintf("%s:%d: model %q", c.File, m.Line, m.Name)
		e, _ := backends.Lookup(m.Backend)
		own := &yaml.Node{Kind: yaml.MappingNode}
		if i < len(entries) {
			n := entries[i]
			for j := 0; j+1 < len(n.Content); j += 2 {
				if !slices.Contains(modelKeys, n.Content[j].Value) {
					own.Content = append(own.Content, n.Content[j], n.Content[j+1])
				}
			}
		}
		m.Spec = backends.Spec{Name: m.Name, Model: m.Model, Options: m.Options.resolve(), Where: fmt.Sprintf("%s:%d", c.File, m.Line), Embed: m.Embed != nil}
		decode := func(v any) error {
			if err := checkKeys(own, reflect.TypeOf(v), "", nil); err != nil {
				var known []string
				t := reflect.TypeOf(v).Elem()
				for i := range t.NumField() {
					if tag, _, _ := strings.Cut(t.Field(i).Tag.Get("yaml"), ","); tag != "" && tag != "-" {
						known = append(known, tag)
					}
				}
				return fmt.Errorf("%w (the %s engine's own keys are %s; every model takes %s)",
					err, m.Backend, strings.Join(known, ", "), strings.Join(modelKeys, ", "))
			}
			return decodeStrict(own, v)
		}
		opts, err := e.Configure(m.Spec, decode)
		if err != nil {
			return fmt.Errorf("%s: %w", at, err)
		}
		m.Spec.Engine = opts
		if m.Load != nil && m.Load.Sessions != nil {
			if err := backends.CheckChat(e, m.Backend, m.Spec); err != nil {
				return fmt.Errorf("%s: load: sessions: %w", at, err)
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

func modelNodes(root *yaml.Node) []*yaml.Node {
	for i := 0; i+1 < len(root.Content); i += 2 {
		if root.Content[i].Value == "models" {
			return root.Content[i+1].Content
		}
	}
	return nil
}

// setLines records each model's line.
func (c *Config) setLines(root *yaml.Node) {
	for j, n := range modelNodes(root) {
		if j < len(c.Models) {
			c.Models[j].Line = n.Line
		}
	}
}
