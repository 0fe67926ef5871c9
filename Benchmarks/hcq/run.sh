#!/usr/bin/env bash
# Trains the HCQ models of docs/BENCHMARKS.md ("HCQ on debian-desc") and measures each with pqbench.
# usage: Benchmarks/hcq/run.sh [DATA_DIR] [OUT_DIR]
# Every model is trained on the train split, chosen on val, measured on test (DESIGN.md §5).
set -euo pipefail
cd "$(dirname "$0")/../.."
data=${1:-../shared/data/debian-desc}
out=${2:-/tmp/hybridpq-hcq}
mkdir -p "$out"
./scripts/setup.sh
swift build -c release --product pqtrain >/dev/null
swift build -c release --product pqbench >/dev/null
train() {   # name, pqtrain arguments…; prints the wall time
  local name=$1; shift
  local t0=$(date +%s)
  .build/release/pqtrain --data "$data" --out "$out/$name.hpqm" "$@" 2> "$out/$name.train.log"
  echo "$name: trained in $(( $(date +%s) - t0 )) s ($*)" | tee -a "$out/times.txt"
}
bench() {   # name, bytes list
  .build/release/pqbench --data "$data" --model "$out/$1.hpqm" --methods flat-hybrid,hcq,hcq-coarse,trained-opq,trained-opq4 \
      --bytes "$2" --json "$out/$1.json" 2> "$out/$1.bench.log" | tee "$out/$1.txt"
}
train default                      # HCQ's shape: hcq mode, M = 32, L = 7, 256 B
train b8 --bytes 8
train b16 --bytes 16
train b32 --bytes 32
train b256 --bytes 256
bench default 32,256
for b in 8 16 32; do bench b$b $b; done
bench b256 192                     # the 256 B budget is spent as M = 192 (largest divisor of 384 ≤ 256)
.build/release/pqbench --data "$data" --methods flat,pq,opq,pq4,opq4 --bytes 8,16,32 --json "$out/raw.json" 2> /dev/null | tee "$out/raw.txt"
