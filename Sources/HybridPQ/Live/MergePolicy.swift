/// When a `LiveIndex` merges segments (Lucene's tiered merge, simplified):
///
/// - **Tail** (segments not yet written, one per write batch): after each write, while the newest
///   tail segment holds at least as many live items as the one before it, the two are merged — a
///   binary counter, so an item is copied O(log n) times however small the batches and the tail
///   stays at O(log n) segments.
/// - **Written segments**, at each flush: a segment whose deleted fraction exceeds
///   `maxDeletedFraction` is rewritten without its deleted rows; while there are more than
///   `maxSegments`, the two smallest are merged.
/// - `compact()` merges everything into one segment with no deleted rows.
public struct MergePolicy: Sendable, Equatable {
    /// Written segments kept before the smallest are merged.
    public var maxSegments = 8
    /// Deleted fraction above which a written segment is rewritten.
    public var maxDeletedFraction = 0.3
    /// Tail items at which `commit()` writes the tail as a segment (a flush).
    public var flushItems = 65_536

    /// The default policy.
    public init() {}
    /// A policy with these limits.
    public init(maxSegments: Int, maxDeletedFraction: Double, flushItems: Int) {
        self.maxSegments = max(1, maxSegments)
        self.maxDeletedFraction = maxDeletedFraction
        self.flushItems = max(1, flushItems)
    }

    /// Numbers of two tail segments to merge, if the binary-counter rule asks for it.
    func tailMerge<B>(_ segments: [LiveSegment<B>]) -> [UInt64]? {
        // The last two tail segments, found from the end (runs after every write: no copies).
        var last: Int?, previous: Int?
        var i = segments.count - 1
        while i >= 0 {
            if !segments[i].persisted {
                if last == nil { last = i } else { previous = i; break }
            }
            i -= 1
        }
        guard let last, let previous, segments[last].liveCount >= segments[previous].liveCount else { return nil }
        return [segments[previous].number, segments[last].number]
    }

    /// Groups of written segments to merge (each group becomes one segment), in order.
    func writtenMerges<B>(_ segments: [LiveSegment<B>]) -> [[UInt64]] {
        let written = segments.filter { $0.persisted }
        var groups = written.filter { $0.deleted.rows > 0 && Double($0.deleted.deletedCount) / Double($0.deleted.rows) > maxDeletedFraction }
            .map { [$0.number] }
        var rest = written.filter { s in !groups.contains { $0.contains(s.number) } }.sorted { ($0.liveCount, $0.number) < ($1.liveCount, $1.number) }
        var count = written.count
        while count > maxSegments, rest.count >= 2 {
            groups.append([rest[0].number, rest[1].number])
            rest.removeFirst(2)
            count -= 1
        }
        return groups
    }
}
