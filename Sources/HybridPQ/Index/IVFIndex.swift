/// An inverted-file index (IVF, FAISS's `IndexIVFPQ` / `IndexIVFPQFastScan` layout): a coarse
/// quantizer of `nlist` centroids partitions the items, each list is one run of a code store
/// (8-bit PQ rows or 4-bit fast-scan blocks), and a query scans only the runs of its `nprobe`
/// nearest centroids through the same search pipeline (tables → scan → re-ranking → top-k).
///
/// Codes are of the items themselves by default, so one set of lookup tables per query serves
/// every list it probes; with `residual` they are of x − c, one table per query and list. A
/// batch of queries is one pass of the pipeline over all lists, each query scanning only its
/// probed runs
/// (`SearchParameters.probedRuns`): tables are built together and each list's codes are read
/// once per core for every query that probes it. Saved as its own checksummed file kind (`ivf`,
/// mappable: every list a view of one mapping).
///
/// The lists may also hold a trained model's codes (`init(centroids:model:)`, pqbench's
/// `ivf-hcq`): items and queries pass through the model's heads, the coarse level's embedding
/// picks the lists, and the codes are the model's own (every level, scored as `HybridIndex`
/// scores them; file kind `ivf-hcq`). Residual codes are an option (`residual`); spilling was
/// measured and not kept (docs/BENCHMARKS.md).
public struct IVFIndex: VectorIndex {
    /// The coarse centroids (`nlist` × D).
    public let centroids: Matrix
    let centroidNorms: [Float]
    /// The centroids transposed (D × nlist): one query's coarse products as nlist-wide sweeps.
    let transposedCentroids: [Float]
    enum Lists: Sendable {
        case pq(PQIndex)
        case pq4(PQ4Index)
        /// A trained model's codes; centroids live in its coarse embedding space.
        case hybrid(HybridIndex)
    }
    /// The codes, list l in run l of the inner index's store.
    var lists: Lists
    /// Principal-direction projections of the centroids for the projected coarse step, built
    /// at first use (`SearchParameters.coarseDimensions`).
    let projections = CoarseProjectionCache()
    /// Whether the codes are of each item's residual to its list's centroid (x − c), not of
    /// the item (`init(centroids:quantizer:metric:residual:)`).
    public private(set) var residual = false

    /// An empty index over `centroids` with codes of `quantizer` (8-bit: ADC rows; 4-bit: fast
    /// scan with exact re-ranking). With `residual`, the codes are of x − c (the quantizer
    /// should be trained on such residuals): the 16 bytes spend nothing on where the list lies,
    /// and a query's tables are of q − c for each list it probes (`IVFIndex+Residual`).
    public init(centroids: Matrix, quantizer: ProductQuantizer, metric: Metric = .l2, residual: Bool = false) throws(IndexError) {
        try Self.check(centroids, dimension: quantizer.dimension)
        if quantizer.bitsPerCode == 4 {
            let empty = try PQ4Index(quantizer: quantizer, metric: metric)
            self.init(centroids: centroids, lists: .pq4(try PQ4Index(quantizer: quantizer, metric: metric,
                                                                      store: CodeStore(layout: empty.store.layout, emptyRuns: centroids.rows))))
        } else {
            self.init(centroids: centroids, lists: .pq(try PQIndex(quantizer: quantizer, metric: metric,
                                                                    store: CodeStore(layout: .rows(bytesPerItem: quantizer.subspaces), emptyRuns: centroids.rows))))
        }
        self.residual = residual
    }

    /// An empty index over `centroids` (in `model`'s coarse embedding space: k-means of the
    /// coarse target embeddings) holding the model's codes (`coarseOnly`: the coarse level alone).
    public init(centroids: Matrix, model: HybridModel, coarseOnly: Bool = false) throws(IndexError) {
        try Self.check(centroids, dimension: model.configuration.dimension)
        var codes = try HybridIndex(model: model, coarseOnly: coarseOnly)
        codes.store = CodeStore(layout: codes.store.layout, emptyRuns: centroids.rows)
        self.init(centroids: centroids, lists: .hybrid(codes))
    }

    /// At least one centroid, of `dimension` columns, all finite.
    static func check(_ centroids: Matrix, dimension: Int) throws(IndexError) {
        guard centroids.rows >= 1, centroids.columns == dimension else {
            throw .dimensionMismatch(expected: dimension, found: centroids.columns)
        }
        if let bad = centroids.values.firstIndex(where: { !$0.isFinite }) { throw .nonFinite(row: bad / centroids.columns) }
    }

    /// Checked centroids and their empty lists, with what the coarse step derives from them.
    private init(centroids: Matrix, lists: Lists) {
        self.centroids = centroids
        centroidNorms = centroids.rowSquaredNorms()
        transposedCentroids = centroids.transposed().values
        self.lists = lists
    }

    /// Coarse centroids for `lists` lists: k-means of `sample` (which needs at least `lists` rows),
    /// seeded by `initialization` (k-means++ costs lists × rows × D sequential work before the
    /// first iteration: minutes at thousands of lists, where FAISS's random seeding does not);
    /// `progress(iteration, iterations)` after each Lloyd iteration.
    public static func trainCentroids(_ sample: Matrix, lists: Int, seed: UInt64 = 1,
                                      initialization: KMeans.Initialization = .kMeansPlusPlus,
                                      progress: (Int, Int) -> Void = { _, _ in }) throws(IndexError) -> Matrix {
        guard lists >= 1, lists <= sample.rows else {
            throw .invalidParameter(name: "nlist", value: lists, reason: "must be in 1...\(sample.rows), the training sample's size")
        }
        var config = KMeans.Configuration(clusters: lists)
        config.seed = seed
        config.initialization = initialization
        do { return try KMeans(config).fit(sample, progress: progress).centroids } catch {
            throw .unsupported("coarse k-means: \(error)")
        }
    }

