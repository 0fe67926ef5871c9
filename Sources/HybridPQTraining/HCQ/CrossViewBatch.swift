import HybridPQ

/// The features of a set of items, gathered for one training or validation forward pass.
public struct CrossViewBatch: Sendable {
    public var queries: Matrix
    public var targets: Matrix
    public var tokens: SequenceFeatures?
    public var frames: SequenceFeatures?

    /// Gathers `items` of `data`.
    public init(_ data: CrossViewDataSet, _ items: [Int]) {
        queries = data.queries.gathering(rows: items)
        targets = data.targets.gathering(rows: items)
        tokens = data.queryTokens?.gathering(items: items)
        frames = data.frames?.gathering(items: items)
    }

    /// Gathers the queries (and tokens) of `queries` and the targets (and frames) of `targets`.
    public init(_ data: CrossViewDataSet, _ queries: [Int], _ targets: [Int]) {
        self.queries = data.queries.gathering(rows: queries)
        self.targets = data.targets.gathering(rows: targets)
        tokens = data.queryTokens?.gathering(items: queries)
        frames = data.frames?.gathering(items: targets)
    }
}
