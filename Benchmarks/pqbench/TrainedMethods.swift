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

    /// The queries of the workload with their tokens, as the trained indexes take them.
    func modelQueries(_ ds: CrossViewDataSet) -> FeatureBatch {
        let items = workload.queryItems
        return FeatureBatch(ds.queries.gathering(rows: items), sequences: ds.queryTokens?.gathering(items: items))
    }

    /// The database targets of the workload with their frames.
    func modelItems(_ ds: CrossViewDataSet, _ items: [Int]? = nil) -> FeatureBatch {
        let items = items ?? workload.databaseItems
        return FeatureBatch(ds.targets.gathering(rows: items), sequences: ds.frames?.gathering(items: items))
    }

    func trained(_ method: Method) throws -> ResultRow {
        let model = try loadModel()
        let ds = try crossViewData()
        let items = modelItems(ds)
        // The whole pqtrain run (every candidate shape), else the trainer's own time.
        let seconds = Double(model.info["train.total_seconds"] ?? model.info["train.seconds"] ?? "") ?? 0
        if method == .flatHybrid {
            let c = model.configuration
            let flat = FlatIndex(dimension: c.dimension * c.levelCount, metric: .innerProduct)
            return try measure(method, params: modelParams(model), trainSeconds: seconds, queries: modelQueries(ds)) {
                var index = try ModelEmbeddingIndex(model: model, levels: .concatenated, base: flat)
                try index.add(items, ids: nil)
                return index
            }
        }
        guard model.isQuantized else { throw UsageError("\(options.model!): the model has no quantizers (an interrupted pqtrain run?)") }
        return try measure(method, params: modelParams(model), trainSeconds: seconds, queries: modelQueries(ds)) { () throws -> AnyIndex in
            var index = try HybridIndex(model: model, coarseOnly: method == .hcqCoarse)
            try index.add(items, ids: nil)
            return .hybrid(index)
        }
    }

    /// dns: the model's hot code scanned for every query, its `--rerank` best candidates (default
    /// 10 · k) re-scored with the hybrid score from the cold store of frame codes.
    func twoStage(fraction: Double?) throws -> ResultRow {
        let model = try loadModel()
        guard var fine = model.fine else {
            throw MethodError("\(options.model!): the model has no fine stage (frame quantizer and λ); train it with pqtrain --fine")
        }
        let ds = try crossViewData()
        guard ds.queryTokens != nil, ds.frames != nil else {
            throw MethodError("dns needs the data set's query_tokens.npy and frames.npy")
        }
        let seconds = Double(model.info["fine.seconds"] ?? "") ?? 0
        var params = modelParams(model) + [("rerank", "\(options.rerank ?? SearchParameters.defaultRerank(k: options.k))"),
                                           ("frame_bytes", "\(fine.frameQuantizer.quantizer.subspaces)"),
                                           ("refine_bytes", "\(fine.coarseRefiner?.subspaces ?? 0)"),
                                           ("fine_weight", String(format: "%g", fine.weight))]
        if let fraction {
            guard fine.selector != nil else { throw MethodError("\(options.model!): the model has no selector; train it with pqtrain --fine") }
            if options.gapSelector { fine.selector = fine.gapSelector }
            params += [("rerank_fraction", String(format: "%g", fraction)), ("selector", options.gapSelector ? "gap" : "learned")]
        }
        fineFraction = fraction
        defer { fineFraction = nil }
        let method: Method = fraction == nil ? .dns : .dnsSelect
        return try measure(method, params: params, trainSeconds: seconds, queries: modelQueries(ds)) {
            var index = try TwoStageIndex(model: model, fine: fine)
            try index.add(modelItems(ds), ids: nil)
            return index
        }
    }

    /// flat-fine: the float hybrid score over every item, the upper bound of dns.
    func flatFine() throws -> ResultRow {
        let model = try loadModel()
        guard let fine = model.fine else {
            throw MethodError("\(options.model!): the model has no fine stage; train it with pqtrain --fine")
        }
        let ds = try crossViewData()
        return try measure(.flatFine, params: modelParams(model) + [("fine_weight", String(format: "%g", fine.weight))],
                           trainSeconds: Double(model.info["fine.seconds"] ?? "") ?? 0, queries: modelQueries(ds)) {
            var index = try FlatFineIndex(model: model, fine: fine)
            try index.add(modelItems(ds), ids: nil)
            return index
        }
    }

    /// ivf-hcq: the model's codes (every level, as hcq scans them) in IVF lists: coarse
    /// centroids are k-means of the train split's coarse target embeddings, queries probe with
    /// their coarse query embeddings; one row per `--nprobe` value.
    func ivfTrained() throws -> [ResultRow] {
        let model = try loadModel()
        guard model.isQuantized else { throw UsageError("\(options.model!): the model has no quantizers (an interrupted pqtrain run?)") }
        let ds = try crossViewData()
        let t0 = Clock.now()
        let trainItems = modelItems(ds, ds.split.train)
        let train = try model.targetEmbeddings(trainItems.vectors, frames: trainItems.sequences)[0]
        let items = modelItems(ds)
        let nlist = defaultLists(items: items.count, sample: train.rows)
        let centroids = try trainCoarse(Method.ivfHCQ.rawValue, train, nlist: nlist)
        let trainSeconds = Clock.now() - t0
        let t1 = Clock.now()
        var index = try IVFIndex(centroids: centroids, model: model)
        try index.add(items, ids: nil)
        let buildSeconds = Clock.now() - t1
        return try probeRows(.ivfHCQ, index, nlist: nlist, params: modelParams(model), trainSeconds: trainSeconds,
                             buildSeconds: buildSeconds, queries: modelQueries(ds))
    }

    /// OPQ (8-bit, M = bytes; or 4-bit fast scan, M = 2·bytes) of the model's continuous coarse
    /// target embeddings of the train split.
    func trainedOPQ(_ method: Method, shape: (subspaces: Int, bits: Int)) throws -> ResultRow {
        let model = try loadModel()
        let ds = try crossViewData()
        let b = shape.subspaces, bits = shape.bits
        let t0 = Clock.now()
        let trainItems = modelItems(ds, ds.split.train)
        let train = try model.targetEmbeddings(trainItems.vectors, frames: trainItems.sequences)[0]
        guard case let (_, opq?) = try trainQuantizer(method, subspaces: b, bits: bits, on: train) else {
            throw MethodError("\(method.rawValue) is not a rotated method")
        }
        let trainSeconds = Clock.now() - t0
        let items = modelItems(ds)
        let metric = options.metric ?? .l2
        let params = [("M", "\(b)"), ("K", "\(1 << bits)")] + fastScanParams(method)
        if method.fastScan {
            return try measure(method, params: params, trainSeconds: trainSeconds, queries: modelQueries(ds)) {
                var index = try ModelEmbeddingIndex(model: model, levels: .coarse, base: OPQ4Index(opq: opq, metric: metric))
                try index.add(items, ids: nil)
                return index
            }
        }
        return try measure(method, params: params, trainSeconds: trainSeconds, queries: modelQueries(ds)) {
            var index = try ModelEmbeddingIndex(model: model, levels: .coarse, base: OPQIndex(opq: opq, metric: metric))
            try index.add(items, ids: nil)
            return index
        }
    }
}

/// A method that cannot run with what it was given (names the file and what it lacks).
struct MethodError: Error, CustomStringConvertible {
    var description: String
    init(_ description: String) { self.description = description }
}

/// Indexes with bytes read only for re-ranked candidates (reported as `cold_bytes_per_item`).
protocol ColdBytes { var coldBytesPerItem: Double { get } }
extension TwoStageIndex: ColdBytes {}
extension FlatFineIndex: ColdBytes {}
