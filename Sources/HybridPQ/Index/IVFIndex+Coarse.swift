/// The coarse step of an IVF search: each query's nearest lists (the nprobe best centroids by
/// L2 or inner product), for a batch by sgemm blocks and for one or two queries by plain SIMD
/// sweeps, the best lists kept by a sorted buffer rather than a heap.
extension IVFIndex {
    /// Coarse score blocks hold at most this many floats (32 MiB): a batch of 1M rows against
    /// 4,096 centroids scored at once took 16 GiB.
    static let coarseBlockFloats = 8 << 20

    /// Each row's `n` nearest lists, best first (ties to the lower list): one sgemm per bounded
    /// block of rows into a reused buffer, then each row's selection on all `threads` cores.
    /// Scores are `2⟨x, c⟩ − ‖c‖²` (L2), or ⟨x, c⟩ with `innerProduct` (how an inner-product
    /// index probes, as FAISS's IP coarse quantizer does; items are always assigned by L2, the
    /// k-means cells).
    func nearestLists(_ x: Matrix, count n: Int, innerProduct: Bool, threads: Int) -> [[Int]] {
        guard x.rows > 0 else { return [] }
        let norms = innerProduct ? nil : centroidNorms
        if x.rows <= Self.directCoarseQueries {
            return Self.bestBySweeps(x, transposed: transposedCentroids, lists: nlist, count: n, norms: norms)
        }
        return Self.bestInBlocks(x, against: centroids.values, lists: nlist, count: n, norms: norms, threads: threads)
    }

    /// Each row of `x`'s `n` best of `lists` rows of `b` (lists × x.columns) by `2⟨x, b⟩ − norm`
    /// (or ⟨x, b⟩ without norms): one sgemm per bounded block of rows into a reused buffer, then
    /// each row's selection on all `threads` cores.
    static func bestInBlocks(_ x: Matrix, against b: [Float], lists k: Int, count n: Int, norms: [Float]?,
                             threads: Int) -> [[Int]] {
        var out = [[Int]](repeating: [], count: x.rows)
        let block = min(x.rows, max(1, Self.coarseBlockFloats / k))
        let scratch = UnsafeMutablePointer<Float>.allocate(capacity: block * k)
        defer { scratch.deallocate() }
        let d = x.columns
        let noNorms: [Float] = []
        out.withUnsafeMutableBufferPointer { ob in
            x.values.withUnsafeBufferPointer { xv in
                b.withUnsafeBufferPointer { c in
                    (norms ?? noNorms).withUnsafeBufferPointer { nv in
                        let shared = UncheckedSendable((ob.baseAddress!, UnsafePointer(scratch), norms == nil ? nil : nv.baseAddress))
                        var start = 0
                        while start < x.rows {
                            let rows = min(block, x.rows - start), s0 = start
                            BLAS.gemmABt(m: rows, n: k, k: d, a: xv.baseAddress! + start * d, lda: d,
                                         b: c.baseAddress!, ldb: d, c: scratch, ldc: k)
                            parallelChunks(count: rows, threads: threads, minimumChunk: 32) { range in
                                let (out, scores, norms) = shared.value
                                for i in range { out[s0 + i] = Self.best(n, of: scores + i * k, count: k, norms: norms) }
                            }
                            start += rows
                        }
                    }
                }
            }
        }
        return out
    }

    /// Batches of at most this many queries get their coarse products from plain loops: an sgemm
    /// of one row repacks all the centroids on every call (at 4,096 lists × 96 that was most of
    /// a one-query search: 110 µs against 29 µs per query in batches).
    static let directCoarseQueries = 2

    /// `bestInBlocks` for a few rows: each row's products with every row of `t` (stored
    /// transposed: x.columns × lists) as `sweep`s (each product summed over the components in
    /// order, as a scalar loop would; BLAS may round differently, as the direct lookup tables
    /// may: a list at a near-tie can differ between a query alone and in a batch).
    static func bestBySweeps(_ x: Matrix, transposed t: [Float], lists k: Int, count n: Int, norms: [Float]?) -> [[Int]] {
        var scores = [Float](repeating: 0, count: k)
        var out: [[Int]] = []
        let noNorms: [Float] = []
        x.values.withUnsafeBufferPointer { xv in
            t.withUnsafeBufferPointer { tv in
                (norms ?? noNorms).withUnsafeBufferPointer { nv in
                    scores.withUnsafeMutableBufferPointer { sp in
                        for i in 0..<x.rows {
                            sweep(query: xv.baseAddress! + i * x.columns, dimensions: x.columns, transposed: tv.baseAddress!,
                                  lists: k, into: sp.baseAddress!)
                            out.append(best(n, of: sp.baseAddress!, count: k, norms: norms == nil ? nil : nv.baseAddress))
                        }
                    }
                }
            }
        }
        return out
    }

