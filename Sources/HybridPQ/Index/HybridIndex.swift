/// The HCQ index: per item one PQ code per level (coarse + L GhostVLAD levels, or the coarse
/// level alone), searched with one float lookup table per level built from the query's
/// continuous level embeddings.
///
/// The score Σ_l w_l · ADC_l(q, item) is one table lookup per sub-code: the level tables, each
/// scaled by its weight, are laid side by side as one (levels·M) × K table (`LevelTables`) and
/// an item's codes side by side as (levels·M) sub-codes. So the index is a thin composition —
/// the model's heads as the query transform, a `CodeStore`, and the one `CodeSearcher` — and
/// the code width only picks the store's layout: 8-bit codes are rows scanned by ADC, 4-bit
/// codes (joint mode, coarse level) fast-scan blocks re-ranked with the exact tables.
public struct HybridIndex: VectorIndex {
    /// The trained, quantized model (query heads, level quantizers, level weights).
    public let model: HybridModel
    /// Levels stored and scored, in order (all levels, or `[0]` for the coarse code alone).
    public let levels: [Int]
    /// The codes (item i's level `levels[j]` sub-codes at j·M) and ids.
    public internal(set) var store: CodeStore

    /// An empty index over `model`'s quantized levels (`coarseOnly`: level 0 alone).
    public init(model: HybridModel, coarseOnly: Bool = false) throws(IndexError) {
        guard model.isQuantized else { throw .model(.notQuantized) }
        self.model = model
        levels = coarseOnly ? [0] : Array(0..<model.configuration.levelCount)
        let width = levels.count * model.configuration.subspaces
        if model.configuration.bitsPerCode == 4 {
            guard width <= QuantizedLookupTable.maximumSubspaces else {
                throw .unsupported("fast scan sums 16-bit integers: at most \(QuantizedLookupTable.maximumSubspaces) sub-codes per item")
            }
            store = CodeStore(layout: .fastScan(FastScanLayout(subspaces: width)))
        } else {
            store = CodeStore(layout: .rows(bytesPerItem: width))
        }
    }

    /// The raw feature dimension the model's heads take.
    public var dimension: Int { model.configuration.inputDimension }
    /// Items stored.
    public var count: Int { store.count }
    /// Above every id stored: automatic ids never collide with chosen ones.
    public var automaticIdStart: Int64 { store.largestId + 1 }
    public func firstStoredId(in set: Set<Int64>) -> Int64? { store.firstId(in: set) }
    /// L2 for joint-mode models (scores charge each code's norm), inner product for HCQ mode.
    public var metric: Metric { model.quantizers[0].metric }
    /// Code bytes per item, as stored.
    public var bytesPerItem: Int { store.layout.bytesPerItem }
    /// Bytes in memory: codes, ids, the levels' codebooks and rotations (the heads not counted).
    public var memoryBytes: Int {
        store.memoryBytes + levels.reduce(0) { s, l in
            s + 4 * model.quantizers[l].quantizer.codebooks.count + (model.quantizers[l].transform?.memoryBytes ?? 0)
        }
    }

    /// Adds targets: global features and, for fine levels or frame-mixing models, frames as
    /// the batch's sequences.
    public mutating func add(_ items: FeatureBatch, ids newIds: [Int64]?) throws(IndexError) {
        try validate(items.vectors)
        let e: [Matrix]
        do { e = try model.targetEmbeddings(items.vectors, frames: items.sequences) } catch { throw .model(error) }
        try add(embeddings: e, ids: newIds)
    }

    /// Adds items given their level embeddings (all levels of the model, coarse first).
    public mutating func add(embeddings e: [Matrix], ids newIds: [Int64]? = nil) throws(IndexError) {
        let resolved = try resolveIds(newIds, count: e.first?.rows ?? 0)
        try store.append(codes: codes(embeddings: e), ids: resolved)
    }

    /// Each item's stored sub-codes (its levels' codes side by side, levels·M per item) from
    /// its level embeddings (all levels of the model, coarse first).
    func codes(embeddings e: [Matrix]) throws(IndexError) -> [UInt8] {
        try checkLevels(e)
        let n = e[0].rows, m = model.configuration.subspaces, width = levels.count * m
        var out = [UInt8](repeating: 0, count: n * width)
        for (j, l) in levels.enumerated() {
            let c: [UInt8]
            do { c = try model.quantizers[l].encode(e[l]) } catch { throw .model(error) }
            for i in 0..<n { for s in 0..<m { out[i * width + j * m + s] = c[i * m + s] } }
        }
        return out
    }

