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

    /// Queries whose lookup tables are built together (one BLAS product per sub-space).
    static let queryBatch = 256
    /// Codes scored per kernel call: the score buffer stays in L1.
    static let scanBlock = 1024

    public func search(_ queries: Matrix, k: Int, threads: Int? = nil) throws(IndexError) -> SearchResults {
        try validate(queries)
        guard k >= 1 else { throw .invalidK(k) }
        let nq = queries.rows, n = count, m = quantizer.subspaces, kw = quantizer.codewords
        var results = SearchResults(queries: nq, k: k)
        guard nq > 0, n > 0 else { return results }
        let threadCount = Concurrency.resolve(threads: threads)
        let eightBit = kw == 256
        codes.withUnsafeBufferPointer { cb in
            ids.withUnsafeBufferPointer { ib in
                var qs = 0
                while qs < nq {
                    let qe = min(nq, qs + Self.queryBatch)
                    let tables = try! quantizer.lookupTables(queries.slicing(rows: qs..<qe), metric: metric)
                    tables.values.withUnsafeBufferPointer { lb in
                        // One abandoning bound per query, not per database tile the query visits.
                        let bounds = eightBit
                            ? (0..<(qe - qs)).map { ADCScanKernel.halfBound(lut: lb.baseAddress! + $0 * tables.stride, subspaces: m, codewords: kw) }
                            : []
                        let shared = UncheckedSendable((cb.baseAddress!, ib.baseAddress!, lb.baseAddress!))
                        let first = qs
                        ParallelSearch.run(queries: qs..<qe, databaseCount: n, k: k, threads: threadCount,
                                           tileItems: ParallelSearch.tileItems(bytesPerItem: m, multiple: Self.scanBlock),
                                           results: &results) { q, range, top in
                            let (codes, ids, luts) = shared.value
                            let lut = luts + (q - first) * tables.stride
                            let bound = eightBit ? bounds[q - first] : 0
                            withUnsafeTemporaryAllocation(of: Float.self, capacity: Self.scanBlock) { buf in
                                var start = range.lowerBound
                                while start < range.upperBound {
                                    let len = min(Self.scanBlock, range.upperBound - start)
                                    if eightBit {
                                        // Codes that cannot beat the current k-th best are abandoned
                                        // half-way; the top-k is exactly the exhaustive one.
                                        ADCScanKernel.scanAbandoning(codes: codes + start * m, count: len, subspaces: m,
                                                                     lut: lut, bound: bound, threshold: top.threshold,
                                                                     scores: buf.baseAddress!)
                                    } else {
                                        ADCScanKernel.reference(codes: codes + start * m, count: len, subspaces: m,
                                                                codewords: kw, lut: lut, scores: buf.baseAddress!)
                                    }
                                    top.offer(scores: buf.baseAddress!, count: len, ids: ids + start)
                                    start += len
                                }
                            }
                        }
                    }
                    qs = qe
                }
            }
        }
        return results
    }
}
