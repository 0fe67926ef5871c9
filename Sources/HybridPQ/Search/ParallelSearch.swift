/// Spreads one batch search over cores, the same way for every index kind.
///
/// A batch with at least as many queries as threads is split by query (each core runs whole
/// queries); a smaller batch on a large database is split by database range, each core keeping
/// its own top-k which are merged at the end. `TopK`'s total order (score, then id) makes both
/// give exactly the single-threaded answer.
enum ParallelSearch {
    /// Databases smaller than this are never split: the merge would cost more than it saves.
    static let minimumDatabaseChunk = 32_768

    /// Runs `scan(query, databaseRange, &top)` for every query in `queries` over the whole
    /// database and stores each query's best `k` in row `query` of `results`.
    static func run(queries: Range<Int>, databaseCount n: Int, k: Int, threads: Int,
                    results: inout SearchResults,
                    scan: @Sendable (_ query: Int, _ range: Range<Int>, _ top: inout TopK) -> Void) {
        results.ids.withUnsafeMutableBufferPointer { idb in
            results.scores.withUnsafeMutableBufferPointer { sb in
                let out = UncheckedSendable((idb.baseAddress!, sb.baseAddress!))
                let splitDatabase = queries.count < threads && n >= 2 * minimumDatabaseChunk
                if !splitDatabase {
                    parallelChunks(count: queries.count, threads: threads) { chunk in
                        let (ids, scores) = out.value
                        for local in chunk {
                            let q = queries.lowerBound + local
                            var top = TopK(k: k)
                            scan(q, 0..<n, &top)
                            (ids + q * k).store(top, scores: scores + q * k)
                        }
                    }
                    return
                }
                let chunks = chunkCount(count: n, threads: threads, minimumChunk: minimumDatabaseChunk)
                for q in queries {
                    var partial = [TopK](repeating: TopK(k: k), count: chunks)
                    partial.withUnsafeMutableBufferPointer { pb in
                        let p = UncheckedSendable(pb.baseAddress!)
                        parallelChunksIndexed(count: n, threads: threads, minimumChunk: minimumDatabaseChunk) { c, range in
                            scan(q, range, &p.value[c])
                        }
                    }
                    var top = partial[0]
                    for c in 1..<chunks { top.merge(partial[c]) }
                    let (ids, scores) = out.value
                    (ids + q * k).store(top, scores: scores + q * k)
                }
            }
        }
    }
}
