import Testing
import HybridPQ

@Suite("Quantized lookup tables")
struct QuantizedLookupTableTests {
    /// Random tables of M sub-spaces, some entries placed so that (v − min) · scale lands
    /// exactly on a half step (the rounding's hard case).
    static func table(subspaces m: Int, seed: UInt64) -> [Float] {
        var rng = SeededGenerator(seed: seed)
        var lut = (0..<(m * 16)).map { _ in Float(rng.next() % 100_000) / 1_000 - 50 }
        // Sub-space 0 spans exactly 0…127, wider than the others (≤ 100), so scale = 1 and its
        // entries k · 8 + ½ fall on half steps.
        for k in 0..<16 { lut[k] = k == 0 ? 0 : k == 15 ? 127 : Float(k) * 8 + 0.5 }
        return lut
    }

    @Test("entries are (v − min_m) · scale rounded half away from zero, clamped to 0…127; rest holds the row maxima's suffix sums",
          arguments: [1, 3, 16, 32, 64])
    func entries(m: Int) {
        for seed in 0..<20 as Range<UInt64> {
            let lut = Self.table(subspaces: m, seed: seed + UInt64(m) * 100)
            let padded = m + (m & 1)
            let q = lut.withUnsafeBufferPointer {
                QuantizedLookupTable(lut: $0.baseAddress!, subspaces: m, paddedSubspaces: padded)
            }
            var span: Float = 0
            let mins = (0..<m).map { s in lut[(s * 16)..<((s + 1) * 16)].min()! }
            for s in 0..<m { span = max(span, lut[(s * 16)..<((s + 1) * 16)].max()! - mins[s]) }
            #expect(q.scale == 127 / span)
            for s in 0..<m {
                for k in 0..<16 {
                    let x = min(127, max(0, (lut[s * 16 + k] - mins[s]) * q.scale))
                    #expect(q.entries[s * 16 + k] == UInt8(x.rounded(.toNearestOrAwayFromZero)), "m \(s) k \(k) x \(x)")
                }
            }
            #expect(q.entries.count == padded * 16)
            #expect(q.entries[(m * 16)...].allSatisfy { $0 == 0 })
            for s in 0...m {
                let want = (s..<m).reduce(0) { $0 + Int(q.entries[($1 * 16)..<(($1 + 1) * 16)].max()!) }
                #expect(Int(q.rest[s]) == want)
            }
        }
    }

    @Test("upperBound(sum) is never below a code's exact float sum, and score(sum) is within maximumError of it",
          arguments: [2, 8, 32, 64])
    func upperBound(m: Int) {
        var rng = SeededGenerator(seed: UInt64(m) + 5)
        for trial in 0..<20 {
            // Tables of very different magnitudes: the rounding allowance must scale with them.
            let magnitude = Float(1 << (trial % 10)) / 8
            let lut = (0..<(m * 16)).map { _ in (Float(rng.next() % 1_000_000) / 1_000_000 - 0.3) * magnitude }
            let q = lut.withUnsafeBufferPointer {
                QuantizedLookupTable(lut: $0.baseAddress!, subspaces: m, paddedSubspaces: m + (m & 1))
            }
            for _ in 0..<200 {
                let codes = (0..<m).map { _ in Int(rng.next() % 16) }
                var exact: Float = 0
                var sum = 0
                for s in 0..<m { exact += lut[s * 16 + codes[s]]; sum += Int(q.entries[s * 16 + codes[s]]) }
                #expect(exact <= q.upperBound(UInt16(sum)))
                #expect(abs(q.score(UInt16(sum)) - exact) <= q.maximumError * 1.001 + 1e-5 * magnitude * Float(m))
            }
        }
    }

    @Test("estimates stay within the documented bound, entries fit 7 bits and rest bounds are exact")
    func bounds() {
        var rng = SeededGenerator(seed: 8)
        for m in [1, 7, 64, 257] {
            let lut = (0..<(m * 16)).map { _ in rng.nextGaussian() * 10 - 3 }
            let q = lut.withUnsafeBufferPointer { QuantizedLookupTable(lut: $0.baseAddress!, subspaces: m, paddedSubspaces: m + (m & 1)) }
            #expect(q.entries.max()! == UInt8(QuantizedLookupTable.maximumEntry))
            #expect(255 * (m + (m & 1)) <= 65_535 + 255)   // 257 · 255 = 65,535
            #expect(q.rest == FastScanKernelTests.rest(q.entries, m: m + (m & 1)))
            for _ in 0..<200 {
                let codes = (0..<m).map { _ in Int(rng.next() % 16) }
                let exact = (0..<m).reduce(0.0) { $0 + Double(lut[$1 * 16 + codes[$1]]) }
                let sum = (0..<m).reduce(0) { $0 + Int(q.entries[$1 * 16 + codes[$1]]) }
                #expect(sum <= 65_535)
                let estimate = Double(q.score(UInt16(sum)))
                #expect(abs(estimate - exact) <= Double(q.maximumError) * 1.001 + 1e-4 * abs(exact))
            }
        }
    }
}
