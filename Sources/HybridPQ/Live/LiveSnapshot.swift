/// What a search of a `LiveIndex` sees: the segments and their deletions as of one moment. Taking
/// one copies the list of segments (O(segments)), never codes; it sees every write committed to
/// memory before it and none after — a batch is all in or all out.
public struct LiveSnapshot<Base: SegmentIndex>: Sendable {
    /// The segments, oldest first.
    public let segments: [LiveSegment<Base>]
    /// Items visible (not deleted).
    public let count: Int
    /// Segments with at least one visible item.
    let liveSegments: Int
    /// The index's version these segments are (changes with every write, merge and flush).
    let version: UInt64
    /// The index's union of its current segments, shared by every snapshot of one version.
    let unions: SegmentUnionCache<Base>?
    /// Files of the segments served from mappings: checked before each search.
    let mappedFiles: [SegmentFileGuard]

    /// A snapshot of `segments` (`count` and `liveSegments` as the index keeps them, so that a
    /// search does not walk — and retain — every segment to find them).
    init(segments: [LiveSegment<Base>], count: Int? = nil, liveSegments: Int? = nil, version: UInt64 = 0,
         unions: SegmentUnionCache<Base>? = nil, mappedFiles: [SegmentFileGuard]? = nil) {
        self.segments = segments
        self.count = count ?? segments.reduce(0) { $0 + $1.liveCount }
        self.liveSegments = liveSegments ?? segments.reduce(0) { $0 + ($1.liveCount > 0 ? 1 : 0) }
        self.version = version
        self.unions = unions
        self.mappedFiles = mappedFiles ?? segments.compactMap { $0.file }
    }

    /// The best `parameters.k` items of each query over every segment: code kinds search every
    /// segment as the runs of one store (`SegmentUnion`: one table build, one scan, one
    /// re-ranking, deletions skipped inside the scan); others (flat, two-stage) search segment
    /// by segment, each with its deletions as a deny filter, and merge the per-segment top-k
    /// lists by (score, id). `k` is capped at the items visible (at least 1), so an absurd `k`
    /// never sizes anything; results have `min(k, count)` columns.
    ///
    /// - Throws: `.mappedFileChanged` when a segment served from a mapping has been cut short
    ///   (reading it would kill the process); reopen the index then.
    public func search(_ queries: FeatureBatch, parameters: SearchParameters) throws(IndexError) -> SearchResults {
        try parameters.validate()
        for file in mappedFiles { try file.check() }
        let p = parameters.capped(items: count)
        if liveSegments > 1 {
            let entry = try unionEntry()
            if let union = entry.union { return try union.search(queries, parameters: p) }
        }
        let live = segments.filter { $0.liveCount > 0 }
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

    /// The union of this snapshot's segments with items: the index's cached one for this
    /// version, else built (and offered to the cache).
    func unionEntry() throws(IndexError) -> SegmentUnionCache<Base>.Entry {
        if let cached = unions?.lookup(version) { return cached }
        let live = segments.filter { $0.liveCount > 0 }
        let entry = SegmentUnionCache<Base>.Entry(version: version, union: try Base.union(live.map { ($0.index, $0.deleted) }))
        unions?.store(entry)
        return entry
    }
}
