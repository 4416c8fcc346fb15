#!/usr/bin/env bash
# gate-demo.sh shows the regression gate on real runs: the CI configuration run
# three times — a base, a rerun of the same build, and a run with a planted slowdown
# (threads: 1 instead of 2) — then `llmbench gate` on base→rerun (want exit 0) and
# base→slow (want exit 1). Results in outputs/gate/; docs/results/gate-demo.md is
# written from them.
set -uo pipefail
root=$(cd "$(dirname "$0")/.." && pwd)
cd "$root"
ITER=${ITER:-6}
METRICS=${METRICS:-ns/op,tokens/s,ttft-ns/op}
out=outputs/gate
rm -rf "$out" && mkdir -p "$out"
sed 's/threads: 2/threads: 1/' configs/ci.yaml > "$out/slow.yaml"
for run in base rerun; do
  bin/llmbench run -q --config configs/ci.yaml -o "$out/$run" -iterations "$ITER" > /dev/null || exit 1
done
bin/llmbench run -q --config "$out/slow.yaml" -o "$out/slow" -iterations "$ITER" > /dev/null || exit 1
bin/llmbench gate --metrics "$METRICS" "$out/base/bench.txt" "$out/rerun/bench.txt" > "$out/gate-rerun.md"; echo "$?" > "$out/gate-rerun.exit"
bin/llmbench gate --metrics "$METRICS" "$out/base/bench.txt" "$out/slow/bench.txt" > "$out/gate-slow.md"; echo "$?" > "$out/gate-slow.exit"
bin/llmbench compare -o "$out/compare" "$out/base/bench.txt" "$out/slow/bench.txt" > /dev/null
echo "rerun: exit $(cat $out/gate-rerun.exit); slow: exit $(cat $out/gate-slow.exit)"
