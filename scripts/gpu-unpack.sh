#!/usr/bin/env bash
# gpu-unpack.sh lays out the binaries that scripts/gpu-bundle.sh packed into .carry/:
# bin/ollama, bin/llmbench, bin/gpuproof, bin/generatecheck.
set -euo pipefail
root=$(cd "$(dirname "$0")/.." && pwd)
mkdir -p "$root/bin"
for f in llmbench gpuproof generatecheck ollama; do
  [ -f "$root/.carry/$f.xz" ] || continue
  xz -dc "$root/.carry/$f.xz" > "$root/bin/$f"
  chmod +x "$root/bin/$f"
done
ls -la "$root/bin"
