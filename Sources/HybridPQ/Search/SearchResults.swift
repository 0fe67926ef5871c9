/// The k best database items for each query of a batch, best first.
///
/// Row q holds `k` slots; when the database has fewer than `k` items the remaining slots hold
/// id −1 and score −∞. Scores follow `Metric`: larger is better (inner product, or negated
/// squared L2 distance).
public struct SearchResults: Sendable, Equatable {
    /// Queries in the batch.
    public let queries: Int
    /// Slots per query.
    public let k: Int
    /// `queries × k` item ids.
    public var ids: [Int64]
    /// `queries × k` scores.
    public var scores: [Float]

    /// Empty results (all slots −1 / −∞).
    public init(queries: Int, k: Int) {
        self.queries = queries
        self.k = k
        ids = [Int64](repeating: -1, count: queries * k)
        scores = [Float](repeating: -.infinity, count: queries * k)
    }

    /// Ids of query `q`, best first (padding included), indexed from 0.
    public func ids(ofQuery q: Int) -> [Int64] { Array(ids[(q * k)..<((q + 1) * k)]) }
    /// Scores of query `q`, best first (padding included), indexed from 0.
    public func scores(ofQuery q: Int) -> [Float] { Array(scores[(q * k)..<((q + 1) * k)]) }
}
