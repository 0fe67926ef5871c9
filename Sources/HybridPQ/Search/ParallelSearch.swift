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
    /// database and returns each query's collector (index `q - queries.lowerBound`).
    static func collect(queries: Range<Int>, databaseCount n: Int, k: Int, threads: Int,
                        scan: @Sendable (_ query: Int, _ range: Range<Int>, _ top: inout TopK) -> Void) -> [TopK] {
        var tops = [TopK](repeating: TopK(k: k), count: queries.count)
        let splitDatabase = queries.count < threads && n >= 2 * minimumDatabaseChunk
        tops.withUnsafeMutableBufferPointer { tb in
            let out = UncheckedSendable(tb.baseAddress!)
            if !splitDatabase {
                parallelChunks(count: queries.count, threads: threads) { chunk in
                    for local in chunk { scan(queries.lowerBound + local, 0..<n, &out.value[local]) }
                }
                return
            }
            let chunks = chunkCount(count: n, threads: threads, minimumChunk: minimumDatabaseChunk)
            for local in 0..<queries.count {
                var partial = [TopK](repeating: TopK(k: k), count: chunks)
                partial.withUnsafeMutableBufferPointer { pb in
                    let p = UncheckedSendable(pb.baseAddress!)
                    parallelChunksIndexed(count: n, threads: threads, minimumChunk: minimumDatabaseChunk) { c, range in
                        scan(queries.lowerBound + local, range, &p.value[c])
                    }
                }
                for c in 0..<chunks { out.value[local].merge(partial[c]) }
            }
        }
        return tops
    }

    /// As `collect`, storing each query's best `k` in row `query` of `results`.
    static func run(queries: Range<Int>, databaseCount n: Int, k: Int, threads: Int,
                    results: inout SearchResults,
                    scan: @Sendable (_ query: Int, _ range: Range<Int>, _ top: inout TopK) -> Void) {
        let tops = collect(queries: queries, databaseCount: n, k: k, threads: threads, scan: scan)
        results.store(tops, from: queries.lowerBound)
    }
}

extension SearchResults {
    /// Writes collectors (best first) into rows `first`, `first + 1`, ….
    mutating func store(_ tops: [TopK], from first: Int) {
        for (i, top) in tops.enumerated() {
            for (j, pair) in top.sorted().enumerated() {
                ids[(first + i) * k + j] = pair.id
                scores[(first + i) * k + j] = pair.score
            }
        }
    }
}
