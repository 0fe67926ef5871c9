import Testing
import HybridPQ

@Suite("8-bit ADC scan kernel")
struct ADCScanKernelTests {
    @Test("the fast scan is bit-identical to the reference", arguments: [8, 16, 24, 32, 40, 64, 3, 13])
    func bitIdentical(subspaces m: Int) {
        var rng = SeededGenerator(seed: UInt64(m))
        for count in [0, 1, 7, 8, 9, 1031] {
            let codes = (0..<(count * m)).map { _ in UInt8(truncatingIfNeeded: rng.next()) }
            let lut = (0..<(m * 256)).map { _ in rng.nextGaussian() * 3 }
            var fast = [Float](repeating: .nan, count: count)
            var slow = [Float](repeating: .nan, count: count)
            codes.withUnsafeBufferPointer { c in
                lut.withUnsafeBufferPointer { l in
                    fast.withUnsafeMutableBufferPointer { f in
                        ADCScanKernel.scan(codes: c.baseAddress ?? UnsafePointer(bitPattern: 1)!, count: count, subspaces: m,
                                           lut: l.baseAddress!, scores: f.baseAddress ?? UnsafeMutablePointer(bitPattern: 4)!)
                    }
                    slow.withUnsafeMutableBufferPointer { s in
                        ADCScanKernel.reference(codes: c.baseAddress ?? UnsafePointer(bitPattern: 1)!, count: count, subspaces: m,
                                                codewords: 256, lut: l.baseAddress!,
                                                scores: s.baseAddress ?? UnsafeMutablePointer(bitPattern: 4)!)
                    }
                }
            }
            #expect(fast.map(\.bitPattern) == slow.map(\.bitPattern))
            // And the reference is the sum it claims to be (up to Float rounding).
            for i in 0..<count {
                let exact = (0..<m).reduce(0.0) { $0 + Double(lut[$1 * 256 + Int(codes[i * m + $1])]) }
                #expect(abs(Double(slow[i]) - exact) < 1e-4 * Double(m) * 3)
            }
        }
    }
}

@Suite("8-bit ADC scan with early abandoning")
struct ADCAbandoningTests {
    @Test("finished codes are bit-identical; abandoned ones are provably below the threshold",
          arguments: [16, 32, 64, 8])
    func exact(subspaces m: Int) {
        var rng = SeededGenerator(seed: 100 + UInt64(m))
        let count = 2049
        let codes = (0..<(count * m)).map { _ in UInt8(truncatingIfNeeded: rng.next()) }
        // L2-like tables (all entries ≤ 0) and signed inner-product-like tables.
        for signed in [false, true] {
            let lut = (0..<(m * 256)).map { _ in signed ? rng.nextGaussian() : -abs(rng.nextGaussian()) }
            var full = [Float](repeating: 0, count: count)
            var abandoned = [Float](repeating: 0, count: count)
            codes.withUnsafeBufferPointer { c in
                lut.withUnsafeBufferPointer { l in
                    full.withUnsafeMutableBufferPointer {
                        ADCScanKernel.reference(codes: c.baseAddress!, count: count, subspaces: m, codewords: 256,
                                                lut: l.baseAddress!, scores: $0.baseAddress!)
                    }
                    let bound = ADCScanKernel.halfBound(lut: l.baseAddress!, subspaces: m, codewords: 256)
                    let sorted = full.sorted()
                    for quantile in [0.5, 0.9, 0.999, 1.0] {
                        let threshold = sorted[min(count - 1, Int(Double(count) * quantile))]
                        abandoned.withUnsafeMutableBufferPointer {
                            ADCScanKernel.scanAbandoning(codes: c.baseAddress!, count: count, subspaces: m, lut: l.baseAddress!,
                                                         bound: bound, threshold: threshold, scores: $0.baseAddress!)
                        }
                        var dropped = 0
                        for i in 0..<count {
                            if abandoned[i] == -.infinity {
                                dropped += 1
                                #expect(full[i] < threshold)
                            } else {
                                #expect(abandoned[i].bitPattern == full[i].bitPattern)
                            }
                        }
                        if m == 16 && !signed && quantile >= 0.999 { #expect(dropped > 0) }  // it does abandon
                    }
                }
            }
        }
    }
}
