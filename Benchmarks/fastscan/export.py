#!/usr/bin/env python3
"""Writes a pq4 index's codes and per-query quantized tables for scan.c.

    export.py INDEX.hpq QUERIES.npy OUT.bin [--queries N] [--bits 7|8]

INDEX.hpq: a `pq4` index file (pqbench --save-indexes DIR writes DIR/pq4-<bytes>.hpq);
QUERIES.npy: float32 queries (the first N are used). Tables are built and quantized as
QuantizedLookupTable does (L2: −‖q_m − c‖², one scale so the widest sub-space spans 0…2^bits−1).
Output: uint64 M_padded, n, queries; the CODE section; queries × M_padded × 16 uint8 tables.
"""
import argparse, struct
import numpy as np

def sections(path):
    b = open(path, 'rb').read()
    assert b[:8] == b'HYBRIDPQ', f'{path}: not a HybridPQ index file'
    out = {}
    for i in range(struct.unpack_from('<I', b, 16)[0]):
        tag, _, off, ln = struct.unpack_from('<4sIQQ', b, 64 + 32 * i)
        out[tag.decode().strip()] = b[off:off + ln]
    return out

ap = argparse.ArgumentParser()
ap.add_argument('index'); ap.add_argument('queries'); ap.add_argument('out')
ap.add_argument('--queries', dest='n', type=int, default=200)
ap.add_argument('--bits', type=int, default=7)
a = ap.parse_args()
s = sections(a.index)
meta = dict(l.split('=', 1) for l in s['META'].decode().splitlines())
assert meta.get('bits') == '4' and meta.get('layout') == 'blocks32', 'need a pq4 index'
M, D, n = int(meta['subspaces']), int(meta['dimension']), int(meta['count'])
d, Mp = D // M, M + (M & 1)
cb = np.frombuffer(s['CDBK'], dtype=np.float32).reshape(M, 16, d)
Q = np.asarray(np.load(a.queries, mmap_mode='r')[:a.n], dtype=np.float32)
top = 2 ** a.bits - 1
tables = np.zeros((len(Q), Mp, 16), dtype=np.uint8)
for i, x in enumerate(Q):
    lut = -((x.reshape(M, d)[:, None, :] - cb) ** 2).sum(-1)
    mins = lut.min(1)
    span = (lut.max(1) - mins).max()
    tables[i, :M] = np.clip(np.round((lut - mins[:, None]) * (top / span if span > 0 else 1)), 0, top)
with open(a.out, 'wb') as f:
    f.write(struct.pack('<QQQ', Mp, n, len(Q)))
    f.write(s['CODE'])
    f.write(tables.tobytes())
print(f'{a.out}: M = {Mp}, {n} items, {len(Q)} queries, {a.bits}-bit tables')
