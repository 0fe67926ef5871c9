/// An inverted-file index (IVF, FAISS's `IndexIVFPQ` / `IndexIVFPQFastScan` layout): a coarse
/// quantizer of `nlist` centroids partitions the items, each list is one run of a code store
/// (8-bit PQ rows or 4-bit fast-scan blocks), and a query scans only the runs of its `nprobe`
/// nearest centroids through the same search pipeline (tables → scan → re-ranking → top-k).
///
/// Codes are of the items themselves (not of residuals to their centroid), so one set of
/// lookup tables per query serves every list it probes. A batch of queries is one pass of the
/// pipeline over all lists, each query scanning only its probed runs
/// (`SearchParameters.probedRuns`): tables are built together and each list's codes are read
/// once per core for every query that probes it. Saved as its own checksummed file kind (`ivf`,
/// mappable: every list a view of one mapping). Not built yet (issue 12): residual codes,
/// spilling, learned codes inside the lists.
public struct IVFIndex: VectorIndex {
    /// The coarse centroids (`nlist` × D).
    public let centroids: Matrix
    let centroidNorms: [Float]
    enum Lists: Sendable {
        case pq(PQIndex)
        case pq4(PQ4Index)
    }
    /// The codes, list l in run l of the inner index's store.
    var lists: Lists

    /// An empty index over `centroids` with codes of `quantizer` (8-bit: ADC rows; 4-bit: fast
    /// scan with exact re-ranking).
    public init(centroids: Matrix, quantizer: ProductQuantizer, metric: Metric = .l2) throws(IndexError) {
        guard centroids.rows >= 1, centroids.columns == quantizer.dimension else {
            throw .dimensionMismatch(expected: quantizer.dimension, found: centroids.columns)
        }
        if let bad = centroids.values.firstIndex(where: { !$0.isFinite }) { throw .nonFinite(row: bad / centroids.columns) }
        self.centroids = centroids
        centroidNorms = centroids.rowSquaredNorms()
        if quantizer.bitsPerCode == 4 {
            let empty = try PQ4Index(quantizer: quantizer, metric: metric)
            lists = .pq4(try PQ4Index(quantizer: quantizer, metric: metric, store: CodeStore(layout: empty.store.layout, emptyRuns: centroids.rows)))
        } else {
            lists = .pq(try PQIndex(quantizer: quantizer, metric: metric,
                                    store: CodeStore(layout: .rows(bytesPerItem: quantizer.subspaces), emptyRuns: centroids.rows)))
        }
    }

    /// Coarse centroids for `lists` lists: k-means of `sample` (which needs at least `lists` rows).
    public static func trainCentroids(_ sample: Matrix, lists: Int, seed: UInt64 = 1) throws(IndexError) -> Matrix {
        guard lists >= 1, lists <= sample.rows else {
            throw .invalidParameter(name: "nlist", value: lists, reason: "must be in 1...\(sample.rows), the training sample's size")
        }
        var config = KMeans.Configuration(clusters: lists)
        config.seed = seed
        do { return try KMeans(config).fit(sample).centroids } catch {
            throw .unsupported("coarse k-means: \(error)")
        }
    }

    /// Lists.
    public var nlist: Int { centroids.rows }
    public var dimension: Int { centroids.columns }
    public var count: Int { store.count }
    public var metric: Metric { switch lists { case let .pq(i): return i.metric; case let .pq4(i): return i.metric } }
    public var bytesPerItem: Int { store.layout.bytesPerItem }
    public var memoryBytes: Int {
        let inner: Int
        switch lists { case let .pq(i): inner = i.memoryBytes; case let .pq4(i): inner = i.memoryBytes }
        return centroids.values.count * 4 + inner
    }
    public var automaticIdStart: Int64 { store.largestId + 1 }
    public func firstStoredId(in set: Set<Int64>) -> Int64? { store.firstId(in: set) }
    /// Items in each list.
    public var listSizes: [Int] { store.runs.map(\.count) }

    var store: CodeStore { switch lists { case let .pq(i): return i.store; case let .pq4(i): return i.store } }
    var quantizer: ProductQuantizer { switch lists { case let .pq(i): return i.quantizer; case let .pq4(i): return i.quantizer } }

    /// Coarse score matrices hold at most this many floats (32 MiB): a batch of 1M rows against
    /// 4,096 centroids scored at once took 16 GiB.
    static let coarseBlockFloats = 8 << 20

