#!/usr/bin/env bash
# build-ollama-cuda.sh builds Ollama's CUDA backend (libggml-cuda.so) from the pinned
# module's sources with CMake and nvcc, and lays it out next to ./bin/ollama the way
# the binary looks for GPU backends:
#
#   bin/ollama
#   lib/ollama/libggml-base.so*
#   lib/ollama/cuda_v13/{libggml-base.so*,libggml-cuda.so}
#
# Sources: $OLLAMA_SRC, else a tarball .carry/ollama-src.tar.xz (made by
# `make ollama-src` on a machine with Go), else the Go module cache. Idempotent.
set -euo pipefail

root=$(cd "$(dirname "$0")/.." && pwd)
OLLAMA_VERSION=${OLLAMA_VERSION:-v0.17.4}
ARCHS=${CUDA_ARCHITECTURES:-90}
lib="$root/lib/ollama"
stamp="$lib/cuda_v13/.built-$OLLAMA_VERSION-$ARCHS"
[ -f "$stamp" ] && { echo "CUDA backend already built: $lib/cuda_v13"; exit 0; }

command -v nvcc >/dev/null || [ -x /usr/local/cuda/bin/nvcc ] || { echo "no nvcc: the CUDA backend needs the CUDA toolkit" >&2; exit 1; }
command -v cmake >/dev/null || { echo "no cmake" >&2; exit 1; }
export PATH="$PATH:/usr/local/cuda/bin"

src=${OLLAMA_SRC:-}
if [ -z "$src" ] && [ -f "$root/.carry/ollama-src.tar.xz" ]; then
  src="$root/build/ollama-src"
  rm -rf "$src" && mkdir -p "$src"
  tar -xJf "$root/.carry/ollama-src.tar.xz" -C "$src"
fi
if [ -z "$src" ]; then
  src="$(go env GOMODCACHE)/github.com/ollama/ollama@$OLLAMA_VERSION"
fi
[ -f "$src/CMakeLists.txt" ] || { echo "no Ollama sources at $src" >&2; exit 1; }

build="$root/build/cuda"
cmake -S "$src" -B "$build" -DCMAKE_BUILD_TYPE=Release \
  -DCMAKE_CUDA_ARCHITECTURES="$ARCHS" -DGGML_CPU_ALL_VARIANTS=OFF -DGGML_CCACHE=OFF >"$root/build/cuda-configure.log" 2>&1 \
  || { tail -30 "$root/build/cuda-configure.log" >&2; exit 1; }
cmake --build "$build" --target ggml-cuda -j "$(nproc)" >"$root/build/cuda-build.log" 2>&1 \
  || { tail -30 "$root/build/cuda-build.log" >&2; exit 1; }

mkdir -p "$lib/cuda_v13"
cp -a "$build"/lib/ollama/libggml-base.so* "$lib/"
cp -a "$build"/lib/ollama/libggml-base.so* "$lib/cuda_v13/"
cp -a "$build"/lib/ollama/libggml-cuda.so "$lib/cuda_v13/"
touch "$stamp"
echo "CUDA backend in $lib/cuda_v13"
