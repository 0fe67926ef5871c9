import CKernels

/// The 4-bit fast-scan kernels and the one place that chooses among them.
///
/// A kernel sums, for every item of a run of 32-item blocks (`FastScanLayout`), the quantized
/// table entries its codes select, `Σ_m lut[m·16 + code(i, m)]` as UInt16, and reports the items
/// whose sum reaches the query's floor (`FastScanQuery`) — stopping early, to save time, on
/// blocks that provably hold none. The sums are exact integers
/// (M · 255 ≤ 65535 is checked by the caller), so every kernel gives identical results; the
/// tests compare each available kernel with `reference`, bit for bit.
public enum FastScanKernel: String, Sendable, CaseIterable {
    /// Portable Swift, one lookup at a time. Runs everywhere; the definition.
    case portable
    /// 32 lookups per byte shuffle (two sub-spaces per 256-bit register).
    case avx2
    /// 64 lookups per byte shuffle (four sub-spaces per 512-bit register).
    case avx512

    /// Kernels this processor can run, slowest first.
    public static let available: [FastScanKernel] = {
        let f = hpq_cpu_features()
        var k: [FastScanKernel] = [.portable]
        if f & 1 != 0 { k.append(.avx2) }
        if f & 2 != 0 { k.append(.avx512) }
        return k
    }()

    /// The fastest kernel available on this processor — the one searches use unless told
    /// otherwise. Chosen by `calibrate()` on first use (a few milliseconds, once per process):
    /// the widest instruction set is not always the fastest (on AMD Zen 4 the AVX-512 kernel
    /// ran slower than the AVX2 one, docs/FAST_SCAN.md), so each available kernel is timed.
    public static let best: FastScanKernel = calibrate().choice

    /// Whether this processor can run the kernel.
    public var isAvailable: Bool { Self.available.contains(self) }

    /// Scans `blocks` blocks of `paddedSubspaces` sub-spaces (even) for one query.
    /// Precondition: `isAvailable`.
    public func scan(codes: UnsafePointer<UInt8>, blocks: Int, paddedSubspaces: Int, query: FastScanQuery) {
        precondition(paddedSubspaces % 2 == 0, "fast scan works on pairs of sub-spaces")
        switch self {
        case .portable:
            Self.reference(codes: codes, blocks: blocks, paddedSubspaces: paddedSubspaces, query: query)
        case .avx2: hpq_fast_scan_avx2(codes, blocks, paddedSubspaces, query.c)
        case .avx512: hpq_fast_scan_avx512(codes, blocks, paddedSubspaces, query.c)
        }
    }

    /// `scan` for two queries over the same codes: outputs are exactly those of two `scan`
    /// calls. The SIMD kernels serve both in one pass (each code register is loaded and split
    /// once); the portable one runs two passes.
    public func scanPair(codes: UnsafePointer<UInt8>, blocks: Int, paddedSubspaces: Int,
                         queries: (FastScanQuery, FastScanQuery)) {
        precondition(paddedSubspaces % 2 == 0, "fast scan works on pairs of sub-spaces")
        switch self {
        case .portable:
            scan(codes: codes, blocks: blocks, paddedSubspaces: paddedSubspaces, query: queries.0)
            scan(codes: codes, blocks: blocks, paddedSubspaces: paddedSubspaces, query: queries.1)
        case .avx2: hpq_fast_scan_avx2_pair(codes, blocks, paddedSubspaces, queries.0.c, queries.1.c)
        case .avx512: hpq_fast_scan_avx512_pair(codes, blocks, paddedSubspaces, queries.0.c, queries.1.c)
        }
    }

    /// The definition, written for clarity: item by item, sub-space by sub-space, never
    /// stopping early (`query.rest` is not read).
    public static func reference(codes: UnsafePointer<UInt8>, blocks: Int, paddedSubspaces m: Int,
                                 query q: FastScanQuery) {
        withUnsafeTemporaryAllocation(of: UInt16.self, capacity: 32) { sums in
            for b in 0..<blocks {
                let block = codes + b * m * 16
                var mask: UInt32 = 0
                for j in 0..<32 {
                    var sum: UInt16 = 0
                    for s in 0..<m {
                        let byte = block[s * 16 + (j & 15)]
                        let code = j < 16 ? byte & 0x0F : byte >> 4
                        sum &+= UInt16(q.lut[s * 16 + Int(code)])
                    }
                    sums[j] = sum
                    if sum >= q.floor { mask |= 1 << UInt32(j) }
                }
                q.masks[b] = mask
                if mask != 0 { for j in 0..<32 { q.out[b * 32 + j] = sums[j] } }
            }
        }
    }
}

/// One query's side of a fast scan: its quantized table, the smallest sum its top-k collector
/// can still take, and where the sums and masks go.
///
/// Per block the kernel writes a mask to `masks` whose bit j is set when item j's sum is at least
/// `floor` and, when the mask is not 0, the block's 32 sums to `out`; a block with mask 0 leaves
/// its sums as they were (once a collector is full that is nearly every block, and storing
/// nothing is part of what makes the scan fast).
///
/// **Stopping early:** `rest[m]` bounds what sub-spaces `m…` can add to any sum
/// (`QuantizedLookupTable.rest`). At checkpoints (half and three quarters of M ≥ 48 sub-spaces) a
/// block whose partial sums are all below `floor − rest[checkpoint]` cannot report an item, so
/// the kernels stop scanning it. Outputs are the same either way; `rest = nil` turns it off.
public struct FastScanQuery {
    /// 16 entries per sub-space.
    public var lut: UnsafePointer<UInt8>
    /// `paddedSubspaces + 1` upper bounds: `rest[m]` ≥ Σ_{m' ≥ m} max_k lut[m'][k] (nil: never stop early).
    public var rest: UnsafePointer<UInt16>?
    /// Items whose sum is at least this are reported (0: every item).
    public var floor: UInt16
    /// 32 sums per block, written for blocks that report an item.
    public var out: UnsafeMutablePointer<UInt16>
    /// One mask per block.
    public var masks: UnsafeMutablePointer<UInt32>

    /// A query's side of a scan (see the type's documentation).
    public init(lut: UnsafePointer<UInt8>, rest: UnsafePointer<UInt16>? = nil, floor: UInt16,
                out: UnsafeMutablePointer<UInt16>, masks: UnsafeMutablePointer<UInt32>) {
        self.lut = lut
        self.rest = rest
        self.floor = floor
        self.out = out
        self.masks = masks
    }

    var c: hpq_scan_query {
        hpq_scan_query(lut: lut, rest: rest, floor: floor, out: out, masks: masks)
    }
}
