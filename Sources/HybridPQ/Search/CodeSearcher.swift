/// The one search path over codes: tables → first stage (the scan strategy the store's layout
/// calls for, over every run) → optional re-ranking stage → results.
///
/// - `.rows` stores are scanned by `ADCSearch`; without a re-ranker its top-k is the answer,
///   with one it yields `rerankDepth` candidate positions.
/// - `.fastScan` stores are scanned by `FastScanSearch` with quantized tables, always followed
///   by a re-ranker (`ExactTableReranker` unless told otherwise).
///
/// Filters apply in the first stage (collectors' accept hook), so re-ranked candidates are all
/// acceptable and `k` results come back whenever `k` accepted items exist.
struct CodeSearcher<Source: LookupTableSource>: Sendable {
    /// Queries whose lookup tables are built together (one BLAS product per sub-space).
    static var queryBatch: Int { 256 }

    let source: Source
    let reranker: (any Reranker)?

    init(source: Source, reranker: (any Reranker)? = nil) {
        self.source = source
        self.reranker = reranker
    }

    /// The best `parameters.k` items of each query over `store`.
    func search(_ queries: Source.Queries, in store: CodeStore, parameters: SearchParameters) throws(IndexError) -> SearchResults {
        try parameters.validate()
        let p = parameters.capped(items: store.count)
        let nq = source.count(of: queries)
        var results = SearchResults(queries: nq, k: p.k)
        guard nq > 0, store.count > 0 else { return results }
        var qs = 0
        while qs < nq {
            let qe = min(nq, qs + Self.queryBatch)
            // Tables first: a failure is reported before any scanning.
            let tables = try source.tables(queries, rows: qs..<qe)
            guard tables.queries == qe - qs, tables.subspaces == store.layout.subspaces else {
                throw .inconsistentStore(reason: "tables of \(tables.subspaces) sub-spaces for codes of \(store.layout.subspaces)")
            }
            let tops: [TopK]
            if let probed = p.probedRuns {
                // A probed batch sees only the runs its queries probe, renumbered in store order
                // (a one-query search over 8 of 8,192 lists pays for 8).
                var local = p
                let (selected, renumbered) = Self.compact(probed, queries: qs..<qe, runs: store.runs.count)
                local.probedRuns = renumbered
                local.probedRunsStart = qs
                tops = store.withRuns(selected: selected) { runs in
                    stages(tables: tables, layout: store.layout, runs: runs, batchStart: qs, parameters: local)
                }
            } else {
                tops = store.withRuns { runs in stages(tables: tables, layout: store.layout, runs: runs, batchStart: qs, parameters: p) }
            }
            results.store(tops, from: qs)
            qs = qe
        }
        return results
    }

    /// The runs probed by `queries` (ascending, distinct) and each of those queries' probes as
    /// indices into them (row i: query `queries.lowerBound + i`).
    static func compact(_ probed: [[Int]], queries: Range<Int>, runs: Int) -> (selected: [Int], renumbered: [[Int]]) {
        var slot = [Int](repeating: -1, count: runs)
        for q in queries { for r in probed[q] where r >= 0 && r < runs { slot[r] = 0 } }
        var selected: [Int] = []
        for r in 0..<runs where slot[r] == 0 { slot[r] = selected.count; selected.append(r) }
        let renumbered = queries.map { q in probed[q].compactMap { r in r >= 0 && r < runs ? slot[r] : nil } }
        return (selected, renumbered)
    }