    /// Lists.
    public var nlist: Int { centroids.rows }
    /// The dimension of items and queries (a model's raw feature dimension for model lists).
    public var dimension: Int {
        if case let .hybrid(i) = lists { return i.dimension }
        return centroids.columns
    }
    public var count: Int { store.count }
    public var metric: Metric {
        switch lists { case let .pq(i): return i.metric; case let .pq4(i): return i.metric; case let .hybrid(i): return i.metric }
    }
    public var bytesPerItem: Int { store.layout.bytesPerItem }
    public var memoryBytes: Int {
        let inner: Int
        switch lists { case let .pq(i): inner = i.memoryBytes; case let .pq4(i): inner = i.memoryBytes; case let .hybrid(i): inner = i.memoryBytes }
        return 2 * centroids.values.count * 4 + inner
    }
    public var automaticIdStart: Int64 { store.largestId + 1 }
    public func firstStoredId(in set: Set<Int64>) -> Int64? { store.firstId(in: set) }
    /// Items in each list.
    public var listSizes: [Int] { store.runs.map(\.count) }

    var store: CodeStore {
        switch lists { case let .pq(i): return i.store; case let .pq4(i): return i.store; case let .hybrid(i): return i.store }
    }
    /// The product quantizer of PQ lists (nil for a model's codes).
    var quantizer: ProductQuantizer? {
        switch lists { case let .pq(i): return i.quantizer; case let .pq4(i): return i.quantizer; case .hybrid: return nil }
    }
    /// The model of model lists.
    var model: HybridModel? { if case let .hybrid(i) = lists { return i.model } else { return nil } }

    /// The nearest centroid of each row (L2; ties to the lower list): k-means' assignment step,
    /// one sgemm per block and the arg-min on all cores (a 10M-item build spends most of its
    /// time here).
    func assign(_ x: Matrix) -> [Int] {
        KMeans.labels(x, to: centroids).map(Int.init)
    }

    /// Sets the lists' store (same layout).
    mutating func replaceStore(_ s: CodeStore) {
        switch lists {
        case var .pq(i): i.store = s; lists = .pq(i)
        case var .pq4(i): i.store = s; lists = .pq4(i)
        case var .hybrid(i): i.store = s; lists = .hybrid(i)
        }
    }

    public mutating func add(_ items: FeatureBatch, ids newIds: [Int64]?) throws(IndexError) {
        try validate(items.vectors)
        let ids = try resolveIds(newIds, count: items.count)
        if residual { return try addResiduals(items.vectors, ids: ids) }
        let (coarse, codes) = try encoded(items)
        try append(codes: codes, ids: ids, lists: assign(coarse))
    }

    /// Appends item i (code i, id i) to list `lists[i]`.
    mutating func append(codes: [UInt8], ids: [Int64], lists labels: [Int]) throws(IndexError) {
        let m = store.layout.subspaces
        var members = [[Int]](repeating: [], count: nlist)
        for (i, l) in labels.enumerated() { members[l].append(i) }
        var s = store
        try s.append(toRuns: members.enumerated().filter { !$0.element.isEmpty }.map { l, rows in
            (l, rows.flatMap { codes[($0 * m)..<(($0 + 1) * m)] }, rows.map { ids[$0] })
        })
        replaceStore(s)
    }

    /// Items as the coarse quantizer sees them (the vectors, or a model's coarse target
    /// embeddings) and their stored sub-codes.
    func encoded(_ items: FeatureBatch) throws(IndexError) -> (Matrix, [UInt8]) {
        switch lists {
        case let .pq(i): do { return (items.vectors, try i.quantizer.encode(items.vectors)) } catch { throw .quantizer(error) }
        case let .pq4(i): do { return (items.vectors, try i.quantizer.encode(items.vectors)) } catch { throw .quantizer(error) }
        case let .hybrid(i):
            let e: [Matrix]
            do { e = try i.model.targetEmbeddings(items.vectors, frames: items.sequences) } catch { throw .model(error) }
            return (e[0], try i.codes(embeddings: e))
        }
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
        // A model's lists are probed with the queries' coarse embeddings.
        var embeddings: [Matrix] = []
        if case let .hybrid(i) = lists {
            do { embeddings = try i.model.queryEmbeddings(q, tokens: queries.sequences, quantized: true) } catch { throw .model(error) }
        }
        // Each query's probed lists: the nprobe nearest centroids by a top-k over the coarse
        // scores (not a sort of all lists).
        let coarse = embeddings.first ?? q
        let probed: [[Int]]
        if let dp = p.coarseDimensions {
            guard dp >= 1, dp <= coarse.columns else {
                throw .invalidParameter(name: "coarseDimensions", value: dp, reason: "must be in 1...\(coarse.columns) (the coarse space's dimension)")
            }
            if let c = p.coarseCandidates, c < 1 { throw .invalidParameter(name: "coarseCandidates", value: c, reason: "must be ≥ 1") }
            probed = try nearestListsProjected(coarse, count: nprobe, dimensions: dp, candidates: p.coarseCandidates,
                                               innerProduct: metric == .innerProduct, threads: p.threads)
        } else {
            probed = nearestLists(coarse, count: nprobe, innerProduct: metric == .innerProduct, threads: p.threads)
        }
        if residual { return try searchResiduals(q, probed: probed, parameters: p) }
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
        case let .hybrid(i): return try i.search(embeddings: embeddings, parameters: inner)
        }
    }
}
