/// An index over rotated vectors: every item added and every query is rotated first (OPQ's
/// `Rotation`), then handed to `base`. Inner products and distances are unchanged by a
/// rotation, so scores mean what they mean for the base index.
public struct RotatedIndex<Base: VectorIndex>: VectorIndex {
    /// The rotation applied to items and queries.
    public let transform: Rotation
    /// The index of rotated vectors.
    public internal(set) var base: Base

    /// Wraps `base` (empty or not) behind `rotation` (checked to be an orthogonal D × D matrix).
    public init(rotation: Matrix, base: Base) throws(IndexError) {
        guard rotation.rows == base.dimension, rotation.columns == base.dimension else {
            throw .dimensionMismatch(expected: base.dimension, found: rotation.rows)
        }
        do { transform = try Rotation(rotation) } catch { throw .quantizer(error) }
        self.base = base
    }

    /// The rotation's D × D matrix.
    public var rotation: Matrix { transform.matrix }
    public var dimension: Int { base.dimension }
    public var count: Int { base.count }
    public var automaticIdStart: Int64 { base.automaticIdStart }
    public func firstStoredId(in set: Set<Int64>) -> Int64? { base.firstStoredId(in: set) }
    public var metric: Metric { base.metric }
    public var bytesPerItem: Int { base.bytesPerItem }
    public var memoryBytes: Int { base.memoryBytes + transform.memoryBytes }

    public mutating func add(_ items: FeatureBatch, ids: [Int64]?) throws(IndexError) {
        try validate(items.vectors)
        try base.add(FeatureBatch(transform.apply(items.vectors)), ids: ids)
    }

    public func search(_ queries: FeatureBatch, parameters: SearchParameters) throws(IndexError) -> SearchResults {
        try validate(queries.vectors)
        return try base.search(FeatureBatch(transform.apply(queries.vectors)), parameters: parameters)
    }
}

/// OPQ + 8-bit PQ.
public typealias OPQIndex = RotatedIndex<PQIndex>
/// OPQ + 4-bit fast-scan PQ.
public typealias OPQ4Index = RotatedIndex<PQ4Index>
/// OPQ + IVF (FAISS's `OPQ{M},IVF{nlist},PQ{M}`): the rotation first, then coarse lists and
/// codes of rotated vectors (8-bit rows or 4-bit fast scan).
public typealias IVFOPQIndex = RotatedIndex<IVFIndex>

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
}

extension RotatedIndex where Base == IVFIndex {
    /// An empty OPQ + IVF index: `opq`'s rotation and codes, lists over `centroids` of rotated
    /// vectors (`IVFIndex.trainCentroids` of the rotated training sample).
    public init(opq: OPQ, centroids: Matrix, metric: Metric = .l2) throws(IndexError) {
        try self.init(rotation: opq.rotation, base: IVFIndex(centroids: centroids, quantizer: opq.quantizer, metric: metric))
    }
}
