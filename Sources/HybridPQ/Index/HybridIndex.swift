/// The HCQ index: per item one 8-bit PQ code per level (coarse + L GhostVLAD levels, or the
/// coarse level alone), searched with one float lookup table per level built from the query's
/// continuous level embeddings.
///
/// The score Σ_l w_l · ADC_l(q, item) is one table lookup per code byte: the level tables,
/// each scaled by its weight, are laid side by side as one (levels·M) × 256 table and an
/// item's codes side by side as (levels·M) bytes, so the search is the 8-bit ADC scan of
/// `ADCSearch` over (levels·M) sub-spaces — one pass over each item's codes.
///
/// A model with 4-bit codes (joint mode, coarse level alone) is stored and searched as a
/// `PQ4Index` over the rotated coarse embeddings: fast scan with exact re-ranking.
public struct HybridIndex: Sendable {
    /// The trained, quantized model (query heads, level quantizers, level weights).
    public let model: HybridModel
    /// Levels stored and scored, in order (all levels, or `[0]` for the coarse code alone).
    public let levels: [Int]
    /// `count × bytesPerItem` codes, row-major; item i's level `levels[j]` code at j·M.
    public internal(set) var codes: StoredArray<UInt8>
    /// External id of each item.
    public internal(set) var ids: StoredArray<Int64>
    /// The storage of a 4-bit model (codes and ids live here, not above).
    public internal(set) var fastScan: PQ4Index?

    /// An empty index over `model`'s quantized levels (`coarseOnly`: level 0 alone).
    public init(model: HybridModel, coarseOnly: Bool = false) throws(IndexError) {
        guard model.isQuantized else { throw .model(.notQuantized) }
        self.model = model
        levels = coarseOnly ? [0] : Array(0..<model.configuration.levelCount)
        codes = StoredArray()
        ids = StoredArray()
        if model.configuration.bitsPerCode == 4 {
            fastScan = try PQ4Index(quantizer: model.quantizers[0].quantizer, metric: model.quantizers[0].metric)
        }
    }

    /// Items stored.
    public var count: Int { fastScan?.count ?? ids.count }
    /// Code bytes per item.
    public var bytesPerItem: Int { fastScan?.bytesPerItem ?? levels.count * model.configuration.subspaces }
    /// Bytes in memory: codes, ids, the levels' codebooks and rotations (the heads not counted).
    public var memoryBytes: Int {
        if let fs = fastScan { return fs.memoryBytes + 4 * (model.quantizers[0].rotation?.values.count ?? 0) }
        return count * (bytesPerItem + 8) + levels.reduce(0) { s, l in
            s + 4 * (model.quantizers[l].quantizer.codebooks.count + (model.quantizers[l].rotation?.values.count ?? 0))
        }
    }

    /// Adds targets (global features and, for fine levels or frame-mixing models, frames).
    public mutating func add(targets: Matrix, frames: SequenceFeatures?, ids newIds: [Int64]? = nil) throws(IndexError) {
        let e: [Matrix]
        do { e = try model.targetEmbeddings(targets, frames: frames) } catch { throw .model(error) }
        try add(embeddings: e, ids: newIds)
    }

    /// Adds items given their level embeddings (all levels of the model, coarse first).
    public mutating func add(embeddings e: [Matrix], ids newIds: [Int64]? = nil) throws(IndexError) {
        try checkLevels(e)
        let n = e[0].rows, m = model.configuration.subspaces
        let resolved: [Int64]
        if let newIds {
            guard newIds.count == n else { throw .idCountMismatch(vectors: n, ids: newIds.count) }
            resolved = newIds
        } else {
            resolved = (0..<n).map { Int64(count + $0) }
        }
        if var fs = fastScan {
            fastScan = nil   // unique reference: the append does not copy the codes
            defer { fastScan = fs }
            try fs.add(model.quantizers[0].rotated(e[0]), ids: resolved)
            return
        }
        var out = [UInt8](repeating: 0, count: n * bytesPerItem)
        for (j, l) in levels.enumerated() {
            let c: [UInt8]
            do { c = try model.quantizers[l].encode(e[l]) } catch { throw .model(error) }
            for i in 0..<n { for s in 0..<m { out[i * bytesPerItem + j * m + s] = c[i * m + s] } }
        }
        codes.append(contentsOf: out)
        ids.append(contentsOf: resolved)
    }

    /// The `k` best items for each query (global features and, for fine levels, tokens).
    public func search(queries: Matrix, tokens: SequenceFeatures?, k: Int, threads: Int? = nil) throws(IndexError) -> SearchResults {
        let e: [Matrix]
        do { e = try model.queryEmbeddings(queries, tokens: tokens, quantized: true) } catch { throw .model(error) }
        return try search(embeddings: e, k: k, threads: threads)
    }

    /// The `k` best items for queries given by their level embeddings (coarse first).
    public func search(embeddings e: [Matrix], k: Int, threads: Int? = nil) throws(IndexError) -> SearchResults {
        try checkLevels(e)
        guard k >= 1 else { throw .invalidK(k) }
        if let fs = fastScan {
            return try fs.search(model.quantizers[0].rotated(e[0]), k: k, threads: threads, rerank: nil, kernel: .best)
        }
        let m = model.configuration.subspaces, width = levels.count * m
        var failure: ModelError?
        let results = ADCSearch.run(codes: codes, ids: ids, subspaces: width, codewords: 256, queryCount: e[0].rows,
                                    k: k, threads: Concurrency.resolve(threads: threads)) { r in
            do { return try combinedTables(e.map { $0.slicing(rows: r) }) } catch {
                failure = (error as? ModelError) ?? .invalidConfiguration("\(error)")
                return LookupTables(queries: r.count, subspaces: width, codewords: 256,
                                    values: [Float](repeating: 0, count: r.count * width * 256))
            }
        }
        if let failure { throw .model(failure) }
        return results
    }

    /// The levels' tables of a batch, weighted and side by side: (levels·M) × 256 per query.
    public func combinedTables(_ e: [Matrix]) throws(ModelError) -> LookupTables {
        let nq = e[0].rows, m = model.configuration.subspaces, width = levels.count * m
        var out = [Float](repeating: 0, count: nq * width * 256)
        for (j, l) in levels.enumerated() {
            let t = try model.quantizers[l].lookupTables(e[l])
            let w = levels.count == 1 ? 1 : model.levelWeights[l]
            for q in 0..<nq {
                for i in 0..<(m * 256) { out[q * width * 256 + j * m * 256 + i] = w * t.values[q * m * 256 + i] }
            }
        }
        return LookupTables(queries: nq, subspaces: width, codewords: 256, values: out)
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
