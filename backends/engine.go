package backends

import (
	"context"
	"fmt"
	"io"
	"slices"
	"sort"
	"sync"
	"time"
)

// Engine makes backends of one kind, in the style of database/sql's drivers: an
// engine package registers itself in its init function with [Register], and a
// program gets it by importing the package (blank, `import _ ".../ollama"`). The
// core never names an engine.
type Engine interface {
	// Configure checks one model's entry before anything starts: its model id
	// (spec.Model) and its own options, which decode decodes strictly into the
	// value given (an unknown key is an error naming its line). What it returns is
	// given back to Open in Spec.Engine.
	Configure(spec Spec, decode func(v any) error) (any, error)
	// Open makes the backend of one model: it loads (or finds) the model and
	// returns it ready for generations.
	Open(ctx context.Context, spec Spec, env Env) (Backend, error)
}

// Chatter is implemented by engines whose backends send a conversation
// (Request.Messages) to a chat endpoint. CheckChat reports, before anything
// starts, why the configured model (spec, with Spec.Engine set by Configure)
// cannot take one, or nil when it can.
type Chatter interface {
	CheckChat(spec Spec) error
}

// CheckChat returns nil when e, registered as name, can send spec's model a
// conversation, else an error saying why: the engine's own (Chatter) or that
// it has no chat endpoint.
func CheckChat(e Engine, name string, spec Spec) error {
	c, ok := e.(Chatter)
	if !ok {
		return fmt.Errorf("the %s engine sends a single prompt, not a conversation: use backend ollama or openai (endpoint chat)", name)
	}
	return c.CheckChat(spec)
}

// SuiteConfigurer is implemented by engines that take a section of the
// configuration's top level named after them (`ollama:`). ConfigureSuite decodes
// it strictly (decode is nil when the section is absent); what it returns is
// [Env.Settings] for the engine.
type SuiteConfigurer interface {
	ConfigureSuite(decode func(v any) error) (any, error)
}

// Spec is one model as an engine receives it: its names, the resolved common
// options and the engine's own options. Engines never read configuration files.
type Spec struct {
	// Name names the model in benchmark names, reports and errors.
	Name string
	// Model is the engine's model id, a path, or "synthetic:PRESET[:TYPE]" for a
	// random-weight model the engine makes itself.
	Model string
	// Options are the common generation options, defaults applied.
	Options Options
	// Engine is what the engine's Configure returned for this model.
	Engine any
	// Where is "FILE:LINE" of the model's entry, for errors; may be empty.
	Where string
	// Embed says the model is benchmarked by embedding requests (its embed:
	// section), not generations: an [Embedder] describes that endpoint.
	Embed bool
}

// Synthetic returns the preset spec of a "synthetic:PRESET[:TYPE]" model id and
// whether the id is one.
func (s Spec) Synthetic() (preset string, ok bool) {
	const p = "synthetic:"
	if len(s.Model) > len(p) && s.Model[:len(p)] == p {
		return s.Model[len(p):], true
	}
	return "", false
}

// NoThink is the Configure check of an engine without a thinking mode: a model
// that sets options.think is refused, naming the engine.
func NoThink(spec Spec, engine string) error {
	if spec.Options.Think != nil {
		return fmt.Errorf("options.think: the %s engine has no thinking mode", engine)
	}
	return nil
}

// Options tune generation for one model. The configuration resolves every
// default (config.Defaults), so engines see final values.
type Options struct {
	// MaxTokens is the model's exact output length; a prompt may override it per
	// request (Request.MaxTokens is what an engine must use).
	MaxTokens int
	// Temperature of sampling; 0 is greedy.
	Temperature float64
	// Seed of sampling (Request.Seed is what an engine must use).
	Seed int
	// Context is the context window in tokens.
	Context int
	// Threads is the number of CPU threads the engine may use; 0 lets it decide.
	Threads int
	// Batch is the prompt-processing batch size; 0 lets the engine decide.
	Batch int
	// GPULayers is the number of layers offloaded to the GPU; nil lets the engine
	// decide, 0 keeps the model on the CPU.
	GPULayers *int
	// KeepAlive is how long a server keeps the model loaded after a request.
	KeepAlive time.Duration
	// PrefixCache says whether timed generations may be served from the engine's
	// prefix cache (PrefixWarm) or must evaluate the whole prompt (PrefixCold).
	PrefixCache PrefixCache
	// Think asks a thinking-capable model to think (true) or not (false); nil
	// leaves it to the engine.
	Think *bool
}

