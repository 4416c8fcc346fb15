package llamacpp

import (
	"os"
	"path/filepath"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

func TestParseOffload(t *testing.T) {
	for _, c := range []struct {
		name, log, value, device string
		onGPU                    bool
	}{
		{"cpu build", "llama_model_loader: loaded meta data with 24 key-value pairs\nload_tensors:   CPU_Mapped model buffer size =   100.00 MiB\n",
			"none (no GPU backend loaded)", "cpu", false},
		// The two lines as llama.cpp v0.17.4's llama.cpp prints them (src/llama.cpp,
		// src/llama-model.cpp), the second as Ollama's runner logged it on the H200.
		{"all on one GPU", "llama_model_load_from_file_impl: using device CUDA0 (NVIDIA H200) (0000:00:06.0) - 143010 MiB free\n" +
			"load_tensors: offloading 32 repeating layers to GPU\nload_tensors: offloading output layer to GPU\nload_tensors: offloaded 33/33 layers to GPU\n",
			"33/33 on CUDA0 (NVIDIA H200)", "CUDA0 (NVIDIA H200)", true},
		{"two GPUs", "llama_model_load_from_file_impl: using device CUDA0 (NVIDIA H200) (0000:00:06.0) - 1 MiB free\n" +
			"llama_model_load_from_file_impl: using device CUDA1 (NVIDIA H200) (0000:00:07.0) - 1 MiB free\nload_tensors: offloaded 7/7 layers to GPU\n",
			"7/7 on CUDA0 (NVIDIA H200), CUDA1 (NVIDIA H200)", "CUDA0 (NVIDIA H200), CUDA1 (NVIDIA H200)", true},
		{"gpu_layers 0 with a GPU", "llama_model_load_from_file_impl: using device CUDA0 (NVIDIA H200) (0000:00:06.0) - 1 MiB free\nload_tensors: offloaded 0/25 layers to GPU\n",
			"0/25", "cpu", true},
	} {
		t.Run(c.name, func(t *testing.T) {
			o := parseOffload(c.log)
			assert.Equal(t, c.value, o.String())
			assert.Equal(t, c.device, o.device())
			assert.Equal(t, c.onGPU, o.onGPU())
		})
	}
}

func TestLibraryPath(t *testing.T) {
	root := t.TempDir()
	exe := filepath.Join(root, "bin", "llmbench")
	assert.Empty(t, libraryPath(exe), "no lib/ollama next to bin/")
	lib := filepath.Join(root, "lib", "ollama")
	require.NoError(t, os.MkdirAll(filepath.Join(lib, "cuda_v13"), 0o755))
	require.NoError(t, os.WriteFile(filepath.Join(lib, "libggml-base.so"), nil, 0o644))
	want := filepath.Join(root, "bin", "..", "lib", "ollama")
	assert.Equal(t, want+string(os.PathListSeparator)+filepath.Join(want, "cuda_v13"), libraryPath(exe))
}
