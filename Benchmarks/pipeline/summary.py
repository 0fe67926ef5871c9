#!/usr/bin/env python3
"""Prints the tables of Benchmarks/pipeline/run.sh from its JSON files (one core, codes/s)."""
import glob, json, os, sys

out = sys.argv[1]

def rates(path, method=None):
    rows = json.load(open(path))["results"]
    return {(r["method"], r["bytes_per_item"]): r["scan_codes_per_second_per_core"] for r in rows
            if method is None or r["method"] == method}

print("fast-scan kernels, pq4, scan_codes_per_second_per_core (G codes/s), rounds 1 / 2")
kernels = sorted({os.path.basename(p).split("-")[1] for p in glob.glob(f"{out}/pq4-*-1.json")})
for b in (8, 16, 32):
    cells = []
    for k in kernels:
        v = [rates(f"{out}/pq4-{k}-{r}.json")[("pq4", b)] / 1e9 for r in (1, 2)]
        cells.append(f"{k} {v[0]:.2f} / {v[1]:.2f}")
    best = {k: max(rates(f"{out}/pq4-{k}-{r}.json")[("pq4", b)] for r in (1, 2)) for k in kernels}
    fastest = max(best.values())
    print(f"  {b:2d} B: " + ", ".join(cells) + f"; auto / fastest (best of rounds) = {best['auto'] / fastest:.3f}")

print("accept hook, pq4: no filter / accept-all filter / 10 % filter (G codes/s), rounds 1 / 2")
for b in (8, 16, 32):
    cells = []
    for name in ("none", "all", "10"):
        v = [rates(f"{out}/hook-{name}-{r}.json")[("pq4", b)] / 1e9 for r in (1, 2)]
        cells.append(f"{v[0]:.2f} / {v[1]:.2f}")
    none = max(rates(f"{out}/hook-none-{r}.json")[("pq4", b)] for r in (1, 2))
    every = max(rates(f"{out}/hook-all-{r}.json")[("pq4", b)] for r in (1, 2))
    print(f"  {b:2d} B: " + " | ".join(cells) + f"; accept-all costs {100 * (1 - every / none):.1f} %")

ours, peer = rates(f"{out}/hybridpq.json"), rates(f"{out}/faiss.json")
print("against FAISS, same run (M codes/s per core)")
for b in (8, 16, 32):
    pq, ipq = ours[("pq", b)], peer.get(("IndexPQ", b)) or peer.get(("pq", b))
    pq4, fs = ours[("pq4", b)], peer.get(("PQ·x4fs", b)) or peer.get(("pq4fs", b))
    print(f"  {b:2d} B: pq {pq / 1e6:.0f} vs IndexPQ {ipq / 1e6:.0f} ({pq / ipq:.2f}x); "
          f"pq4 {pq4 / 1e6:.0f} vs PQ·x4fs {fs / 1e6:.0f} ({pq4 / fs:.2f}x)")