// PrefixCache is a model's prefix-cache mode.
type PrefixCache string

const (
	// PrefixCold makes every timed generation evaluate its whole prompt: the
	// prompt starts with a unique nonce (the default).
	PrefixCold PrefixCache = "cold"
	// PrefixWarm sends prompts as they are, so an engine's prefix cache may serve
	// repeated prompts: TTFT is then that of a cached prefix, and no prefill rate
	// is computed from it.
	PrefixWarm PrefixCache = "warm"
)

// Env is what the suite gives an engine when it opens a model.
type Env interface {
	// Notice writes a one-line notice for people, once per distinct text.
	Notice(format string, args ...any)
	// ModelsDir is where engines write synthetic model files.
	ModelsDir() string
	// Settings returns what the engine's ConfigureSuite returned, nil without one.
	Settings(engine string) any
	// Shared returns the suite-wide resource named key, opening it with open on
	// first use; the suite closes it when it closes. Engines use it for a server
	// several models share.
	Shared(key string, open func() (io.Closer, error)) (io.Closer, error)
}

var (
	enginesMu sync.RWMutex
	engines   = map[string]Engine{}
)

// Register makes an engine available under name (the configuration's backend:
// value). It panics when name is registered twice or e is nil, as sql.Register
// does.
func Register(name string, e Engine) {
	enginesMu.Lock()
	defer enginesMu.Unlock()
	if e == nil {
		panic("backends: Register engine is nil")
	}
	if _, dup := engines[name]; dup {
		panic("backends: Register called twice for engine " + name)
	}
	engines[name] = e
}

// Lookup returns the engine registered under name.
func Lookup(name string) (Engine, error) {
	enginesMu.RLock()
	defer enginesMu.RUnlock()
	if e, ok := engines[name]; ok {
		return e, nil
	}
	names := Engines()
	if len(names) == 0 {
		return nil, fmt.Errorf("backend %q: no engine is built into this program", name)
	}
	return nil, fmt.Errorf("backend %q: want one of %s", name, joinOr(names))
}

// Engines returns the names of the registered engines, sorted.
func Engines() []string {
	var out []string
	for n := range engines {
		out = append(out, n)
	}
	sort.Strings(out)
	return out
}

func joinOr(names []string) string {
	names = slices.Clone(names)
	switch len(names) {
	case 1:
		return names[0]
	case 2:
		return names[0] + " or " + names[1]
	}
	out := ""
	for i, n := range names {
		switch {
		case i == len(names)-1:
			out += ", or " + n
		case i > 0:
			out += ", " + n
		default:
			out += n
		}
	}
	return out
}

// Description is what a backend says of its engine and model; bench writes every
// field as a configuration line before the model's results (docs/metrics.md), and
// Extra too, so nothing a backend describes is dropped.
type Description struct {
	Engine    string // "ollama 0.17.4", "openai-compatible", …
	Arch      string // model architecture or family
	Params    int64  // parameter count; 0 unknown
	Quant     string // quantisation or dtype
	Digest    string // short digest of the weights
	Size      int64  // bytes of the weights; 0 unknown
	Synthetic bool   // random weights llmbench made
	Device    string // cpu, cuda, …
	// Extra are further facts as key, value pairs; keys are lowercase words
	// joined by hyphens.
	Extra [][2]string
}

// Describer is implemented by backends that can describe their engine and model.
type Describer interface {
	Describe(ctx context.Context) (Description, error)
}
