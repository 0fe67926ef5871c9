import Dispatch

/// How `FastScanKernel.best` was chosen: each available kernel timed on the same synthetic
/// blocks, the fastest kept.
public struct FastScanCalibration: Sendable {
    /// Seconds per pass of each kernel timed (the fastest of several interleaved passes).
    public let seconds: [(kernel: FastScanKernel, seconds: Double)]
    /// The fastest kernel.
    public let choice: FastScanKernel
}

extension FastScanKernel {
    /// Sub-space counts the calibration scans, covering 8, 16 and 32 bytes per item — the
    /// kernels' relative speed changes with M (their narrow-table groups and register use do).
    public static let calibrationSubspaces = [16, 32, 64]
    /// Blocks per calibration pass (256 KiB of codes at M = 64: in L2, so the kernel's own
    /// speed is measured, not memory's).
    public static let calibrationBlocks = 128
    /// Interleaved passes per kernel; the fastest counts.
    public static let calibrationRounds = 7

    /// Times every available kernel on synthetic codes and narrow tables, as searches use them
    /// (query pairs, a floor that lets few blocks report, early stopping where M allows), and
    /// returns the times and the fastest kernel. A few milliseconds; deterministic inputs.
    public static func calibrate() -> FastScanCalibration {
        let kernels = available
        guard kernels.count > 1 else { return FastScanCalibration(seconds: [(kernels[0], 0)], choice: kernels[0]) }
        var generator = SeededGenerator(seed: 0xFA57_5CA4)
        var total = [Double](repeating: 0, count: kernels.count)
        for m in calibrationSubspaces {
            let layout = FastScanLayout(subspaces: m), nb = calibrationBlocks
            let codes = (0..<(nb * layout.blockBytes)).map { _ in UInt8(truncatingIfNeeded: generator.next()) }
            let tables = (0..<2).map { _ in
                (0..<(m * 16)).map { _ in Float(generator.next() % 1024) / 1024 }
            }.map { lut in lut.withUnsafeBufferPointer {
                QuantizedLookupTable(lut: $0.baseAddress!, subspaces: m, paddedSubspaces: m)
            } }
            // A floor near the top of the sums: what a full top-k collector asks for.
            let floor = UInt16(min(65_535, Int(tables[0].rest[0]) * 3 / 4))
            var best = [Double](repeating: .infinity, count: kernels.count)
            codes.withUnsafeBufferPointer { c in
                tables[0].withUnsafePointers { t0, r0 in
                    tables[1].withUnsafePointers { t1, r1 in
                        withUnsafeTemporaryAllocation(of: UInt16.self, capacity: 2 * nb * 32) { out in
                            withUnsafeTemporaryAllocation(of: UInt32.self, capacity: 2 * nb) { masks in
                                let q0 = FastScanQuery(lut: t0, rest: r0, floor: floor, out: out.baseAddress!, masks: masks.baseAddress!)
                                let q1 = FastScanQuery(lut: t1, rest: r1, floor: floor, out: out.baseAddress! + nb * 32,
                                                       masks: masks.baseAddress! + nb)
                                for _ in 0..<calibrationRounds {
                                    for (i, k) in kernels.enumerated() {
                                        let start = DispatchTime.now().uptimeNanoseconds
                                        k.scanPair(codes: c.baseAddress!, blocks: nb, paddedSubspaces: m, queries: (q0, q1))
                                        best[i] = min(best[i], Double(DispatchTime.now().uptimeNanoseconds - start) * 1e-9)
                                    }
                                }
                            }
                        }
                    }
                }
            }
            for i in kernels.indices { total[i] += best[i] }
        }
        let fastest = total.indices.min { total[$0] < total[$1] }!
        return FastScanCalibration(seconds: kernels.indices.map { (kernels[$0], total[$0]) }, choice: kernels[fastest])
    }
}
