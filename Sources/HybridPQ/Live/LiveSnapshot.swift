/// What a search of a `LiveIndex` sees: the segments and their deletions as of one moment. Taking
/// one copies the list of segments (O(segments)), never codes; it sees every write committed to
/// memory before it and none after — a batch is all in or all out.
public struct LiveSnapshot<Base: SegmentIndex>: Sendable {
    /// The segments, oldest first.
    public let segments: [LiveSegment<Base>]

    /// Items visible (not deleted).
    public var count: Int { segments.reduce(0) { $0 + $1.liveCount } }

    /// The best `parameters.k` items of each query over every segment: each segment is searched
    /// through its own pipeline with its deletions in the accept hook, and the per-segment top-k
    /// lists are merged by (score, id). `k` is capped at the items visible (at least 1), so an
    /// absurd `k` never sizes anything; results have `min(k, count)` columns.
    public func search(_ queries: FeatureBatch, parameters: SearchParameters) throws(IndexError) -> SearchResults {
        try parameters.validate()
        let p = parameters.capped(items: count)
        let live = segments.filter { $0.liveCount > 0 }
        // Code kinds: every segment as a run of one store — one table build, one scan, one
        // re-ranking, deletions skipped inside the scan. Others (flat, two-stage): part by part.
        if live.count > 1, let r = try Base.searchTogether(live.map { ($0.index, $0.deleted) }, queries, parameters: p) {
            return r
        }
        var merged = [TopK](repeating: TopK(k: p.k), count: queries.count)
        for segment in live {
            var sp = p
            sp.filter = segment.filter(parameters.filter)
            let r = try segment.index.search(queries, parameters: sp)
            for q in 0..<queries.count {
                let ids = r.ids(ofQuery: q), scores = r.scores(ofQuery: q)
                for j in 0..<r.k where ids[j] >= 0 { merged[q].offer(score: scores[j], id: ids[j]) }
            }
        }
        var results = SearchResults(queries: queries.count, k: p.k)
        results.store(merged, from: 0)
        return results
    }
}
