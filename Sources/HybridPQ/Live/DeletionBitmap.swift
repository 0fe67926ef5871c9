/// One bit per row of a segment: set when the row's item was removed or replaced (a tombstone).
/// A value type: a snapshot keeps the bitmap it saw, and the writer's next deletion copies only
/// this segment's words (`rows / 64` of them), never any codes.
public struct DeletionBitmap: Sendable, Equatable {
    /// Rows covered.
    public let rows: Int
    private var words: [UInt64]
    /// Rows marked deleted.
    public private(set) var deletedCount = 0

    /// A bitmap of `rows` rows, none deleted.
    public init(rows: Int) {
        self.rows = rows
        words = [UInt64](repeating: 0, count: (rows + 63) / 64)
    }

    /// Whether row `row` is deleted.
    public func contains(_ row: Int) -> Bool { words[row >> 6] & (1 << UInt64(row & 63)) != 0 }

    /// Marks `row` deleted; returns false when it already was.
    @discardableResult
    public mutating func insert(_ row: Int) -> Bool {
        let bit: UInt64 = 1 << UInt64(row & 63)
        guard words[row >> 6] & bit == 0 else { return false }
        words[row >> 6] |= bit
        deletedCount += 1
        return true
    }

    /// The deleted rows, ascending.
    public var deletedRows: [Int] {
        var out: [Int] = []
        out.reserveCapacity(deletedCount)
        for (w, word) in words.enumerated() where word != 0 {
            var x = word
            while x != 0 {
                out.append(w * 64 + x.trailingZeroBitCount)
                x &= x - 1
            }
        }
        return out
    }

    /// Rows not deleted.
    public var liveCount: Int { rows - deletedCount }
}
