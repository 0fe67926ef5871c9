#!/usr/bin/env python3
"""FAISS side by side with pqbench: same data-set directory, same protocol, same columns.

Methods: flat (IndexFlatIP / IndexFlatL2), pq (IndexPQ, 8-bit, M = bytes), opq (OPQ{M},PQ{M}),
pq4fs (PQ{2M}x4fs: 4-bit fast scan, same bytes), opq4fs (OPQ{2M},PQ{2M}x4fs), and inside IVF lists
(--nlist, one row per --nprobe value) ivfpq (IVF{nlist},PQ{M}), ivfpq4fs (IVF{nlist},PQ{2M}x4fs),
ivfopq / ivfopq4fs (the same behind OPQ{M}). FAISS's fast scan
returns scores from its quantized tables (no re-ranking). Protocol as pqbench (DESIGN.md §5): codebooks
trained on the train split's targets, database = test targets (or all with --database all),
queries = test queries, query i matches item i.
Scan throughput per core: single-threaded search of up to 64 queries at k, repeated >= 0.5 s,
codes per second = database size * queries / seconds (lookup-table construction included, as
in pqbench).
"""
import argparse, json, os, sys, time
import numpy as np
import faiss


def load(args):
    d = args.data
    if os.path.exists(f"{d}/queries.npy"):
        Q = np.load(f"{d}/queries.npy").astype(np.float32)
        T = np.load(f"{d}/targets.npy").astype(np.float32)
        split = json.load(open(f"{d}/split.json"))
        test = np.array(split["test"])
        if args.queries:
            test = test[: args.queries]
        train = T[np.array(split["train"])]
        if args.database == "all":
            return train, T, Q[test], test.astype(np.int64)
        return train, T[test], Q[test], np.arange(len(test), dtype=np.int64)
    base = np.load(f"{d}/base.npy").astype(np.float32)
    query = np.load(f"{d}/query.npy").astype(np.float32)
    learn = np.load(f"{d}/learn.npy").astype(np.float32) if os.path.exists(f"{d}/learn.npy") else base
    if args.queries:
        query = query[: args.queries]
    return learn, base, query, None


class quiet_stderr:
    """Silences C-level stderr (FAISS's clustering warnings) inside a with-block."""
    def __enter__(self):
        sys.stderr.flush()
        self.saved = os.dup(2)
        devnull = os.open(os.devnull, os.O_WRONLY)
        os.dup2(devnull, 2)
        os.close(devnull)

    def __exit__(self, *exc):
        os.dup2(self.saved, 2)
        os.close(self.saved)


def timed(fn, minimum=0.5):
    """Seconds of the fastest call among at least 3 calls and `minimum` seconds (as pqbench)."""
    calls, best, t0 = 0, float("inf"), time.perf_counter()
    while calls < 3 or time.perf_counter() - t0 < minimum:
        t = time.perf_counter()
        fn()
        best = min(best, time.perf_counter() - t)
        calls += 1
    return best


