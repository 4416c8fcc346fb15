// Package synth writes random-weight GGUF v3 files with the shapes of real models, so
// that llmbench can benchmark an inference engine without downloading weights.
//
//	spec, err := synth.ParseSpec("llama-1.3b:q4_0") // PRESET or PRESET:TYPE; TYPE f16 by default
//	path, err := synth.WriteFile("models", spec)    // models/llama-1.3b-q4_0.gguf, kept if already there
//
// Decode speed depends on the bytes read per token, not on what they hold, so these
// files time like real ones of the same shape and type; their text is meaningless.
// Presets lists the shapes (llama: RMSNorm, RoPE, SwiGLU, GQA; gpt2: LayerNorm,
// learned positions, tied output), Types the storage types (F16, Q8_0, Q4_0, F32
// matrices; norm weights 1.0 and biases 0 in F32).
//
// # Values
//
// A weight is an entry of a 4096-entry table of the quantiles of N(0, 0.02), picked by
// 12 bits of a xorshift generator seeded from the tensor name and the row. Q8_0 and
// Q4_0 blocks use a fixed scale and int8s or nibbles drawn the same way, scaled so
// that the dequantised values have standard deviation 0.02. The same spec always
// gives the same bytes; no more than one 4 MiB buffer is held while writing.
//
// # Full-length greedy output
//
// A benchmark asks for N tokens (Ollama num_predict) and requires N. Random weights
// under greedy decoding tend to settle on one token and repeat it, and two things in
// Ollama v0.17.4 end such a stream early: an end-of-generation token, and the
// server's repeat guard (see NOTES). So the files steer greedy decoding, without
// changing any tensor's shape, type or size:
//
//   - llama: the token embedding has a larger spread (σ 4) than the rest, so through
//     every block the last position's residual stream stays closest to its own token's
//     embedding. Row w' of output.weight is (a copy at σ 0.02 of) the embedding row of
//     the word w before w' in a cycle through all whole-word pieces ("▁word"), so after
//     w the model predicts w'; every other row (control, byte and partial-word pieces)
//     is zero, so their logits are 0 and never the maximum. The first token after the
//     prompt is a free choice among words; from then on the cycle is walked.
//   - gpt2 (tied output): row p of position_embd is a copy at σ 2 of the embedding row
//     of word σ(p) = words[p·k mod n] for a stride k coprime to n, so position p
//     predicts σ(p), and neighbouring positions predict different words.
//     <|endoftext|>'s embedding row is zero: logit 0.
//
// Every generated token is then a space and a whole word, never a control token, and
// never the same text as the one before. TestGreedy checks this with a reference
// forward pass of the tiny files (margins of 6σ or more between the chosen logit and the
// runner-up); TestGreedySimulation (SYNTH_SIMULATE=1) checks the large presets with
// weights generated in memory (margins 10σ to 29σ).
//
// # Speed
//
// Values are generated at about 3 GB/s of F16 output (Q8_0 1 GB/s, Q4_0 0.55 GB/s) on
// one core of the 2-core development machine (BenchmarkWrite into io.Discard), so a
// file is written as fast as the disk takes it: llama-1.3b:f16 (2.5 GiB) took 5.3 s to 13.5 s through WriteFile to local disk
// (page cache, and the machine shared with builds), in 28 MiB of memory.
//
// # NOTES: the gpt2 stream that stopped after 33 chunks
//
// Checked with Ollama v0.17.4 built from source (bin/ollama), a private server on
// 127.0.0.1:11555, /api/generate, stream true, temperature 0, num_predict 64.
//
// Cause. Ollama's server, not the runner, ends the stream: llm/server.go
// (llmServer.Completion) compares each chunk's strings.TrimSpace(content) with the
// previous one and after more than 30 repeats returns ctx.Err(), which is nil, so
// the handler closes the stream as if it had finished, without the final done:true
// message (no eval_count, no error line, HTTP 200). The server log says so only at
// debug level (OLLAMA_DEBUG=1): "prediction aborted, token repeat limit reached". A
// random-weight model under greedy decoding easily falls into repeating one token
// (with a tied output, the current token's embedding in the residual stream raises its
// own logit); 33 chunks is two different
// chunks then 31 identical ones. Sampled streams rarely repeat 31 times, which is why
// they completed. Reproduced: a tiny-gpt2 whose every position predicts " the" gave 31
// chunks " the", no done message, and that log line. Unsteered files (all values
// N(0, 0.02)) gave runs of 5 to 10 repeats, so whether a stream is cut is a matter
// of luck, for llama as much as gpt2. Whitespace-only tokens (trimmed to "") count as
// repeats of each other too.
//
// Fix. The steering above: every token is a new word, so no two neighbouring chunks
// have the same text, none is whitespace, none is a control token. Byte tokens are
// never generated either, so each token is one chunk (an unsteered tiny-llama gave 59
// chunks for 64 tokens: incomplete UTF-8 is held back and merged into later chunks).
// Results on that Ollama: tiny-llama, tiny-gpt2, distilgpt2 (f16, q8_0, q4_0),
// gpt2-medium:q4_0 and llama-1.3b:q4_0 all gave 64 chunks out of 64 and a final
// done:true, done_reason "length", eval_count 64; 256 of 256 with the prompt
// "Grüße, 世界! 🙂 The quick brown fox?"; 0 repeat-limit aborts in the log.
//
// Also found. Ollama v0.17.4 runs llama (like gpt2) on its llama.cpp runner ("ollama
// runner --model …"); its Go engine only with OLLAMA_NEW_ENGINE=1 ("runner
// --ollama-engine"), where tiny-llama also gave 64 of 64 and 128 of 128. The log line
// "starting go runner" comes from the llama.cpp runner (runner/llamarunner), so it
// does not mean the Go engine. Ollama clamps num_ctx to the file's context_length
// ("requested context size too large for model"), so gpt2 positions never run past
// position_embd. For benchmark clients: a stream that ends without done:true is a
// short answer, to be reported as such.
package synth
