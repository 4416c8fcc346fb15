#!/usr/bin/env bash
# gpu-transformers.sh: the transformers engine's benchmark on the GPU machine, in one
# go. It needs python3 with torch and transformers, and a prebuilt llmbench in
# bin/ or .carry/llmbench.xz (the GPU machine has no Go). Run it from anywhere:
#
#   bash scripts/gpu-transformers.sh
#
# Stages, each under its own time limit, each run even when an earlier one failed:
#   env       nvidia-smi, Python, torch, transformers          -> $OUT/env.txt
#   smoke     the worker alone: load distilgpt2, 8 tokens      -> $OUT/smoke.jsonl
#   baseline  plain model.generate vs the worker's loop, per model (GPU, and
#             distilgpt2 on the CPU)                          -> $OUT/baseline.jsonl
#   check     bin/generatecheck: llmbench's decode rate (decode: generate) against
#             plain model.generate, interleaved, CHECK_REPEATS pairs per model of
#             CHECK_MODELS, with nvidia-smi's clocks beside -> generate-check-gpu.csv
#                                                             -> $OUT/generate-check.jsonl
#   gpu       bin/llmbench run --config configs/gpu.yaml       -> outputs/gpu
#   gobench   bin/transformers.test's BenchmarkRealWorker on cuda, only when that
#             binary was built (go test -c -o bin/transformers.test
#             ./backends/transformers; or .carry/transformers.test.xz)
#                                                             -> $OUT/gobench.txt
#   cpu       bin/llmbench run --config configs/gpu-cpu.yaml   -> outputs/gpu-cpu
# then outputs/ goes into $OUT/outputs.tgz, and $OUT/summary.txt gets each stage's
# status and the baseline table. Everything printed is also in $OUT/log.txt.
#
# Environment: OUT (default /tmp/llmbench-gpu-out), LLMBENCH_PYTHON (default
# python3), DEADLINE_S (default 540: a stage that would start later is skipped and
# each stage's limit is cut to what is left), BASELINE_REPEATS (default 5),
# SKIP (space-separated stage names to skip, e.g. "cpu gobench").
set -euo pipefail

root=$(cd "$(dirname "$0")/.." && pwd)
cd "$root"
OUT=${OUT:-/tmp/llmbench-gpu-out}
mkdir -p "$OUT"
exec > >(tee -a "$OUT/log.txt") 2>&1
tee_pid=$!

export PYTHONUNBUFFERED=1
export HF_HUB_OFFLINE=1 TRANSFORMERS_OFFLINE=1 HF_HUB_DISABLE_TELEMETRY=1
export TOKENIZERS_PARALLELISM=false
PY=${LLMBENCH_PYTHON:-python3}
export LLMBENCH_PYTHON=$PY
DEADLINE_S=${DEADLINE_S:-540}
BASELINE_REPEATS=${BASELINE_REPEATS:-5}
CHECK_REPEATS=${CHECK_REPEATS:-7}
CHECK_MODELS=${CHECK_MODELS:-distilgpt2,gpt2-medium,opt-1.3b}
SKIP=${SKIP:-}
WORKER=backends/transformers/worker.py
LLMBENCH=bin/llmbench
tmp=$(mktemp -d /tmp/llmbench-gpu.XXXXXX)
export OUT PY BASELINE_REPEATS CHECK_REPEATS CHECK_MODELS WORKER LLMBENCH tmp
start=$SECONDS
status=()

echo "gpu-transformers.sh at $(date -u +%FT%TZ) in $root, OUT=$OUT, deadline ${DEADLINE_S}s"

# Binaries come in bin/, or xz-compressed in .carry/ (scripts/gpu-bundle.sh).
mkdir -p bin
for f in llmbench generatecheck transformers.test; do
  if [[ ! -x bin/$f && -f .carry/$f.xz ]]; then
    xz -dc ".carry/$f.xz" > "bin/$f" && chmod +x "bin/$f" && echo "unpacked .carry/$f.xz to bin/$f"
  fi
done

# stage NAME LIMIT_S COMMAND...: runs COMMAND (a function below) in a child bash
# under a time limit, records how it ended, and never stops the script.
stage() {
  local name=$1 limit=$2 rc=0 t0=$SECONDS left how
  shift 2
  if [[ " $SKIP " == *" $name "* ]]; then
    echo "=== $name: skipped (SKIP)"
    status+=("$name: skipped (SKIP)")
    return 0
  fi
  left=$((DEADLINE_S - (SECONDS - start)))
  if ((left < 20)); then
    echo "=== $name: skipped, ${left}s left before the deadline"
    status+=("$name: skipped (deadline)")
    return 0
  fi
  if ((limit > left)); then limit=$left; fi
  echo "=== $name (limit ${limit}s, $((SECONDS - start))s elapsed): $*"
  # timeout signals its whole process group, so the workers started below go too.
  timeout --kill-after=15 "$limit" bash -c 'set -euo pipefail; "$@"' "$name" "$@" || rc=$?
  case $rc in
    0) how="ok" ;;
    124 | 137) how="TIMED OUT" ;;
    *) how="FAILED" ;;
  esac
  echo "=== $name: $how (rc=$rc) in $((SECONDS - t0))s"
  status+=("$name: $how (rc=$rc) in $((SECONDS - t0))s")
}

