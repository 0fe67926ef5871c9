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
    /// no call through a closure, no reference to retain.
    let excluded: PositionBits?

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

    /// A hook on store positions rejecting `excluded` ones, then asking `then` (if any). The
    /// hook must not outlive `excluded` (searches keep it in their parameters).
    init(excluding excluded: PositionSet, then: AcceptHook?) {
        self.excluded = excluded.bits
        test = then?.test
    }

    /// Whether `key` may enter.
    @inline(__always)
    public func accepts(_ key: Int64) -> Bool {
        if let excluded, excluded.contains(Int(key)) { return false }
        guard let test else { return true }
        return test(key)
    }
}

/// Store positions a search skips — a live snapshot's deleted rows, its segments' stores seen
/// as the runs of one — one bit each in one flat buffer. The scan's accept hook tests a position
/// with one load through `PositionBits`, a plain pointer: copying the hook retains nothing, so
/// readers on several cores do not contend on one reference count per tested item (a closure
/// over the segments' own bitmaps had cost ~14 % of a search over a written live index, and a
/// class reference in the hook ~5 % more with two readers).
final class PositionSet: @unchecked Sendable {
    /// Immutable after `init` (hence `@unchecked Sendable`); freed by `deinit`.
    private let words: UnsafeMutablePointer<UInt64>
    /// Positions covered.
    let count: Int

    /// The set of `start + row` for each part's deleted rows, over `count` positions.
    init(count: Int, parts: [(start: Int, deleted: DeletionBitmap)]) {
        let n = (count + 63) / 64
        words = .allocate(capacity: max(1, n))
        words.initialize(repeating: 0, count: max(1, n))
        self.count = count
        for (start, deleted) in parts where deleted.deletedCount > 0 { deleted.insertDeleted(into: words, at: start) }
    }

    deinit { words.deallocate() }

    /// Whether position `p` (< `count`) is in the set.
    @inline(__always)
    func contains(_ p: Int) -> Bool { bits.contains(p) }

    /// The bits as a plain pointer, valid while this set is alive.
    var bits: PositionBits { PositionBits(words: UnsafePointer(words)) }
}

/// A `PositionSet`'s bits without its reference: what an accept hook keeps (valid while the
/// set it came from is alive — the search's parameters hold it for the whole search).
struct PositionBits: @unchecked Sendable {
    let words: UnsafePointer<UInt64>

    /// Whether position `p` is in the set.
    @inline(__always)
    func contains(_ p: Int) -> Bool { words[p >> 6] >> UInt64(p & 63) & 1 != 0 }
}
