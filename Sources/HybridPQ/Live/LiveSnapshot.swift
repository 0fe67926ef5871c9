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
    /// Whether a segment with visible items has deleted rows too (they must be skipped).
    let hasDeletions: Bool
    /// The index's version these segments are (changes with every write, merge and flush).
    let version: UInt64
    /// The index's union of its current segments, shared by every snapshot of one version.
    let unions: SegmentUnionCache<Base>?
    /// Files of the segments served from mappings: checked before each search.
    let mappedFiles: [SegmentFileGuard]

    /// A snapshot of `segments`, its counts found once here (by the writer that publishes it), so
    /// that a search does not walk — and retain — every segment to find them.
    init(segments: [LiveSegment<Base>], version: UInt64 = 0, unions: SegmentUnionCache<Base>? = nil) {
        var count = 0, liveSegments = 0, hasDeletions = false, files: [SegmentFileGuard] = []
        for segment in segments {
            let live = segment.liveCount
            count += live
            if live > 0 { liveSegments += 1; hasDeletions = hasDeletions || segment.deleted.deletedCount > 0 }
            if let file = segment.file { files.append(file) }
        }
        self.segments = segments
        self.count = count
        self.liveSegments = liveSegments
        self.hasDeletions = hasDeletions
        self.version = version
        self.unions = unions
        mappedFiles = files
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
    ///
    /// (Specialized for the common kinds, as `LiveIndex.write` is and for the same reason.)
    @_specialize(where Base == PQ4Index)
    @_specialize(where Base == PQIndex)
    @_specialize(where Base == AnyIndex)
    public func search(_ queries: FeatureBatch, parameters: SearchParameters) throws(IndexError) -> SearchResults {
        try parameters.validate()
        for file in mappedFiles { try file.check() }
        let p = parameters.capped(items: count)
        // One segment without deletions is searched as it is; anything else needs the union
        // (or, for kinds without one, the version's deleted ids: never rebuilt per search).
        var deletedIDs: [Set<Int64>] = []
        if liveSegments > 1 || hasDeletions {
            let entry = try unionEntry()
            if let union = entry.union { return try union.search(queries, parameters: p) }
            deletedIDs = entry.deletedIDs
        }
        let live = segments.filter { $0.liveCount > 0 }
        if live.count == 1, deletedIDs.isEmpty { return try live[0].index.search(queries, parameters: p) }
        var merged = [TopK](repeating: TopK(k: p.k), count: queries.count)
        for (s, segment) in live.enumerated() {
            var sp = p
            sp.filter = LiveSegment<Base>.filter(parameters.filter, dead: s < deletedIDs.count ? deletedIDs[s] : [])
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
    @_specialize(where Base == PQ4Index)
    @_specialize(where Base == PQIndex)
    @_specialize(where Base == AnyIndex)
    func unionEntry() throws(IndexError) -> SegmentUnionCache<Base>.Entry {
        if let cached = unions?.lookup(version) { return cached }
        let live = segments.filter { $0.liveCount > 0 }
        let union = try Base.union(live.map { ($0.index, $0.deleted) })
        let entry = SegmentUnionCache<Base>.Entry(version: version, union: union,
                                                  deletedIDs: union == nil ? live.map { $0.deletedIDs } : [])
        unions?.store(entry)
        return entry
    }
}