def main():
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--data", required=True)
    ap.add_argument("--methods", default="flat,pq,opq,pq4fs,opq4fs")
    ap.add_argument("--bytes", default="8,16,32,64")
    ap.add_argument("--metric", default=None, help="ip or l2 (default: ip for flat, l2 for quantized)")
    ap.add_argument("--k", type=int, default=10)
    ap.add_argument("--depth", type=int, default=1000)
    ap.add_argument("--threads", type=int, default=None)
    ap.add_argument("--queries", type=int, default=None)
    ap.add_argument("--database", default="test")
    ap.add_argument("--json", default=None)
    ap.add_argument("--nlist", type=int, default=None, help="ivfpq4fs/ivfpq/ivfopq4fs/ivfopq: coarse lists (default 4*sqrt(N))")
    ap.add_argument("--nprobe", default="1", help="ivf*: lists probed, one row per value (comma-separated)")
    ap.add_argument("--by-residual", type=int, choices=(0, 1), default=None,
                    help="ivf*: encode residuals to the list's centroid (1, FAISS's default) or the vectors (0)")
    ap.add_argument("--latency", action="store_true",
                    help="also time one-query searches (one thread, after a warm-up): latency_p50_us / latency_p99_us")
    args = ap.parse_args()
    threads = args.threads or os.cpu_count()
    faiss.omp_set_num_threads(threads)
    train, db, xq, expected = load(args)
    n, dim = db.shape
    print(f"faiss {faiss.__version__}: database {n} x {dim}, {len(xq)} queries, train {len(train)}, {threads} threads",
          file=sys.stderr)
    exact = {}

    def exact_top10(metric):
        if metric not in exact:
            ix = faiss.IndexFlatIP(dim) if metric == "ip" else faiss.IndexFlatL2(dim)
            ix.add(db)
            exact[metric] = ix.search(xq, 10)[1]
        return exact[metric]

    rows = []

    def measure(method, params, metric, index, train_s, bytes_per_item):
        depth = min(max(args.depth, args.k, 10), n)
        _, I = index.search(xq, depth)
        row = dict(method=method, params=params | {"metric": metric}, bytes_per_item=bytes_per_item, train_seconds=train_s)
        if expected is not None:
            ranks = np.full(len(xq), np.inf)
            hit = I == expected[:, None]
            found = hit.any(1)
            ranks[found] = hit.argmax(1)[found] + 1
            row["recall"] = {f"R@{k}": float((ranks <= k).mean()) for k in (1, 5, 10)}
            row["recall"]["MdR"] = float(np.median(ranks)) if np.isfinite(np.median(ranks)) else None
        ex = exact_top10(metric)
        row["ann_recall_at_10"] = float(np.mean([len(set(a[:10]) & set(b)) / 10 for a, b in zip(I, ex)]))
        row["search_qps"] = len(xq) / timed(lambda: index.search(xq, args.k))
        faiss.omp_set_num_threads(1)
        sample = xq[:64]
        row["scan_codes_per_second_per_core"] = n * len(sample) / timed(lambda: index.search(sample, args.k))
        if args.latency:
            # One query per call from Python, as a service calling FAISS would (pqbench --latency).
            single = [xq[i:i + 1] for i in range(min(len(xq), 2000))]
            for x in single[:20]:
                index.search(x, args.k)
            times = []
            for x in single:
                t = time.perf_counter()
                index.search(x, args.k)
                times.append((time.perf_counter() - t) * 1e6)
            times.sort()
            at = lambda p: times[min(len(times) - 1, int(round(p * (len(times) - 1))))]
            row["latency_p50_us"], row["latency_p99_us"] = at(0.5), at(0.99)
        faiss.omp_set_num_threads(threads)
        rows.append(row)
        r = row.get("recall", {})
        print(f"{method:6s} {bytes_per_item:5d} B  R@1 {100*r.get('R@1', float('nan')):6.2f}  R@5 {100*r.get('R@5', float('nan')):6.2f}"
              f"  R@10 {100*r.get('R@10', float('nan')):6.2f}  MdR {r.get('MdR')}  ANN@10 {100*row['ann_recall_at_10']:6.2f}"
              f"  train {train_s:6.2f} s  QPS {row['search_qps']:9.0f}  scan/core {row['scan_codes_per_second_per_core']:.3g}"
              f"  [{metric}]", flush=True)

    for method in args.methods.split(","):
        if method == "flat":
            metric = args.metric or "ip"
            ix = faiss.IndexFlatIP(dim) if metric == "ip" else faiss.IndexFlatL2(dim)
            ix.add(db)
            measure("flat", {}, metric, ix, 0.0, 4 * dim)
            continue
        metric = args.metric or "l2"
        fm = faiss.METRIC_INNER_PRODUCT if metric == "ip" else faiss.METRIC_L2
        for b in map(int, args.bytes.split(",")):
            if method == "pq":
                if dim % b: continue
                ix, params = faiss.IndexPQ(dim, b, 8, fm), {"M": b, "K": 256}
            elif method == "opq":
                if dim % b: continue
                ix, params = faiss.index_factory(dim, f"OPQ{b},PQ{b}", fm), {"M": b, "K": 256}
            elif method == "pq4fs":
                if dim % (2 * b): continue
                ix, params = faiss.index_factory(dim, f"PQ{2*b}x4fs", fm), {"M": 2 * b, "K": 16}
            elif method == "opq4fs":
                if dim % (2 * b): continue
                ix, params = faiss.index_factory(dim, f"OPQ{2*b},PQ{2*b}x4fs", fm), {"M": 2 * b, "K": 16}
            elif method in ("ivfpq4fs", "ivfpq", "ivfopq4fs", "ivfopq"):
                four = method.endswith("4fs")
                m = 2 * b if four else b
                if dim % m: continue
                nlist = args.nlist or max(1, int(round(4 * np.sqrt(n))))
                key = f"IVF{nlist},PQ{m}x4fs" if four else f"IVF{nlist},PQ{m}"
                if "opq" in method:
                    key = f"OPQ{m}," + key
                ix = faiss.index_factory(dim, key, fm)
                ivf = faiss.extract_index_ivf(ix)
                if args.by_residual is not None:
                    ivf.by_residual = bool(args.by_residual)
                t0 = time.perf_counter()
                with quiet_stderr():
                    ix.train(train)
                train_s = time.perf_counter() - t0
                ix.add(db)
                for probe in map(int, args.nprobe.split(",")):
                    if probe > nlist: continue
                    faiss.extract_index_ivf(ix).nprobe = probe
                    params = {"M": m, "K": 16 if four else 256, "nlist": nlist, "nprobe": probe}
                    if args.by_residual is not None:
                        params["by_residual"] = args.by_residual
                    measure(method, params, metric, ix, train_s, b)
                continue
            else:
                sys.exit(f"unknown method {method}")
            t0 = time.perf_counter()
            with quiet_stderr():   # FAISS warns on every sub-quantizer when n < 39 * K
                ix.train(train)
            train_s = time.perf_counter() - t0
            ix.add(db)
            measure(method, params, metric, ix, train_s, b)
    if args.json:
        with open(args.json, "w") as f:
            json.dump({"dataset": {"name": os.path.basename(os.path.abspath(args.data)), "database": n,
                                   "queries": len(xq), "dim": dim, "faiss": faiss.__version__}, "results": rows}, f, indent=2)


if __name__ == "__main__":
    main()
