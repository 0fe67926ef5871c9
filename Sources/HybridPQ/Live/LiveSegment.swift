/// One segment of a `LiveIndex`: an index of any `SegmentIndex` kind that is never modified
/// again, the rows deleted since it was written, and whether it has a file yet.
///
/// Deleted rows are kept twice, for two readers: by row (`deleted`, what the manifest stores and
/// merging skips) and by id (`deletedIds`, what the scan's accept hook asks, so that a deleted item
/// never enters a top-k). Both grow only with deletions.
public struct LiveSegment<Base: SegmentIndex>: Sendable {
    /// Number of the segment in its live index (file `seg-<number>.hpq`).
    public let number: UInt64
    /// The items, immutable.
    public let index: Base
    /// Rows removed or replaced since the segment was written.
    public internal(set) var deleted: DeletionBitmap
    /// The ids of those rows.
    public internal(set) var deletedIds: Set<Int64>
    /// Whether the segment has its file (else its items live in the write-ahead log only).
    public internal(set) var persisted: Bool

    init(number: UInt64, index: Base, persisted: Bool) {
        self.number = number
        self.index = index
        deleted = DeletionBitmap(rows: index.count)
        deletedIds = []
        self.persisted = persisted
    }

    /// Items not deleted.
    public var liveCount: Int { deleted.liveCount }

    /// Marks `row` (holding `id`) deleted.
    mutating func delete(row: Int, id: Int64) {
        if deleted.insert(row) { deletedIds.insert(id) }
    }

    /// The rows not deleted, ascending.
    public var liveRows: [Int] { (0..<index.count).filter { !deleted.contains($0) } }

    /// The filter a search of this segment applies: the caller's, minus the deleted ids.
    func filter(_ user: IDFilter?) -> IDFilter? {
        guard !deletedIds.isEmpty else { return user }
        let dead = deletedIds
        guard let user else { return .deny(dead) }
        return .predicate { !dead.contains($0) && user.accepts($0) }
    }
}
