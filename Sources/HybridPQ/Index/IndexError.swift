/// Errors of the index layer: adding to and searching an index.
public enum IndexError: Error, Equatable, CustomStringConvertible {
    /// Vectors or queries of another dimension than the index's.
    case dimensionMismatch(expected: Int, found: Int)
    /// `add` got a different number of ids than vectors.
    case idCountMismatch(vectors: Int, ids: Int)
    /// A vector or query holds NaN or infinity (row index within the batch).
    case nonFinite(row: Int)
    /// `k` outside 1...count-independent limit.
    case invalidK(Int)
    /// The quantizer cannot be used (its error).
    case quantizer(QuantizerError)
    /// The model behind a hybrid index failed (its error).
    case model(ModelError)
    /// The operation does not apply to this index (e.g. a setting it does not support).
    case unsupported(String)

    public var description: String {
        switch self {
        case let .dimensionMismatch(e, f): return "vectors have dimension \(f), the index expects \(e)"
        case let .idCountMismatch(v, i): return "add: \(v) vectors but \(i) ids"
        case let .nonFinite(r): return "row \(r) contains NaN or infinity"
        case let .invalidK(k): return "k must be ≥ 1 (got \(k))"
        case let .quantizer(e): return "\(e)"
        case let .model(e): return "\(e)"
        case let .unsupported(s): return "unsupported: \(s)"
        }
    }
}

/// What every HybridPQ index offers: add vectors under 64-bit ids, search a batch of queries.
///
/// Indexes are values (`Sendable`): any number of threads may search one concurrently, and
/// search settings are arguments, never fields mutated between calls.
public protocol VectorIndex: Sendable {
    /// Dimension of indexed vectors and queries.
    var dimension: Int { get }
    /// Number of items stored.
    var count: Int { get }
    /// How queries are compared with items.
    var metric: Metric { get }
    /// Bytes of one item's stored code (floats for a flat index).
    var bytesPerItem: Int { get }
    /// Bytes the whole index occupies: codes, ids, codebooks, rotations.
    var memoryBytes: Int { get }
    /// Adds `vectors` under `ids` (default: consecutive ids from `count`).
    mutating func add(_ vectors: Matrix, ids: [Int64]?) throws(IndexError)
    /// The `k` best items for each row of `queries`, using up to `threads` cores (nil: all).
    func search(_ queries: Matrix, k: Int, threads: Int?) throws(IndexError) -> SearchResults
}

extension VectorIndex {
    /// Checks a batch before it is added or searched.
    func validate(_ vectors: Matrix) throws(IndexError) {
        guard vectors.columns == dimension else { throw .dimensionMismatch(expected: dimension, found: vectors.columns) }
        if let bad = vectors.values.firstIndex(where: { !$0.isFinite }) { throw .nonFinite(row: bad / max(1, dimension)) }
    }

    /// The ids for a batch of `n` vectors: the given ones (checked) or consecutive ones.
    func resolveIds(_ ids: [Int64]?, count n: Int) throws(IndexError) -> [Int64] {
        if let ids {
            guard ids.count == n else { throw .idCountMismatch(vectors: n, ids: ids.count) }
            return ids
        }
        return (0..<n).map { Int64(count + $0) }
    }
}
