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
                        kernel: FastScanKernel, threads: Int, accept: AcceptHook?,
                        probes: (@Sendable (Int) -> [Int])? = nil) -> [CandidateReservoir] {
        let tile = ParallelSearch.tileItems(bytesPerItem: layout.paddedSubspaces / 2,
                                            multiple: scanBlocks * FastScanLayout.blockSize)
        return ParallelSearch.collect(queries: 0..<tables.count, runs: runs, threads: threads, tileItems: tile, probes: probes,
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
                              range: range, offset: run.offset, ceiling: lut.rest[0], top: &top)
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
                            offer(sums: s0, masks: m0, firstBlock: b, blocks: nb, range: range, offset: run.offset,
                                  ceiling: luts.0.rest[0], top: &top0)
                            offer(sums: s1, masks: m1, firstBlock: b, blocks: nb, range: range, offset: run.offset,
                                  ceiling: luts.1.rest[0], top: &top1)
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

    /// Bins of `chunkFloor`'s histogram: enough that the k-th best sum's bin holds few others.
    static let floorBins = 1024

    /// Floors for a chunk: the lower edge of the histogram bin that holds the k-th largest
    /// reported sum among items `lo..<hi` (0 when fewer are reported) — never above the k-th
    /// best, so every item of the chunk's best `k` still passes it. The bins are `1 << shift`
    /// wide, the shift chosen so `ceiling` (the largest sum the table allows) falls in one of
    /// at most `floorBins`: the sums of M = 32 tables stay below 4,096, so a fixed high-byte
    /// split would put them all in 16 bins, the k-th in a crowded one. Two histograms (even and
    /// odd items) so that runs of equal bins do not serialize on one counter. Built once per
    /// chunk: when an accept hook rejects items above a floor, a lower one for more items is a
    /// further walk of the same bins (rebuilding it had cost 40 % more histograms per search on a
    /// live index with 2 % deleted rows).
    struct ChunkHistogram {
        let even: UnsafeMutablePointer<UInt16>, odd: UnsafeMutablePointer<UInt16>
        let bins: Int, shift: Int

        /// The floor under the `k`-th largest reported sum.
        func floor(atLeast k: Int) -> UInt16 {
            var bin = bins - 1, seen = Int(even[bin]) + Int(odd[bin])
            while bin > 0 && seen < k { bin -= 1; seen += Int(even[bin]) + Int(odd[bin]) }
            return seen >= k ? UInt16(bin << shift) : 0
        }
    }

    /// Runs `body` with the histogram of the reported sums of items `lo..<hi` in the chunk.
    static func withChunkHistogram<R>(sums: UnsafePointer<UInt16>, masks: UnsafePointer<UInt32>, firstBlock b: Int,
                                      blocks nb: Int, lo: Int, hi: Int, ceiling: UInt16,
                                      _ body: (ChunkHistogram) -> R) -> R {
        let bs = FastScanLayout.blockSize
        let shift = max(0, (UInt16.bitWidth - ceiling.leadingZeroBitCount) - floorBins.trailingZeroBitCount)
        let bins = Int(ceiling >> UInt16(shift)) + 1
        return withUnsafeTemporaryAllocation(of: UInt16.self, capacity: 2 * bins) { h -> R in
            h.initialize(repeating: 0)
            let even = h.baseAddress!, odd = even + bins
            for blk in 0..<nb {
                var mask = UInt64(masks[blk])
                let first = (b + blk) * bs, row = sums + blk * bs
                if first < lo { mask &= ~((1 << UInt64(min(63, lo - first))) - 1) }
                if first + bs > hi { mask &= (1 << UInt64(max(0, hi - first))) - 1 }
                if mask == 0xFFFF_FFFF {
                    var j = 0
                    while j < bs {
                        even[Int(row[j] >> UInt16(shift))] &+= 1
                        odd[Int(row[j + 1] >> UInt16(shift))] &+= 1
                        j += 2
                    }
                } else {
                    while mask != 0 {
                        even[Int(row[mask.trailingZeroBitCount] >> UInt16(shift))] &+= 1
                        mask &= mask - 1
                    }
                }
            }
            return body(ChunkHistogram(even: even, odd: odd, bins: bins, shift: shift))
        }
    }

    /// Offers the items of `blocks` blocks from `firstBlock` that lie in `range` and that the
    /// kernel reported (its masks; the sums of other blocks may be stale), as positions
    /// `offset + row` (`ceiling`: the largest sum the query's table allows). Once the collector
    /// has a floor almost every mask is 0, so they are checked eight at a time.
    @inline(__always)
    static func offer(sums: UnsafePointer<UInt16>, masks: UnsafePointer<UInt32>, firstBlock b: Int,
                      blocks nb: Int, range: Range<Int>, offset: Int, ceiling: UInt16, top: inout CandidateReservoir) {
        let bs = FastScanLayout.blockSize
        let lo = max(range.lowerBound, b * bs), hi = min(range.upperBound, (b + nb) * bs)
        // The block's reported items within the range.
        @inline(__always) func reported(_ blk: Int) -> UInt64 {
            var mask = UInt64(masks[blk])
            let first = (b + blk) * bs
            if first < lo { mask &= ~((1 << UInt64(min(63, lo - first))) - 1) }
            if first + bs > hi { mask &= (1 << UInt64(max(0, hi - first))) - 1 }
            return mask
        }
        // Offers the items of `mask` in block `blk` that reach the reservoir's floor (which may
        // have risen since the kernel ran: a selection in this loop).
        @inline(__always) func offerEach(_ mask: UInt64, ofBlock blk: Int) {
            var mask = mask
            let first = (b + blk) * bs
            while mask != 0 {
                let j = mask.trailingZeroBitCount
                mask &= mask - 1
                let s = sums[blk * bs + j]
                if s >= top.floor { top.add(sum: s, position: offset + first + j) }
            }
        }
        // Many reports (a first chunk, scanned before the reservoir has a floor): only the
        // chunk's own k best can enter, so a floor under its k-th best sum is a floor too —
        // found by one histogram pass instead of the reservoir's repeated selections. Nearly
        // every item is reported and a few percent reach that floor, at random places: a branch
        // per item would mispredict too often, so each block's items at or above it are found
        // as a bit mask, four sums per 64-bit word.
        // (Counted only while the reservoir has no floor: after that reports are rare, and a
        // popcount is a dozen instructions without the POPCNT extension.)
        var reportedCount = 0
        if top.floor == 0 { for blk in 0..<nb { reportedCount += reported(blk).nonzeroBitCount } }
        if reportedCount > 2 * top.k {
            // With an accept hook the floor counted items it may reject. It stays valid when at
            // least k of the items above it are accepted (they all beat every item below it);
            // otherwise a lower floor is found for as many more items as were rejected, and
            // only the items between the two floors are offered — not the whole chunk (a live
            // index's few deleted rows had sent nearly every search down that path).
            Self.withChunkHistogram(sums: sums, masks: masks, firstBlock: b, blocks: nb, lo: lo, hi: hi,
                                    ceiling: ceiling) { histogram in
                var need = top.k, accepted = 0, previous: UInt16? = nil
                while true {
                    let floor = histogram.floor(atLeast: need)
                    for blk in 0..<nb {
                        var mask = reported(blk) & UInt64(atLeast(sums + blk * bs, floor))
                        if let previous { mask &= ~UInt64(atLeast(sums + blk * bs, previous)) }
                        let first = (b + blk) * bs
                        while mask != 0 {
                            let j = mask.trailingZeroBitCount
                            mask &= mask - 1
                            if let accept = top.accept, !accept.accepts(Int64(offset + first + j)) { continue }
                            accepted += 1
                            let s = sums[blk * bs + j]
                            if s >= top.floor { top.append(sum: s, position: offset + first + j) }
                        }
                    }
                    // k accepted items at or above the floor are kept: nothing below it can enter
                    // later either, so later chunks are scanned with it (the reservoir would
                    // otherwise wait for 2k pairs, a second chunk reported in full, before its first
                    // selection). A floor of 0 has offered every reported item.
                    if accepted >= top.k { top.raiseFloor(to: floor); return }
                    guard floor > 0 else { return }
                    need += top.k - accepted
                    previous = floor
                }
            }
            return
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
                offerEach(reported(blk), ofBlock: blk)
                blk += 1
            }
        }
    }

    /// Bit j set when `sums[j] ≥ floor`, for the 32 sums of a block. Sums and floor are below
    /// 2¹⁵ (at most 127 · 257), so within each 16-bit field `(v | 2¹⁵) − floor` keeps bit 15
    /// exactly when v ≥ floor and never borrows from the next field; one multiplication then
    /// gathers a word's four bits 15, 31, 47, 63 into bits 48…51 (the shifted copies land on
    /// distinct bits, so nothing carries into them). A stale sum of an unreported item may be
    /// anything; its bit is masked off by the caller.
    @inline(__always)
    static func atLeast(_ sums: UnsafePointer<UInt16>, _ floor: UInt16) -> UInt32 {
        let high: UInt64 = 0x8000_8000_8000_8000
        let f = UInt64(floor) &* 0x0001_0001_0001_0001
        let gather: UInt64 = 1 << 48 | 1 << 33 | 1 << 18 | 1 << 3
        let raw = UnsafeRawPointer(sums)
        var mask: UInt32 = 0
        for w in 0..<(FastScanLayout.blockSize / 4) {
            let v = raw.loadUnaligned(fromByteOffset: w * 8, as: UInt64.self)
            let bits = (((v | high) &- f) & high) >> 15
            mask |= UInt32(truncatingIfNeeded: ((bits &* gather) >> 48) & 0xF) << UInt32(4 * w)
        }
        return mask
    }
}
