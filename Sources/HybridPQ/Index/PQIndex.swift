/// A product-quantized index: one M-byte code per item (8-bit codes) plus its 64-bit id,
/// searched by asymmetric distance — per-query lookup tables, then a scan of every code.
///
/// A thin composition: `ProductQuantizer` encodes and builds tables (`QuantizerTables`), a
/// `CodeStore` of `.rows` holds the codes, and `CodeSearcher` runs the `ADCSearch` scan.
public struct PQIndex: VectorIndex {
    /// The quantizer that produced the codes.
    public let quantizer: ProductQuantizer
    public let metric: Metric
    /// The codes (one byte per sub-space, one run) and ids.
    public internal(set) var store: CodeStore

    /// An empty index over a trained quantizer.
    public init(quantizer: ProductQuantizer, metric: Metric = .l2) {
        self.quantizer = quantizer
        self.metric = metric
        store = CodeStore(layout: .rows(bytesPerItem: quantizer.subspaces))
    }

    /// An index over existing codes (one byte per sub-space, any number of runs).
    ///
    /// - Throws: `IndexError.inconsistentStore` when the store's layout is not `quantizer`'s rows.
    public init(quantizer: ProductQuantizer, metric: Metric = .l2, store: CodeStore) throws(IndexError) {
        self.init(quantizer: quantizer, metric: metric)
        guard store.layout == self.store.layout else {
            throw .inconsistentStore(reason: "layout \(store.layout) does not fit \(quantizer.subspaces) one-byte codes")
        }
        self.store = store
    }

    public var dimension: Int { quantizer.dimension }
    public var count: Int { store.count }
    /// Above every id stored: automatic ids never collide with chosen ones.
    public var automaticIdStart: Int64 { store.largestId + 1 }
    public func firstStoredId(in set: Set<Int64>) -> Int64? { store.firstId(in: set) }
    /// Bytes stored per item: one per sub-space, whatever the code width.
    public var bytesPerItem: Int { store.layout.bytesPerItem }
    public var memoryBytes: Int { store.memoryBytes + quantizer.codebooks.count * 4 }

    public mutating func add(_ items: FeatureBatch, ids newIds: [Int64]?) throws(IndexError) {
        let (codes, ids) = try encode(items, ids: newIds, with: quantizer)
        try store.append(codes: codes, ids: ids)
    }

    public func search(_ queries: FeatureBatch, parameters: SearchParameters) throws(IndexError) -> SearchResults {
        try validate(queries.vectors)
        return try CodeSearcher(source: QuantizerTables(quantizer: quantizer, metric: metric))
            .search(queries.vectors, in: store, parameters: parameters)
    }
}
