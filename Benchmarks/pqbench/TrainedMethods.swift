import HybridPQ

/// The methods that use a `pqtrain` model: flat-hybrid (the model unquantized, its upper
/// bound), hcq (every level's codes), hcq-coarse (the coarse code alone) and trained-opq /
/// trained-opq4 (8-bit / 4-bit OPQ of the model's continuous coarse embeddings: the post-hoc
/// baselines at equal bytes).
extension Runner {
    func loadModel() throws -> HybridModel {
        guard let path = options.model else { throw UsageError("the trained methods need --model FILE (a pqtrain model)") }
        if let m = loadedModel { return m }
        let m = try HybridModel.load(from: path)
        loadedModel = m
        return m
    }

    func crossViewData() throws -> CrossViewDataSet {
        guard let ds = workload.crossView else {
            throw UsageError("the trained methods need a cross-view data set (--data DIR with queries.npy, or --synthetic)")
        }
        return ds
    }

    /// Model parameters reported in each row.
    func modelParams(_ m: HybridModel) -> [(String, String)] {
        let c = m.configuration
        var p: [(String, String)] = [("mode", c.mode.rawValue), ("M", "\(c.subspaces)"), ("K", "\(c.codewords)"), ("levels", "\(c.levelCount)"),
                                     ("level_weights", m.levelWeights.map { String(format: "%.4g", $0) }.joined(separator: "/"))]
        if let b = m.info["train.bytes"] { p.append(("trained_for_bytes", b)) }
        return p
    }

    func trained(_ method: String) throws -> ResultRow {
        let model = try loadModel()
        let ds = try crossViewData()
        let db = CrossViewBatch(ds, workload.databaseItems), qb = CrossViewBatch(ds, workload.queryItems)
        let build: () throws -> any VectorIndex
        switch method {
        case "flat-hybrid":
            build = {
                let e = try model.targetEmbeddings(db.targets, frames: db.frames)
                var flat = FlatIndex(dimension: e[0].columns * e.count, metric: .innerProduct)
                try flat.add(HybridModel.concatenated(e, weights: [Float](repeating: 1, count: e.count)), ids: nil)
                return ModelSearch(index: flat, queries: qb) { q in
                    HybridModel.concatenated(try model.queryEmbeddings(q.queries, tokens: q.tokens), weights: model.levelWeights)
                }
            }
        default:
            guard model.isQuantized else { throw UsageError("\(options.model!): the model has no quantizers (an interrupted pqtrain run?)") }
            build = {
                var index = try HybridIndex(model: model, coarseOnly: method == "hcq-coarse")
                try index.add(targets: db.targets, frames: db.frames)
                return ModelSearch(hybrid: index, queries: qb)
            }
        }
        // The whole pqtrain run (every candidate shape), else the trainer's own time.
        let seconds = Double(model.info["train.total_seconds"] ?? model.info["train.seconds"] ?? "") ?? 0
        return try measure(method: method, params: modelParams(model), trainSeconds: seconds,
                           build: build)
    }

    /// OPQ (8-bit, M = bytes; or 4-bit fast scan, M = 2·bytes) of the model's continuous coarse
    /// target embeddings of the train split.
    func trainedOPQ(bytes: Int, fourBit: Bool) throws -> ResultRow? {
        let model = try loadModel()
        let ds = try crossViewData()
        let d = model.configuration.dimension
        let method = fourBit ? "trained-opq4" : "trained-opq", b = fourBit ? 2 * bytes : bytes, bits = fourBit ? 4 : 8
        guard d % b == 0, !fourBit || b <= QuantizedLookupTable.maximumSubspaces else {
            log("\(method): skipping \(bytes) bytes: M = \(b) does not divide dimension \(d) or exceeds fast scan's limit")
            return nil
        }
        let t0 = Clock.now()
        let trainItems = CrossViewBatch(ds, ds.split.train)
        let train = try model.targetEmbeddings(trainItems.targets, frames: trainItems.frames)[0]
        var config = OPQ.Configuration(subspaces: b, bitsPerCode: bits)
        config.seed = options.seed
        config.finalPQIterations = options.iterations
        let progress = Progress("\(method) M=\(b): round", enabled: !options.quiet)
        let opq = try OPQ.train(train, config, progress: progress.update)
        let trainSeconds = Clock.now() - t0
        let db = CrossViewBatch(ds, workload.databaseItems), qb = CrossViewBatch(ds, workload.queryItems)
        var params = [("M", "\(b)"), ("K", "\(1 << bits)")]
        if fourBit { params.append(("rerank", "\(options.rerank ?? PQ4Index.defaultRerank(k: options.k))")) }
        return try measure(method: method, params: params, trainSeconds: trainSeconds) {
            var index: any VectorIndex = fourBit
                ? FastScanSearch(index: try PQ4Index(quantizer: opq.quantizer, metric: options.metric ?? .l2), rerank: options.rerank,
                                 kernel: options.kernel, rotation: opq.rotation)
                : try OPQIndex(opq: opq, metric: options.metric ?? .l2)
            try index.add(try model.targetEmbeddings(db.targets, frames: db.frames)[0], ids: nil)
            return ModelSearch(index: index, queries: qb) { q in try model.queryEmbeddings(q.queries, tokens: q.tokens)[0] }
        }
    }
}

