/// An index over a trained model's continuous embeddings: items and queries pass through the
/// model's heads (the query transform of a trained model) and the results come from `base`,
/// any index over embeddings — exact (`FlatIndex`, the model's upper bound) or post-hoc
/// quantized (`OPQIndex`, `OPQ4Index`: the baselines the model's own codes must beat).
public struct ModelEmbeddingIndex<Base: VectorIndex>: VectorIndex {
    /// Which of the model's level embeddings the base index holds.
    public enum Levels: Sendable {
        /// The coarse level alone (D columns).
        case coarse
        /// Every level side by side, items unweighted and queries scaled by √weight, so inner
        /// products are Σ_l w_l ⟨e_l, e'_l⟩ (`HybridModel.concatenated`; (1 + L)·D columns).
        case concatenated
    }

    /// The model whose heads embed items and queries.
    public let model: HybridModel
    /// The levels the base index holds.
    public let levels: Levels
    /// The index over embeddings.
    public internal(set) var base: Base

    /// Wraps `base`, whose dimension must be the embedding width of `levels`.
    public init(model: HybridModel, levels: Levels, base: Base) throws(IndexError) {
        let c = model.configuration
        let width = levels == .coarse ? c.dimension : c.dimension * c.levelCount
        guard base.dimension == width else { throw .dimensionMismatch(expected: width, found: base.dimension) }
        self.model = model
        self.levels = levels
        self.base = base
    }

    /// The raw feature dimension the model's heads take.
    public var dimension: Int { model.configuration.inputDimension }
    public var count: Int { base.count }
    public var automaticIdStart: Int64 { base.automaticIdStart }
    public func firstStoredId(in set: Set<Int64>) -> Int64? { base.firstStoredId(in: set) }
    public var metric: Metric { base.metric }
    public var bytesPerItem: Int { base.bytesPerItem }
    public var memoryBytes: Int { base.memoryBytes }

    /// Adds targets (global features, frames as the batch's sequences where the model needs them).
    public mutating func add(_ items: FeatureBatch, ids: [Int64]?) throws(IndexError) {
        try validate(items.vectors)
        let e: [Matrix]
        do { e = try model.targetEmbeddings(items.vectors, frames: items.sequences) } catch { throw .model(error) }
        try base.add(FeatureBatch(embedding(e, weights: [Float](repeating: 1, count: e.count))), ids: ids)
    }

    /// Searches queries (global features, tokens as the batch's sequences where the model needs them).
    public func search(_ queries: FeatureBatch, parameters: SearchParameters) throws(IndexError) -> SearchResults {
        try validate(queries.vectors)
        let e: [Matrix]
        do { e = try model.queryEmbeddings(queries.vectors, tokens: queries.sequences) } catch { throw .model(error) }
        return try base.search(FeatureBatch(embedding(e, weights: model.levelWeights)), parameters: parameters)
    }

    private func embedding(_ e: [Matrix], weights: [Float]) -> Matrix {
        levels == .coarse ? e[0] : HybridModel.concatenated(e, weights: weights)
    }
}
