/// A batch of queries or items: one global vector per row and, for models with fine-grained
/// levels, a sequence per row (query tokens, target frames).
public struct FeatureBatch: Sendable {
    /// One vector per row.
    public var vectors: Matrix
    /// Per-row sequences (tokens or frames), or nil.
    public var sequences: SequenceFeatures?

    /// A batch of vectors with optional sequences (one per row).
    public init(_ vectors: Matrix, sequences: SequenceFeatures? = nil) {
        self.vectors = vectors
        self.sequences = sequences
    }

    /// Rows in the batch.
    public var count: Int { vectors.rows }
}

/// What every HybridPQ index offers: add items under 64-bit ids, search a batch of queries.
///
/// Indexes are values (`Sendable`): any number of threads may search one concurrently, and
/// search settings (`SearchParameters`) are arguments, never fields mutated between calls.
public protocol VectorIndex: Sendable {
    /// Dimension of indexed vectors and queries.
    var dimension: Int { get }
    /// Number of items stored.
    var count: Int { get }
    /// How queries are compared with items.
    var metric: Metric { get }
    /// Bytes of one item's stored code (floats for a flat index), as stored.
    var bytesPerItem: Int { get }
    /// Bytes the whole index occupies: codes, ids, codebooks, rotations.
    var memoryBytes: Int { get }
    /// Adds items under `ids` (default: consecutive ids from `count`).
    mutating func add(_ items: FeatureBatch, ids: [Int64]?) throws(IndexError)
    /// The first id `add` assigns when given none: above every id stored (default: the count,
    /// for kinds that do not track their ids).
    var automaticIdStart: Int64 { get }
    /// The first stored id (in storage order) that is in `ids`, or nil: how `add` finds a
    /// duplicate when a batch reaches below `automaticIdStart` (one pass over the stored ids).
    func firstStoredId(in ids: Set<Int64>) -> Int64?
    /// The `parameters.k` best items for each query.
    func search(_ queries: FeatureBatch, parameters: SearchParameters) throws(IndexError) -> SearchResults
}

extension VectorIndex {
    /// Adds vectors (no sequences) under `ids` (default: consecutive ids from `count`).
    public mutating func add(_ vectors: Matrix, ids: [Int64]? = nil) throws(IndexError) {
        try add(FeatureBatch(vectors), ids: ids)
    }

    /// Searches query vectors (no sequences).
    public func search(_ queries: Matrix, parameters: SearchParameters) throws(IndexError) -> SearchResults {
        try search(FeatureBatch(queries), parameters: parameters)
    }

    /// Searches query vectors for the `k` best items on `threads` cores (nil: all cores).
    public func search(_ queries: Matrix, k: Int, threads: Int? = nil) throws(IndexError) -> SearchResults {
        try search(FeatureBatch(queries), parameters: SearchParameters(k: k, threads: Concurrency.resolve(threads: threads)))
    }

    /// Checks a batch before it is added or searched.
    func validate(_ vectors: Matrix) throws(IndexError) {
        guard vectors.columns == dimension else { throw .dimensionMismatch(expected: dimension, found: vectors.columns) }
        if let bad = vectors.values.firstIndex(where: { !$0.isFinite }) { throw .nonFinite(row: bad / max(1, dimension)) }
    }

    /// A batch's codes (one sub-code per byte) and ids, after checking it: what a quantized
    /// index appends to its store.
    func encode(_ items: FeatureBatch, ids: [Int64]?, with quantizer: ProductQuantizer) throws(IndexError) -> ([UInt8], [Int64]) {
        try validate(items.vectors)
        let resolved = try resolveIds(ids, count: items.count)
        do { return (try quantizer.encode(items.vectors), resolved) } catch { throw .quantizer(error) }
    }

    /// The ids for a batch of `n` vectors: the given ones (checked: non-negative, distinct, none
    /// stored already) or consecutive ones above every stored id.
    ///
    /// Ids in increasing order above every stored id — how indexes are usually filled — cost one
    /// comparison each; other batches a set of the batch's ids and, when they reach below the
    /// largest stored id, one pass over the stored ids.
    func resolveIds(_ ids: [Int64]?, count n: Int) throws(IndexError) -> [Int64] {
        if let ids {
            guard ids.count == n else { throw .idCountMismatch(vectors: n, ids: ids.count) }
            if let bad = ids.first(where: { $0 < 0 }) { throw .negativeId(bad) }
            guard let first = ids.first else { return ids }
            var increasing = true
            for i in 1..<max(1, ids.count) where ids[i] <= ids[i - 1] { increasing = false; break }
            if increasing && first >= automaticIdStart { return ids }
            var seen = Set<Int64>(minimumCapacity: ids.count)
            for id in ids where !seen.insert(id).inserted { throw .duplicateId(id) }
            if let low = ids.min(), low < automaticIdStart, let dup = firstStoredId(in: seen) { throw .duplicateId(dup) }
            return ids
        }
        let first = automaticIdStart
        return (0..<n).map { first + Int64($0) }
    }

    public var automaticIdStart: Int64 { Int64(count) }
}

extension FeatureBatch {
    /// The first `n` rows (and their sequences).
    public func prefix(_ n: Int) -> FeatureBatch {
        guard n < count else { return self }
        return slicing(rows: 0..<n)
    }

    /// Rows `range` (and their sequences).
    public func slicing(rows range: Range<Int>) -> FeatureBatch {
        FeatureBatch(vectors.slicing(rows: range), sequences: sequences.map { $0.gathering(items: Array(range)) })
    }
}
