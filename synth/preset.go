package synth

import (
	"fmt"
	"strings"
)

// Architectures a preset can name.
const (
	ArchLlama = "llama" // RMSNorm, RoPE, SwiGLU, grouped-query attention; Ollama's Go engine
	ArchGPT2  = "gpt2"  // LayerNorm, learned positions, GELU, tied output; llama.cpp runner
)

// Preset is the shape of one model. Dimensions follow the GGUF keys of the same names.
type Preset struct {
	Name      string  // spec name, e.g. "llama-1.3b"
	Arch      string  // ArchLlama or ArchGPT2
	Layers    int     // block_count
	Embedding int     // embedding_length
	Heads     int     // attention.head_count
	KVHeads   int     // attention.head_count_kv (llama; gpt2 uses Heads)
	FFN       int     // feed_forward_length
	Vocab     int     // number of tokens, control tokens included
	Context   int     // context_length (gpt2: rows of position_embd)
	RopeBase  float32 // llama: rope.freq_base
}

// Presets lists every model synth can write, smallest first.
//
// The tiny presets are for tests (a few hundred kB to a few MB). The others have the
// shapes, and so the bytes read per token, of real models: distilgpt2 and gpt2-medium
// with GPT-2's tied output, llama-1.3b in the OPT-1.3b size class, llama-8b with the
// shape of Llama-3-8B (its 128256-token vocabulary included, as SentencePiece pieces).
var Presets = []Preset{
	{Name: "tiny-llama", Arch: ArchLlama, Layers: 2, Embedding: 128, Heads: 4, KVHeads: 2, FFN: 352, Vocab: 2048, Context: 2048, RopeBase: 10000},
	{Name: "tiny-gpt2", Arch: ArchGPT2, Layers: 2, Embedding: 128, Heads: 4, KVHeads: 4, FFN: 512, Vocab: 2048, Context: 1024},
	{Name: "distilgpt2", Arch: ArchGPT2, Layers: 6, Embedding: 768, Heads: 12, KVHeads: 12, FFN: 3072, Vocab: 50257, Context: 1024},
	{Name: "gpt2-medium", Arch: ArchGPT2, Layers: 24, Embedding: 1024, Heads: 16, KVHeads: 16, FFN: 4096, Vocab: 50257, Context: 1024},
	{Name: "llama-1.3b", Arch: ArchLlama, Layers: 24, Embedding: 2048, Heads: 16, KVHeads: 16, FFN: 5504, Vocab: 32000, Context: 4096, RopeBase: 10000},
	{Name: "llama-8b", Arch: ArchLlama, Layers: 32, Embedding: 4096, Heads: 32, KVHeads: 8, FFN: 14336, Vocab: 128256, Context: 8192, RopeBase: 500000},
}

// LookupPreset returns the preset with the given name.
func LookupPreset(name string) (Preset, bool) {
	for _, p := range Presets {
		if p.Name == name {
			return p, true
		}
	}
	return Preset{}, false
}

// HeadDim is the size of one attention head.
func (p Preset) HeadDim() int { return p.Embedding / p.Heads }

// Type is the storage type of a file's weight matrices. Norm weights and biases are
// always F32; gpt2's position embedding is F16 in quantised files.
type Type int

// Types, with their ggml type ids as values.
const (
	F32  Type = 0
	F16  Type = 1
	Q4_0 Type = 2
	Q8_0 Type = 8
)

// Types lists the supported types in the order -list prints them.
var Types = []Type{F16, Q8_0, Q4_0, F32}

func (t Type) String() string {
	switch t {
	case F32:
		return "f32"
	case F16:
		return "f16"
	case Q4_0:
		return "q4_0"
	case Q8_0:
		return "q8_0"
	}
	return fmt.Sprintf("Type(%d)", int(t))
}

// ParseType parses "f16", "q8_0", "q4_0" or "f32" (any case).
func ParseType(s string) (Type, error) {
	for _, t := range Types {
		if strings.EqualFold(s, t.String()) {
			return t, nil
		}
	}
	return 0, fmt.Errorf("unknown type %q (want one of %s)", s, typeNames())
}

// fileType is general.file_type for a file whose matrices are t (llama_ftype).
func (t Type) fileType() uint32 {
	switch t {
	case F32:
		return 0 // ALL_F32
	case F16:
		return 1 // MOSTLY_F16
	case Q4_0:
		return 2 // MOSTLY_Q4_0
	case Q8_0:
		return 7 // MOSTLY_Q8_0
	}
	panic("synth: bad type")
}

// blockSize and blockBytes describe t's storage: blockBytes bytes per blockSize values.
func (t Type) blockSize() int {
	if t == Q4_0 || t == Q8_0 {
		return 32
	}
	return 1
}

func (t Type) blockBytes() int {
	switch t {
	case F32:
		return 4
	case F16:
		return 2
	case Q4_0:
		return 18
	case Q8_0:
		return 34
	}
	panic("synth: bad type")
}

// rowBytes is the size of n values of type t; n must be a multiple of the block size.
func (t Type) rowBytes(n int) int { return n / t.blockSize() * t.blockBytes() }

// Spec names one file: a preset stored with one type.
type Spec struct {
	Preset Preset
	Type   Type
}

// ParseSpec parses "PRESET" or "PRESET:TYPE"; TYPE defaults to f16.
func ParseSpec(s string) (Spec, error) {
	name, typ, hasType := strings.Cut(strings.TrimSpace(s), ":")
	p, ok := LookupPreset(name)
	if !ok {
		return Spec{}, fmt.Errorf("synth: unknown preset %q in spec %q (presets: %s; types: %s)",
			name, s, presetNames(), typeNames())
	}
	spec := Spec{Preset: p, Type: F16}
	if hasType {
		t, err := ParseType(typ)
		if err != nil {
			return Spec{}, fmt.Errorf("synth: spec %q: %w", s, err)
		}
		spec.Type = t
	}
	return spec, nil
}

// String is the spec in ParseSpec's form, type included: "llama-1.3b:f16".
func (s Spec) String() string { return s.Preset.Name + ":" + s.Type.String() }

// FileName is the file's base name, e.g. "llama-1.3b-f16.gguf".
func (s Spec) FileName() string { return s.Preset.Name + "-" + s.Type.String() + ".gguf" }

// Params is the number of values in the file's tensors (what gguf-parser-go reports).
func (s Spec) Params() int64 {
	var n int64
	for _, t := range layoutOf(s).tensors {
		n += t.elements()
	}
	return n
}

// Size is the length in bytes of the file Write produces.
func (s Spec) Size() int64 {
	l := layoutOf(s)
	return l.headerSize + l.dataSize
}

func presetNames() string {
	names := make([]string, len(Presets))
	for i, p := range Presets {
		names[i] = p.Name
	}
	return strings.Join(names, ", ")
}

func typeNames() string {
	names := make([]string, len(Types))
	for i, t := range Types {
		names[i] = t.String()
	}
	return strings.Join(names, ", ")
}
