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
                    var tops: [CandidateReservoir] = ParallelSearch.collect(queries: qs..<qe, databaseCount: n, k: candidates,
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
                    var finals = [TopK](repeating: TopK(k: k), count: qe - qs)
                    tables.values.withUnsafeBufferPointer { lb in
                        let refs = UncheckedSendable((cb.baseAddress!, ib.baseAddress!, lb.baseAddress!))
                        tops.withUnsafeMutableBufferPointer { tb in
                            finals.withUnsafeMutableBufferPointer { fb in
                                let io = UncheckedSendable((tb.baseAddress!, fb.baseAddress!))
                                parallelChunks(count: qe - qs, threads: threadCount, minimumChunk: 16) { chunk in
                                    let (codes, ids, luts) = refs.value
                                    for local in chunk {
                                        let lut = luts + local * tables.stride
                                        for p in io.value.0[local].positions() {
                                            var s: Float = 0
                                            for sub in 0..<m { s += lut[sub * 16 + layout.code(codes, item: p, subspace: sub)] }
                                            io.value.1[local].offer(score: s, id: ids[p])
                                        }
                                    }
                                }
                            }
                        }
                    }
                    results.store(finals, from: qs)
                    qs = qe
                }
            }
        }
        return results
    }

    /// Blocks scanned per kernel call (2,048 items: the sums stay in L1).
    static let scanBlocks = 64

    /// Offers every item of `range` to `top` with its quantized sum as score and its position as
    /// id; the kernel reports only the sums that reach the reservoir's floor.
    static func scanCandidates(codes: UnsafePointer<UInt8>, layout: FastScanLayout, lut: QuantizedLookupTable,
                               kernel: FastScanKernel, range: Range<Int>, top: inout CandidateReservoir) {
        let firstBlock = range.lowerBound / 32, endBlock = (range.upperBound + 31) / 32
        lut.withUnsafePointers { table, rest in
            withUnsafeTemporaryAllocation(of: UInt16.self, capacity: scanBlocks * 32) { sums in
                withUnsafeTemporaryAllocation(of: UInt32.self, capacity: scanBlocks) { masks in
                    var b = firstBlock
                    while b < endBlock {
                        let nb = min(scanBlocks, endBlock - b)
                        kernel.scan(codes: codes + b * layout.blockBytes, blocks: nb, paddedSubspaces: layout.paddedSubspaces,
                                    query: query(table, rest, top, sums.baseAddress!, masks.baseAddress!))
                        offer(sums: sums.baseAddress!, masks: masks.baseAddress!, firstBlock: b, blocks: nb,
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
                                  kernel: FastScanKernel, range: Range<Int>,
                                  top0: inout CandidateReservoir, top1: inout CandidateReservoir) {
        let firstBlock = range.lowerBound / 32, endBlock = (range.upperBound + 31) / 32
        luts.0.withUnsafePointers { t0, r0 in
            luts.1.withUnsafePointers { t1, r1 in
                withUnsafeTemporaryAllocation(of: UInt16.self, capacity: 2 * scanBlocks * 32) { sums in
                    withUnsafeTemporaryAllocation(of: UInt32.self, capacity: 2 * scanBlocks) { masks in
                        let s0 = sums.baseAddress!, s1 = s0 + scanBlocks * 32
                        let m0 = masks.baseAddress!, m1 = m0 + scanBlocks
                        var b = firstBlock
                        while b < endBlock {
                            let nb = min(scanBlocks, endBlock - b)
                            kernel.scanPair(codes: codes + b * layout.blockBytes, blocks: nb,
                                            paddedSubspaces: layout.paddedSubspaces,
                                            queries: (query(t0, r0, top0, s0, m0), query(t1, r1, top1, s1, m1)))
                            offer(sums: s0, masks: m0, firstBlock: b, blocks: nb, range: range, top: &top0)
                            offer(sums: s1, masks: m1, firstBlock: b, blocks: nb, range: range, top: &top1)
                            b += nb
                        }
                    }
                }
            }
        }
    }

    /// The kernel's view of a collector: it reports the sums that can still enter.
    @inline(__always)
    static func query(_ lut: UnsafePointer<UInt8>, _ rest: UnsafePointer<UInt16>, _ top: CandidateReservoir,
                      _ out: UnsafeMutablePointer<UInt16>, _ masks: UnsafeMutablePointer<UInt32>) -> FastScanQuery {
        FastScanQuery(lut: lut, rest: rest, floor: top.floor, out: out, masks: masks)
    }

    /// Offers the items of `blocks` blocks from `firstBlock` that lie in `range` and that the
    /// kernel reported (its masks; the sums of other blocks may be stale). Once the collector
    /// has a floor almost every mask is 0, so they are checked eight at a time.
    @inline(__always)
    static func offer(sums: UnsafePointer<UInt16>, masks: UnsafePointer<UInt32>, firstBlock b: Int,
                      blocks nb: Int, range: Range<Int>, top: inout CandidateReservoir) {
        let lo = max(range.lowerBound, b * 32), hi = min(range.upperBound, (b + nb) * 32)
        var blk = 0
        while blk < nb {
            if blk + 8 <= nb,
               UnsafeRawPointer(masks + blk).loadUnaligned(as: SIMD8<UInt32>.self) == SIMD8(repeating: 0) {
                blk += 8
                continue
            }
            let end = min(nb, blk + 8)
            while blk < end {
                defer { blk += 1 }
                var mask = UInt64(masks[blk])
                if mask == 0 { continue }
                let first = (b + blk) * 32
                if first < lo { mask &= ~((1 << UInt64(lo - first)) - 1) }
                if first + 32 > hi { mask &= (1 << UInt64(max(0, hi - first))) - 1 }
                while mask != 0 {
                    let j = mask.trailingZeroBitCount
                    mask &= mask - 1
                    let s = sums[blk * 32 + j]
                    // The floor may have risen since the kernel ran (a selection in this loop).
                    if s >= top.floor { top.add(sum: s, position: first + j) }
                }
            }
        }
    }
}
