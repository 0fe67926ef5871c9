import Testing
import HybridPQ

@Suite("4-bit fast-scan kernels")
struct FastScanKernelTests {
    /// Table shapes that take every kernel path: full range, narrow (every entry ≤ 127: 8-bit
    /// pre-summing) and skewed (small entries in the second half, so kernels stop early on
    /// blocks), wide then narrow.
    static func tables(m: Int, rng: inout SeededGenerator) -> [[UInt8]] {
        let full = (0..<(m * 16)).map { i in i % 5 == 0 ? 255 : UInt8(truncatingIfNeeded: rng.next()) }
        let narrow = full.map { $0 & 127 }
        let skewed = full.enumerated().map { i, v in i >= m * 8 ? v & 7 : (i % 3 == 0 ? v | 128 : v) }
        return [full, narrow, skewed, skewed.map { $0 & 127 }]
    }

    /// `rest[m] = Σ_{m' ≥ m} max_k lut[m'][k]`.
    static func rest(_ lut: [UInt8], m: Int) -> [UInt16] {
        var r = [UInt16](repeating: 0, count: m + 1)
        for s in stride(from: m - 1, through: 0, by: -1) { r[s] = r[s + 1] + UInt16(lut[(s * 16)..<(s * 16 + 16)].max()!) }
        return r
    }

    /// Runs `body` with a query over `lut`, its `rest` bounds (or none), `floor`, and output
    /// buffers pre-filled with a marker, then returns the outputs.
    static func run(_ lut: [UInt8], rest: [UInt16]?, floor: UInt16, blocks: Int,
                    _ body: (FastScanQuery) -> Void) -> (sums: [UInt16], masks: [UInt32]) {
        var sums = [UInt16](repeating: 0xDEAD, count: blocks * 32)
        var masks = [UInt32](repeating: 0xDEAD, count: blocks)
        lut.withUnsafeBufferPointer { l in
            (rest ?? []).withUnsafeBufferPointer { r in
                sums.withUnsafeMutableBufferPointer { o in
                    masks.withUnsafeMutableBufferPointer { k in
                        body(FastScanQuery(lut: l.baseAddress!, rest: rest == nil ? nil : r.baseAddress!, floor: floor,
                                           out: o.baseAddress!, masks: k.baseAddress!))
                    }
                }
            }
        }
        return (sums, masks)
    }

    @Test("every available kernel equals the portable reference, bit for bit, stopping early or not",
          arguments: [2, 4, 6, 8, 16, 30, 32, 50, 64, 256])
    func identical(paddedSubspaces m: Int) {
        var rng = SeededGenerator(seed: UInt64(m) * 7)
        for blocks in [1, 3, 17] {
            let codes = (0..<(blocks * m * 16)).map { _ in UInt8(truncatingIfNeeded: rng.next()) }
            for lut in Self.tables(m: m, rng: &rng) {
                let all = Self.run(lut, rest: nil, floor: 0, blocks: blocks) { q in
                    FastScanKernel.reference(codes: codes, blocks: blocks, paddedSubspaces: m, query: q)
                }
                // Floors: every item, about a third, the best item only (few blocks report), none.
                for floor in [UInt16(0), UInt16(135 * m / 2), all.sums.max()!, 0xFFFF] {
                    let expected = Self.run(lut, rest: nil, floor: floor, blocks: blocks) { q in
                        FastScanKernel.reference(codes: codes, blocks: blocks, paddedSubspaces: m, query: q)
                    }
                    for kernel in FastScanKernel.available {
                        for rest in [nil, Self.rest(lut, m: m)] {
                            let got = Self.run(lut, rest: rest, floor: floor, blocks: blocks) { q in
                                kernel.scan(codes: codes, blocks: blocks, paddedSubspaces: m, query: q)
                            }
                            #expect(got.sums == expected.sums && got.masks == expected.masks,
                                    "kernel \(kernel.rawValue), M = \(m), \(blocks) blocks, floor \(floor), rest \(rest != nil)")
                        }
                    }
                    // Masks say exactly which sums reach the floor; other blocks' sums are untouched.
                    for b in 0..<blocks {
                        for j in 0..<32 {
                            let reported = (expected.masks[b] >> UInt32(j)) & 1 == 1
                            #expect(reported == (all.sums[b * 32 + j] >= floor))
                            #expect(expected.sums[b * 32 + j] == (expected.masks[b] == 0 ? 0xDEAD : all.sums[b * 32 + j]))
                        }
                    }
                }
                // The reference is the sum it claims to be, read through the layout.
                let layout = FastScanLayout(subspaces: m)
                codes.withUnsafeBufferPointer { c in
                    for item in 0..<(blocks * 32) {
                        let sum = (0..<m).reduce(0) { $0 + Int(lut[$1 * 16 + layout.code(c.baseAddress!, item: item, subspace: $1)]) }
                        #expect(Int(all.sums[item]) == sum)
                    }
                }
            }
        }
    }

    @Test("scanning two queries in one pass equals two single passes, for every kernel", arguments: [2, 16, 34, 64])
    func pair(paddedSubspaces m: Int) {
        var rng = SeededGenerator(seed: UInt64(m) + 77)
        let blocks = 5
        let codes = (0..<(blocks * m * 16)).map { _ in UInt8(truncatingIfNeeded: rng.next()) }
        let tables = Self.tables(m: m, rng: &rng)
        // Every combination of table shapes (narrow with wide included), both with early stopping.
        for (i, lut0) in tables.enumerated() {
            for lut1 in tables[i...] {
                let f0 = UInt16(60 * m), f1 = UInt16(70 * m)
                let (r0, r1) = (Self.rest(lut0, m: m), Self.rest(lut1, m: m))
                let e0 = Self.run(lut0, rest: nil, floor: f0, blocks: blocks) { q in
                    FastScanKernel.reference(codes: codes, blocks: blocks, paddedSubspaces: m, query: q)
                }
                let e1 = Self.run(lut1, rest: nil, floor: f1, blocks: blocks) { q in
                    FastScanKernel.reference(codes: codes, blocks: blocks, paddedSubspaces: m, query: q)
                }
                for kernel in FastScanKernel.available {
                    var g1: (sums: [UInt16], masks: [UInt32]) = ([], [])
                    let g0 = Self.run(lut0, rest: r0, floor: f0, blocks: blocks) { q0 in
                        g1 = Self.run(lut1, rest: r1, floor: f1, blocks: blocks) { q1 in
                            kernel.scanPair(codes: codes, blocks: blocks, paddedSubspaces: m, queries: (q0, q1))
                        }
                    }
                    #expect(g0.sums == e0.sums && g0.masks == e0.masks && g1.sums == e1.sums && g1.masks == e1.masks,
                            "kernel \(kernel.rawValue), M = \(m)")
                }
            }
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
