#!/usr/bin/env bash
# llamacpp-parity.sh compares llama.cpp in-process (backends/llamacpp) with the Ollama
# server's llama.cpp runner on the same synthetic GGUF file, same threads and lengths.
#
# It starts ./bin/ollama serve on a free 127.0.0.1 port with a private OLLAMA_MODELS,
# registers the file with `ollama create -f Modelfile`, checks it with one curl
# /api/generate, then runs tools/parity, which loads the file
# in its own process and alternates generations between the two engines, and
# prints a Markdown table of the engines' own prefill and decode rates. The server
# is killed on exit.
#
# Environment (defaults): MODEL (llama-1.3b:q8_0), THREADS (2), PROMPT_TOKENS (512),
# TOKENS (128), REPS (5), MODELS_DIR ($HOME/.cache/llmbench/models: a private folder,
# so that nobody's clean-up of ./models removes the file mid-run), OUT
# (outputs/llamacpp-parity),
# PARITY_FLAGS (flags for the driver; default "-wait 5m -retries 2 -reload": before
# each run wait up to 5 minutes for a quiet 2-second window, run again, up to
# twice, a run during which other processes took 5% of the CPU or more, and load
# the model again in both engines before every repetition; add e.g.
# "-ollama-nostream", "-mmap" or "-flash off"),
# MAX_LOAD (wait, up to 10 min, until the 1-minute load average is below this
# before starting; empty: don't wait).
set -euo pipefail

root=$(cd "$(dirname "$0")/.." && pwd)
cd "$root"
MODEL=${MODEL:-llama-1.3b:q8_0}
THREADS=${THREADS:-2}
PROMPT_TOKENS=${PROMPT_TOKENS:-512}
TOKENS=${TOKENS:-128}
REPS=${REPS:-5}
MODELS_DIR=${MODELS_DIR:-$HOME/.cache/llmbench/models}
OUT=${OUT:-outputs/llamacpp-parity}
PARITY_FLAGS=${PARITY_FLAGS:--wait 5m -retries 2 -reload}
ollama=$root/bin/ollama
[ -x "$ollama" ] || { echo "no $ollama: run make ollama first" >&2; exit 1; }

# The CGO environment of scripts/build-ollama.sh, so the llama package built for
# bin/ollama is reused from the Go build cache and compiled the same way.
export CGO_ENABLED=1
export CGO_CPPFLAGS="-I$root/bin/.include"
export CGO_CFLAGS="-O3 -march=native"
export CGO_CXXFLAGS="-O3 -march=native"

mkdir -p "$OUT"
echo "building the driver" >&2
go build -tags llamacpp -o "$OUT/parity" ./tools/parity

# The GGUF file, written by llmbench's synth package (kept if already there).
gguf=$("$OUT/parity" -write "$MODEL" -dir "$MODELS_DIR")
gguf=$(cd "$(dirname "$gguf")" && pwd)/$(basename "$gguf")

work=$(mktemp -d)
server_pid=
cleanup() {
  if [ -n "$server_pid" ]; then
    kill -TERM -- "-$server_pid" 2>/dev/null || kill -TERM "$server_pid" 2>/dev/null || true
    wait "$server_pid" 2>/dev/null || true
  fi
  rm -rf "$work"
}
trap cleanup EXIT

port=$(python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])')
host=http://127.0.0.1:$port
# One parallel sequence and the default flash attention / KV cache type, as the
# in-process engine; the server's own log is kept.
OLLAMA_HOST=127.0.0.1:$port OLLAMA_MODELS=$work/models OLLAMA_NUM_PARALLEL=1 OLLAMA_KEEP_ALIVE=30m \
  setsid "$ollama" serve >"$OUT/ollama.log" 2>&1 &
server_pid=$!
for _ in $(seq 120); do
  curl -fsS "$host/api/version" >/dev/null 2>&1 && break
  sleep 0.5
done
curl -fsS "$host/api/version" >/dev/null || { echo "ollama serve did not answer; see $OUT/ollama.log" >&2; exit 1; }

name=parity
printf 'FROM %s\n' "$gguf" >"$work/Modelfile"
OLLAMA_HOST=127.0.0.1:$port "$ollama" create "$name" -f "$work/Modelfile" >/dev/null 2>&1 ||
  { echo "ollama create failed; see $OUT/ollama.log" >&2; exit 1; }

# One request by hand: the server's own counts and durations.
curl -fsS "$host/api/generate" -d "{\"model\":\"$name\",\"prompt\":\"hello there\",\"raw\":true,\"stream\":false,
  \"options\":{\"num_predict\":16,\"num_thread\":$THREADS,\"num_ctx\":2048,\"num_batch\":512,\"temperature\":0,\"seed\":42}}" |
  python3 -c 'import json,sys; r=json.load(sys.stdin); print("curl check: eval_count", r["eval_count"], "eval_duration", r["eval_duration"], "ns, prompt_eval_count", r["prompt_eval_count"], "prompt_eval_duration", r["prompt_eval_duration"], "ns")' >&2

if [ -n "${MAX_LOAD:-}" ]; then
  for _ in $(seq 120); do
    awk -v m="$MAX_LOAD" '{exit !($1 < m)}' /proc/loadavg && break
    sleep 5
  done
fi

{
  echo "model $MODEL ($gguf), threads $THREADS, prompt ~$PROMPT_TOKENS tokens, $TOKENS output tokens, $REPS runs per engine"
  echo "host: $(nproc) CPUs, $(grep -m1 'model name' /proc/cpuinfo | cut -d: -f2 | xargs); load before: $(cut -d' ' -f1-3 /proc/loadavg)"
} | tee "$OUT/summary.md" >&2
# shellcheck disable=SC2086
"$OUT/parity" -gguf "$gguf" -ollama "$host" -name "$name" -ollama-pid "$server_pid" -threads "$THREADS" \
  -prompt-tokens "$PROMPT_TOKENS" -tokens "$TOKENS" -reps "$REPS" -json "$OUT/runs.jsonl" $PARITY_FLAGS |
  tee -a "$OUT/summary.md"
echo "load after: $(cut -d' ' -f1-3 /proc/loadavg)" | tee -a "$OUT/summary.md" >&2
# Which runner served the model (llama.cpp's "go runner" or Ollama's engine), and its settings.
grep -aE 'msg=load |starting go runner|starting ollama engine|flash_attn|n_threads|n_ctx  |n_batch|use_mmap|llama_context: ' "$OUT/ollama.log" | head -n 40 >&2 || true
