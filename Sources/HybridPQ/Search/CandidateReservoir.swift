/// The best `k` (sum, position) pairs of a fast scan — larger sum first, and on equal sums the
/// smaller position — kept in amortized constant time per pair.
///
/// `TopK`'s heap costs a sift of log k unpredictable branches per pair that enters. A fast scan
/// offers about k · ln(n / k) such pairs per query (≈ 1,000 for k = 100 over 1M items), enough
/// to cost a quarter of the kernel's time. Here pairs are appended to a buffer of 2k; when it is
/// full a selection (quickselect, linear) keeps the best k and raises `floor`. The kept set is
/// exactly `TopK`'s (the order is total), and `floor` is what the kernel needs: the smallest sum
/// that can still enter.
public struct CandidateReservoir: SearchCollector {
    /// Pairs to keep.
    public let k: Int
    /// Asked about the positions that reached the floor, in batches before each selection (and
    /// before the pairs are handed out); `nil`: every position may enter.
    public let accept: AcceptHook?
    /// Positions must be below this (they are packed into 32 bits).
    public static let positionLimit = Int(UInt32.max)
    /// Packed pairs: `sum << 32 | (UInt32.max − position)`, so a larger key is a better pair.
    private var keys: [UInt64]
    /// Pairs in `keys` (at most `2k`).
    public private(set) var count = 0
    /// Pairs `keys[0..<checked]` have passed `accept`.
    private var checked = 0
    /// The smallest sum that can still enter: 0 until the first selection, then the k-th best
    /// sum + 1 — a later pair with an equal sum has a larger position and loses (positions
    /// increase along a scan).
    public private(set) var floor: UInt16 = 0

    /// An empty reservoir keeping `k` ≥ 1 pairs, with an optional acceptance test on positions.
    public init(k: Int, accept: AcceptHook? = nil) {
        precondition(k >= 1, "k must be positive")
        self.k = k
        self.accept = accept
        keys = [UInt64](repeating: 0, count: 2 * k)
    }

    /// Appends a pair (`position` < `positionLimit`, checked by the stores that hand positions
    /// out). Pairs with `sum < floor` cannot enter; offering them is allowed but wastes time.
    ///
    /// The accept hook is not asked here but for a whole buffer at once (`dropRejected`): its
    /// tests are then independent loads the core overlaps, where a test per pair waited on
    /// each (a live index's deletion bitmap is out of cache after the kernel's pass over the
    /// codes: ≈ 5 % of a search over a written live index).
    @inline(__always)
    public mutating func add(sum: UInt16, position: Int) {
        append(sum: sum, position: position)
    }

    /// `add` (also for a position the accept hook has already passed).
    @inline(__always)
    mutating func append(sum: UInt16, position: Int) {
        keys[count] = UInt64(sum) << 32 | UInt64(UInt32.max - UInt32(position))
        count += 1
        if count == keys.count { select() }
    }

    /// Raises `floor` to `sum` when the caller knows that k kept pairs are at least that good.
    mutating func raiseFloor(to sum: UInt16) { floor = max(floor, sum) }

    /// Keeps the best `k` pairs (unordered) and sets `floor` from the k-th.
    private mutating func select() {
        dropRejected()
        guard count > k else { return }
        let k = self.k
        keys.withUnsafeMutableBufferPointer { buffer in
            Self.partition(buffer.baseAddress!, count: count, keep: k)
            let kth = buffer[0..<k].min()!
            floor = UInt16(min(65_535, (kth >> 32) + 1))
        }
        count = k
        checked = k
    }

    /// Removes the pairs not yet checked that `accept` rejects (order kept otherwise).
    private mutating func dropRejected() {
        guard let accept, checked < count else { checked = count; return }
        let (from, to) = (checked, count)
        count = keys.withUnsafeMutableBufferPointer { b in
            var w = from
            for r in from..<to {
                // Written unconditionally, kept by advancing `w`: no branch on the test.
                let key = b[r]
                b[w] = key
                w += accept.accepts(Int64(UInt32.max - UInt32(truncatingIfNeeded: key))) ? 1 : 0
            }
            return w
        }
        checked = count
    }

    /// Rearranges `a[0..<count]` so its `keep` largest keys come first (Hoare quickselect,
    /// median-of-three pivots; keys are distinct).
    private static func partition(_ a: UnsafeMutablePointer<UInt64>, count: Int, keep: Int) {
        var lo = 0, hi = count - 1
        while lo < hi {
            let mid = lo + (hi - lo) / 2
            let pivot = max(min(a[lo], a[mid]), min(max(a[lo], a[mid]), a[hi]))
            var i = lo, j = hi
            while i <= j {
                while a[i] > pivot { i += 1 }
                while a[j] < pivot { j -= 1 }
                if i <= j { (a[i], a[j]) = (a[j], a[i]); i += 1; j -= 1 }
            }
            // a[lo...j] ≥ pivot ≥ a[i...hi]; continue on the side holding position keep − 1.
            if keep - 1 <= j { hi = j } else if keep - 1 >= i { lo = i } else { return }
        }
    }

    /// Adds another reservoir's pairs (another core's database range).
    public mutating func merge(_ other: CandidateReservoir) {
        for i in 0..<other.count {
            keys[count] = other.keys[i]
            count += 1
            if count == keys.count { select() }
        }
    }

    /// The kept pairs (the best `k`, or all when fewer were offered), with the best `first` of
    /// them at the front (in no particular order there or after).
    public mutating func ranked(first: Int) -> [(sum: UInt16, position: Int)] {
        select()
        let n = count
        if first < n { keys.withUnsafeMutableBufferPointer { Self.partition($0.baseAddress!, count: n, keep: first) } }
        return (0..<n).map { (UInt16(truncatingIfNeeded: keys[$0] >> 32), Int(UInt32.max - UInt32(truncatingIfNeeded: keys[$0]))) }
    }

    /// The kept positions (the best `k`, or all when fewer were offered), in no particular order.
    public mutating func positions() -> [Int] {
        select()
        return (0..<count).map { Int(UInt32.max - UInt32(truncatingIfNeeded: keys[$0])) }
    }
}

/// What `ParallelSearch` collects per query: `TopK`, or `CandidateReservoir` for fast scans.
public protocol SearchCollector: Sendable {
    /// Adds another collector's pairs (a database range scanned by another core).
    mutating func merge(_ other: Self)
}
