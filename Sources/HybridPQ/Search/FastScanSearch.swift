/// The 4-bit scan strategy: quantized tables over fast-scan blocks (`CodeLayout.fastScan`),
/// looked up in SIMD registers by a `FastScanKernel`. It produces candidates — the best
/// `depth` store positions by quantized sum — for a re-ranking stage to order exactly.
///
/// Candidates are chosen by (sum, position), so they depend only on the data, never on the
/// kernel or the thread count.
enum FastScanSearch {
    /// Blocks scanned per kernel call (2,048 items: the sums stay in L1).
    static let scanBlocks = 64

    /// The best `depth` positions of each query over `runs`, by quantized sum.
    static func collect(runs: [CodeRunView], layout: FastScanLayout, tables: [QuantizedLookupTable], depth: Int,
                        kernel: FastScanKernel, threads: Int, accept: AcceptHook?) -> [CandidateReservoir] {
        let tile = ParallelSearch.tileItems(bytesPerItem: layout.paddedSubspaces / 2,
                                            multiple: scanBlocks * FastScanLayout.blockSize)
        return ParallelSearch.collect(queries: 0..<tables.count, runs: runs, threads: threads, tileItems: tile,
                                      make: { CandidateReservoir(k: depth, accept: accept) },
                                      scanPair: { q0, q1, run, range, top0, top1 in
            scanPair(run: run, layout: layout, luts: (tables[q0], tables[q1]), kernel: kernel, range: range,
                     top0: &top0, top1: &top1)
        }) { q, run, range, top in
            scan(run: run, layout: layout, lut: tables[q], kernel: kernel, range: range, top: &top)
        }
    }

    /// Offers every item of rows `range` of `run` to `top` with its quantized sum as score and
    /// its position as key; the kernel reports only the sums that reach the reservoir's floor.
    static func scan(run: CodeRunView, layout: FastScanLayout, lut: QuantizedLookupTable,
                     kernel: FastScanKernel, range: Range<Int>, top: inout CandidateReservoir) {
        let codes = run.codes!, bs = FastScanLayout.blockSize
        let firstBlock = range.lowerBound / bs, endBlock = (range.upperBound + bs - 1) / bs
        lut.withUnsafePointers { table, rest in
            withUnsafeTemporaryAllocation(of: UInt16.self, capacity: scanBlocks * bs) { sums in
                withUnsafeTemporaryAllocation(of: UInt32.self, capacity: scanBlocks) { masks in
                    var b = firstBlock
                    while b < endBlock {
                        let nb = min(scanBlocks, endBlock - b)
                        kernel.scan(codes: codes + b * layout.blockBytes, blocks: nb, paddedSubspaces: layout.paddedSubspaces,
                                    query: query(table, rest, top, sums.baseAddress!, masks.baseAddress!))
                        offer(sums: sums.baseAddress!, masks: masks.baseAddress!, firstBlock: b, blocks: nb,
                              range: range, offset: run.offset, top: &top)
                        b += nb
                    }
                }
            }
        }
    }

