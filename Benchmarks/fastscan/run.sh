#!/usr/bin/env bash
# The fast-scan kernel decisions of docs/FAST_SCAN.md, measured on real codes in one process:
# 7-bit (narrow) against 8-bit tables, and early stopping on/off, for each pq4 index in DIR.
#   pqbench --data DATA --database all --methods pq4 --bytes 8,16,32 --save-indexes DIR
#   Benchmarks/fastscan/run.sh DIR DATA/queries.npy [queries]
# Early stopping is measured with the kernels' checkpoints enabled from M = 8
# (HPQ_CHECKPOINT_MIN=8) to show where it pays; the library enables it from M = 48.
set -euo pipefail
here="$(cd "$(dirname "$0")" && pwd)"
src="$here/../../Sources/CKernels"
dir="$1"; queries="$2"; nq="${3:-200}"
out="$(mktemp -d)"
cc -O2 -DHPQ_CHECKPOINT_MIN=8 -I "$src/include" "$here/scan.c" "$src"/*.c -o "$out/scan"
for index in "$dir"/pq4-*.hpq; do
  for bits in 8 7; do
    python3 "$here/export.py" "$index" "$queries" "$out/t$bits.bin" --queries "$nq" --bits "$bits" > /dev/null
  done
  echo "$(basename "$index"):"
  "$out/scan" "$out/t8.bin" "$out/t7.bin" "$nq"
done
