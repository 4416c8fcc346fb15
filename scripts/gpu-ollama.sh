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
# configs/gpu-ollama.yaml on the GPU and configs/gpu-ollama-cpu.yaml on the CPU of
# the same machine, and leaves everything in $OUT (default outputs/gpu-out):
# log.txt, outputs.tgz (both runs' bench.txt, CSV, summaries, plots) and the server
# log lines that say where each model's layers went.
set -uo pipefail
root=$(cd "$(dirname "$0")/.." && pwd)
cd "$root"
OUT=${OUT:-$root/outputs/gpu-out}
mkdir -p "$OUT"
exec > >(tee -a "$OUT/log.txt") 2>&1
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

# SIGINT on time-out: llmbench stops, keeps what it measured and writes the report.
timeout -s INT -k 20 "$GPU_S" bin/llmbench run -q --config configs/gpu-ollama.yaml
echo "gpu run: exit $?"
grep -hE "offloaded|inference compute|library=" models/ollama/ollama.log | head -40 > "$OUT/ollama-offload.txt"
timeout -s INT -k 20 "$CPU_S" bin/llmbench run -q --config configs/gpu-ollama-cpu.yaml
echo "cpu run: exit $?"
tar czf "$OUT/outputs.tgz" outputs/gpu-ollama outputs/gpu-ollama-cpu
ls -la "$OUT"
