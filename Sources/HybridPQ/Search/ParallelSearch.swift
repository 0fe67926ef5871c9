/// Spreads one batch search over cores and over the runs of a code store, the same way for
/// every scan strategy.
///
/// A batch with at least as many queries as threads is split by query (each core runs whole
/// queries); a smaller batch on a large database is split by position range, each core keeping
/// its own collectors, merged at the end. The collectors' total orders (score, then id or
/// position) make both give exactly the single-threaded answer.
enum ParallelSearch {
    /// Databases smaller than this are never split: the merge would cost more than it saves.
    static let minimumDatabaseChunk = 32_768

    /// Runs up to this many items are scanned query by query when queries probe runs (`probes`).
    static let smallRunItems = 4_096

    /// Bytes of codes per tile: half of a typical 1 MiB L2 cache (this project's Zen 3 VM has
    /// 512 KiB; 64–512 KiB tiles measured the same there, docs/FAST_SCAN.md).
    static let tileBytes = 512 << 10

    /// Items per tile for codes of `bytesPerItem` bytes, a multiple of `multiple` items.
    static func tileItems(bytesPerItem: Int, multiple: Int) -> Int {
        max(multiple, tileBytes / max(1, bytesPerItem) / multiple * multiple)
    }

    /// A query's scan of rows `range` of one run into its collector.
    typealias Scan<C> = @Sendable (_ query: Int, _ run: CodeRunView, _ range: Range<Int>, _ top: inout C) -> Void
    /// Two queries' scan of the same rows (kernels that share code loads between queries); it
    /// must leave both collectors as two `Scan` calls would.
    typealias ScanPair<C> = @Sendable (_ q0: Int, _ q1: Int, _ run: CodeRunView, _ range: Range<Int>,
                                       _ top0: inout C, _ top1: inout C) -> Void

    /// Runs `scan` for every query in `queries` over every run and returns each query's
    /// collector (index `q - queries.lowerBound`), each made by `make`.
    ///
    /// When a core runs several queries it walks each run in tiles of `tileItems` items and
    /// scans each tile for all its queries before moving on, so a tile's codes come from cache
    /// for every query but the first: memory traffic is divided by the number of queries, and
    /// the scan is no longer bound by memory bandwidth.
    ///
    /// `probes` (partitioned indexes: IVF lists) gives each query the runs it scans, by index
    /// into `runs` (nil: every run). Runs larger than `smallRunItems` are shared: a core's
    /// queries are grouped by run, so such a list's codes are read once for all the queries that
    /// probe it; smaller runs are scanned query by query (see below).
    static func collect<C: SearchCollector>(
        queries: Range<Int>, runs: [CodeRunView], threads: Int, tileItems: Int = .max,
        probes: (@Sendable (Int) -> [Int])? = nil,
        make: () -> C, scanPair: ScanPair<C>? = nil, scan: Scan<C>
    ) -> [C] {
        var tops = (0..<queries.count).map { _ in make() }
        let n = runs.reduce(0) { $0 + $1.count }
        guard n > 0, !queries.isEmpty else { return tops }
        let splitDatabase = queries.count < threads && n >= 2 * minimumDatabaseChunk
        tops.withUnsafeMutableBufferPointer { tb in
            let out = UncheckedSendable(tb.baseAddress!)
            if !splitDatabase {
                parallelChunks(count: queries.count, threads: threads) { chunk in
                    // The chunk's queries of each run (all of them without probes). Probed runs
                    // of up to `smallRunItems` (IVF lists of a few thousand items) are scanned
                    // query by query instead: a query's collector and table stay in cache, where
                    // grouping queries by such a run made them the traffic (slower on one core at
                    // 1M items in 1,024 lists). Collectors do not depend on the order.
                    // Keyed by run: an array per run cost a retain and a release per list and
                    // search (a third of a one-query search over 4,096 lists).
                    var byRun: [Int: [Int]] = [:]
                    if let probes {
                        for local in chunk {
                            let q = queries.lowerBound + local
                            for r in probes(q) where runs[r].count > 0 {
                                if runs[r].count <= smallRunItems {
                                    scan(q, runs[r], 0..<runs[r].count, &out.value[local])
                                } else {
                                    byRun[r, default: []].append(local)
                                }
                            }
                        }
                    }
                    let everyone = Array(chunk)
                    for r in probes == nil ? Array(runs.indices) : byRun.keys.sorted() where runs[r].count > 0 {
                        let run = runs[r]
                        let locals = probes == nil ? everyone : byRun[r]!
                        guard !locals.isEmpty else { continue }
                        let tile = max(1, min(tileItems, run.count))
                        var start = 0
                        while start < run.count {
                            let range = start..<min(run.count, start + tile)
                            var i = 0
                            if let scanPair {
                                while i + 1 < locals.count {
                                    let (a, b) = (locals[i], locals[i + 1])
                                    scanPair(queries.lowerBound + a, queries.lowerBound + b, run, range, &out.value[a], &out.value[b])
                                    i += 2
                                }
                            }
                            while i < locals.count {
                                scan(queries.lowerBound + locals[i], run, range, &out.value[locals[i]])
                                i += 1
                            }
                            start = range.upperBound
                        }
                    }
                }
                return
            }
            let chunks = chunkCount(count: n, threads: threads, minimumChunk: minimumDatabaseChunk)
            let everyRun = Array(runs.indices)
            // Each run's first item in the runs laid end to end (the chunks' space; a probed
            // search's views are not contiguous in the store).
            var laid = [Int](repeating: 0, count: runs.count)
            for r in runs.indices.dropFirst() { laid[r] = laid[r - 1] + runs[r - 1].count }
            let starts = laid
            for local in 0..<queries.count {
                // The query's runs (each once): a probed query never walks every list.
                let scanned = probes.map { Array(Set($0(queries.lowerBound + local))).sorted() } ?? everyRun
                var partial = (0..<chunks).map { _ in make() }
                partial.withUnsafeMutableBufferPointer { pb in
                    let p = UncheckedSendable(pb.baseAddress!)
                    parallelChunksIndexed(count: n, threads: threads, minimumChunk: minimumDatabaseChunk) { c, range in
                        // The part of each run that falls in this chunk's range of the runs laid end to end.
                        for r in scanned {
                            let run = runs[r], at = starts[r]
                            let lo = max(range.lowerBound, at), hi = min(range.upperBound, at + run.count)
                            if lo < hi { scan(queries.lowerBound + local, run, (lo - at)..<(hi - at), &p.value[c]) }
                        }
                    }
                }
                for c in 0..<chunks { out.value[local].merge(partial[c]) }
            }
        }
        return tops
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
