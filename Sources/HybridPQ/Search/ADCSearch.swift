/// Batch search over 8-bit (or narrower, one byte per code) PQ codes with float lookup tables:
/// the search strategy shared by `PQIndex` and `HybridIndex`.
///
/// Queries go in batches whose tables are built together (`tables` is called once per batch);
/// each query's scan runs in blocks that stay in L1, over database tiles that stay in L2, with
/// early abandoning for 256-entry tables (exact: the top-k equals the exhaustive one).
enum ADCSearch {
    /// Queries whose lookup tables are built together (one BLAS product per sub-space).
    static let queryBatch = 256
    /// Codes scored per kernel call: the score buffer stays in L1.
    static let scanBlock = 1024

    /// The `k` best items of each of `queryCount` queries over `codes` (`ids.count × subspaces`
    /// bytes), with `tables(range)` giving the lookup tables of the queries in `range`.
    static func run(codes: StoredArray<UInt8>, ids: StoredArray<Int64>, subspaces m: Int, codewords kw: Int,
                    queryCount nq: Int, k: Int, threads: Int,
                    tables: (Range<Int>) -> LookupTables) -> SearchResults {
        var results = SearchResults(queries: nq, k: k)
        let n = ids.count
        guard nq > 0, n > 0 else { return results }
        let eightBit = kw == 256
        codes.withUnsafeBufferPointer { cb in
            ids.withUnsafeBufferPointer { ib in
                var qs = 0
                while qs < nq {
                    let qe = min(nq, qs + queryBatch)
                    let batch = tables(qs..<qe)
                    precondition(batch.subspaces == m && batch.codewords == kw && batch.queries == qe - qs, "tables disagree with codes")
                    batch.values.withUnsafeBufferPointer { lb in
                        // One abandoning bound per query, not per database tile the query visits.
                        let bounds = eightBit
                            ? (0..<(qe - qs)).map { ADCScanKernel.halfBound(lut: lb.baseAddress! + $0 * batch.stride, subspaces: m, codewords: kw) }
                            : []
                        let shared = UncheckedSendable((cb.baseAddress!, ib.baseAddress!, lb.baseAddress!))
                        let first = qs, stride = batch.stride
                        ParallelSearch.run(queries: qs..<qe, databaseCount: n, k: k, threads: threads,
                                           tileItems: ParallelSearch.tileItems(bytesPerItem: m, multiple: scanBlock),
                                           results: &results) { q, range, top in
                            let (codes, ids, luts) = shared.value
                            let lut = luts + (q - first) * stride
                            let bound = eightBit ? bounds[q - first] : 0
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
