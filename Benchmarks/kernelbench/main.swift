// kernelbench: micro-benchmarks of the scan kernels alone (no lookup-table construction, no
// top-k), on a synthetic code array of N items. Prints codes/s and GB/s of codes for one core.
//
//   swift run -c release kernelbench [N] [M...]
import Foundation
import HybridPQ

typealias Kernel = (UnsafePointer<UInt8>, Int, UnsafePointer<Float>, UnsafeMutablePointer<Float>) -> Void

func now() -> Double { Double(DispatchTime.now().uptimeNanoseconds) * 1e-9 }

/// Scans `n` codes in blocks of 1024 repeatedly for about a second; returns codes per second.
func measure(codes: [UInt8], lut: [Float], n: Int, m: Int, _ body: Kernel) -> (Double, Float) {
    var scores = [Float](repeating: 0, count: 1024)
    var passes = 0
    var sink: Float = 0
    let t0 = now()
    codes.withUnsafeBufferPointer { c in
        lut.withUnsafeBufferPointer { l in
            scores.withUnsafeMutableBufferPointer { s in
                repeat {
                    var start = 0
                    while start < n {
                        let len = min(1024, n - start)
                        body(c.baseAddress! + start * m, len, l.baseAddress!, s.baseAddress!)
                        sink += s[0]
                        start += len
                    }
                    passes += 1
                } while now() - t0 < 1.0
            }
        }
    }
    return (Double(n) * Double(passes) / (now() - t0), sink)
}

func main() {
    let args = CommandLine.arguments.dropFirst().compactMap { Int($0) }
    let n = args.first ?? 1_000_000
    let ms = args.count > 1 ? Array(args.dropFirst()) : [8, 16, 32, 64]
    var rng = SeededGenerator(seed: 7)
    for m in ms {
        let codes = (0..<(n * m)).map { _ in UInt8(truncatingIfNeeded: rng.next()) }
        let lut = (0..<(m * 256)).map { _ in rng.nextUnitFloat() }
        let kernels: [(String, Kernel)] = [
            ("adc8", { c, len, l, s in ADCScanKernel.scan(codes: c, count: len, subspaces: m, lut: l, scores: s) }),
            ("reference", { c, len, l, s in
                ADCScanKernel.reference(codes: c, count: len, subspaces: m, codewords: 256, lut: l, scores: s) }),
        ]
        // The kernel followed by top-10 selection, as PQIndex.search runs them.
        let ids = (0..<1024).map { Int64($0) }
        let withTopK: Kernel = { c, len, l, s in
            ADCScanKernel.scan(codes: c, count: len, subspaces: m, lut: l, scores: s)
            var top = TopK(k: 10)
            ids.withUnsafeBufferPointer { top.offer(scores: s, count: len, ids: $0.baseAddress!) }
            s[0] = top.threshold
        }
        // Early abandoning at a threshold that lets about 1 % of codes through.
        let bound = lut.withUnsafeBufferPointer { ADCScanKernel.halfBound(lut: $0.baseAddress!, subspaces: m, codewords: 256) }
        let sampleScores = (0..<10_000).map { i in (0..<m).reduce(Float(0)) { $0 + lut[$1 * 256 + Int(codes[i * m + $1])] } }.sorted()
        let threshold = sampleScores[sampleScores.count * 99 / 100]
        let abandoning: Kernel = { c, len, l, s in
            ADCScanKernel.scanAbandoning(codes: c, count: len, subspaces: m, lut: l, bound: bound, threshold: threshold, scores: s)
        }
        for (name, kernel) in kernels + [("adc8+top10", withTopK), ("abandon@1%", abandoning)] {
            let (rate, sink) = measure(codes: codes, lut: lut, n: n, m: m, kernel)
            print(String(format: "M=%2d %-10@ %8.1f M codes/s  %6.2f GB/s of codes  (checksum %.3f)", m, name,
                         rate / 1e6, rate * Double(m) / 1e9, sink))
        }
    }
}

main()
