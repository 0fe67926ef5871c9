/// One segment of a `LiveIndex`: an index of any `SegmentIndex` kind that is never modified
/// again, the rows deleted since it was written, and whether it has a file yet.
///
/// Deleted rows are kept by row (`deleted`): what the manifest stores, merging skips, and the
/// scan's accept hook asks by position (code kinds, `SegmentIndex.searchTogether`), so a deleted
/// item never enters a top-k. Kinds searched part by part (flat, two-stage) get the deleted
/// rows' ids as a deny filter, built per search.
public struct LiveSegment<Base: SegmentIndex>: Sendable {
    /// Number of the segment in its live index (file `seg-<number>.hpq`).
    public let number: UInt64
    /// The items, immutable.
    public let index: Base
    /// Rows removed or replaced since the segment was written.
    public internal(set) var deleted: DeletionBitmap
    /// Whether the segment has its file (else its items live in the write-ahead log only).
    public internal(set) var persisted: Bool
    /// The segment's file when its index is served from a mapping of it (checked per search).
    var file: SegmentFileGuard?

    init(number: UInt64, index: Base, persisted: Bool) {
        self.number = number
        self.index = index
        deleted = DeletionBitmap(rows: index.count)
        self.persisted = persisted
    }

    /// Items not deleted.
    public var liveCount: Int { deleted.liveCount }

    /// Marks `row` (holding `id`) deleted.
    mutating func delete(row: Int) {
        deleted.insert(row)
    }

    /// The rows not deleted, ascending.
    public var liveRows: [Int] { (0..<index.count).filter { !deleted.contains($0) } }

    /// The ids of the deleted rows (O(deleted): built once per index version, see
    /// `SegmentUnionCache`, never per search).
    var deletedIDs: Set<Int64> { Set(deleted.deletedRows.map { index.id(atRow: $0) }) }

    /// The filter a search of this segment applies: the caller's, minus `dead` (its deleted ids).
    static func filter(_ user: IDFilter?, dead: Set<Int64>) -> IDFilter? {
        guard !dead.isEmpty else { return user }
        guard let user else { return .deny(dead) }
        return .predicate { !dead.contains($0) && user.accepts($0) }
    }
}
