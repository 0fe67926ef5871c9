/// Spreads one batch search over cores, the same way for every index kind.
///
/// A batch with at least as many queries as threads is split by query (each core runs whole
/// queries); a smaller batch on a large database is split by database range, each core keeping
/// its own top-k which are merged at the end. `TopK`'s total order (score, then id) makes both
/// give exactly the single-threaded answer.
enum ParallelSearch {
    /// Databases smaller than this are never split: the merge would cost more than it saves.
    static let minimumDatabaseChunk = 32_768

    /// Bytes of codes per tile: half of a typical 1 MiB L2 cache.
    static let tileBytes = 512 << 10

    /// Items per tile for codes of `bytesPerItem` bytes, a multiple of `multiple` items.
    static func tileItems(bytesPerItem: Int, multiple: Int) -> Int {
        max(multiple, tileBytes / max(1, bytesPerItem) / multiple * multiple)
    }

    /// Runs `scan(query, databaseRange, &top)` for every query in `queries` over the whole
    /// database and returns each query's collector (index `q - queries.lowerBound`).
    ///
    /// When a core runs several queries it walks the database in tiles of `tileItems` items and
    /// scans each tile for all its queries before moving on, so a tile's codes come from cache
    /// for every query but the first: memory traffic is divided by the number of queries, and
    /// the scan is no longer bound by memory bandwidth. (The order in which a query sees its
    /// tiles does not change its top-k: `TopK`'s order is total.)
    ///
    /// `scanPair`, when given, scans two queries in one pass (kernels that share code loads
    /// between queries); it must leave both collectors as two `scan` calls would.
    static func collect<C: SearchCollector>(
        queries: Range<Int>, databaseCount n: Int, k: Int, threads: Int, tileItems: Int = .max,
        scanPair: (@Sendable (_ q0: Int, _ q1: Int, _ range: Range<Int>, _ top0: inout C, _ top1: inout C) -> Void)? = nil,
        scan: @Sendable (_ query: Int, _ range: Range<Int>, _ top: inout C) -> Void
    ) -> [C] {
        var tops = [C](repeating: C(k: k), count: queries.count)
        let splitDatabase = queries.count < threads && n >= 2 * minimumDatabaseChunk
        let tile = max(1, min(tileItems, n))
        tops.withUnsafeMutableBufferPointer { tb in
            let out = UncheckedSendable(tb.baseAddress!)
            if !splitDatabase {
                parallelChunks(count: queries.count, threads: threads) { chunk in
                    var start = 0
                    while start < n {
                        let range = start..<min(n, start + tile)
                        var local = chunk.lowerBound
                        if let scanPair {
                            while local + 1 < chunk.upperBound {
                                let q = queries.lowerBound + local
                                scanPair(q, q + 1, range, &out.value[local], &out.value[local + 1])
                                local += 2
                            }
                        }
                        while local < chunk.upperBound {
                            scan(queries.lowerBound + local, range, &out.value[local])
                            local += 1
                        }
                        start = range.upperBound
                    }
                }
                return
            }
            let chunks = chunkCount(count: n, threads: threads, minimumChunk: minimumDatabaseChunk)
            for local in 0..<queries.count {
                var partial = [C](repeating: C(k: k), count: chunks)
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
    static func run(queries: Range<Int>, databaseCount n: Int, k: Int, threads: Int, tileItems: Int = .max,
                    results: inout SearchResults,
                    scan: @Sendable (_ query: Int, _ range: Range<Int>, _ top: inout TopK) -> Void) {
        let tops: [TopK] = collect(queries: queries, databaseCount: n, k: k, threads: threads, tileItems: tileItems, scan: scan)
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
