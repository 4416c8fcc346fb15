#!/usr/bin/env bash
# gpu-memwatch-proof.sh checks memwatch's GPU figures (per-process VRAM, energy) on a
# machine with an NVIDIA GPU, python3 and PyTorch. That machine needs no Go: build
# the binary first where Go is, then carry bin/gpuproof along:
#
#   CGO_ENABLED=1 go build -o bin/gpuproof ./tools/gpuproof
#   bash scripts/gpu-memwatch-proof.sh [gpuproof flags, e.g. -alloc 4294967296 -busy 2s]
#
# The log goes to stdout and to $OUT/gpu-memwatch-proof.txt ($OUT defaults to
# outputs/). The exit status is gpuproof's: 0 when every check passed.
set -euo pipefail

root=$(cd "$(dirname "$0")/.." && pwd)
bin=${GPUPROOF:-$root/bin/gpuproof}
out=${OUT:-$root/outputs}

if [ ! -x "$bin" ]; then
  echo "no $bin: build it with CGO_ENABLED=1 go build -o bin/gpuproof ./tools/gpuproof" >&2
  exit 2
fi
mkdir -p "$out"
log="$out/gpu-memwatch-proof.txt"

{
  echo "# gpu-memwatch-proof $(date -u +%Y-%m-%dT%H:%M:%SZ), kernel $(uname -r), $(nproc) cores"
  nvidia-smi --query-gpu=index,name,driver_version,memory.total,power.limit --format=csv,noheader || echo "nvidia-smi failed"
  python3 -c 'import torch; print("torch", torch.__version__, "cuda", torch.version.cuda, "devices", torch.cuda.device_count())' || echo "no torch"
  echo "# run 1"
  "$bin" "$@" && rc=0 || rc=$?
  echo "# run 2 (repeatability)"
  "$bin" "$@" && rc2=0 || rc2=$?
  echo "# exit statuses: $rc $rc2"
  [ "$rc" = 0 ] && [ "$rc2" = 0 ]
} 2>&1 | tee "$log"