/// An index over model embeddings, searched through `VectorIndex` with the workload's raw query
/// features: `search(queries)` takes the first `queries.rows` workload queries (pqbench only ever
/// searches the whole query set or a prefix of it) and runs the model's query heads on them —
/// inside the timed search, as a service would.
struct ModelSearch: VectorIndex {
    /// A hybrid index (it encodes its own queries), or any index over embeddings with the
    /// function that embeds a batch of queries for it.
    enum Backing: Sendable {
        case hybrid(HybridIndex)
        case embedded(any VectorIndex, encode: @Sendable (CrossViewBatch) throws -> Matrix)
    }

    let backing: Backing
    let queries: CrossViewBatch

    init(hybrid: HybridIndex, queries: CrossViewBatch) {
        backing = .hybrid(hybrid)
        self.queries = queries
    }

    init(index: any VectorIndex, queries: CrossViewBatch, encode: @escaping @Sendable (CrossViewBatch) throws -> Matrix) {
        backing = .embedded(index, encode: encode)
        self.queries = queries
    }

    var hybrid: HybridIndex? { if case let .hybrid(h) = backing { return h } else { return nil } }
    var dimension: Int { queries.queries.columns }
    var count: Int {
        switch backing { case let .hybrid(h): return h.count; case let .embedded(i, _): return i.count }
    }
    var metric: Metric {
        switch backing {
        case let .hybrid(h): return h.model.configuration.mode == .joint ? .l2 : .innerProduct
        case let .embedded(i, _): return i.metric
        }
    }
    var bytesPerItem: Int {
        switch backing { case let .hybrid(h): return h.bytesPerItem; case let .embedded(i, _): return i.bytesPerItem }
    }
    var memoryBytes: Int {
        switch backing { case let .hybrid(h): return h.memoryBytes; case let .embedded(i, _): return i.memoryBytes }
    }
    mutating func add(_ vectors: Matrix, ids: [Int64]?) throws(IndexError) {
        throw .unsupported("items are added to a model index by the runner")
    }
    func search(_ q: Matrix, k: Int, threads: Int?) throws(IndexError) -> SearchResults {
        let prefix = CrossViewBatch(queries: queries, first: q.rows)
        switch backing {
        case let .hybrid(h):
            return try h.search(queries: prefix.queries, tokens: prefix.tokens, k: k, threads: threads)
        case let .embedded(index, encode):
            let e: Matrix
            do { e = try encode(prefix) } catch { throw .unsupported("query encoding failed: \(error)") }
            return try index.search(e, k: k, threads: threads)
        }
    }
}

extension CrossViewBatch {
    /// The first `n` items of `b`.
    init(queries b: CrossViewBatch, first n: Int) {
        self = b
        if n < b.queries.rows {
            queries = b.queries.slicing(rows: 0..<n)
            targets = b.targets.slicing(rows: 0..<n)
            tokens = b.tokens.map { $0.gathering(items: Array(0..<n)) }
            frames = b.frames.map { $0.gathering(items: Array(0..<n)) }
        }
    }
}
