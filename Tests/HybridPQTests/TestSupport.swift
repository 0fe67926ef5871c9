import Foundation
import HybridPQ
import LiveTestSupport

/// Random data and scratch directories shared by the tests.
enum TestData {
    /// A `rows × columns` matrix of standard normal values.
    static func gaussian(rows: Int, columns: Int, seed: UInt64) -> Matrix {
        var rng = SeededGenerator(seed: seed)
        var m = Matrix(rows: rows, columns: columns)
        m.values.withUnsafeMutableBufferPointer { rng.fillGaussian($0) }
        return m
    }

    /// A fresh empty directory, removed when the test process exits.
    static func temporaryDirectory() -> String { ScratchSpace.directory() }

    /// Exact inner product in Double.
    static func dot(_ a: ArraySlice<Float>, _ b: ArraySlice<Float>) -> Double {
        zip(a, b).reduce(0.0) { $0 + Double($1.0) * Double($1.1) }
    }

    /// Brute-force top-k by sorting all (score, id) pairs: score descending, id ascending.
    static func sortedTopK(scores: [Float], ids: [Int64], k: Int) -> [Int64] {
        let order = scores.indices.filter { !scores[$0].isNaN }.sorted {
            scores[$0] != scores[$1] ? scores[$0] > scores[$1] : ids[$0] < ids[$1]
        }
        return order.prefix(k).map { ids[$0] }
    }
}

extension Matrix {
    /// Row `r` as a slice (no copy of the whole matrix).
    func rowSlice(_ r: Int) -> ArraySlice<Float> { values[(r * columns)..<((r + 1) * columns)] }
}
