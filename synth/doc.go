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
// server's repeat guard (docs/synth.md). So the files steer greedy decoding, without
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
// docs/synth.md has the speed of writing and the investigation behind the steering.
package synth
