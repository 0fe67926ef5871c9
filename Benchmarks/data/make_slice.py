#!/usr/bin/env python3
"""Writes debian-desc-3k/: a 3,000-item slice of ../shared/data/debian-desc (pqbench's default
data set). Items: the first 2,000 of the train split, the first 200 of val and the first 800 of
test, in that order; queries.npy and targets.npy as stored there (float16), split.json renumbered.

    python3 Benchmarks/data/make_slice.py ../shared/data/debian-desc Benchmarks/data/debian-desc-3k
"""
import json, os, sys
import numpy as np

src, out = sys.argv[1], sys.argv[2]
split = json.load(open(os.path.join(src, "split.json")))
parts = [("train", 2000), ("val", 200), ("test", 800)]
rows, new_split, start = [], {}, 0
for name, n in parts:
    rows += split[name][:n]
    new_split[name] = list(range(start, start + n))
    start += n
os.makedirs(out, exist_ok=True)
for f in ["queries.npy", "targets.npy"]:
    a = np.load(os.path.join(src, f))
    np.save(os.path.join(out, f), np.ascontiguousarray(a[rows]))
json.dump(new_split, open(os.path.join(out, "split.json"), "w"))
json.dump({"source_rows": rows}, open(os.path.join(out, "source_rows.json"), "w"))
print(f"wrote {len(rows)} items to {out}")