    /// `scan` for two queries in one pass of the codes (`FastScanKernel.scanPair`).
    static func scanPair(run: CodeRunView, layout: FastScanLayout, luts: (QuantizedLookupTable, QuantizedLookupTable),
                         kernel: FastScanKernel, range: Range<Int>,
                         top0: inout CandidateReservoir, top1: inout CandidateReservoir) {
        let codes = run.codes!, bs = FastScanLayout.blockSize
        let firstBlock = range.lowerBound / bs, endBlock = (range.upperBound + bs - 1) / bs
        luts.0.withUnsafePointers { t0, r0 in
            luts.1.withUnsafePointers { t1, r1 in
                withUnsafeTemporaryAllocation(of: UInt16.self, capacity: 2 * scanBlocks * bs) { sums in
                    withUnsafeTemporaryAllocation(of: UInt32.self, capacity: 2 * scanBlocks) { masks in
                        let s0 = sums.baseAddress!, s1 = s0 + scanBlocks * bs
                        let m0 = masks.baseAddress!, m1 = m0 + scanBlocks
                        var b = firstBlock
                        while b < endBlock {
                            let nb = min(scanBlocks, endBlock - b)
                            kernel.scanPair(codes: codes + b * layout.blockBytes, blocks: nb,
                                            paddedSubspaces: layout.paddedSubspaces,
                                            queries: (query(t0, r0, top0, s0, m0), query(t1, r1, top1, s1, m1)))
                            offer(sums: s0, masks: m0, firstBlock: b, blocks: nb, range: range, offset: run.offset, top: &top0)
                            offer(sums: s1, masks: m1, firstBlock: b, blocks: nb, range: range, offset: run.offset, top: &top1)
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

    /// The k-th largest reported sum among items `lo..<hi` of the chunk (0 when fewer): a
    /// histogram of the high bytes finds its bin, a second one of the low bytes within it.
    static func kthLargest(sums: UnsafePointer<UInt16>, masks: UnsafePointer<UInt32>, firstBlock b: Int, blocks nb: Int,
                           lo: Int, hi: Int, k: Int) -> UInt16 {
        let bs = FastScanLayout.blockSize
        return withUnsafeTemporaryAllocation(of: UInt32.self, capacity: 512) { h -> UInt16 in
            h.initialize(repeating: 0)
            let high = h.baseAddress!, low = high + 256
            // One pass: high-byte histogram of the reported sums in range, and a copy of them.
            return withUnsafeTemporaryAllocation(of: UInt16.self, capacity: nb * bs) { kept -> UInt16 in
                var n = 0
                for blk in 0..<nb {
                    var mask = UInt64(masks[blk])
                    let first = (b + blk) * bs
                    if first < lo { mask &= ~((1 << UInt64(min(63, lo - first))) - 1) }
                    if first + bs > hi { mask &= (1 << UInt64(max(0, hi - first))) - 1 }
                    if mask == 0xFFFF_FFFF {
                        for j in 0..<bs { let v = sums[blk * bs + j]; kept[n + j] = v; high[Int(v >> 8)] &+= 1 }
                        n += bs
                    } else {
                        while mask != 0 {
                            let v = sums[blk * bs + mask.trailingZeroBitCount]
                            mask &= mask - 1
                            kept[n] = v; n += 1; high[Int(v >> 8)] &+= 1
                        }
                    }
                }
                var top = 255, seen = 0
                while top > 0 && seen + Int(high[top]) < k { seen += Int(high[top]); top -= 1 }
                guard seen + Int(high[top]) >= k else { return 0 }
                for i in 0..<n where Int(kept[i] >> 8) == top { low[Int(kept[i] & 0xFF)] &+= 1 }
                var bottom = 255
                while bottom > 0 && seen + Int(low[bottom]) < k { seen += Int(low[bottom]); bottom -= 1 }
                return UInt16(top << 8 | bottom)
            }
        }
    }

    /// Offers the items of `blocks` blocks from `firstBlock` that lie in `range` and that the
    /// kernel reported (its masks; the sums of other blocks may be stale), as positions
    /// `offset + row`. Once the collector has a floor almost every mask is 0, so they are
    /// checked eight at a time.
    @inline(__always)
    static func offer(sums: UnsafePointer<UInt16>, masks: UnsafePointer<UInt32>, firstBlock b: Int,
                      blocks nb: Int, range: Range<Int>, offset: Int, top: inout CandidateReservoir) {
        let bs = FastScanLayout.blockSize
        let lo = max(range.lowerBound, b * bs), hi = min(range.upperBound, (b + nb) * bs)
        // Many reports (a first chunk, scanned before the reservoir has a floor): only the
        // chunk's own k best can enter, so its k-th best sum is a floor too — found by two
        // 256-bin histograms instead of the reservoir's repeated selections. Not with an accept
        // hook: rejected items must not count toward k.
        var chunkFloor: UInt16 = 0
        if top.accept == nil {
            var reported = 0
            for blk in 0..<nb { reported += masks[blk].nonzeroBitCount }
            if reported > 2 * top.k {
                chunkFloor = kthLargest(sums: sums, masks: masks, firstBlock: b, blocks: nb, lo: lo, hi: hi, k: top.k)
            }
        }
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
                let first = (b + blk) * bs
                if first < lo { mask &= ~((1 << UInt64(lo - first)) - 1) }
                if first + bs > hi { mask &= (1 << UInt64(max(0, hi - first))) - 1 }
                while mask != 0 {
                    let j = mask.trailingZeroBitCount
                    mask &= mask - 1
                    let s = sums[blk * bs + j]
                    // The floor may have risen since the kernel ran (a selection in this loop).
                    if s >= top.floor && s >= chunkFloor { top.add(sum: s, position: offset + first + j) }
                }
            }
        }
    }
}