    /// Calls `body(row, scores)` for every row of `x` with its L2 coarse scores
    /// `2⟨x, c⟩ − ‖c‖²` against every centroid (larger is nearer), a bounded block of rows
    /// scored at a time (one sgemm per block).
    func forEachCoarseScores(_ x: Matrix, _ body: (Int, UnsafeBufferPointer<Float>) -> Void) {
        let block = max(1, Self.coarseBlockFloats / max(1, nlist))
        var scores = [Float](repeating: 0, count: nlist)
        var start = 0
        while start < x.rows {
            let end = min(x.rows, start + block)
            let s = x.slicing(rows: start..<end).multipliedTransposed(centroids)
            s.values.withUnsafeBufferPointer { v in
                centroidNorms.withUnsafeBufferPointer { norms in
                    scores.withUnsafeMutableBufferPointer { out in
                        for i in 0..<(end - start) {
                            for c in 0..<nlist { out[c] = 2 * v[i * nlist + c] - norms[c] }
                            body(start + i, UnsafeBufferPointer(out))
                        }
                    }
                }
            }
            start = end
        }
    }

    /// The nearest centroid of each row (L2).
    func assign(_ x: Matrix) -> [Int] {
        var out = [Int](repeating: 0, count: x.rows)
        forEachCoarseScores(x) { row, scores in
            var best = 0, top = -Float.infinity
            for c in 0..<scores.count where scores[c] > top { top = scores[c]; best = c }
            out[row] = best
        }
        return out
    }

    /// Sets the lists' store (same layout).
    mutating func replaceStore(_ s: CodeStore) {
        switch lists {
        case var .pq(i): i.store = s; lists = .pq(i)
        case var .pq4(i): i.store = s; lists = .pq4(i)
        }
    }

    public mutating func add(_ items: FeatureBatch, ids newIds: [Int64]?) throws(IndexError) {
        let x = items.vectors
        try validate(x)
        let ids = try resolveIds(newIds, count: x.rows)
        let codes: [UInt8]
        do { codes = try quantizer.encode(x) } catch { throw .quantizer(error) }
        let m = quantizer.subspaces
        var members = [[Int]](repeating: [], count: nlist)
        for (i, l) in assign(x).enumerated() { members[l].append(i) }
        var s = store
        try s.append(toRuns: members.enumerated().filter { !$0.element.isEmpty }.map { l, rows in
            (l, rows.flatMap { codes[($0 * m)..<(($0 + 1) * m)] }, rows.map { ids[$0] })
        })
        replaceStore(s)
    }

    /// Each query scans the lists of its `parameters.nprobe` (default 1) nearest centroids.
    /// - Throws: `.invalidParameter` for nprobe outside 1...nlist.
    public func search(_ queries: FeatureBatch, parameters: SearchParameters) throws(IndexError) -> SearchResults {
        let q = queries.vectors
        try validate(q)
        try parameters.validate()
        let nprobe = parameters.nprobe ?? 1
        guard nprobe >= 1, nprobe <= nlist else {
            throw .invalidParameter(name: "nprobe", value: nprobe, reason: "must be in 1...\(nlist) (nlist)")
        }
        let p = parameters.capped(items: count)
        guard count > 0 else { return SearchResults(queries: q.rows, k: p.k) }
        // Each query's probed lists: the nprobe nearest centroids by a top-k over the coarse
        // scores (not a sort of all lists).
        var probed = [[Int]](repeating: [], count: q.rows)
        forEachCoarseScores(q) { row, scores in
            var nearest = TopK(k: nprobe)
            for l in 0..<scores.count { nearest.offer(score: scores[l], id: Int64(l)) }
            probed[row] = nearest.sorted().map { Int($0.id) }
        }
        // One pass of the pipeline for the whole batch over every list (the store's runs), each
        // query scanning only its probed runs: tables built together, each list's codes read
        // once per core for all the queries that probe it (`ParallelSearch`).
        var inner = p
        inner.nprobe = nil
        inner.probedRuns = probed
        // The inner index caps k at the same count: its results are these.
        switch lists {
        case let .pq(i): return try i.search(queries, parameters: inner)
        case let .pq4(i): return try i.search(queries, parameters: inner)
        }
    }
}