    /// The best items for each query: global features and, for fine levels, tokens as the
    /// batch's sequences.
    public func search(_ queries: FeatureBatch, parameters: SearchParameters) throws(IndexError) -> SearchResults {
        try validate(queries.vectors)
        let e: [Matrix]
        do { e = try model.queryEmbeddings(queries.vectors, tokens: queries.sequences, quantized: true) } catch { throw .model(error) }
        return try search(embeddings: e, parameters: parameters)
    }

    /// The best items for queries given by their level embeddings (coarse first), re-ranked by
    /// `reranker` when given (the first stage then keeps `parameters.rerankDepth` candidates).
    public func search(embeddings e: [Matrix], parameters: SearchParameters,
                       reranker: (any Reranker)? = nil) throws(IndexError) -> SearchResults {
        try checkLevels(e)
        return try CodeSearcher(source: LevelTables(model: model, levels: levels), reranker: reranker)
            .search(e, in: store, parameters: parameters)
    }

    func checkLevels(_ e: [Matrix]) throws(IndexError) {
        let c = model.configuration
        guard e.count == c.levelCount else {
            throw .model(.shapeMismatch(input: "level embeddings", expected: "\(c.levelCount) levels", found: "\(e.count)"))
        }
        for x in e {
            guard x.columns == c.dimension, x.rows == e[0].rows else {
                throw .dimensionMismatch(expected: c.dimension, found: x.columns)
            }
            if let bad = x.values.firstIndex(where: { !$0.isFinite }) { throw .nonFinite(row: bad / max(1, c.dimension)) }
        }
    }
}

extension HybridIndex {
    /// Adds targets (global features and, where the model needs them, frames).
    public mutating func add(targets: Matrix, frames: SequenceFeatures?, ids newIds: [Int64]? = nil) throws(IndexError) {
        try add(FeatureBatch(targets, sequences: frames), ids: newIds)
    }

    /// The `k` best items for each query (global features and, for fine levels, tokens) on
    /// `threads` cores (nil: all).
    public func search(queries: Matrix, tokens: SequenceFeatures?, k: Int, threads: Int? = nil) throws(IndexError) -> SearchResults {
        try search(FeatureBatch(queries, sequences: tokens),
                   parameters: SearchParameters(k: k, threads: Concurrency.resolve(threads: threads)))
    }
}

/// A model's level tables, each scaled by its level weight and laid side by side: (levels·M) × K
/// per query, so one scan scores Σ_l w_l · ADC_l. A single level is used as it is (weight 1).
public struct LevelTables: LookupTableSource {
    /// The model whose level quantizers build the tables.
    public let model: HybridModel
    /// Levels scored, in the order their codes are stored.
    public let levels: [Int]

    /// The tables of `levels` of `model`.
    public init(model: HybridModel, levels: [Int]) {
        self.model = model
        self.levels = levels
    }

    public func count(of embeddings: [Matrix]) -> Int { embeddings.first?.rows ?? 0 }

    public func tables(_ embeddings: [Matrix], rows: Range<Int>) throws(IndexError) -> LookupTables {
        let m = model.configuration.subspaces, kw = model.configuration.codewords
        let nq = rows.count, width = levels.count * m
        if levels.count == 1 {
            do { return try model.quantizers[levels[0]].lookupTables(embeddings[levels[0]].slicing(rows: rows)) } catch { throw .model(error) }
        }
        var out = [Float](repeating: 0, count: nq * width * kw)
        for (j, l) in levels.enumerated() {
            let t: LookupTables
            do { t = try model.quantizers[l].lookupTables(embeddings[l].slicing(rows: rows)) } catch { throw .model(error) }
            let w = model.levelWeights[l]
            for q in 0..<nq {
                for i in 0..<(m * kw) { out[q * width * kw + j * m * kw + i] = w * t.values[q * m * kw + i] }
            }
        }
        return LookupTables(queries: nq, subspaces: width, codewords: kw, values: out)
    }
}
