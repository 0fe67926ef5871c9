/// A product-quantized index: one M-byte code per item (8-bit codes) plus its 64-bit id,
/// searched by asymmetric distance — per-query lookup tables, then a scan of every code.
///
/// A thin composition: `ProductQuantizer` encodes and builds tables, `ADCScanKernel` turns codes
/// into scores, `TopK` keeps the best, `ParallelSearch` spreads the work over cores.
public struct PQIndex: VectorIndex {
    /// The quantizer that produced the codes.
    public let quantizer: ProductQuantizer
    public let metric: Metric
    /// `count × M` code bytes, row-major.
    public internal(set) var codes: StoredArray<UInt8>
    /// External id of each item.
    public internal(set) var ids: StoredArray<Int64>

    /// An empty index over a trained quantizer.
    public init(quantizer: ProductQuantizer, metric: Metric = .l2) {
        self.quantizer = quantizer
        self.metric = metric
        codes = StoredArray()
        ids = StoredArray()
    }

    public var dimension: Int { quantizer.dimension }
    public var count: Int { ids.count }
    public var bytesPerItem: Int { quantizer.codeSize }
    public var memoryBytes: Int { count * (bytesPerItem + 8) + quantizer.codebooks.count * 4 }

    public mutating func add(_ batch: Matrix, ids newIds: [Int64]? = nil) throws(IndexError) {
        try validate(batch)
        let resolved = try resolveIds(newIds, count: batch.rows)
        let encoded: [UInt8]
        do { encoded = try quantizer.encode(batch) } catch { throw .quantizer(error) }
        codes.append(contentsOf: encoded)
        ids.append(contentsOf: resolved)
    }

    public func search(_ queries: Matrix, k: Int, threads: Int? = nil) throws(IndexError) -> SearchResults {
        try validate(queries)
        guard k >= 1 else { throw .invalidK(k) }
        return ADCSearch.run(codes: codes, ids: ids, subspaces: quantizer.subspaces, codewords: quantizer.codewords,
                             queryCount: queries.rows, k: k, threads: Concurrency.resolve(threads: threads)) { r in
            try! quantizer.lookupTables(queries.slicing(rows: r), metric: metric)
        }
    }
}
