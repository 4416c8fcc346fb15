#!/usr/bin/env bash
# run.sh makes this folder's history: 8 runs of config.yaml, each stored with
# `llmbench history add` under one of this repository's commits (oldest first),
# runs 1–4 on an Ollama built for generic x86-64 ($GENERIC_OLLAMA), runs 5–8 on
# make ollama's -march=native build (bin/ollama); then `llmbench history trend`.
# Run from the repository root: docs/results/history-cpu-2core/run.sh
set -euo pipefail
here=docs/results/history-cpu-2core
llmbench=${LLMBENCH:-bin/llmbench}
generic=${GENERIC_OLLAMA:?an Ollama built with CGO_CFLAGS="-O3 -march=x86-64", see README.md}
native=$PWD/bin/ollama
db=$here/history.db
rm -f "$db"
mapfile -t commits < <(git log --reverse --format='%H %cI' -8 "${COMMIT:-4606f11}")
for i in "${!commits[@]}"; do
  read -r sha when <<<"${commits[$i]}"
  if [ "$i" -lt 4 ]; then engine=$generic build=generic-x86-64; else engine=$native build=march-native; fi
  out=outputs/history/run-$((i + 1))
  LLMBENCH_OLLAMA=$engine "$llmbench" run -q --config $here/config.yaml -o "$out"
  cp "$out/bench.txt" "$here/run-$((i + 1)).txt"
  "$llmbench" history add --db "$db" --commit "$sha" --commit-time "$when" --machine cpu-2core \
    --label engine-build=$build "$here/run-$((i + 1)).txt"
done
"$llmbench" history trend --db "$db" -o "$here" --metrics ns/op,ttft-ns/op,tpot-ns/op,tokens/s,peak-rss-B > /dev/null
