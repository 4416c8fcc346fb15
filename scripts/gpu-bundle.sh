#!/usr/bin/env bash
# gpu-bundle.sh packs what a GPU machine without Go needs into .carry/ (git-ignored):
# the stripped, xz-compressed ollama, llmbench, gpuproof and generatecheck binaries
# built here, and
# the Ollama sources its CUDA backend is built from. On the GPU machine,
# scripts/gpu-unpack.sh lays them out again. See docs/gpu.md.
#
# llmbench is built with the in-process llama.cpp engine (-tags llamacpp), and it and
# ollama for a portable CPU level (GPU_MARCH, default x86-64-v3): a GPU host is
# another machine, often another CPU family, and -march=native code from here may
# not run there (AMD's SSE4a, for one). OLLAMA_BIN carries another ollama binary
# instead of building the portable one into build/portable/.
set -euo pipefail
root=$(cd "$(dirname "$0")/.." && pwd)
cd "$root"
OLLAMA_VERSION=${OLLAMA_VERSION:-v0.17.4}
flags="-O3 -march=${GPU_MARCH:-x86-64-v3}"
[ -f bin/.include/miniaudio/miniaudio.h ] || { echo "bin/.include missing: run make ollama first" >&2; exit 1; }
export CGO_ENABLED=1 CGO_CPPFLAGS="-I$root/bin/.include" CGO_CFLAGS="$flags" CGO_CXXFLAGS="$flags"
mkdir -p .carry
go build -tags llamacpp -trimpath -ldflags="-s -w" -o .carry/llmbench ./cmd/llmbench
go build -trimpath -ldflags="-s -w" -o .carry/gpuproof ./tools/gpuproof
go build -trimpath -ldflags="-s -w" -o .carry/generatecheck ./tools/generatecheck
if [ -z "${OLLAMA_BIN:-}" ]; then
  OLLAMA_BIN=build/portable/ollama
  GOBIN="$root/build/portable" GOFLAGS= go install -trimpath \
    -ldflags "-s -w -X github.com/ollama/ollama/version.Version=${OLLAMA_VERSION#v}" "github.com/ollama/ollama@$OLLAMA_VERSION"
fi
strip -o .carry/ollama "$OLLAMA_BIN"
for f in llmbench gpuproof generatecheck ollama; do xz -T2 -6 -f .carry/$f; done
src="$(go env GOMODCACHE)/github.com/ollama/ollama@$OLLAMA_VERSION"
tar -C "$src" -cJf .carry/ollama-src.tar.xz CMakeLists.txt CMakePresets.json ml/backend/ggml/ggml
du -sh .carry/*
