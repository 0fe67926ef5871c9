/// A 4-bit product-quantized index searched by fast scan: codes in the 32-item block layout of
/// `FastScanLayout`, per-query tables quantized to UInt8 (`QuantizedLookupTable`) and looked up
/// in SIMD registers by a `FastScanKernel` (`FastScanSearch`), then the best
/// `SearchParameters.rerankDepth` candidates re-scored with the exact float tables
/// (`ExactTableReranker`) so the quantized table costs no recall.
///
/// Bytes per item: M / 2 (M sub-spaces of 16 codewords). Results depend only on the data, never
/// on the kernel or the thread count: kernels give identical integer sums, candidates are chosen
/// by (sum, position), and the final order by (exact score, id).
public struct PQ4Index: VectorIndex {
    /// The quantizer (4 bits per code).
    public let quantizer: ProductQuantizer
    public let metric: Metric
    /// Block layout of the codes.
    public let layout: FastScanLayout
    /// The packed codes (one run) and ids.
    public internal(set) var store: CodeStore

    /// An empty index over a trained 4-bit quantizer.
    ///
    /// - Throws: `IndexError.unsupported` unless `bitsPerCode == 4` and M ≤ 257.
    public init(quantizer: ProductQuantizer, metric: Metric = .l2) throws(IndexError) {
        guard quantizer.bitsPerCode == 4 else {
            throw .unsupported("fast scan needs 4-bit codes; the quantizer has \(quantizer.bitsPerCode)")
        }
        guard quantizer.subspaces <= QuantizedLookupTable.maximumSubspaces else {
            throw .unsupported("fast scan sums 16-bit integers: at most \(QuantizedLookupTable.maximumSubspaces) sub-spaces")
        }
        self.quantizer = quantizer
        self.metric = metric
        layout = FastScanLayout(subspaces: quantizer.subspaces)
        store = CodeStore(layout: .fastScan(layout))
    }

    /// An index over existing fast-scan codes (any number of runs).
    ///
    /// - Throws: as `init(quantizer:metric:)`, or `IndexError.inconsistentStore` when the
    ///   store's layout is not `quantizer`'s blocks.
    public init(quantizer: ProductQuantizer, metric: Metric = .l2, store: CodeStore) throws(IndexError) {
        try self.init(quantizer: quantizer, metric: metric)
        guard store.layout == self.store.layout else {
            throw .inconsistentStore(reason: "layout \(store.layout) does not fit \(quantizer.subspaces) 4-bit codes")
        }
        self.store = store
    }

    public var dimension: Int { quantizer.dimension }
    public var count: Int { store.count }
    /// Above every id stored: automatic ids never collide with chosen ones.
    public var automaticIdStart: Int64 { store.largestId + 1 }
    public func firstStoredId(in set: Set<Int64>) -> Int64? { store.firstId(in: set) }
    public var bytesPerItem: Int { store.layout.bytesPerItem }
    public var memoryBytes: Int { store.memoryBytes + quantizer.codebooks.count * 4 }

    public mutating func add(_ items: FeatureBatch, ids newIds: [Int64]?) throws(IndexError) {
        let (codes, ids) = try encode(items, ids: newIds, with: quantizer)
        try store.append(codes: codes, ids: ids)
    }

    public func search(_ queries: FeatureBatch, parameters: SearchParameters) throws(IndexError) -> SearchResults {
        try validate(queries.vectors)
        return try CodeSearcher(source: QuantizerTables(quantizer: quantizer, metric: metric), reranker: ExactTableReranker())
            .search(queries.vectors, in: store, parameters: parameters)
    }
}
