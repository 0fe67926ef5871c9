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
    /// Sub-spaces of the quantizer.
    public let subspaces: Int
    /// Sub-spaces as stored (even).
    public var paddedSubspaces: Int { subspaces + (subspaces & 1) }
    /// Bytes of one block.
    public var blockBytes: Int { paddedSubspaces * 16 }

    /// The layout for `subspaces` 4-bit sub-codes per item.
    public init(subspaces: Int) {
        precondition(subspaces >= 1, "at least one sub-space")
        self.subspaces = subspaces
    }

    /// Blocks needed for `count` items.
    public func blocks(for count: Int) -> Int { (count + 31) / 32 }

    /// Appends `n` items' codes (`n × M` bytes, one 4-bit code per byte) to `packed`, which
    /// already holds `existing` items laid out by this layout.
    public func append(codes: [UInt8], count n: Int, to packed: inout [UInt8], existing: Int) {
        precondition(codes.count == n * subspaces, "codes must be n × M bytes")
        let need = blocks(for: existing + n) * blockBytes
        if packed.count < need { packed.append(contentsOf: [UInt8](repeating: 0, count: need - packed.count)) }
        for i in 0..<n {
            let item = existing + i
            let block = item >> 5, j = item & 31
            let base = block * blockBytes + (j & 15)
            let shift: UInt8 = j < 16 ? 0 : 4
            for m in 0..<subspaces {
                packed[base + m * 16] |= (codes[i * subspaces + m] & 0x0F) << shift
            }
        }
    }

    /// The code of `item` in sub-space `m`.
    @inline(__always)
    public func code(_ packed: UnsafePointer<UInt8>, item: Int, subspace m: Int) -> Int {
        let j = item & 31
        let byte = packed[(item >> 5) * blockBytes + m * 16 + (j & 15)]
        return Int(j < 16 ? byte & 0x0F : byte >> 4)
    }
}
