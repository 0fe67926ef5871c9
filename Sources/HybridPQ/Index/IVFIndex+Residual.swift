/// Residual lists (`IVFIndex.residual`): each item's code is of x − c, its list's centroid
/// subtracted, so the code's bytes describe where the item lies within its list rather than
/// where the list lies (FAISS's `by_residual`; docs/BENCHMARKS.md has both ways measured).
///
/// A query probing list l is the query q − c_l on list l alone: the search turns each (query,
/// probed list) pair into one row of a batch whose probed runs are that one list, runs it
/// through the same pipeline (tables of that row, scan, exact re-ranking), and merges each
/// query's rows by (score, id). The re-ranked scores are exact for the reconstruction
/// c_l + r̂: −‖(q − c_l) − r̂‖² = −‖q − (c_l + r̂)‖² for L2, so rows of one query compare as
/// they are; for inner product a row is q itself, scored ⟨q, r̂⟩, and ⟨q, c_l⟩ is added at the
/// merge. Tables are built per row: D × K multiply-adds each (6,144 for 4-bit codes at
/// D = 384); the query's re-ranking depth is shared by its rows (R / nprobe each, at least k).
extension IVFIndex {
    /// Rows of a residual batch at most (the rows are D floats each; a chunk of queries at a time).
    static let residualRows = 65_536

    /// Each row of `x` minus its nearest centroid (L2, ties to the lower list), and that
    /// centroid's list: what residual lists store, and what their quantizer is trained on.
    public static func residuals(of x: Matrix, to centroids: Matrix) -> (residuals: Matrix, lists: [Int]) {
        let labels = KMeans.labels(x, to: centroids).map(Int.init)
        var r = x
        let d = x.columns
        r.values.withUnsafeMutableBufferPointer { rv in
            centroids.values.withUnsafeBufferPointer { cv in
                for i in 0..<x.rows {
                    let l = labels[i]
                    for j in 0..<d { rv[i * d + j] -= cv[l * d + j] }
                }
            }
        }
        return (r, labels)
    }

    /// Adds items as residuals to their nearest centroid.
    mutating func addResiduals(_ x: Matrix, ids: [Int64]) throws(IndexError) {
        guard let quantizer else { throw .unsupported("residual lists hold product-quantizer codes") }
        let (r, labels) = Self.residuals(of: x, to: centroids)
        let codes: [UInt8]
        do { codes = try quantizer.encode(r) } catch { throw .quantizer(error) }
        try append(codes: codes, ids: ids, lists: labels)
    }

    /// Each query's results over its probed lists, row by row (one row per query and list).
    func searchResiduals(_ q: Matrix, probed: [[Int]], parameters p: SearchParameters) throws(IndexError) -> SearchResults {
        let d = q.columns, innerProduct = metric == .innerProduct
        var out = SearchResults(queries: q.rows, k: p.k)
        let perChunk = max(1, Self.residualRows / max(1, probed.map(\.count).max() ?? 1))
        var first = 0
        while first < q.rows {
            let end = min(q.rows, first + perChunk)
            var owner: [Int] = [], runs: [[Int]] = [], bias: [Float] = [], values: [Float] = []
            q.values.withUnsafeBufferPointer { qv in
                centroids.values.withUnsafeBufferPointer { cv in
                    for i in first..<end {
                        for l in probed[i] {
                            owner.append(i)
                            runs.append([l])
                            let qi = qv.baseAddress! + i * d, cl = cv.baseAddress! + l * d
                            if innerProduct {
                                values.append(contentsOf: UnsafeBufferPointer(start: qi, count: d))
                                bias.append(Self.dot(qi, cl, d))
                            } else {
                                for j in 0..<d { values.append(qi[j] - cl[j]) }
                                bias.append(0)
                            }
                        }
                    }
                }
            }
            var inner = p
            inner.nprobe = nil
            inner.coarseDimensions = nil
            inner.probedRuns = runs
            // The query's re-ranking depth shared by its rows (each row re-ranks its own list's
            // candidates: R per row would re-rank nprobe × R per query).
            let probes = max(1, probed[first].count)
            inner.rerank = max(p.k, p.rerankDepth / probes)
            let rows = FeatureBatch(Matrix(rows: owner.count, columns: d, values: values))
            let r: SearchResults
            switch lists {
            case let .pq(i): r = try i.search(rows, parameters: inner)
            case let .pq4(i): r = try i.search(rows, parameters: inner)
            case .hybrid: throw .unsupported("residual lists hold product-quantizer codes")
            }
            var merged = [TopK](repeating: TopK(k: p.k), count: end - first)
            for v in 0..<owner.count {
                let ids = r.ids(ofQuery: v), scores = r.scores(ofQuery: v)
                for j in 0..<r.k where ids[j] >= 0 { merged[owner[v] - first].offer(score: scores[j] + bias[v], id: ids[j]) }
            }
            out.store(merged, from: first)
            first = end
        }
        return out
    }
}
