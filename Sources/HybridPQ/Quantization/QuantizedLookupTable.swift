/// A per-query lookup table quantized to UInt8 for the fast-scan kernels.
///
/// Entry `q[m][k] = round((lut[m][k] − min_m) · scale)`, with one `scale` for all sub-spaces,
/// chosen so the widest sub-space spans 0…255. Then a code's float score is estimated as
/// `Σ_m q[m][k_m] / scale + bias` with `bias = Σ_m min_m`, to within `M · 0.5 / scale` (each
/// entry is off by at most half a step). The UInt16 sum of M entries is at most `255 · M`, so it
/// cannot overflow for M ≤ 257 (`maximumSubspaces`).
public struct QuantizedLookupTable: Sendable {
    /// Largest M whose sums fit the kernels' 16-bit accumulators.
    public static let maximumSubspaces = 257
    /// `paddedSubspaces × 16` entries (padding sub-spaces are all zero).
    public var entries: [UInt8]
    /// Multiplier from float table units to quantized units.
    public var scale: Float
    /// Σ_m min_m, added back when converting a sum to a score.
    public var bias: Float
    /// Sub-spaces quantized.
    public let subspaces: Int

    /// Quantizes an `M × 16` float table (`lut`), padding to `paddedSubspaces` sub-spaces.
    public init(lut: UnsafePointer<Float>, subspaces: Int, paddedSubspaces: Int) {
        precondition(subspaces <= Self.maximumSubspaces, "M = \(subspaces) would overflow 16-bit sums")
        self.subspaces = subspaces
        var mins = [Float](repeating: 0, count: subspaces)
        var span: Float = 0
        for m in 0..<subspaces {
            var lo = Float.infinity, hi = -Float.infinity
            for k in 0..<16 { lo = min(lo, lut[m * 16 + k]); hi = max(hi, lut[m * 16 + k]) }
            mins[m] = lo
            span = max(span, hi - lo)
        }
        scale = span > 0 ? 255 / span : 1
        bias = mins.reduce(0, +)
        entries = [UInt8](repeating: 0, count: paddedSubspaces * 16)
        for m in 0..<subspaces {
            for k in 0..<16 {
                let v = ((lut[m * 16 + k] - mins[m]) * scale).rounded()
                entries[m * 16 + k] = UInt8(max(0, min(255, v)))
            }
        }
    }

    /// The float score a quantized sum stands for.
    @inline(__always)
    public func score(_ sum: UInt16) -> Float { Float(sum) / scale + bias }

    /// The largest difference between `score(sum)` and the exact float table sum.
    public var maximumError: Float { Float(subspaces) * 0.5 / scale }
}
