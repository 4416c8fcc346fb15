#!/usr/bin/env bash
# build-ollama.sh builds the pinned Ollama from the Go module proxy into ./bin/ollama,
# tuned for the local CPU. Idempotent: an existing binary of the pinned version is kept.
#
# Module zips drop vendor/ folders, so the build needs Debian's nlohmann-json3-dev and
# libstb-dev, plus miniaudio.h, which the module github.com/gen2brain/malgo ships.
set -euo pipefail

OLLAMA_VERSION=${OLLAMA_VERSION:-v0.17.4}
MALGO_VERSION=${MALGO_VERSION:-v0.11.24}
root=$(cd "$(dirname "$0")/.." && pwd)
bin="$root/bin"
stamp="$bin/.ollama-version"

if [ -x "$bin/ollama" ] && [ "$(cat "$stamp" 2>/dev/null)" = "$OLLAMA_VERSION native" ]; then
  echo "ollama $OLLAMA_VERSION already built at $bin/ollama"
  exit 0
fi

need=()
for p in nlohmann-json3-dev libstb-dev; do
  dpkg -s "$p" >/dev/null 2>&1 || need+=("$p")
done
if [ ${#need[@]} -gt 0 ]; then
  echo "installing ${need[*]}" >&2
  if [ "$(id -u)" = 0 ]; then sudo=; else sudo=sudo; fi
  $sudo apt-get update -qq
  DEBIAN_FRONTEND=noninteractive $sudo apt-get install -y -qq "${need[@]}" >/dev/null
fi

# miniaudio.h from the malgo module (the Go module cache holds it read-only).
malgo_dir=$(cd "$root" && GOFLAGS= go mod download -json "github.com/gen2brain/malgo@$MALGO_VERSION" | sed -n 's/.*"Dir": "\(.*\)".*/\1/p')
[ -f "$malgo_dir/miniaudio.h" ] || { echo "miniaudio.h not found in $malgo_dir" >&2; exit 1; }

# The sources include "miniaudio/miniaudio.h": lay the header out that way.
inc="$bin/.include"
mkdir -p "$inc/miniaudio"
cp -f "$malgo_dir/miniaudio.h" "$inc/miniaudio/miniaudio.h"

export CGO_ENABLED=1
export CGO_CPPFLAGS="-I$inc ${CGO_CPPFLAGS:-}"
export CGO_CFLAGS="${OLLAMA_CFLAGS:--O3 -march=native}"
export CGO_CXXFLAGS="${OLLAMA_CXXFLAGS:--O3 -march=native}"
mkdir -p "$bin"
echo "building ollama $OLLAMA_VERSION (CGO_CFLAGS=$CGO_CFLAGS); about 4 minutes cold" >&2
# go install sets no version: without -X the server reports 0.0.0.
GOBIN="$bin" GOFLAGS= go install -ldflags "-X github.com/ollama/ollama/version.Version=${OLLAMA_VERSION#v}" "github.com/ollama/ollama@$OLLAMA_VERSION"
echo "$OLLAMA_VERSION native" > "$stamp"
"$bin/ollama" --version 2>/dev/null || true