env_info() {
  {
    echo "## host"; uname -a; nproc; free -g | head -2
    echo "## nvidia-smi"; nvidia-smi || echo "nvidia-smi failed"
    echo "## python"; command -v "$PY"; "$PY" --version
    "$PY" -c '
import torch, transformers
print("torch", torch.__version__, "cuda", torch.version.cuda, "available", torch.cuda.is_available())
if torch.cuda.is_available():
    p = torch.cuda.get_device_properties(0)
    print("gpu", p.name, p.total_memory, "bytes,", p.multi_processor_count, "SMs")
print("transformers", transformers.__version__)
print("cpu threads", torch.get_num_threads())
' || echo "python3 cannot import torch and transformers"
    echo "## llmbench"; ls -l bin/ || true
    if [[ -x $LLMBENCH ]]; then "$LLMBENCH" help 2>&1 | head -3 || true; fi
  } > "$OUT/env.txt" 2>&1
  cat "$OUT/env.txt"
}

# The driver runs the shipped worker with JSON requests (one a line, from its
# stdin), writing each reply but the token lines, labelled with the model and
# device it belongs to, to the file named by its second argument. "tag" is ours.
cat > "$tmp/driver.py" <<'PYEOF'
import json, subprocess, sys, time
worker, out_path = sys.argv[1], sys.argv[2]
reqs = [json.loads(l) for l in sys.stdin.read().splitlines() if l.strip()]
p = subprocess.Popen([sys.executable, "-u", worker], stdin=subprocess.PIPE, stdout=subprocess.PIPE, text=True)
label = {}
failed = 0
with open(out_path, "w") as out:
    for r in reqs:
        if r["op"] == "load":
            label = {"model": r["model"], "device": r["device"], "dtype": r["dtype"]}
        tag = r.pop("tag", None)
        t0 = time.perf_counter()
        p.stdin.write(json.dumps(r) + "\n")
        p.stdin.flush()
        tokens = 0
        while True:
            line = p.stdout.readline()
            if not line:
                print("worker exited (status %s) during %s" % (p.wait(), r["op"]), flush=True)
                sys.exit(1)
            msg = json.loads(line)
            if "token" in msg:
                tokens += 1
                continue
            rec = dict(label, op=r["op"], tag=tag, client_s=time.perf_counter() - t0, reply=msg)
            if r["op"] == "generate":
                rec["token_lines"] = tokens
            out.write(json.dumps(rec) + "\n")
            out.flush()
            if "error" in msg:
                failed += 1
            keys = ("error", "load_s", "params", "device_name", "output_tokens", "prefill_s", "decode_s",
                    "decode_tokens_per_s", "loop_decode_tokens_per_s", "same_tokens", "prompt_truncated")
            brief = {k: msg[k] for k in keys if k in msg}
            print(label.get("model"), label.get("device"), r["op"], tag or "", json.dumps(brief), flush=True)
            break
    p.stdin.write('{"op":"shutdown"}\n')
    p.stdin.flush()
    print("worker exit status", p.wait(timeout=60), flush=True)
sys.exit(1 if failed else 0)
PYEOF

drive_worker() {
  "$PY" "$tmp/driver.py" "$WORKER" "$1"
}

smoke() {
  drive_worker "$OUT/smoke.jsonl" <<'JSON'
{"op":"load","model":"synthetic:distilgpt2","device":"cuda","dtype":"float16","seed":42}
{"op":"generate","id":1,"prompt":"Hello, GPU.","max_new_tokens":8,"min_new_tokens":8,"temperature":0,"seed":42}
{"op":"generate","id":2,"prompt":"Sampling too.","max_new_tokens":8,"min_new_tokens":8,"temperature":0.8,"seed":1}
JSON
}

baseline() {
  # The "story" prompt of data/prompts.jsonl (else the same text built in), at the
  # output length configs/gpu.yaml asks for; distilgpt2 also on the CPU.
  "$PY" -c '
import json, sys
repeats = int(sys.argv[1])
prompt = "Continue the story: The lighthouse keeper had not seen a ship in forty days, until one foggy morning"
try:
    for line in open("data/prompts.jsonl"):
        line = line.strip()
        if line and not line.startswith(("#", "//")):
            p = json.loads(line)
            if p.get("id") == "story":
                prompt = p["prompt"]
except OSError:
    pass
runs = [("distilgpt2", "cuda", "float16", 128), ("gpt2-medium", "cuda", "float16", 128),
        ("opt-1.3b", "cuda", "float16", 128), ("distilgpt2", "cpu", "float32", 16)]
for name, dev, dt, n in runs:
    print(json.dumps({"op": "load", "model": "synthetic:" + name, "device": dev, "dtype": dt, "seed": 42}))
    print(json.dumps({"op": "generate", "id": 1, "tag": "story", "prompt": prompt, "max_new_tokens": n,
                      "min_new_tokens": n, "temperature": 0, "seed": 42}))
    print(json.dumps({"op": "baseline", "tag": "story", "prompt": prompt, "max_new_tokens": n,
                      "repeats": repeats if dev == "cuda" else 3, "warmup": 1}))
' "$BASELINE_REPEATS" > "$tmp/baseline-requests.jsonl"
  drive_worker "$OUT/baseline.jsonl" < "$tmp/baseline-requests.jsonl"
}

