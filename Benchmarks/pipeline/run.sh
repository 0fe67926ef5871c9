#!/usr/bin/env bash
# The search-pipeline figures (docs/BENCHMARKS.md, "One search pipeline"), one core, 1M codes:
#  1. fast-scan kernels end to end: pqbench with --kernel auto (the calibrated choice), avx2 and
#     avx512 (where available), interleaved, two rounds;
#  2. the accept hook: pq4 without a filter, with a filter that accepts everything
#     (--filter-keep 1) and with one keeping 10 %, interleaved with 1;
#  3. scan throughput against FAISS in the same run: pq and pq4 (auto) against IndexPQ and
#     PQ·x4fs on the same files.
# Usage: Benchmarks/pipeline/run.sh DATA OUT   (DATA: pqbench --export-data of --synthetic 1000000)
set -euo pipefail
here="$(cd "$(dirname "$0")" && pwd)"
data="${1:?data directory}"; out="${2:?output directory}"
mkdir -p "$out"
bench="$here/../../.build/release/pqbench"
common=(--data "$data" --database all --queries 1000 --threads 1 --bytes 8,16,32 --quiet)
kernels=(auto avx2)
"$bench" --micro 1000 --bytes 8 2>/dev/null | grep -q "avx512" && kernels+=(avx512)
for round in 1 2; do
  for k in "${kernels[@]}"; do
    "$bench" "${common[@]}" --methods pq4 --kernel "$k" --json "$out/pq4-$k-$round.json" >/dev/null
  done
  "$bench" "${common[@]}" --methods pq4 --json "$out/hook-none-$round.json" >/dev/null
  "$bench" "${common[@]}" --methods pq4 --filter-keep 1 --json "$out/hook-all-$round.json" >/dev/null
  "$bench" "${common[@]}" --methods pq4 --filter-keep 0.1 --json "$out/hook-10-$round.json" >/dev/null
done
"$bench" "${common[@]}" --methods pq,pq4 --json "$out/hybridpq.json" >/dev/null
"$here/../faiss/run.sh" --data "$data" --database all --queries 1000 --threads 1 --methods pq,pq4fs --bytes 8,16,32 \
    --json "$out/faiss.json" >/dev/null
python3 "$here/summary.py" "$out"
