/// One bit per row of a segment: set when the row's item was removed or replaced (a tombstone).
///
/// A value type kept in chunks of 32,768 rows: a snapshot keeps the bitmap it saw, and the
/// writer's next deletion copies only the chunk list (one reference per chunk) and the one chunk
/// it changes — O(1) per deletion however large the segment (a 1M-row segment has 31 chunks),
/// never any codes.
public struct DeletionBitmap: Sendable, Equatable {
    static let chunkWords = 512
    /// Rows covered.
    public let rows: Int
    private var chunks: [[UInt64]]
    /// Rows marked deleted.
    public private(set) var deletedCount = 0

    /// A bitmap of `rows` rows, none deleted.
    public init(rows: Int) {
        self.rows = rows
        let words = (rows + 63) / 64
        chunks = stride(from: 0, to: words, by: Self.chunkWords).map { [UInt64](repeating: 0, count: min(Self.chunkWords, words - $0)) }
    }

    /// Whether row `row` is deleted.
    public func contains(_ row: Int) -> Bool {
        let w = row >> 6
        return chunks[w / Self.chunkWords][w % Self.chunkWords] & (1 << UInt64(row & 63)) != 0
    }

    /// Marks `row` deleted; returns false when it already was.
    @discardableResult
    public mutating func insert(_ row: Int) -> Bool {
        let w = row >> 6, bit: UInt64 = 1 << UInt64(row & 63)
        guard chunks[w / Self.chunkWords][w % Self.chunkWords] & bit == 0 else { return false }
        chunks[w / Self.chunkWords][w % Self.chunkWords] |= bit
        deletedCount += 1
        return true
    }

    /// The deleted rows, ascending.
    public var deletedRows: [Int] {
        var out: [Int] = []
        out.reserveCapacity(deletedCount)
        for (c, chunk) in chunks.enumerated() {
            for (i, word) in chunk.enumerated() where word != 0 {
                var x = word
                while x != 0 {
                    out.append((c * Self.chunkWords + i) * 64 + x.trailingZeroBitCount)
                    x &= x - 1
                }
            }
        }
        return out
    }

    /// Sets bit `start + row` of `words` (a flat bitmap) for every deleted row, a word of
    /// this bitmap at a time.
    func insertDeleted(into words: UnsafeMutablePointer<UInt64>, at start: Int) {
        let shift = UInt64(start & 63), base = start >> 6
        for (c, chunk) in chunks.enumerated() {
            for (i, word) in chunk.enumerated() where word != 0 {
                let w = base + c * Self.chunkWords + i
                words[w] |= word << shift
                if shift != 0 { let carry = word >> (64 - shift); if carry != 0 { words[w + 1] |= carry } }
            }
        }
    }

    /// Rows not deleted.
    public var liveCount: Int { rows - deletedCount }
}
