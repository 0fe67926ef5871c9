/// The register-friendly layout of 4-bit codes for fast scan (docs/FAST_SCAN.md).
///
/// Items are grouped in blocks of 32. A block holds, for each sub-space m (M rounded up to an
/// even number; a padding sub-space has code 0 and an all-zero table), 16 bytes: byte j is item
/// j's code in the low nibble and item j+16's in the high nibble. So one 16-byte load gives a
/// sub-space's codes for a whole block, and one byte shuffle looks up 16 (AVX2: 32, AVX-512:
/// 64) table entries at once. The last block is padded with code-0 items, which searches ignore.
public struct FastScanLayout: Sendable, Equatable {
    /// Items per block.
    public static let blockSize = 32
    /// Codewords per sub-space of a 4-bit code (entries of a sub-space's table).
    public static let codewords = 16
    /// Bytes per sub-space of a block: one per pair of items (low nibble: item j, high: j + 16).
    static let bytesPerSubspace = blockSize / 2
    /// Sub-spaces of the quantizer.
    public let subspaces: Int
    /// Sub-spaces as stored (even).
    public var paddedSubspaces: Int { subspaces + (subspaces & 1) }
    /// Bytes of one block.
    public var blockBytes: Int { paddedSubspaces * Self.bytesPerSubspace }

    /// The layout for `subspaces` 4-bit sub-codes per item.
    public init(subspaces: Int) {
        precondition(subspaces >= 1, "at least one sub-space")
        self.subspaces = subspaces
    }

    /// Blocks needed for `count` items.
    public func blocks(for count: Int) -> Int { (count + Self.blockSize - 1) / Self.blockSize }

    /// Appends `n` items' codes (`n × M` bytes, one 4-bit code per byte) to `packed`, which
    /// already holds `existing` items laid out by this layout.
    public func append(codes: [UInt8], count n: Int, to packed: inout [UInt8], existing: Int) {
        precondition(codes.count == n * subspaces, "codes must be n × M bytes")
        let need = blocks(for: existing + n) * blockBytes
        if packed.count < need { packed.append(contentsOf: [UInt8](repeating: 0, count: need - packed.count)) }
        for i in 0..<n {
            let item = existing + i
            let block = item / Self.blockSize, j = item % Self.blockSize
            let base = block * blockBytes + j % Self.bytesPerSubspace
            let shift: UInt8 = j < Self.bytesPerSubspace ? 0 : 4
            for m in 0..<subspaces {
                packed[base + m * Self.bytesPerSubspace] |= (codes[i * subspaces + m] & 0x0F) << shift
            }
        }
    }

    /// Where `item`'s codes lie: sub-space m's code is `(packed[offset + m · 16] >> shift) & 0xF`.
    /// Found once per item by the loops that read all of an item's codes.
    @inline(__always)
    public func address(item: Int) -> (offset: Int, shift: UInt8) {
        let j = item % Self.blockSize
        return ((item / Self.blockSize) * blockBytes + j % Self.bytesPerSubspace, j < Self.bytesPerSubspace ? 0 : 4)
    }

    /// The code of `item` in sub-space `m`.
    @inline(__always)
    public func code(_ packed: UnsafePointer<UInt8>, item: Int, subspace m: Int) -> Int {
        let (offset, shift) = address(item: item)
        return Int((packed[offset + m * Self.bytesPerSubspace] >> shift) & 0x0F)
    }

    /// All `subspaces` codes of `item`, one per byte, into `out`.
    @inline(__always)
    public func unpack(_ packed: UnsafePointer<UInt8>, item: Int, into out: UnsafeMutablePointer<UInt8>) {
        let (offset, shift) = address(item: item)
        for m in 0..<subspaces { out[m] = (packed[offset + m * Self.bytesPerSubspace] >> shift) & 0x0F }
    }
}
