#!/usr/bin/env bash
# gpu-bundle.sh packs what a GPU machine without Go needs into .carry/ (git-ignored):
# the stripped, xz-compressed ollama, llmbench and gpuproof binaries built here, and
# the Ollama sources its CUDA backend is built from. On the GPU machine,
# scripts/gpu-unpack.sh lays them out again. See docs/gpu.md.
set -euo pipefail
root=$(cd "$(dirname "$0")/.." && pwd)
cd "$root"
OLLAMA_VERSION=${OLLAMA_VERSION:-v0.17.4}
mkdir -p .carry
go build -trimpath -ldflags="-s -w" -o .carry/llmbench ./cmd/llmbench
CGO_ENABLED=1 go build -trimpath -ldflags="-s -w" -o .carry/gpuproof ./tools/gpuproof
strip -o .carry/ollama "${OLLAMA_BIN:-bin/ollama}"
for f in llmbench gpuproof ollama; do xz -T2 -6 -f .carry/$f; done
src="$(go env GOMODCACHE)/github.com/ollama/ollama@$OLLAMA_VERSION"
tar -C "$src" -cJf .carry/ollama-src.tar.xz CMakeLists.txt CMakePresets.json ml/backend/ggml/ggml
du -sh .carry/*
