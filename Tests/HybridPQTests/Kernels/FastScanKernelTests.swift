import Testing
import HybridPQ

@Suite("4-bit fast-scan kernels")
struct FastScanKernelTests {
    @Test("every available kernel equals the portable reference, bit for bit",
          arguments: [2, 4, 6, 8, 16, 30, 32, 64, 256])
    func identical(paddedSubspaces m: Int) {
        var rng = SeededGenerator(seed: UInt64(m) * 7)
        for blocks in [1, 3, 17] {
            let codes = (0..<(blocks * m * 16)).map { _ in UInt8(truncatingIfNeeded: rng.next()) }
            // Full-range entries: the largest sums reach 255 · M (65,280 for M = 256).
            let lut = (0..<(m * 16)).map { i in i % 5 == 0 ? 255 : UInt8(truncatingIfNeeded: rng.next()) }
            var expected = [UInt16](repeating: 0, count: blocks * 32)
            var expectedMasks = [UInt32](repeating: 0, count: blocks)
            for threshold in [UInt16(0), 127 * UInt16(m / 2), 0xFFFF] {
                codes.withUnsafeBufferPointer { c in
                    lut.withUnsafeBufferPointer { l in
                        FastScanKernel.reference(codes: c.baseAddress!, blocks: blocks, paddedSubspaces: m,
                                                 lut: l.baseAddress!, threshold: threshold, out: &expected, masks: &expectedMasks)
                        for kernel in FastScanKernel.available {
                            var got = [UInt16](repeating: 0xDEAD, count: blocks * 32)
                            var masks = [UInt32](repeating: 0xDEAD, count: blocks)
                            kernel.scan(codes: c.baseAddress!, blocks: blocks, paddedSubspaces: m, lut: l.baseAddress!,
                                        threshold: threshold, out: &got, masks: &masks)
                            #expect(got == expected, "kernel \(kernel.rawValue), M = \(m), \(blocks) blocks")
                            #expect(masks == expectedMasks, "kernel \(kernel.rawValue), threshold \(threshold)")
                        }
                    }
                }
                // Masks say exactly which sums exceed the threshold.
                for i in 0..<(blocks * 32) {
                    #expect((expectedMasks[i / 32] >> UInt32(i % 32)) & 1 == (expected[i] > threshold ? 1 : 0))
                }
            }
            // The reference is the sum it claims to be, read through the layout.
            let layout = FastScanLayout(subspaces: m)
            codes.withUnsafeBufferPointer { c in
                for item in 0..<(blocks * 32) {
                    let sum = (0..<m).reduce(0) { $0 + Int(lut[$1 * 16 + layout.code(c.baseAddress!, item: item, subspace: $1)]) }
                    #expect(Int(expected[item]) == sum)
                }
            }
        }
    }

    @Test("scanning two queries in one pass equals two single passes, for every kernel", arguments: [2, 16, 34])
    func pair(paddedSubspaces m: Int) {
        var rng = SeededGenerator(seed: UInt64(m) + 77)
        let blocks = 5
        let codes = (0..<(blocks * m * 16)).map { _ in UInt8(truncatingIfNeeded: rng.next()) }
        let lut0 = (0..<(m * 16)).map { _ in UInt8(truncatingIfNeeded: rng.next()) }
        let lut1 = (0..<(m * 16)).map { _ in UInt8(truncatingIfNeeded: rng.next()) }
        let t0 = UInt16(120 * m), t1 = UInt16(130 * m)
        var e0 = [UInt16](repeating: 0, count: blocks * 32), e1 = e0, em0 = [UInt32](repeating: 0, count: blocks), em1 = em0
        FastScanKernel.reference(codes: codes, blocks: blocks, paddedSubspaces: m, lut: lut0, threshold: t0, out: &e0, masks: &em0)
        FastScanKernel.reference(codes: codes, blocks: blocks, paddedSubspaces: m, lut: lut1, threshold: t1, out: &e1, masks: &em1)
        for kernel in FastScanKernel.available {
            var g0 = [UInt16](repeating: 1, count: blocks * 32), g1 = g0
            var gm0 = [UInt32](repeating: 1, count: blocks), gm1 = gm0
            lut0.withUnsafeBufferPointer { l0 in
                lut1.withUnsafeBufferPointer { l1 in
                    g0.withUnsafeMutableBufferPointer { o0 in
                        g1.withUnsafeMutableBufferPointer { o1 in
                            gm0.withUnsafeMutableBufferPointer { k0 in
                                gm1.withUnsafeMutableBufferPointer { k1 in
                                    kernel.scanPair(codes: codes, blocks: blocks, paddedSubspaces: m,
                                                    luts: (l0.baseAddress!, l1.baseAddress!), thresholds: (t0, t1),
                                                    out: (o0.baseAddress!, o1.baseAddress!),
                                                    masks: (k0.baseAddress!, k1.baseAddress!))
                                }
                            }
                        }
                    }
                }
            }
            #expect(g0 == e0 && g1 == e1 && gm0 == em0 && gm1 == em1, "kernel \(kernel.rawValue)")
        }
    }

    @Test("the processor's best kernel is chosen at run time and portable is always there")
    func dispatch() {
        #expect(FastScanKernel.available.first == .portable)
        #expect(FastScanKernel.best == FastScanKernel.available.last)
        #expect(FastScanKernel.best.isAvailable)
    }

    @Test("packing then reading back gives every code, odd M and partial blocks included")
    func layout() {
        var rng = SeededGenerator(seed: 5)
        for m in [1, 3, 8] {
            let layout = FastScanLayout(subspaces: m)
            var packed: [UInt8] = []
            var all: [UInt8] = []
            for (existing, n) in [(0, 5), (5, 40), (45, 1)] {
                let codes = (0..<(n * m)).map { _ in UInt8(rng.next() % 16) }
                layout.append(codes: codes, count: n, to: &packed, existing: existing)
                all += codes
            }
            #expect(packed.count == layout.blocks(for: 46) * layout.blockBytes)
            packed.withUnsafeBufferPointer { p in
                for i in 0..<46 { for s in 0..<m { #expect(layout.code(p.baseAddress!, item: i, subspace: s) == Int(all[i * m + s])) } }
            }
        }
    }
}

@Suite("Quantized lookup tables")
struct QuantizedLookupTableTests {
    @Test("estimates stay within the documented bound and sums cannot overflow")
    func bounds() {
        var rng = SeededGenerator(seed: 8)
        for m in [1, 7, 64, 257] {
            let lut = (0..<(m * 16)).map { _ in rng.nextGaussian() * 10 - 3 }
            let q = lut.withUnsafeBufferPointer { QuantizedLookupTable(lut: $0.baseAddress!, subspaces: m, paddedSubspaces: m + (m & 1)) }
            #expect(q.entries.max()! == 255 || m == 0)
            #expect(255 * (m + (m & 1)) <= 65_535 + 255)   // 257 · 255 = 65,535
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