    /// Both stages for one batch of tables.
    func stages(tables: LookupTables, layout: CodeLayout, runs: [CodeRunView], batchStart: Int, parameters p: SearchParameters) -> [TopK] {
        // More candidates than items is every item: the cap keeps a huge `rerank` from sizing
        // the collectors (a reservoir holds 2 × its depth).
        let depth = min(p.rerankDepth, max(1, runs.reduce(0) { $0 + $1.count }))
        var byPosition = p.filter.map { f in
            // One run from position 0: a position is a row of its ids (a probed search's views
            // may start anywhere in the store).
            runs.count == 1 && runs[0].offset == 0 && runs[0].ids != nil ? AcceptHook(f, positionsOf: runs[0].ids!)
                : AcceptHook { f.accepts(runs.id(at: Int($0))) }
        }
        if let excluded = p.excludedPositions { byPosition = AcceptHook(excluding: excluded, then: byPosition) }
        // The hook reads the position set's bits without holding it: keep it to the end.
        defer { withExtendedLifetime(p.excludedPositions) {} }
        var probes: (@Sendable (Int) -> [Int])?
        if let probed = p.probedRuns {
            let first = batchStart - p.probedRunsStart
            probes = { @Sendable q in probed[first + q] }
        }
        let candidates: [[Int]]
        var rerank = reranker
        switch layout {
        case .rows:
            // Exclusions are by position: such a search collects positions and re-scores them
            // with the same exact tables (the final order is by (score, id) as always).
            if p.excludedPositions != nil && rerank == nil { rerank = ExactTableReranker() }
            guard rerank != nil else {
                return ADCSearch.collect(runs: runs, tables: tables, depth: p.k, threads: p.threads, keys: .ids,
                                         accept: p.filter.map(AcceptHook.init), probes: probes)
            }
            candidates = ADCSearch.collect(runs: runs, tables: tables, depth: depth, threads: p.threads,
                                           keys: .positions, accept: byPosition, probes: probes).map { $0.sorted().map { Int($0.id) } }
        case let .fastScan(fs):
            let quantized = tables.values.withUnsafeBufferPointer { lb in
                (0..<tables.queries).map {
                    QuantizedLookupTable(lut: lb.baseAddress! + $0 * tables.stride, subspaces: tables.subspaces,
                                         paddedSubspaces: fs.paddedSubspaces)
                }
            }
            var reservoirs = FastScanSearch.collect(runs: runs, layout: fs, tables: quantized, depth: depth,
                                                    kernel: p.resolvedKernel, threads: p.threads, accept: byPosition,
                                                    probes: probes)
            if rerank == nil || rerank is ExactTableReranker {
                return Self.boundedRerank(&reservoirs, quantized: quantized, tables: tables, layout: layout, runs: runs,
                                          batchStart: batchStart, k: p.k, threads: p.threads)
            }
            candidates = (0..<reservoirs.count).map { reservoirs[$0].positions() }
        }
        return Self.rerank(candidates, with: rerank!, tables: tables, layout: layout, runs: runs, batchStart: batchStart,
                           k: p.k, threads: p.threads)
    }

    /// The re-ranking stage: each query's candidates re-scored, best `k` by (score, id).
    static func rerank(_ candidates: [[Int]], with reranker: any Reranker, tables: LookupTables, layout: CodeLayout,
                       runs: [CodeRunView], batchStart: Int, k: Int, threads: Int) -> [TopK] {
        var finals = (0..<candidates.count).map { _ in TopK(k: k) }
        finals.withUnsafeMutableBufferPointer { fb in
            let out = UncheckedSendable(fb.baseAddress!)
            let shared = UncheckedSendable((candidates, tables, runs))
            parallelChunks(count: candidates.count, threads: threads, minimumChunk: 16) { chunk in
                let (candidates, tables, runs) = shared.value
                for q in chunk {
                    let positions = candidates[q]
                    let scores = reranker.scores(of: positions, RerankInput(query: q, batchStart: batchStart, tables: tables,
                                                                                  layout: layout, runs: runs))
                    for (p, s) in zip(positions, scores) { out.value[q].offer(score: s, id: runs.id(at: p)) }
                }
            }
        }
        return finals
    }

    /// Exact re-ranking of fast-scan candidates that skips those whose quantized sum proves
    /// they cannot enter: the best `k` by quantized sum are scored first, then the others in
    /// groups, each candidate only while `QuantizedLookupTable.upperBound` of its sum reaches
    /// the k-th exact score so far. A skipped candidate's exact score is below every kept one,
    /// so the results are exactly those of re-scoring all candidates.
    static func boundedRerank(_ reservoirs: inout [CandidateReservoir], quantized: [QuantizedLookupTable], tables: LookupTables,
                              layout: CodeLayout, runs: [CodeRunView], batchStart: Int, k: Int, threads: Int) -> [TopK] {
        let group = 16
        var finals = (0..<reservoirs.count).map { _ in TopK(k: k) }
        let ranked = (0..<reservoirs.count).map { reservoirs[$0].ranked(first: k) }
        finals.withUnsafeMutableBufferPointer { fb in
            let out = UncheckedSendable(fb.baseAddress!)
            let shared = UncheckedSendable((ranked, quantized, tables, runs))
            parallelChunks(count: ranked.count, threads: threads, minimumChunk: 16) { chunk in
                let (ranked, quantized, tables, runs) = shared.value
                let exact = ExactTableReranker()
                for q in chunk {
                    let pairs = ranked[q], input = RerankInput(query: q, batchStart: batchStart, tables: tables,
                                                               layout: layout, runs: runs)
                    var next = 0, positions: [Int] = []
                    positions.reserveCapacity(max(k, group))
                    while next < pairs.count {
                        positions.removeAll(keepingCapacity: true)
                        if next == 0 {
                            // The best k by quantized sum: they set the first threshold.
                            next = min(k, pairs.count)
                            for i in 0..<next { positions.append(pairs[i].position) }
                        } else {
                            let threshold = out.value[q].count < k ? -Float.infinity : out.value[q].threshold
                            while next < pairs.count && positions.count < group {
                                if quantized[q].upperBound(pairs[next].sum) >= threshold { positions.append(pairs[next].position) }
                                next += 1
                            }
                        }
                        let scores = exact.scores(of: positions, input)
                        for (p, s) in zip(positions, scores) { out.value[q].offer(score: s, id: runs.id(at: p)) }
                    }
                }
            }
        }
        return finals
    }
}