    /// One query's products with every (transposed) row: `dimensions` sweeps of `lists`-wide
    /// multiply-adds.
    static func sweep(query: UnsafePointer<Float>, dimensions: Int, transposed t: UnsafePointer<Float>, lists k: Int,
                      into sp: UnsafeMutablePointer<Float>) {
        sp.update(repeating: 0, count: k)
        let wide = k / 16 * 16
        let raw = UnsafeMutableRawPointer(sp), rows = UnsafeRawPointer(t)
        for j in 0..<dimensions {
            let v = query[j], vv = SIMD16<Float>(repeating: v)
            var c = 0
            while c < wide {
                let w = rows.loadUnaligned(fromByteOffset: (j * k + c) * 4, as: SIMD16<Float>.self)
                let a = raw.loadUnaligned(fromByteOffset: c * 4, as: SIMD16<Float>.self)
                raw.storeBytes(of: a + vv * w, toByteOffset: c * 4, as: SIMD16<Float>.self)
                c += 16
            }
            while c < k { sp[c] += v * t[j * k + c]; c += 1 }
        }
    }

    /// The `n` lists of largest score (`2·v[l] − norms[l]`, or `v[l]` without norms), best
    /// first, ties to the lower list (`TopK`'s order; NaN never kept): one comparison per list
    /// against the n-th best so far, the kept ones in a small sorted buffer. A heap's offer per
    /// list was most of a one-query search at 4,096 lists and more.
    static func best(_ n: Int, of v: UnsafePointer<Float>, count: Int, norms: UnsafePointer<Float>?) -> [Int] {
        // One loop per score form: an optional tested per list kept the loop from vectorizing.
        if n > 16 {
            // Many kept (the projected step's candidates): insertions into a sorted buffer would
            // shift half of it each (tens of thousands of moves for 64 of 4,096 lists).
            if let norms { return selectMany(n, count: count) { 2 * v[$0] - norms[$0] } }
            return selectMany(n, count: count) { v[$0] }
        }
        if let norms { return select(n, count: count) { 2 * v[$0] - norms[$0] } }
        return select(n, count: count) { v[$0] }
    }

    /// `select` for many kept: the scores in blocks of about count / 4n, each block's maximum
    /// noted; the n-th largest maximum is a threshold at least n scores reach (each block
    /// reaches its own), and for scores in no particular order about n do. Only blocks whose
    /// maximum reaches it are read again, and only their scores at or above it sorted (best
    /// first, ties to the lower list; NaN never kept). A heap, or a sorted buffer, spent most of
    /// a query on 64 of 4,096 lists.
    @inline(__always)
    static func selectMany(_ n: Int, count: Int, _ score: (Int) -> Float) -> [Int] {
        let size = max(1, count / (4 * n)), blocks = (count + size - 1) / size
        // Scores are cheap to recompute (a product and a norm): the second pass re-derives the
        // few it reads rather than storing all of them.
        var maxima = [Float](repeating: -.infinity, count: blocks)
        maxima.withUnsafeMutableBufferPointer { mb in
            for b in 0..<blocks {
                var m = -Float.infinity
                // A select, not a branch (and not SIMD's `max()`, a scalar loop with NaN tests).
                for l in b * size ..< min(count, (b + 1) * size) { let x = score(l); m = x > m ? x : m }
                mb[b] = m
            }
        }
        var threshold = -Float.infinity
        if blocks >= n {
            var copy = maxima
            threshold = copy.withUnsafeMutableBufferPointer { Self.largest(n, in: $0) }
        }
        var kept: [(s: Float, l: Int)] = []
        kept.reserveCapacity(2 * n)
        for b in 0..<blocks where maxima[b] >= threshold {
            for l in b * size ..< min(count, (b + 1) * size) {
                let x = score(l)
                if x >= threshold { kept.append((x, l)) }
            }
        }
        kept.sort { $0.s != $1.s ? $0.s > $1.s : $0.l < $1.l }
        return kept.prefix(n).map(\.l)
    }

    /// The `n`-th largest value of `v` (1 ≤ n ≤ count), reordering it (Hoare's selection).
    static func largest(_ n: Int, in v: UnsafeMutableBufferPointer<Float>) -> Float {
        var lo = 0, hi = v.count - 1
        let target = n - 1                       // position in descending order
        while lo < hi {
            let pivot = v[(lo + hi) / 2]
            var i = lo, j = hi
            while i <= j {
                while v[i] > pivot { i += 1 }
                while v[j] < pivot { j -= 1 }
                if i <= j { v.swapAt(i, j); i += 1; j -= 1 }
            }
            if target <= j { hi = j } else if target >= i { lo = i } else { return v[target] }
        }
        return v[target]
    }

    @inline(__always)
    static func select(_ n: Int, count: Int, _ score: (Int) -> Float) -> [Int] {
        var top = [Float](repeating: 0, count: n), lists = [Int](repeating: 0, count: n)
        var filled = 0
        var threshold = -Float.infinity
        top.withUnsafeMutableBufferPointer { t in
            lists.withUnsafeMutableBufferPointer { ls in
                for l in 0..<count {
                    let s = score(l)
                    if filled == n {
                        guard s > threshold else { continue }     // equal scores: the lower list, kept already, wins
                    } else if s.isNaN {
                        continue
                    } else {
                        filled += 1
                    }
                    var i = filled - 1                            // full: the worst kept one drops out
                    while i > 0 && t[i - 1] < s { t[i] = t[i - 1]; ls[i] = ls[i - 1]; i -= 1 }
                    t[i] = s
                    ls[i] = l
                    if filled == n { threshold = t[n - 1] }
                }
            }
        }
        return Array(lists.prefix(filled))
    }
}
