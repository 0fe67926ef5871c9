/// What can be wrong with the ids of an index's items: one below 0 (−1 marks an empty result
/// slot) or one id on two items. Checked where ids arrive whole from outside — an index file's
/// IDS section — so one item is never returned under two rows. (An index handed to a live index
/// is checked as its id map is built: `LiveIndex.State.adoptFirstSegment`.)
enum IDListProblem: Equatable {
    case negative(Int64)
    case repeated(Int64)

    /// The first problem of `ids`, if any (a negative id before any repeat). Ascending ids — how
    /// indexes are filled — cost one comparison each; others a bitmap over their range when it is
    /// at most 64 × count wide, else a set.
    static func find(in ids: UnsafeBufferPointer<Int64>) -> IDListProblem? {
        guard let first = ids.first else { return nil }
        var ascending = true, low = first, high = first
        for i in 0..<ids.count {
            let id = ids[i]
            if id < 0 { return .negative(id) }
            if i > 0 && id <= ids[i - 1] { ascending = false }
            low = min(low, id); high = max(high, id)
        }
        if ascending { return nil }
        let span = high - low           // no overflow: both are ≥ 0 (span + 1 could)
        if span < 64 * Int64(ids.count) {
            var bits = [UInt64](repeating: 0, count: Int(span / 64 + 1))
            for id in ids {
                let b = Int(id - low), bit: UInt64 = 1 << UInt64(b & 63)
                if bits[b >> 6] & bit != 0 { return .repeated(id) }
                bits[b >> 6] |= bit
            }
        } else {
            var seen = Set<Int64>(minimumCapacity: ids.count)
            for id in ids where !seen.insert(id).inserted { return .repeated(id) }
        }
        return nil
    }
}
