/// A two-stage index (DnS: distill and select): a hot `HybridIndex` whose compact codes every
/// query scans, and a cold `FrameStore` of per-frame codes read only for the hot stage's best
/// `SearchParameters.rerankDepth` candidates, which are re-scored with the hybrid score
/// `s_coarse + λ · s_fine` (`LateInteractionReranker`).
///
/// Memory splits the same way: `bytesPerItem` is the hot code (scanned by every query),
/// `coldBytesPerItem` the mean cold bytes (read for candidates only).
public struct TwoStageIndex: VectorIndex {
    /// The hot stage: the model's codes.
    public internal(set) var hot: HybridIndex
    /// The cold stage: every item's frame codes, row i = hot position i.
    public internal(set) var cold: FrameStore
    /// The fine model: heads, λ, frame quantizer.
    public let fine: FineModel

    /// An empty two-stage index over a quantized model and its fine model.
    public init(model: HybridModel, fine: FineModel) throws(IndexError) {
        guard fine.inputDimension == model.configuration.inputDimension else {
            throw .dimensionMismatch(expected: model.configuration.inputDimension, found: fine.inputDimension)
        }
        hot = try HybridIndex(model: model)
        if let r = fine.coarseRefiner, r.dimension != model.configuration.dimension {
            throw .dimensionMismatch(expected: model.configuration.dimension, found: r.dimension)
        }
        cold = FrameStore(quantizer: fine.frameQuantizer, refiner: fine.coarseRefiner)
        self.fine = fine
    }

    public var dimension: Int { hot.dimension }
    public var count: Int { hot.count }
    public var automaticIdStart: Int64 { hot.automaticIdStart }
    public func firstStoredId(in set: Set<Int64>) -> Int64? { hot.firstStoredId(in: set) }
    public var metric: Metric { hot.metric }
    /// Hot bytes per item: what every query scans.
    public var bytesPerItem: Int { hot.bytesPerItem }
    /// Mean cold bytes per item: read only for re-ranked candidates.
    public var coldBytesPerItem: Double { cold.bytesPerItem }
    public var memoryBytes: Int { hot.memoryBytes + cold.memoryBytes }

    /// Adds targets with their frames (the batch's sequences, required).
    public mutating func add(_ items: FeatureBatch, ids: [Int64]?) throws(IndexError) {
        guard let frames = items.sequences else { throw .model(.missingInput("frames: a two-stage index keeps every item's frames")) }
        let f: SequenceFeatures
        do { f = try fine.frameEmbeddings(frames) } catch { throw .model(error) }
        guard f.count == items.count else {
            throw .model(.shapeMismatch(input: "frames", expected: "\(items.count) items", found: "\(f.count)"))
        }
        try validate(items.vectors)
        let e: [Matrix]
        do { e = try hot.model.targetEmbeddings(items.vectors, frames: frames) } catch { throw .model(error) }
        var grown = cold
        do { try grown.append(f, refined: fine.coarseRefiner == nil ? nil : hot.model.quantizers[0].rotated(e[0])) } catch { throw .model(error) }
        try hot.add(embeddings: e, ids: ids)      // checks ids; the cold rows follow only if it succeeds
        cold = grown
    }

    /// One index holding `rows` of each part, part after part (ids kept; hot codes and cold
    /// frame codes copied, never re-encoded): how a live index merges two-stage segments.
    public static func gathering(_ parts: [(index: TwoStageIndex, rows: [Int])]) throws(IndexError) -> TwoStageIndex {
        guard var out = parts.first?.index else { throw .unsupported("gathering needs at least one part") }
        for p in parts where p.index.fine != out.fine {
            throw .inconsistentStore(reason: "cannot merge two-stage indexes of different fine models")
        }
        out.hot = try HybridIndex.gathering(parts.map { ($0.index.hot, $0.rows) })
        out.cold = try FrameStore.gathering(parts.map { ($0.index.cold, $0.rows) })
        return out
    }

    /// Queries with their tokens (the batch's sequences, required): hot scan, then the fine stage.
    public func search(_ queries: FeatureBatch, parameters: SearchParameters) throws(IndexError) -> SearchResults {
        try validate(queries.vectors)
        guard let tokens = queries.sequences else { throw .model(.missingInput("query tokens: the fine stage scores them")) }
        guard tokens.count == queries.count, tokens.values.columns == fine.inputDimension else {
            throw .model(.shapeMismatch(input: "query tokens", expected: "\(queries.count) items of \(fine.inputDimension)",
                                        found: "\(tokens.count) items of \(tokens.values.columns)"))
        }
        let e: [Matrix]
        do { e = try hot.model.queryEmbeddings(queries.vectors, tokens: tokens, quantized: true) } catch { throw .model(error) }
        var selection: (selector: QuerySelector, threshold: Float)?
        if let f = parameters.fineFraction, f < 1 {
            guard let s = fine.selector else {
                throw .unsupported("fineFraction needs the model's selector (pqtrain --fine fits one)")
            }
            selection = (s, s.threshold(fraction: f))
        }
        let refined = cold.refiner == nil ? nil : hot.model.quantizers[0].rotated(e[0])
        let reranker = LateInteractionReranker(tokens: tokens, store: cold, weight: fine.weight, selection: selection,
                                               refinedQueries: refined, metric: hot.metric)
        return try hot.search(embeddings: e, parameters: parameters, reranker: reranker)
    }
}
