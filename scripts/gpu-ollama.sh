#!/usr/bin/env bash
# gpu-ollama.sh runs Ollama's GPU benchmark on a machine with an NVIDIA GPU, nvcc
# and cmake but no Go (docs/gpu.md). Make the bundle first where Go is:
#
#   make gpu-bundle          # .carry/: ollama, llmbench, gpuproof (xz) + Ollama sources
#
# then, on the GPU machine, in the repository root with .carry/ beside it:
#
#   bash scripts/gpu-ollama.sh
#
# It lays out bin/, builds the CUDA backend (scripts/build-ollama-cuda.sh), runs
# configs/gpu-llamacpp.yaml (the in-process llama.cpp engine on that backend, the
# same GGUF files; one model per process), configs/gpu-ollama.yaml on the GPU and configs/gpu-ollama-cpu.yaml
# on the CPU of the same machine, each under a time limit (LLAMACPP_S, GPU_S, CPU_S
# seconds; 0 skips a run), and leaves everything in $OUT (default outputs/gpu-out):
# log.txt, each run's output folder (bench.txt, CSV, summaries, plots, report.html),
# outputs.tgz of them all, and the server log lines that say where each model's
# layers went (the in-process engine says it in its llamacpp-gpu-layers lines).
set -uo pipefail
root=$(cd "$(dirname "$0")/.." && pwd)
cd "$root"
OUT=${OUT:-$root/outputs/gpu-out}
mkdir -p "$OUT"
exec > >(tee -a "$OUT/log.txt") 2>&1
LLAMACPP_S=${LLAMACPP_S:-200}
GPU_S=${GPU_S:-300}
CPU_S=${CPU_S:-150}

bash scripts/gpu-unpack.sh || exit 1
bin/ollama --version 2>&1 | grep -q 0.17.4 || { echo "bin/ollama does not run here"; exit 1; }
nvidia-smi --query-gpu=name,driver_version,memory.total,power.limit --format=csv,noheader
lscpu | grep -E "Model name|^CPU\(s\)"
t0=$SECONDS
bash scripts/build-ollama-cuda.sh || exit 1
echo "CUDA backend built in $((SECONDS - t0))s"
export LLMBENCH_OLLAMA="$root/bin/ollama"

# run NAME LIMIT_S: configs/NAME.yaml under a time limit; SIGINT on time-out, so
# llmbench stops, keeps what it measured and writes the report.
run() {
  (($2 > 0)) || { echo "$1: skipped"; return; }
  local t=$SECONDS
  timeout -s INT -k 20 "$2" bin/llmbench run -q --config "configs/$1.yaml"
  echo "$1 run: exit $? in $((SECONDS - t))s"
  [ -d "outputs/$1" ] && cp -r "outputs/$1" "$OUT/"
}
# run_each NAME LIMIT_S: configs/NAME.yaml one model per llmbench process (the
# in-process engine cannot free a GPU model and load another, docs/gpu.md), all
# under one time limit; the results are joined into outputs/NAME/bench.txt and
# reported there.
run_each() {
  (($2 > 0)) || { echo "$1: skipped"; return; }
  local t=$SECONDS i=0 out="outputs/$1" left
  rm -rf "$out" && mkdir -p "$out" build
  grep -E '^  - \{name:' "configs/$1.yaml" | while IFS= read -r entry; do
    left=$(($2 - (SECONDS - t)))
    ((left > 10)) || { echo "$1: out of time before: $entry"; break; }
    { echo "output: $out/m$i"; grep -vE '^(  - \{name:|output:)' "configs/$1.yaml"; echo "$entry"; } > "build/$1-m$i.yaml"
    timeout -s INT -k 20 "$left" bin/llmbench run -q --config "build/$1-m$i.yaml"
    echo "$1 model $i run: exit $?"
    cat "$out/m$i/bench.txt" >> "$out/bench.txt" 2>/dev/null
    i=$((i + 1))
  done
  bin/llmbench report -o "$out" "$out/bench.txt" > /dev/null
  echo "$1 runs: done in $((SECONDS - t))s"
  cp -r "$out" "$OUT/"
}
run_each gpu-llamacpp "$LLAMACPP_S"
run gpu-ollama "$GPU_S"
grep -hE "offloaded|inference compute|library=" models/ollama/ollama.log | head -40 > "$OUT/ollama-offload.txt"
run gpu-ollama-cpu "$CPU_S"
tar czf "$OUT/outputs.tgz" outputs/gpu-llamacpp outputs/gpu-ollama outputs/gpu-ollama-cpu 2>/dev/null
ls -la "$OUT"
