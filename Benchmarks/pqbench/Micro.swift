import Foundation
import HybridPQ

/// `pqbench --micro N`: scan-kernel throughput on one core over N random codes — no training,
/// no lookup-table construction, no top-k — and the machine's streaming read bandwidth, the
/// ceiling any scan of codes in memory must stay under.
enum Micro {
    typealias Kernel = (_ first: Int, _ count: Int) -> Void

    /// Best-of-several seconds for one pass of `body` over all items (≥ 3 passes, ≥ 1 s).
    static func bestPass(_ body: () -> Void) -> Double {
        var best = Double.infinity, passes = 0
        let start = Clock.now()
        repeat {
            let t0 = Clock.now()
            body()
            best = min(best, Clock.now() - t0)
            passes += 1
        } while passes < 3 || Clock.now() - start < 1
        return best
    }

    /// Streaming read bandwidth of one core: sums a buffer far larger than the caches as
    /// 64-bit words, eight independent sums (the same way the kernels read codes).
    static func readBandwidth(bytes: Int = 1 << 30) -> Double {
        let words = bytes / 8
        let buffer = UnsafeMutablePointer<UInt64>.allocate(capacity: words)
        defer { buffer.deallocate() }
        for i in 0..<words { buffer[i] = UInt64(truncatingIfNeeded: i &* 0x9E37_79B9) }
        var sink: UInt64 = 0
        let t = bestPass {
            var s = SIMD8<UInt64>()
            let raw = UnsafeRawPointer(buffer)
            var i = 0
            while i + 8 <= words {
                s &+= raw.loadUnaligned(fromByteOffset: i * 8, as: SIMD8<UInt64>.self)
                i += 8
            }
            sink &+= s.wrappedSum()
        }
        if sink == 42 { print("") }   // keep the sum alive
        return Double(bytes) / t
    }

    static func run(items n: Int, bytes: [Int]) -> String {
        var rng = SeededGenerator(seed: 7)
        var out = "scan kernels on one core, \(n) random codes; codes/s and GB/s of codes read\n"
        out += "kernel".padding(toLength: 30, withPad: " ", startingAt: 0) + "   B/item        codes/s      GB/s\n"
        func line(_ name: String, _ b: Int, _ seconds: Double) {
            let rate = Double(n) / seconds
            out += name.padding(toLength: 30, withPad: " ", startingAt: 0)
                + String(format: "  %7d  %13.3g  %8.2f\n", b, rate, rate * Double(b) / 1e9)
        }
        for b in bytes {
            // 8-bit ADC: M = b.
            let codes = (0..<(n * b)).map { _ in UInt8(truncatingIfNeeded: rng.next()) }
            let lut = (0..<(b * 256)).map { _ in -abs(rng.nextGaussian()) }
            var scores = [Float](repeating: 0, count: 1024)
            codes.withUnsafeBufferPointer { c in
                lut.withUnsafeBufferPointer { l in
                    scores.withUnsafeMutableBufferPointer { s in
                        let t = bestPass {
                            var i = 0
                            while i < n {
                                let len = min(1024, n - i)
                                ADCScanKernel.scan(codes: c.baseAddress! + i * b, count: len, subspaces: b, lut: l.baseAddress!,
                                                   scores: s.baseAddress!)
                                i += len
                            }
                        }
                        line("adc8 (M=\(b))", b, t)
                    }
                }
            }
            // 4-bit fast scan: M = 2b, every available kernel.
            let m = 2 * b
            let layout = FastScanLayout(subspaces: m)
            let blocks = layout.blocks(for: n)
            let packed = (0..<(blocks * layout.blockBytes)).map { _ in UInt8(truncatingIfNeeded: rng.next()) }
            let qlut = (0..<(layout.paddedSubspaces * 16)).map { _ in UInt8(truncatingIfNeeded: rng.next() % 128) }
            var sums = [UInt16](repeating: 0, count: 64 * 32)
            var masks = [UInt32](repeating: 0, count: 64)
            for kernel in FastScanKernel.available {
                packed.withUnsafeBufferPointer { c in
                    qlut.withUnsafeBufferPointer { l in
                        sums.withUnsafeMutableBufferPointer { s in
                          masks.withUnsafeMutableBufferPointer { mk in
                            let t = bestPass {
                                var blk = 0
                                while blk < blocks {
                                    let nb = min(64, blocks - blk)
                                    // Every sum computed (no early stopping: rest = nil), few reported.
                                    kernel.scan(codes: c.baseAddress! + blk * layout.blockBytes, blocks: nb,
                                                paddedSubspaces: layout.paddedSubspaces, query: FastScanQuery(lut: l.baseAddress!, floor: 0xFFF0,
                                                                     out: s.baseAddress!, masks: mk.baseAddress!))
                                    blk += nb
                                }
                            }
                            line("fastscan4 \(kernel.rawValue) (M=\(m))", b, t)
                            // Two queries per pass, as searches scan them: codes × queries per second.
                            let half = s.baseAddress! + 32 * 32, halfMasks = mk.baseAddress! + 32
                            let tp = bestPass {
                                var blk = 0
                                while blk < blocks {
                                    let nb = min(32, blocks - blk)
                                    kernel.scanPair(codes: c.baseAddress! + blk * layout.blockBytes, blocks: nb,
                                                    paddedSubspaces: layout.paddedSubspaces,
                                                    queries: (FastScanQuery(lut: l.baseAddress!, floor: 0xFFF0, out: s.baseAddress!, masks: mk.baseAddress!),
                                                              FastScanQuery(lut: l.baseAddress!, floor: 0xFFF0, out: half, masks: halfMasks)))
                                    blk += nb
                                }
                            }
                            line("fastscan4 \(kernel.rawValue) pair (M=\(m))", b, tp / 2)
                          }
                        }
                    }
                }
            }
        }
        let calibration = FastScanKernel.calibrate()
        let sizes: String = FastScanKernel.calibrationSubspaces.map(String.init).joined(separator: "/")
        let times: [String] = calibration.seconds.map { String(format: " %@ %.1f µs", $0.kernel.rawValue, $0.seconds * 1e6) }
        out += "kernel calibration (FastScanKernel.best; query pairs over \(FastScanKernel.calibrationBlocks) blocks at M = \(sizes)):"
        out += times.joined(separator: ",") + "; chosen: \(calibration.choice.rawValue) (this process: \(FastScanKernel.best.rawValue))\n"
        let bw = readBandwidth()
        out += String(format: "streaming read bandwidth, one core (1 GiB buffer, 8 x 64-bit sums): %.1f GB/s\n", bw / 1e9)
        return out
    }
}
