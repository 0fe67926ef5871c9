#!/usr/bin/env python3
"""How good can a model's coarse codes be at their byte budget? (docs/BENCHMARKS.md, issue 10)

Reads what `pqbench --model M.hpqm --export-embeddings DIR` writes (the model's coarse embeddings in
its quantizer's rotated space, and its codebooks) and scores the database targets against the
queries, ground truth on the diagonal (the default test protocol), with the index's score:
-|q - x^|^2 (joint mode) or <q, x^> (HCQ mode). Rows:

  float             the targets unquantized (the continuous model's ceiling)
  model codes       the model's own codebooks, nearest codeword (must equal pqbench's hcq row)
  anisotropic eta   the model's codebooks, codes chosen to minimise |r|^2 + eta <x/|x|, r>^2
                    (ScaNN's score-aware loss: errors along the item count more)
  k-means on train  PQ codebooks refitted by k-means on the train targets (no joint training)
  ... train+val     the same on train + val targets (8,000 instead of 7,000)
  ... + test        the same on train + val + test targets: the codebooks have seen the very
                    items they code, so no index can have them; an optimistic ceiling for
                    codebooks learned from this embedding
  PCA k + OPQ       the targets' top-k principal directions, OPQ (8 rounds) there, same bytes

usage: quantization_ceiling.py DIR [--seed S]   (numpy only; about a minute on 2 cores)
"""
import json
import sys

import numpy as np


def load(d):
    about = json.load(open(f"{d}/about.json"))
    arrays = {n: np.load(f"{d}/{n}.npy").astype(np.float32)
              for n in ("queries", "targets", "train_targets", "val_targets", "codebooks")}
    return about, arrays


def recall(q, xh, metric):
    s = q @ xh.T
    if metric == "l2":
        s -= 0.5 * (xh ** 2).sum(1)[None, :]
    rank = (s > np.diag(s)[:, None]).sum(1)   # ties count for the query (as pqbench's sort does not)
    return [100 * float((rank < k).mean()) for k in (1, 5, 10)]


def nearest(x, book):
    return ((book ** 2).sum(1)[None, :] - 2 * x @ book.T).argmin(1)


def pq_codes(x, books):
    ds = x.shape[1] // len(books)
    return np.stack([nearest(x[:, m * ds:(m + 1) * ds], b) for m, b in enumerate(books)], 1)


def decode(codes, books):
    return np.concatenate([b[codes[:, m]] for m, b in enumerate(books)], 1)


def kmeans(x, k, rng, iterations=20):
    c = x[rng.choice(len(x), k, replace=False)].copy()
    for _ in range(iterations):
        label = nearest(x, c)
        for j in range(k):
            members = x[label == j]
            if len(members):
                c[j] = members.mean(0)
    return c


def fit_pq(train, m, k, rng, iterations=20):
    ds = train.shape[1] // m
    return [kmeans(train[:, i * ds:(i + 1) * ds], k, rng, iterations) for i in range(m)]


def anisotropic_codes(x, books, eta, rounds=3):
    """Coordinate descent over sub-spaces on |r|^2 + eta <u, r>^2, u = x/|x|, from the nearest codes."""
    m_count = len(books)
    ds = x.shape[1] // m_count
    u = x / np.linalg.norm(x, axis=1, keepdims=True)
    codes = pq_codes(x, books)
    r = x - decode(codes, books)
    s = (u * r).sum(1)
    rows = np.arange(len(x))
    for _ in range(rounds):
        for m, b in enumerate(books):
            sl = slice(m * ds, (m + 1) * ds)
            rest = s - (u[:, sl] * r[:, sl]).sum(1)
            cand = x[:, None, sl] - b[None, :, :]                 # items × K × ds residuals
            proj = np.einsum("nd,nkd->nk", u[:, sl], cand)
            j = ((cand ** 2).sum(2) + eta * (rest[:, None] + proj) ** 2).argmin(1)
            codes[:, m] = j
            r[:, sl] = cand[rows, j]
            s = rest + proj[rows, j]
    return codes


def main():
    if len(sys.argv) < 2:
        sys.exit(__doc__)
    d = sys.argv[1]
    seed = int(sys.argv[sys.argv.index("--seed") + 1]) if "--seed" in sys.argv else 0
    about, a = load(d)
    metric = about["metric"]
    q, t, tr, va, cb = a["queries"], a["targets"], a["train_targets"], a["val_targets"], a["codebooks"]
    m, k = cb.shape[0], cb.shape[1]
    books = list(cb)
    rng = np.random.default_rng(seed)
    rows = [("float (unquantized targets)", recall(q, t, metric)),
            ("model codes (its codebooks, nearest codeword)", recall(q, decode(pq_codes(t, books), books), metric))]
    for eta in (1.0, 4.0):
        rows.append((f"anisotropic encoding, eta = {eta:g}", recall(q, decode(anisotropic_codes(t, books, eta), books), metric)))
    for name, train in (("k-means on train targets", tr), ("k-means on train + val targets", np.vstack([tr, va])),
                        ("k-means on train + val + test targets (transductive)", np.vstack([tr, va, t]))):
        fitted = fit_pq(train, m, k, rng)
        rows.append((name, recall(q, decode(pq_codes(t, fitted), fitted), metric)))
    c = tr.T @ tr / len(tr)
    _, v = np.linalg.eigh(c)
    for dims in (128, 192):
        p = v[:, ::-1][:, :dims]
        rot, _ = np.linalg.qr(rng.standard_normal((dims, dims)))
        low = tr @ p
        for _ in range(8):   # OPQ: codebooks, then the orthogonal Procrustes rotation
            fitted = fit_pq(low @ rot, m, k, rng, iterations=6)
            u_, _, vt = np.linalg.svd(low.T @ decode(pq_codes(low @ rot, fitted), fitted))
            rot = u_ @ vt
        b = p @ rot
        fitted = fit_pq(low @ rot, m, k, rng)
        rows.append((f"PCA {dims} + OPQ (same bytes; float in that space: {recall(q @ b, t @ b, metric)[0]:.2f})",
                     recall(q @ b, decode(pq_codes(t @ b, fitted), fitted), metric)))
    print(f"{about['model']}: {len(q)} queries, {len(t)} targets, D = {q.shape[1]}, M = {m}, K = {k}, metric {metric}")
    print("| codes | R@1 | R@5 | R@10 |\n|---|---|---|---|")
    for name, (r1, r5, r10) in rows:
        print(f"| {name} | {r1:.2f} | {r5:.2f} | {r10:.2f} |")


if __name__ == "__main__":
    main()
