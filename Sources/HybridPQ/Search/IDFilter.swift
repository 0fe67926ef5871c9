/// Which item ids a search may return.
///
/// Applied inside the scan by the collectors' accept hook (`AcceptHook`): an item the filter
/// rejects never enters the results, so a filter that keeps 1 % of the items still fills all
/// `k` slots when `k` such items exist (unlike filtering the top k afterwards).
public enum IDFilter: Sendable {
    /// Only these ids.
    case allow(Set<Int64>)
    /// Every id but these.
    case deny(Set<Int64>)
    /// The ids for which the predicate is true (it must be cheap and thread-safe: it is called
    /// from the scanning threads for every item good enough to enter the results).
    case predicate(@Sendable (Int64) -> Bool)

    /// Whether `id` may be returned.
    @inlinable
    public func accepts(_ id: Int64) -> Bool {
        switch self {
        case let .allow(s): return s.contains(id)
        case let .deny(s): return !s.contains(id)
        case let .predicate(p): return p(id)
        }
    }
}

/// The acceptance test a collector applies to a key (an item id, or a store position for
/// first-stage collectors) before it may enter. Collectors without one pay nothing: the test
/// runs only for the few keys that beat the collector's threshold, behind one `nil` check.
public struct AcceptHook: Sendable {
    let test: (@Sendable (Int64) -> Bool)?
    /// Positions rejected before `test` is asked (a live snapshot's deleted rows): one bit load,
    /// no call through a closure.
    let excluded: PositionSet?

    /// A hook running `test` on each key.
    public init(_ test: @escaping @Sendable (Int64) -> Bool) {
        self.test = test
        excluded = nil
    }

    /// A hook applying `filter` to ids (the filter's case is resolved here, once, not per key).
    public init(_ filter: IDFilter) {
        switch filter {
        case let .allow(s): test = { s.contains($0) }
        case let .deny(s): test = { !s.contains($0) }
        case let .predicate(p): test = p
        }
        excluded = nil
    }

    /// A hook applying `filter` to the ids of store positions, when one run holds them all:
    /// the id is read straight from the run (`ids` must outlive the hook's use).
    init(_ filter: IDFilter, positionsOf ids: UnsafePointer<Int64>) {
        let ids = UncheckedSendable(ids)
        switch filter {
        case let .allow(s): test = { s.contains(ids.value[Int($0)]) }
        case let .deny(s): test = { !s.contains(ids.value[Int($0)]) }
        case let .predicate(p): test = { p(ids.value[Int($0)]) }
        }
        excluded = nil
    }

    /// A hook on store positions rejecting `excluded` ones, then asking `then` (if any).
    init(excluding excluded: PositionSet, then: AcceptHook?) {
        self.excluded = excluded
        test = then?.test
    }

    /// Whether `key` may enter.
    @inline(__always)
    public func accepts(_ key: Int64) -> Bool {
        if let excluded, excluded.contains(Int(key)) { return false }
        return test?(key) ?? true
    }
}

/// Store positions a search skips — a live snapshot's deleted rows, its segments' stores seen
/// as the runs of one — one bit each in one flat array. The scan's accept hook tests a position
/// with one load; a closure over the segments' own bitmaps (a search for the segment, a chunk,
/// retains and releases of its captures) had cost ~14 % of a search over a written live index.
final class PositionSet: Sendable {
    private let words: [UInt64]

    /// The set of `start + row` for each part's deleted rows, over `count` positions.
    init(count: Int, parts: [(start: Int, deleted: DeletionBitmap)]) {
        var words = [UInt64](repeating: 0, count: (count + 63) / 64)
        for (start, deleted) in parts where deleted.deletedCount > 0 { deleted.insertDeleted(into: &words, at: start) }
        self.words = words
    }

    /// Whether position `p` is in the set.
    @inline(__always)
    func contains(_ p: Int) -> Bool { words[p >> 6] >> UInt64(p & 63) & 1 != 0 }
}