generate_check() {
  local prompt
  prompt=$("$PY" -c '
import json
for line in open("data/prompts.jsonl"):
    line = line.strip()
    if line and not line.startswith(("#", "//")) and json.loads(line).get("id") == "story":
        print(json.loads(line)["prompt"])
')
  # The GPU's clocks, power and load beside the pairs, to read their swings by.
  nvidia-smi --query-gpu=timestamp,clocks.sm,clocks.mem,power.draw,utilization.gpu,pstate \
    --format=csv -lms 250 > "$OUT/generate-check-gpu.csv" 2>&1 &
  local smi=$!
  bin/generatecheck -models "$CHECK_MODELS" -device cuda -dtype float16 -tokens 128 \
    -repeats "$CHECK_REPEATS" -prompt "$prompt" | tee -a "$OUT/generate-check.jsonl"
  kill "$smi" 2>/dev/null || true
}

llmbench_run() {
  if [[ ! -x $LLMBENCH ]]; then
    echo "no $LLMBENCH: build it with 'GOOS=linux GOARCH=amd64 go build -o bin/llmbench ./cmd/llmbench' and carry bin/llmbench"
    return 2
  fi
  "$LLMBENCH" run --config "$1"
}

gobench() {
  if [[ ! -x bin/transformers.test ]]; then
    echo "no bin/transformers.test (optional): go test -c -o bin/transformers.test ./backends/transformers"
    return 0
  fi
  LLMBENCH_TRANSFORMERS_MODELS=synthetic:distilgpt2,synthetic:gpt2-medium,synthetic:opt-1.3b \
    LLMBENCH_TRANSFORMERS_DEVICE=cuda LLMBENCH_TRANSFORMERS_DTYPE=float16 LLMBENCH_TRANSFORMERS_TOKENS=128 \
    bin/transformers.test -test.run '^TestRealWorker$' -test.bench BenchmarkRealWorker \
    -test.benchtime 10x -test.count 1 -test.v 2>&1 | tee "$OUT/gobench.txt"
}

summarise() {
  {
    echo "gpu-transformers.sh finished in $((SECONDS - start))s"
    printf '  %s\n' "${status[@]}"
    echo
    echo "Decode tokens/s for the story prompt, medians: stream = the worker streaming"
    echo "token lines (one generate op), loop = its loop without streaming, generate ="
    echo "plain model.generate, (n-1)/(t(n)-t(1)); loop/gen should be within 0.95..1.05."
    "$PY" - "$OUT/baseline.jsonl" <<'PYEOF' || true
import json, sys
rows = {}
for line in open(sys.argv[1]):
    r = json.loads(line)
    rows.setdefault((r["model"], r["device"]), {})[r["op"]] = r["reply"]
print("%-24s %-5s %9s %9s %9s %9s %6s" % ("model", "dev", "stream", "loop", "generate", "loop/gen", "same"))
nan = float("nan")
for (m, d), ops in rows.items():
    b, g = ops.get("baseline", {}), ops.get("generate", {})
    n = g.get("output_tokens") or 0
    stream = (n - 1) / g["decode_s"] if g.get("decode_s") else nan
    loop = b.get("loop_decode_tokens_per_s") or nan
    gen = b.get("decode_tokens_per_s") or nan
    print("%-24s %-5s %9.1f %9.1f %9.1f %9.3f %6s" % (m, d, stream, loop, gen, loop / gen, b.get("same_tokens")))
    for op in ("load", "generate", "baseline"):
        if "error" in ops.get(op, {}):
            print("   %s error: %s" % (op, ops[op]["error"]))
PYEOF
    echo
    echo "Result files:"
    find outputs -maxdepth 3 -type f 2>/dev/null | sort | head -50 || true
  } > "$OUT/summary.txt" 2>&1
  cat "$OUT/summary.txt"
}

export -f env_info drive_worker smoke baseline generate_check llmbench_run gobench

stage env 60 env_info
stage smoke 90 smoke
stage baseline 150 baseline
stage check 200 generate_check
stage gpu 240 llmbench_run configs/gpu.yaml
stage gobench 150 gobench
stage cpu 200 llmbench_run configs/gpu-cpu.yaml
if [[ -d outputs ]]; then
  tar czf "$OUT/outputs.tgz" outputs || echo "tar of outputs/ failed"
fi
summarise
rm -rf "$tmp"
# Let tee write the last lines before the script (and the call) ends.
exec >&- 2>&-
wait "$tee_pid" 2>/dev/null || sleep 1
