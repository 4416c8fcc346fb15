#!/usr/bin/env bash
# gpu2.sh: configs/gpu2-ollama.yaml on a host with two NVIDIA GPUs, three ways, for
# docs/results (issue: several GPUs of one host). After scripts/gpu-ollama.sh has
# laid out bin/ and built the CUDA backend on that machine:
#
#   one     CUDA_VISIBLE_DEVICES=0: each model on one GPU          -> $OUT/one
#   spread  ollama.sched_spread: each model split over both GPUs   -> $OUT/spread
#           (per-GPU memory and energy: gpu0-/gpu1- metrics)
#   shards  shard 0/2 on GPU 0 and shard 1/2 on GPU 1 at once, then
#           llmbench merge; against "one", which ran them in turn   -> $OUT/shards
#
# Each run is under a time limit (S seconds, default 150; SIGINT keeps what was
# measured). Every output folder comes back with its bench.txt and report.
set -uo pipefail
root=$(cd "$(dirname "$0")/.." && pwd)
cd "$root"
OUT=${OUT:-$root/outputs/gpu2-out}
S=${S:-150}
mkdir -p "$OUT"
export LLMBENCH_OLLAMA="$root/bin/ollama"
nvidia-smi --query-gpu=index,name,memory.total --format=csv,noheader | tee "$OUT/gpus.txt"
[ "$(wc -l < "$OUT/gpus.txt")" -ge 2 ] || { echo "gpu2.sh needs two GPUs" >&2; exit 1; }
cfg=configs/gpu2-ollama.yaml
spread=$(mktemp --suffix=.yaml)
sed 's/^ollama: {manage: always}/ollama: {manage: always, sched_spread: true}/' "$cfg" > "$spread"

t=$SECONDS
CUDA_VISIBLE_DEVICES=0 timeout -s INT -k 20 "$S" bin/llmbench run -q --config "$cfg" -o "$OUT/one"
echo "one: exit $? in $((SECONDS - t))s"
t=$SECONDS
timeout -s INT -k 20 "$S" bin/llmbench run -q --config "$spread" -o "$OUT/spread"
echo "spread: exit $? in $((SECONDS - t))s"
t=$SECONDS
for i in 0 1; do
  CUDA_VISIBLE_DEVICES=$i timeout -s INT -k 20 "$S" bin/llmbench run -q --config "$cfg" --shard "$i/2" -o "$OUT/shard-$i" &
done
wait
echo "shards: both done in $((SECONDS - t))s (one after the other: see one)"
bin/llmbench merge -o "$OUT/shards" "$OUT/shard-0" "$OUT/shard-1"
echo "merge: exit $?"
rm -f "$spread"
