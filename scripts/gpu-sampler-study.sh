#!/usr/bin/env bash
# gpu-sampler-study.sh: does llmbench's GPU sampling (NVML every 10 ms) slow the
# transformers engine down? gpt2-medium on CUDA, 8 short prompts, three runs: GPU
# sampled every 10 ms, every 100 ms, and not measured at all; then configs/gpu.yaml
# again (for engine-peak-alloc-B beside peak-vram-B). Run on the GPU machine with
# bin/llmbench (scripts/gpu-bundle.sh, scripts/gpu-unpack.sh). Results in $OUT.
set -uo pipefail
root=$(cd "$(dirname "$0")/.." && pwd)
cd "$root"
OUT=${OUT:-$root/outputs/gpu-out}
mkdir -p "$OUT" outputs/study
export PYTHONUNBUFFERED=1 HF_HUB_OFFLINE=1 TRANSFORMERS_OFFLINE=1
[ -x bin/llmbench ] || bash scripts/gpu-unpack.sh
head -n 8 data/prompts.jsonl > outputs/study/prompts.jsonl
for v in "10ms:{interval: 10ms}" "100ms:{interval: 100ms}" "off:{off: true}"; do
  name=${v%%:*}; gpu=${v#*:}
  cat > "outputs/study/$name.yaml" <<YAML
prompts: outputs/study/prompts.jsonl
warmup: 1
iterations: 3
output: outputs/study/$name
gpu: $gpu
models:
  - {name: gpt2-medium-cuda, backend: transformers, model: "synthetic:gpt2-medium", device: cuda, dtype: float16, options: {max_tokens: 128}}
YAML
  timeout -s INT 120 bin/llmbench run -q --config "outputs/study/$name.yaml" > /dev/null
  echo "$name: exit $?"
done
timeout -s INT 260 bin/llmbench run -q --config configs/gpu.yaml > /dev/null
echo "gpu.yaml: exit $?"
tar czf "$OUT/study.tgz" outputs/study outputs/gpu
