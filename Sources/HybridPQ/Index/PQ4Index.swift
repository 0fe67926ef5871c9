/// A 4-bit product-quantized index searched by fast scan: codes in the 32-item block layout of
/// `FastScanLayout`, per-query tables quantized to UInt8 (`QuantizedLookupTable`) and looked up
/// in SIMD registers by a `FastScanKernel`, then the best `rerank` candidates re-scored with the
/// exact float tables so the quantized table costs no recall.
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
    /// Packed codes, `layout.blocks(for: count) × layout.blockBytes` bytes.
    public internal(set) var codes: StoredArray<UInt8>
    /// External id of each item.
    public internal(set) var ids: StoredArray<Int64>

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
        codes = StoredArray()
        ids = StoredArray()
    }

    public var dimension: Int { quantizer.dimension }
    public var count: Int { ids.count }
    public var bytesPerItem: Int { layout.paddedSubspaces / 2 }
    public var memoryBytes: Int { codes.count + count * 8 + quantizer.codebooks.count * 4 }

    public mutating func add(_ batch: Matrix, ids newIds: [Int64]? = nil) throws(IndexError) {
        try validate(batch)
        let resolved = try resolveIds(newIds, count: batch.rows)
        let encoded: [UInt8]
        do { encoded = try quantizer.encode(batch) } catch { throw .quantizer(error) }
        var packed = codes.array
        codes = StoredArray()
        layout.append(codes: encoded, count: batch.rows, to: &packed, existing: count)
        codes = StoredArray(packed)
        ids.append(contentsOf: resolved)
    }

    /// Default number of candidates re-scored exactly: `10 · k`.
    public static func defaultRerank(k: Int) -> Int { 10 * k }

    public func search(_ queries: Matrix, k: Int, threads: Int? = nil) throws(IndexError) -> SearchResults {
        try search(queries, k: k, threads: threads, rerank: nil, kernel: .best)
    }

    /// Searches with an explicit re-ranking depth (`nil`: `10 · k`; values below `k` are raised
    /// to `k`) and kernel (must be available on this processor).
    public func search(_ queries: Matrix, k: Int, threads: Int? = nil, rerank: Int?,
                       kernel: FastScanKernel) throws(IndexError) -> SearchResults {
        try validate(queries)
        guard k >= 1 else { throw .invalidK(k) }
        guard kernel.isAvailable else { throw .unsupported("kernel \(kernel.rawValue) is not available on this processor") }
        let nq = queries.rows, n = count, m = quantizer.subspaces
        var results = SearchResults(queries: nq, k: k)
        guard nq > 0, n > 0 else { return results }
        let candidates = max(k, rerank ?? Self.defaultRerank(k: k))
        let threadCount = Concurrency.resolve(threads: threads)
        let layout = self.layout, pm = layout.paddedSubspaces
        codes.withUnsafeBufferPointer { cb in
            ids.withUnsafeBufferPointer { ib in
                var qs = 0
                while qs < nq {
                    let qe = min(nq, qs + ADCSearch.queryBatch)
                    let tables = try! quantizer.lookupTables(queries.slicing(rows: qs..<qe), metric: metric)
                    let quantized = tables.values.withUnsafeBufferPointer { lb in
                        (0..<(qe - qs)).map { QuantizedLookupTable(lut: lb.baseAddress! + $0 * tables.stride, subspaces: m, paddedSubspaces: pm) }
                    }
                    let shared = UncheckedSendable(cb.baseAddress!)
                    let first = qs
                    // Phase 1: the best `candidates` positions by quantized sum (ids = positions).
                    let tile = ParallelSearch.tileItems(bytesPerItem: layout.paddedSubspaces / 2, multiple: Self.scanBlocks * 32)
                    var tops = ParallelSearch.collect(queries: qs..<qe, databaseCount: n, k: candidates,
                                                      threads: threadCount, tileItems: tile,
                                                      scanPair: { q0, q1, range, top0, top1 in
                        Self.scanCandidatePair(codes: shared.value, layout: layout,
                                               luts: (quantized[q0 - first], quantized[q1 - first]),
                                               kernel: kernel, range: range, top0: &top0, top1: &top1)
                    }) { q, range, top in
                        Self.scanCandidates(codes: shared.value, layout: layout, lut: quantized[q - first],
                                            kernel: kernel, range: range, top: &top)
                    }
                    // Phase 2: exact float scores of the candidates, best `k` by (score, id).
                    tables.values.withUnsafeBufferPointer { lb in
                        let refs = UncheckedSendable((cb.baseAddress!, ib.baseAddress!, lb.baseAddress!))
                        tops.withUnsafeMutableBufferPointer { tb in
                            let out = UncheckedSendable(tb.baseAddress!)
                            parallelChunks(count: qe - qs, threads: threadCount, minimumChunk: 16) { chunk in
                                let (codes, ids, luts) = refs.value
                                for local in chunk {
                                    let lut = luts + local * tables.stride
                                    var best = TopK(k: k)
                                    for pair in out.value[local].sorted() {
                                        let p = Int(pair.id)
                                        var s: Float = 0
                                        for sub in 0..<m { s += lut[sub * 16 + layout.code(codes, item: p, subspace: sub)] }
                                        best.offer(score: s, id: ids[p])
                                    }
                                    out.value[local] = best
                                }
                            }
                        }
                    }
                    results.store(tops, from: qs)
                    qs = qe
                }
            }
        }
        return results
    }

    /// Blocks scanned per kernel call (2,048 items: the sums stay in L1).
    static let scanBlocks = 64

    /// Offers every item of `range` to `top` with its quantized sum as score and its position as id.
    static func scanCandidates(codes: UnsafePointer<UInt8>, layout: FastScanLayout, lut: QuantizedLookupTable,
                               kernel: FastScanKernel, range: Range<Int>, top: inout TopK) {
        let firstBlock = range.lowerBound / 32, endBlock = (range.upperBound + 31) / 32
        lut.entries.withUnsafeBufferPointer { table in
            withUnsafeTemporaryAllocation(of: UInt16.self, capacity: scanBlocks * 32) { sums in
                withUnsafeTemporaryAllocation(of: UInt32.self, capacity: scanBlocks) { masks in
                    var b = firstBlock
                    while b < endBlock {
                        let nb = min(scanBlocks, endBlock - b)
                        let full = top.count == top.k
                        kernel.scan(codes: codes + b * layout.blockBytes, blocks: nb, paddedSubspaces: layout.paddedSubspaces,
                                    lut: table.baseAddress!, threshold: full ? UInt16(top.threshold) : 0,
                                    out: sums.baseAddress!, masks: masks.baseAddress!)
                        offer(sums: sums.baseAddress!, masks: masks.baseAddress!, full: full, firstBlock: b, blocks: nb,
                              range: range, top: &top)
                        b += nb
                    }
                }
            }
        }
    }

    /// `scanCandidates` for two queries in one pass of the codes (`FastScanKernel.scanPair`).
    static func scanCandidatePair(codes: UnsafePointer<UInt8>, layout: FastScanLayout,
                                  luts: (QuantizedLookupTable, QuantizedLookupTable),
                                  kernel: FastScanKernel, range: Range<Int>, top0: inout TopK, top1: inout TopK) {
        let firstBlock = range.lowerBound / 32, endBlock = (range.upperBound + 31) / 32
        luts.0.entries.withUnsafeBufferPointer { t0 in
            luts.1.entries.withUnsafeBufferPointer { t1 in
                withUnsafeTemporaryAllocation(of: UInt16.self, capacity: 2 * scanBlocks * 32) { sums in
                    withUnsafeTemporaryAllocation(of: UInt32.self, capacity: 2 * scanBlocks) { masks in
                        let s0 = sums.baseAddress!, s1 = s0 + scanBlocks * 32
                        let m0 = masks.baseAddress!, m1 = m0 + scanBlocks
                        var b = firstBlock
                        while b < endBlock {
                            let nb = min(scanBlocks, endBlock - b)
                            let full0 = top0.count == top0.k, full1 = top1.count == top1.k
                            kernel.scanPair(codes: codes + b * layout.blockBytes, blocks: nb,
                                            paddedSubspaces: layout.paddedSubspaces,
                                            luts: (t0.baseAddress!, t1.baseAddress!),
                                            thresholds: (full0 ? UInt16(top0.threshold) : 0, full1 ? UInt16(top1.threshold) : 0),
                                            out: (s0, s1), masks: (m0, m1))
                            offer(sums: s0, masks: m0, full: full0, firstBlock: b, blocks: nb, range: range, top: &top0)
                            offer(sums: s1, masks: m1, full: full1, firstBlock: b, blocks: nb, range: range, top: &top1)
                            b += nb
                        }
                    }
                }
            }
        }
    }

    /// Offers the items of `blocks` blocks from `firstBlock` that lie in `range`: every item while
    /// the collector is not full, then only those the kernel's masks name (sums strictly above the
    /// threshold — equal sums lose to the earlier, smaller position).
    @inline(__always)
    static func offer(sums: UnsafePointer<UInt16>, masks: UnsafePointer<UInt32>, full: Bool, firstBlock b: Int,
                      blocks nb: Int, range: Range<Int>, top: inout TopK) {
        let lo = max(range.lowerBound, b * 32), hi = min(range.upperBound, (b + nb) * 32)
        for blk in 0..<nb {
            let first = (b + blk) * 32
            var mask = full ? UInt64(masks[blk]) : 0xFFFF_FFFF
            if first < lo { mask &= ~((1 << UInt64(lo - first)) - 1) }
            if first + 32 > hi { mask &= (1 << UInt64(max(0, hi - first))) - 1 }
            while mask != 0 {
                let j = mask.trailingZeroBitCount
                mask &= mask - 1
                let s = sums[blk * 32 + j]
                if top.count < top.k || Float(s) > top.threshold {
                    top.offer(score: Float(s), id: Int64(first + j))
                }
            }
        }
    }
}
