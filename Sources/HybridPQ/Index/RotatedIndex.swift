/// An index over rotated vectors: every vector added and every query is multiplied by an
/// orthogonal `rotation` first (OPQ's), then handed to `base`. Inner products and distances are
/// unchanged by a rotation, so scores mean what they mean for the base index.
public struct RotatedIndex<Base: VectorIndex>: VectorIndex {
    /// D × D orthogonal matrix; vectors are stored as `x · rotation`.
    public let rotation: Matrix
    /// The index of rotated vectors.
    public internal(set) var base: Base

    /// Wraps `base` (empty or not) behind `rotation`.
    public init(rotation: Matrix, base: Base) throws(IndexError) {
        guard rotation.rows == base.dimension, rotation.columns == base.dimension else {
            throw .dimensionMismatch(expected: base.dimension, found: rotation.rows)
        }
        self.rotation = rotation
        self.base = base
    }

    public var dimension: Int { base.dimension }
    public var count: Int { base.count }
    public var metric: Metric { base.metric }
    public var bytesPerItem: Int { base.bytesPerItem }
    public var memoryBytes: Int { base.memoryBytes + rotation.values.count * 4 }

    /// `x · rotation`, after checking the shape and that values are finite.
    public func rotate(_ x: Matrix) throws(IndexError) -> Matrix {
        try validate(x)
        return x.multiplied(rotation)
    }

    public mutating func add(_ vectors: Matrix, ids: [Int64]?) throws(IndexError) {
        try base.add(rotate(vectors), ids: ids)
    }

    public func search(_ queries: Matrix, k: Int, threads: Int?) throws(IndexError) -> SearchResults {
        try base.search(rotate(queries), k: k, threads: threads)
    }
}

/// OPQ + 8-bit PQ.
public typealias OPQIndex = RotatedIndex<PQIndex>
/// OPQ + 4-bit fast-scan PQ.
public typealias OPQ4Index = RotatedIndex<PQ4Index>

extension RotatedIndex where Base == PQIndex {
    /// An empty OPQ index from a trained `OPQ`.
    public init(opq: OPQ, metric: Metric = .l2) throws(IndexError) {
        try self.init(rotation: opq.rotation, base: PQIndex(quantizer: opq.quantizer, metric: metric))
    }
}

extension RotatedIndex where Base == PQ4Index {
    /// An empty OPQ fast-scan index from a trained 4-bit `OPQ`.
    public init(opq: OPQ, metric: Metric = .l2) throws(IndexError) {
        try self.init(rotation: opq.rotation, base: PQ4Index(quantizer: opq.quantizer, metric: metric))
    }

    /// Fast-scan search with explicit re-ranking depth and kernel (see `PQ4Index`).
    public func search(_ queries: Matrix, k: Int, threads: Int? = nil, rerank: Int?,
                       kernel: FastScanKernel) throws(IndexError) -> SearchResults {
        try base.search(rotate(queries), k: k, threads: threads, rerank: rerank, kernel: kernel)
    }
}
