#!/usr/bin/env bash
# gate-demo.sh shows the regression gate on real runs: synthetic distilgpt2 from
# configs/ci.yaml as a base, a rerun of the same build, and a run with a planted
# slowdown (threads: 1 instead of 2), in interleaved rounds so drift hits all three;
# then `llmbench gate` on base→rerun (want exit 0) and base→slow (want exit 1), and
# `llmbench compare` on base→slow. Results in outputs/gate/ (docs/results/gate-demo).
set -uo pipefail
root=$(cd "$(dirname "$0")/.." && pwd)
cd "$root"
ROUNDS=${ROUNDS:-2}
ITER=${ITER:-3}
METRICS=${METRICS:-ns/op,tokens/s,ttft-ns/op}
out=outputs/gate
rm -rf "$out" && mkdir -p "$out"
# distilgpt2 alone: the tiny model's generations take milliseconds, too short to gate.
awk '/- name: tiny-llama/{skip=1} /- name: distilgpt2/{skip=0} !skip' configs/ci.yaml > "$out/base.yaml"
sed 's/threads: 2/threads: 1/' "$out/base.yaml" > "$out/slow.yaml"
for round in $(seq "$ROUNDS"); do
  for run in base rerun slow; do
    cfg="$out/base.yaml"; [ "$run" = slow ] && cfg="$out/slow.yaml"
    bin/llmbench run -q --config "$cfg" -o "$out/$run-$round" -iterations "$ITER" > /dev/null 2>&1 || exit 1
    cat "$out/$run-$round/bench.txt" >> "$out/$run.txt"
  done
done
bin/llmbench gate --metrics "$METRICS" "$out/base.txt" "$out/rerun.txt" > "$out/gate-rerun.md"; echo "$?" > "$out/gate-rerun.exit"
bin/llmbench gate --metrics "$METRICS" "$out/base.txt" "$out/slow.txt" > "$out/gate-slow.md"; echo "$?" > "$out/gate-slow.exit"
bin/llmbench compare -o "$out/compare" "$out/base.txt" "$out/slow.txt" > /dev/null
echo "rerun: exit $(cat $out/gate-rerun.exit); slow: exit $(cat $out/gate-slow.exit)"
