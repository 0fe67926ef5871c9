/// The float hybrid score over every item — `flat-fine`, the upper bound of the two-stage
/// search: the model's continuous coarse score (no code) + λ · late interaction with unquantized
/// frames (through the fine model's folded head), exhaustively, for every query and item.
///
/// Exhaustive by design (its cost grows with tokens × all frames per query): a yardstick, not a
/// search structure.
public struct FlatFineIndex: VectorIndex {
    /// The model (continuous coarse heads, fine model).
    public let model: HybridModel
    /// The fine stage: heads and λ (its frame quantizer is not used).
    public let fine: FineModel
    /// Continuous coarse embeddings of the items (exact L2 or inner product, as the model scores).
    public internal(set) var coarse: FlatIndex
    /// Every item's valid frames through the folded head, item after item.
    public internal(set) var frames: Matrix
    /// Each item's rows in `frames` (prefix sums, `count + 1`).
    public internal(set) var firstFrame: [Int] = [0]

    /// An empty index over a model with a fine stage.
    public init(model: HybridModel, fine: FineModel) throws(IndexError) {
        guard fine.inputDimension == model.configuration.inputDimension else {
            throw .dimensionMismatch(expected: model.configuration.inputDimension, found: fine.inputDimension)
        }
        self.model = model
        self.fine = fine
        coarse = FlatIndex(dimension: model.configuration.dimension, metric: model.quantizers.first?.metric ?? .l2)
        frames = Matrix(rows: 0, columns: fine.inputDimension)
    }

    public var dimension: Int { model.configuration.inputDimension }
    public var count: Int { coarse.count }
    public var automaticIdStart: Int64 { coarse.automaticIdStart }
    public func firstStoredId(in set: Set<Int64>) -> Int64? { coarse.firstStoredId(in: set) }
    public var metric: Metric { coarse.metric }
    /// Floats of the coarse embedding.
    public var bytesPerItem: Int { coarse.bytesPerItem }
    /// Mean bytes of an item's float frames.
    public var coldBytesPerItem: Double { count == 0 ? 0 : Double(frames.values.count * 4) / Double(count) }
    public var memoryBytes: Int { coarse.memoryBytes + frames.values.count * 4 + firstFrame.count * 8 }

    public mutating func add(_ items: FeatureBatch, ids: [Int64]?) throws(IndexError) {
        try validate(items.vectors)
        guard let f = items.sequences, f.count == items.count else {
            throw .model(.missingInput("frames: flat-fine scores every item's frames"))
        }
        let e: [Matrix], folded: SequenceFeatures
        do {
            e = try model.targetEmbeddings(items.vectors, frames: f)
            folded = try fine.frameEmbeddings(f)
        } catch { throw .model(error) }
        try coarse.add(e[0], ids: ids)
        let base = firstFrame.last!
        var rows: [Int] = []
        for i in 0..<f.count {
            for t in 0..<f.length where f.mask[i * f.length + t] != 0 { rows.append(i * f.length + t) }
            firstFrame.append(base + rows.count)
        }
        // Give up the old matrix before appending, so its values are extended in place, not copied.
        var values = frames.values
        let total = frames.rows + rows.count, d = frames.columns
        frames = Matrix(rows: 0, columns: d)
        values.append(contentsOf: folded.values.gathering(rows: rows).values)
        frames = Matrix(rows: total, columns: d, values: values)
    }

    public func search(_ queries: FeatureBatch, parameters: SearchParameters) throws(IndexError) -> SearchResults {
        try validate(queries.vectors)
        try parameters.validate()
        let p = parameters.capped(items: count)
        guard let tokens = queries.sequences, tokens.count == queries.count else {
            throw .model(.missingInput("query tokens: flat-fine scores them"))
        }
        guard tokens.values.columns == fine.inputDimension else {
            throw .model(.shapeMismatch(input: "query tokens", expected: "\(fine.inputDimension) columns", found: "\(tokens.values.columns)"))
        }
        let e: Matrix
        do { e = try model.queryEmbeddings(queries.vectors, tokens: tokens)[0] } catch { throw .model(error) }
        let n = count
        var results = SearchResults(queries: queries.count, k: p.k)
        guard n > 0 else { return results }
        // Every item's exact coarse score (ids: positions; the index adds items in order).
        let all = try coarse.search(e, parameters: SearchParameters(k: n, threads: p.threads))
        let ids = coarse.ids.array
        let ranges = (0..<n).map { firstFrame[$0]..<firstFrame[$0 + 1] }
        var position = [Int64: Int](minimumCapacity: n)
        for (i, id) in ids.enumerated() { position[id] = i }
        for q in 0..<queries.count {
            let rows = (0..<tokens.length).filter { tokens.mask[q * tokens.length + $0] != 0 }.map { q * tokens.length + $0 }
            let fineScores = LateInteraction.scores(tokens: tokens.values.gathering(rows: rows), frames: frames, ranges: ranges)
            var top = TopK(k: p.k, accept: p.filter.map(AcceptHook.init))
            for (id, score) in zip(all.ids(ofQuery: q), all.scores(ofQuery: q)) where id >= 0 {
                top.offer(score: score + fine.weight * (fineScores[position[id]!] ?? 0), id: id)
            }
            results.store([top], from: q)
        }
        return results
    }
}
