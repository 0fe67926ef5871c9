/// Several segments of one kind searched as one index: one index whose code store holds every
/// segment's runs side by side (no code copied) and the store positions to skip (each
/// segment's deleted rows). Searching it is one table build, one scan, one re-ranking.
///
/// Building one is O(segments + items / 64) (the position bitmap), so a `LiveIndex` keeps the
/// union of its current segments and every search of that version shares it: a search pays for
/// it only after a write, once.
public struct SegmentUnion<Base: VectorIndex>: Sendable {
    /// The index over every segment's runs.
    let index: Base
    /// Store positions of deleted rows (nil when none).
    let excluded: PositionSet?

    /// The best `parameters.k` accepted, undeleted items of each query.
    public func search(_ queries: FeatureBatch, parameters: SearchParameters) throws(IndexError) -> SearchResults {
        var p = parameters
        p.excludedPositions = excluded
        return try index.search(queries, parameters: p)
    }

    /// The same union with its index wrapped by `wrap` (a kind built around this one's kind).
    func wrapped<Other: VectorIndex>(_ wrap: (Base) -> Other) -> SegmentUnion<Other> {
        SegmentUnion<Other>(index: wrap(index), excluded: excluded)
    }
}

/// The union of one version of a live index's segments, shared by the snapshots of that version
/// (built by the first search after a write, outside the index's lock). Held in a box, so a
/// search retains one object: readers on several cores contend on one reference count, not on
/// one per array of the union's index.
final class SegmentUnionCache<Base: SegmentIndex>: Sendable {
    /// One version's union (nil when the kind has none) or, for kinds without one, the deleted
    /// ids of each segment with items (a search of that version filters them out segment by
    /// segment without rebuilding the sets).
    final class Entry: Sendable {
        let version: UInt64
        let union: SegmentUnion<Base>?
        let deletedIDs: [Set<Int64>]
        init(version: UInt64, union: SegmentUnion<Base>?, deletedIDs: [Set<Int64>] = []) {
            self.version = version; self.union = union; self.deletedIDs = deletedIDs
        }
    }

    private let slot = Locked<Entry?>(nil)

    /// The cached entry of `version`, if any.
    func lookup(_ version: UInt64) -> Entry? {
        slot.withLock { s in s?.version == version ? s : nil }
    }

    /// Keeps `entry` unless a newer version is kept already.
    func store(_ entry: Entry) {
        slot.withLock { s in if (s?.version ?? 0) <= entry.version { s = entry } }
    }
}
