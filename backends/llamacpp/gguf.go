package llamacpp

import (
	"fmt"
	"os"
	"strings"

	gguf "github.com/gpustack/gguf-parser-go"
)

// ModelInfo is what a GGUF file's header says about its model.
type ModelInfo struct {
	// Path is the file.
	Path string
	// Arch is general.architecture, e.g. "llama" or "gpt2".
	Arch string
	// Name is general.name, when the file has one.
	Name string
	// Params is the number of values in the file's tensors.
	Params int64
	// Quant is the storage type of most tensors, e.g. "Q8_0" or "F16" (Ollama's
	// quantization level).
	Quant string
	// Size is the file's length in bytes.
	Size int64
}

// Inspect reads and checks the header of the GGUF file at path with
// gguf-parser-go, without llama.cpp (which aborts the process on some malformed
// files). A missing file gives an error wrapping fs.ErrNotExist; a file that is not
// a whole GGUF model (wrong magic, truncated header or data, inconsistent counts)
// one wrapping [ErrInvalidModel]. Both name the file.
func Inspect(path string) (info *ModelInfo, err error) {
	fi, err := os.Stat(path)
	if err != nil {
		return nil, err // *fs.PathError names the file
	}
	if !fi.Mode().IsRegular() {
		return nil, fmt.Errorf("%s: %w: not a regular file", path, ErrInvalidModel)
	}
	defer func() {
		// The parser trusts some lengths it reads; a crafted file must not take the
		// process down.
		if r := recover(); r != nil {
			info, err = nil, fmt.Errorf("%s: %w: header parser failed: %v", path, ErrInvalidModel, r)
		}
	}()
	gf, err := gguf.ParseGGUFFile(path)
	if err != nil {
		return nil, fmt.Errorf("%s: %w: %v", path, ErrInvalidModel, err)
	}
	if gf.Header.Version < gguf.GGUFVersionV2 {
		return nil, fmt.Errorf("%s: %w: GGUF version %d is too old for llama.cpp", path, ErrInvalidModel, gf.Header.Version)
	}
	if gf.Header.TensorCount == 0 {
		return nil, fmt.Errorf("%s: %w: no tensors", path, ErrInvalidModel)
	}
	if gf.TensorDataStartOffset > fi.Size() {
		return nil, fmt.Errorf("%s: %w: tensor data would start at byte %d of a %d-byte file",
			path, ErrInvalidModel, gf.TensorDataStartOffset, fi.Size())
	}
	if v, ok := gf.Header.MetadataKV.Get("general.architecture"); !ok || v.ValueType != gguf.GGUFMetadataValueTypeString {
		return nil, fmt.Errorf("%s: %w: no general.architecture string", path, ErrInvalidModel)
	}
	md := gf.Metadata()
	return &ModelInfo{
		Path:   path,
		Arch:   md.Architecture,
		Name:   md.Name,
		Params: int64(gf.ModelParameters),
		Quant:  strings.TrimPrefix(md.FileType.String(), "MOSTLY_"),
		Size:   fi.Size(),
	}, nil
}
