package llamacpp

import (
	"fmt"
	"os"
	"path/filepath"
	"regexp"
	"strconv"
	"strings"
)

// offload is what llama.cpp's log says a load put on GPUs: the layers offloaded
// of those it could offload, and the devices it used. llama.cpp prints the
// layer count only when a GPU backend is loaded, so seen is false on a machine
// (or a build) without one.
type offload struct {
	seen       bool
	layers, of int
	devices    []string // "CUDA0 (NVIDIA H200)"
}

var (
	offloadRE = regexp.MustCompile(`offloaded (\d+)/(\d+) layers to GPU`)
	deviceRE  = regexp.MustCompile(`using device (\S+) \(([^)]*)\)`)
)

// parseOffload reads a load's log for llama.cpp's own lines
// "load_tensors: offloaded 29/29 layers to GPU" and
// "llama_model_load_from_file_impl: using device CUDA0 (NVIDIA H200) ...".
func parseOffload(log string) offload {
	var o offload
	if m := offloadRE.FindStringSubmatch(log); m != nil {
		o.seen = true
		o.layers, _ = strconv.Atoi(m[1])
		o.of, _ = strconv.Atoi(m[2])
	}
	for _, m := range deviceRE.FindAllStringSubmatch(log, -1) {
		o.devices = append(o.devices, m[1]+" ("+m[2]+")")
	}
	return o
}

// String is the llamacpp-gpu-layers configuration value: "29/29 on CUDA0
// (NVIDIA H200)", "0/29" with a GPU backend but nothing offloaded, or "none (no
// GPU backend loaded)".
func (o offload) String() string {
	if !o.seen {
		return "none (no GPU backend loaded)"
	}
	s := fmt.Sprintf("%d/%d", o.layers, o.of)
	if o.layers > 0 && len(o.devices) > 0 {
		s += " on " + strings.Join(o.devices, ", ")
	}
	return s
}

// onGPU reports whether the model uses a GPU device: any layer went to one, or
// llama.cpp named one for the model even with no layer on it (the context then
// still has a backend on the GPU).
func (o offload) onGPU() bool { return o.seen && (o.layers > 0 || len(o.devices) > 0) }

// device is the Description's device: the GPUs the layers went to, else cpu.
func (o offload) device() string {
	if o.seen && o.layers > 0 && len(o.devices) > 0 {
		return strings.Join(o.devices, ", ")
	}
	return "cpu"
}

// libraryPath is the value for OLLAMA_LIBRARY_PATH that lets ggml find the GPU
// backends laid out next to this executable the way `make ollama-cuda` lays them
// out next to bin/ollama (bin/../lib/ollama and each folder in it, such as
// cuda_v13): ggml loads backends only from the folders named there, not their
// subfolders, as Ollama's server names them for its runner. It is empty when
// there is no such folder.
func libraryPath(exe string) string {
	root := filepath.Join(filepath.Dir(exe), "..", "lib", "ollama")
	ents, err := os.ReadDir(root)
	if err != nil {
		return ""
	}
	paths := []string{root}
	for _, e := range ents {
		if e.IsDir() {
			paths = append(paths, filepath.Join(root, e.Name()))
		}
	}
	return strings.Join(paths, string(os.PathListSeparator))
}
