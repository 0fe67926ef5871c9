/// The 8-bit scan strategy: float lookup tables over one-byte codes (`CodeLayout.rows`).
///
/// Each query's scan runs in blocks that stay in L1, over database tiles that stay in L2, with
/// early abandoning for 256-entry tables (exact: the top-k equals the exhaustive one).
enum ADCSearch {
    /// Codes scored per kernel call: the score buffer stays in L1.
    static let scanBlock = 1024

    /// What a first-stage collector names its items by.
    enum Keys {
        /// Item ids: the collectors are the final results.
        case ids
        /// Store positions: the collectors are candidates for a re-ranking stage.
        case positions
    }

    /// The best `depth` items of each query of `tables` over `runs`.
    static func collect(runs: [CodeRunView], tables: LookupTables, depth: Int, threads: Int,
                        keys: Keys, accept: AcceptHook?, probes: (@Sendable (Int) -> [Int])? = nil) -> [TopK] {
        let m = tables.subspaces, kw = tables.codewords, nq = tables.queries
        let eightBit = kw == 256
        return tables.values.withUnsafeBufferPointer { lb in
            // One abandoning bound per query, not per database tile the query visits.
            let bounds = eightBit
                ? (0..<nq).map { ADCScanKernel.halfBound(lut: lb.baseAddress! + $0 * tables.stride, subspaces: m, codewords: kw) }
                : []
            let luts = UncheckedSendable(lb.baseAddress!), stride = tables.stride
            let byId = keys == .ids
            return ParallelSearch.collect(queries: 0..<nq, runs: runs, threads: threads,
                                          tileItems: ParallelSearch.tileItems(bytesPerItem: m, multiple: scanBlock), probes: probes,
                                          make: { TopK(k: depth, accept: accept) }) { q, run, range, top in
                let lut = luts.value + q * stride
                let bound = eightBit ? bounds[q] : 0
                let codes = run.codes!
                withUnsafeTemporaryAllocation(of: Float.self, capacity: scanBlock) { buf in
                    var start = range.lowerBound
                    while start < range.upperBound {
                        let len = min(scanBlock, range.upperBound - start)
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
                        top.offer(scores: buf.baseAddress!, count: len, ids: byId ? run.ids! + start : nil,
                                  firstId: Int64(run.offset + start))
                        start += len
                    }
                }
            }
        }
    }
}
