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
    /// A search setting outside its range (name, value, what it must be).
    case invalidParameter(name: String, value: Int, reason: String)
    /// The fast-scan kernel asked for cannot run on this processor.
    case kernelUnavailable(String)
    /// More items than the index can address (positions are 32-bit in the first stage).
    case tooManyItems(count: Int, limit: Int)
    /// Codes, ids and tables of a store disagree.
    case inconsistentStore(reason: String)
    /// A negative id: −1 marks an empty result slot, so ids must be ≥ 0.
    case negativeId(Int64)
    /// An id already stored, or repeated within the batch: ids name items, so each is unique.
    case duplicateId(Int64)
    /// A memory-mapped file was cut short after it was mapped (reading it would fault): its
    /// size when mapped and now (−1: it cannot be examined).
    case mappedFileChanged(path: String, expected: Int, found: Int)

    public var description: String {
        switch self {
        case let .dimensionMismatch(e, f): return "vectors have dimension \(f), the index expects \(e)"
        case let .idCountMismatch(v, i): return "add: \(v) vectors but \(i) ids"
        case let .nonFinite(r): return "row \(r) contains NaN or infinity"
        case let .invalidK(k): return "k must be ≥ 1 (got \(k))"
        case let .quantizer(e): return "\(e)"
        case let .model(e): return "\(e)"
        case let .unsupported(s): return "unsupported: \(s)"
        case let .invalidParameter(n, v, r): return "search parameter \(n) = \(v): \(r)"
        case let .kernelUnavailable(k): return "kernel \(k) is not available on this processor (available: \(FastScanKernel.available.map(\.rawValue).joined(separator: ", ")))"
        case let .tooManyItems(c, l): return "\(c) items exceed the \(l) an index can address"
        case let .inconsistentStore(r): return "inconsistent code store: \(r)"
        case let .negativeId(id): return "id \(id) is negative (−1 marks empty result slots; ids must be ≥ 0)"
        case let .mappedFileChanged(p, e, f): return "\(p): the mapped file now holds \(f) bytes, not the \(e) it was mapped with; reopen the index"
        case let .duplicateId(id): return "id \(id) is already in the index or repeated in the batch (use a live index's upsert to replace an item)"
        }
    }
}
