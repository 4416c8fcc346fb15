// Package llamacpp runs GGUF models inside this process with llama.cpp, through the
// cgo bindings that Ollama v0.17.4 carries (github.com/ollama/ollama/llama): the
// same llama.cpp, built with the same flags, as the runner `ollama serve` starts
// for a llama or gpt2 model. It measures the engine without a server, HTTP or a
// second process in between.
//
// The engine is behind the build tag llamacpp, because compiling llama.cpp needs
// C++ headers and the CGO flags of `make ollama` (scripts/build-ollama.sh):
//
//	CGO_CPPFLAGS="-I$PWD/bin/.include" CGO_CFLAGS="-O3 -march=native" \
//	CGO_CXXFLAGS="-O3 -march=native" go test -tags llamacpp ./backends/llamacpp
//
// Without the tag, [New] returns an error wrapping [ErrNotBuilt]; [Inspect], which
// reads and checks a GGUF file's header in pure Go, works either way.
//
// # What is measured
//
// [Backend.Generate] tokenizes the prompt (BOS added, special tokens parsed, no
// chat template), empties the KV cache as Ollama's runner does
// (llama_memory_seq_rm; every generation is a cold prefill: no prefix cache),
// evaluates the prompt in batches of options.batch tokens, then
// decodes one token per step. Each step is timed with time.Now() on both sides:
// the time after the token is sampled is its chunk time in
// [backends.Result.Chunks] (one chunk per token, also when a token's text is empty
// because it ends inside a UTF-8 sequence). Server timings: PromptEval is the
// prefill with the first token's sampling, over PromptEvalTokens = prompt tokens;
// Eval is the sum of the later steps (decode and sample), over EvalTokens = output
// tokens − 1.
//
// With Request.MaxTokens > 0, end-of-generation tokens are masked (their logits
// never win), so exactly that many tokens come. Temperature 0 is greedy (argmax);
// above 0 it samples from softmax(logits/T) with a PCG generator seeded by the
// request's or the model's seed; no top-k, top-p or penalties.
//
// [Backend.PP] and [Backend.TG] are llama-bench's pp and tg cases: prefill n
// tokens of a fixed pattern, or decode n single tokens, from an empty KV cache,
// without sampling.
//
// # Defaults, as Ollama's runner on a CPU
//
// Context 2048 tokens, batch 512, threads runtime.NumCPU(), flash attention
// "auto" (llama.cpp decides), f16 KV cache, and no mmap: weights are read into
// allocated memory, as Ollama does on a machine without GPU. [WithMmap] and
// [WithFlashAttention] change the last two.
//
// ggml's threads meet at a spinning barrier after every operation, so more
// threads than idle cores is slow: on a loaded 2-core machine a 2-thread decode
// can run ten times slower than a 1-thread one. Measure with the machine quiet,
// or with fewer threads than cores.
//
// # GPU
//
// Options.GPULayers (gpu_layers) layers go to a GPU when ggml has a GPU backend
// loaded: the CUDA backend `make ollama-cuda` builds, found next to the
// executable (bin/../lib/ollama and its folders; OLLAMA_LIBRARY_PATH overrides).
// The default, 0, keeps the model on the CPU. [Backend.Describe] reports
// llama.cpp's own account of the load as the llamacpp-gpu-layers line.
//
// # Memory
//
// The model lives in this process, so [Backend.EnginePID] is os.Getpid() and
// memory is this process's RSS. [Backend.Close] frees the context, the batch and
// the model, then calls malloc_trim, so that the RSS returns to within a few MiB
// of where it was (without the trim, glibc keeps tens of MiB of llama.cpp's
// freed buffers).
package llamacpp
