/// Exact search over uncompressed float vectors: the recall upper bound every quantized index
/// is measured against. Scores come from BLAS matrix products over blocks of the database, so
/// memory stays bounded however large the batch or the database.
public struct FlatIndex: VectorIndex {
    public let dimension: Int
    public let metric: Metric
    /// `count × dimension` vectors, row-major.
    public internal(set) var vectors: StoredArray<Float>
    /// Squared norm of each vector (for L2).
    public internal(set) var squaredNorms: StoredArray<Float>
    /// External id of each vector.
    public internal(set) var ids: StoredArray<Int64>

    /// An empty index.
    public init(dimension: Int, metric: Metric = .innerProduct) {
        precondition(dimension > 0, "dimension must be positive")
        self.dimension = dimension
        self.metric = metric
        vectors = StoredArray()
        squaredNorms = StoredArray()
        ids = StoredArray()
    }

    public var count: Int { ids.count }
    /// The largest id stored (−1 when empty).
    var largestId: Int64 = -1
    /// Above every id stored: automatic ids never collide with chosen ones.
    public var automaticIdStart: Int64 { largestId + 1 }
    public func firstStoredId(in set: Set<Int64>) -> Int64? { ids.withUnsafeBufferPointer { $0.first(where: set.contains) } }
    public var bytesPerItem: Int { dimension * MemoryLayout<Float>.size }
    public var memoryBytes: Int { count * (bytesPerItem + 4 + 8) }

    public mutating func add(_ items: FeatureBatch, ids newIds: [Int64]?) throws(IndexError) {
        let batch = items.vectors
        try validate(batch)
        let resolved = try resolveIds(newIds, count: batch.rows)
        vectors.append(contentsOf: batch.values)
        squaredNorms.append(contentsOf: batch.rowSquaredNorms())
        ids.append(contentsOf: resolved)
        largestId = max(largestId, resolved.max() ?? -1)
    }

    /// Database rows per BLAS block.
    static let databaseBlock = 8192
    /// Queries per BLAS block.
    static let queryBlock = 256

    /// Exact search: BLAS scores of query blocks against database blocks, offered to one `TopK`
    /// per query (with the filter as its accept hook).
    public func search(_ batch: FeatureBatch, parameters p: SearchParameters) throws(IndexError) -> SearchResults {
        let queries = batch.vectors
        try validate(queries)
        try p.validate()
        let k = p.capped(items: count).k, threadCount = p.threads
        let nq = queries.rows, n = count, d = dimension
        var results = SearchResults(queries: nq, k: k)
        guard nq > 0, n > 0 else { return results }
        let qn = queries.rowSquaredNorms()
        let l2 = metric == .l2
        let accept = p.filter.map(AcceptHook.init)
        // Bounded by the batch: one query needs one database block of scores, not 256.
        var scratch = [Float](repeating: 0, count: min(Self.queryBlock, nq) * min(Self.databaseBlock, n))
        vectors.withUnsafeBufferPointer { x in
            squaredNorms.withUnsafeBufferPointer { xn in
                ids.withUnsafeBufferPointer { idp in
                    queries.values.withUnsafeBufferPointer { q in
                        var qs = 0
                        while qs < nq {
                            let qb = min(Self.queryBlock, nq - qs)
                            var tops = [TopK](repeating: TopK(k: k, accept: accept), count: qb)
                            var ds = 0
                            while ds < n {
                                let db = min(Self.databaseBlock, n - ds)
                                let (qs0, ds0) = (qs, ds)
                                scratch.withUnsafeMutableBufferPointer { s in
                                    BLAS.gemmABt(m: qb, n: db, k: d, alpha: l2 ? 2 : 1, a: q.baseAddress! + qs0 * d, lda: d,
                                                 b: x.baseAddress! + ds0 * d, ldb: d, c: s.baseAddress!, ldc: db)
                                    let shared = UncheckedSendable((s.baseAddress!, xn.baseAddress!, idp.baseAddress!))
                                    tops.withUnsafeMutableBufferPointer { tb in
                                        let t = UncheckedSendable(tb.baseAddress!)
                                        parallelChunks(count: qb, threads: threadCount, minimumChunk: 8) { range in
                                            let (s, xn, idp) = shared.value
                                            for i in range {
                                                let row = s + i * db
                                                if l2 {
                                                    let c = qn[qs0 + i]
                                                    for j in 0..<db { row[j] -= xn[ds0 + j] + c }
                                                }
                                                t.value[i].offer(scores: row, count: db, ids: idp + ds0)
                                            }
                                        }
                                    }
                                }
                                ds += db
                            }
                            results.store(tops, from: qs)
                            qs += qb
                        }
                    }
                }
            }
        }
        return results
    }
}
