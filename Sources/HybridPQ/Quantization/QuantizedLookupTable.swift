/// A per-query lookup table quantized to small integers for the fast-scan kernels.
///
/// Entry `q[m][k] = round((lut[m][k] − min_m) · scale)`, with one `scale` for all sub-spaces,
/// chosen so the widest sub-space spans 0…127 (`maximumEntry`). Then a code's float score is
/// estimated as `Σ_m q[m][k_m] / scale + bias` with `bias = Σ_m min_m`, to within
/// `M · 0.5 / scale` (each entry is off by at most half a step). Seven bits rather than eight:
/// two lookups then add in one byte without overflow, which lets the kernels sum pairs of
/// registers in 8 bits before widening to 16 (a quarter fewer instructions per code); the
/// coarser sum only chooses the candidates that exact re-ranking then orders, and on 1M
/// synthetic codes the re-ranked top 10 were unchanged (docs/FAST_SCAN.md). The UInt16 sum of
/// M entries is at most `255 · M` for any table the kernels accept, so it cannot overflow for
/// M ≤ 257 (`maximumSubspaces`).
public struct QuantizedLookupTable: Sendable {
    /// Largest M whose sums fit the kernels' 16-bit accumulators.
    public static let maximumSubspaces = 257
    /// Largest entry: 127, so two entries add in a byte.
    public static let maximumEntry = 127
    /// `paddedSubspaces × 16` entries (padding sub-spaces are all zero).
    public var entries: [UInt8]
    /// Multiplier from float table units to quantized units.
    public var scale: Float
    /// Σ_m min_m, added back when converting a sum to a score.
    public var bias: Float
    /// Sub-spaces quantized.
    public let subspaces: Int
    /// `paddedSubspaces + 1` sums of row maxima: `rest[m] = Σ_{m' ≥ m} max_k q[m'][k]`, the most
    /// sub-spaces `m…` can add to any code's sum — what lets a fast scan stop early on a block
    /// (`FastScanQuery.rest`). At most 127 · 257.
    public private(set) var rest: [UInt16]
    /// Σ_m (|min_m| + span_m): bounds the magnitude of any float table sum, which sizes the
    /// float rounding allowance of `upperBound`.
    public private(set) var magnitude: Float = 0

    /// Quantizes an `M × 16` float table (`lut`), padding to `paddedSubspaces` sub-spaces.
    public init(lut: UnsafePointer<Float>, subspaces: Int, paddedSubspaces: Int) {
        precondition(subspaces <= Self.maximumSubspaces, "M = \(subspaces) would overflow 16-bit sums")
        self.subspaces = subspaces
        var mins = [Float](repeating: 0, count: subspaces)
        var span: Float = 0
        var magnitude: Float = 0
        for m in 0..<subspaces {
            var lo = Float.infinity, hi = -Float.infinity
            for k in 0..<FastScanLayout.codewords {
                let v = lut[m * FastScanLayout.codewords + k]
                lo = v < lo ? v : lo
                hi = v > hi ? v : hi
            }
            mins[m] = lo
            span = max(span, hi - lo)
            magnitude += abs(lo) + (hi - lo)
        }
        self.magnitude = magnitude
        let top = Float(Self.maximumEntry)
        scale = span > 0 ? top / span : 1
        bias = mins.reduce(0, +)
        var table = [UInt8](repeating: 0, count: paddedSubspaces * FastScanLayout.codewords)
        let scale = self.scale
        table.withUnsafeMutableBufferPointer { e in
            // Rounding half away from zero (x ≥ 0), as `rounded()` would, in float operations
            // only so the loop vectorizes: adding and removing 2²³ rounds x ≤ 127 to the nearest
            // integer, one less when that is above x gives floor(x), the fraction decides; the
            // integer is then the low byte of (r + 2²³)'s bit pattern. Every step is exact.
            let magic: Float = 8_388_608
            for m in 0..<subspaces {
                let row = lut + m * FastScanLayout.codewords, out = e.baseAddress! + m * FastScanLayout.codewords
                let low = mins[m]
                for k in 0..<FastScanLayout.codewords {
                    let x = min(top, max(0, (row[k] - low) * scale))
                    let nearest = (x + magic) - magic
                    let floor = nearest > x ? nearest - 1 : nearest
                    let r = x - floor >= 0.5 ? floor + 1 : floor
                    out[k] = UInt8(truncatingIfNeeded: (r + magic).bitPattern)
                }
            }
        }
        var rest = [UInt16](repeating: 0, count: paddedSubspaces + 1)
        table.withUnsafeBufferPointer { e in
            for m in stride(from: subspaces - 1, through: 0, by: -1) {
                var most: UInt8 = 0
                for k in 0..<FastScanLayout.codewords { most = max(most, e[m * FastScanLayout.codewords + k]) }
                rest[m] = rest[m + 1] + UInt16(most)
            }
        }
        entries = table
        self.rest = rest
    }

    /// Calls `body` with pointers to `entries` and `rest`, as a kernel takes them.
    public func withUnsafePointers<R>(_ body: (UnsafePointer<UInt8>, UnsafePointer<UInt16>) throws -> R) rethrows -> R {
        try entries.withUnsafeBufferPointer { e in try rest.withUnsafeBufferPointer { r in try body(e.baseAddress!, r.baseAddress!) } }
    }

    /// The float score a quantized sum stands for.
    @inline(__always)
    public func score(_ sum: UInt16) -> Float { Float(sum) / scale + bias }

    /// The largest difference between `score(sum)` and the exact float table sum.
    public var maximumError: Float { Float(subspaces) * 0.5 / scale }

    /// A score no float table sum of a code with quantized sum `sum` exceeds: `score(sum)` plus
    /// `maximumError` (each entry is off by at most half a step) plus an allowance for float
    /// rounding — in the table's quantization, in `score`, and in the exact sum's M additions
    /// (each off by at most half an ulp of the running sum, bounded by `magnitude`), taken four
    /// times over. Lets a re-ranking stage skip candidates that cannot reach its k-th score.
    @inline(__always)
    public func upperBound(_ sum: UInt16) -> Float {
        score(sum) + maximumError + 4 * Float(subspaces + 8) * Float.ulpOfOne * magnitude
    }
}
