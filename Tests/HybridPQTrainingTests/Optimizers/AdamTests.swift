import Foundation
import Testing
import HybridPQ
import HybridPQTraining

@Suite("Adam and the learning-rate schedule")
struct AdamTests {
    /// Adam (Kingma & Ba, algorithm 1) in Double, written independently of the Float code.
    static func reference(_ p0: [Double], _ grads: [[Double]], lr: Double) -> [Double] {
        var p = p0, m = [Double](repeating: 0, count: p0.count), v = m
        for (t, g) in grads.enumerated() {
            for i in p.indices {
                m[i] = 0.9 * m[i] + 0.1 * g[i]
                v[i] = 0.999 * v[i] + 0.001 * g[i] * g[i]
                let mh = m[i] / (1 - pow(0.9, Double(t + 1))), vh = v[i] / (1 - pow(0.999, Double(t + 1)))
                p[i] -= lr * mh / (vh.squareRoot() + 1e-8)
            }
        }
        return p
    }

    @Test("three steps equal the textbook update; masked tensors stay unchanged")
    func steps() {
        let p0: [Float] = [0.5, -1, 2, 0]
        let grads: [[Float]] = [[0.1, -0.2, 0.3, 0], [0.2, 0.1, -0.3, 1e-3], [-0.05, 0.4, 0.3, -2]]
        var params = [Matrix(rows: 2, columns: 2, values: p0), Matrix(rows: 1, columns: 1, values: [7])]
        var adam = Adam(shapes: params)
        for g in grads {
            adam.step(&params, [Matrix(rows: 2, columns: 2, values: g), Matrix(rows: 1, columns: 1, values: [1])],
                      learningRate: 0.01, update: [true, false])
        }
        let want = Self.reference(p0.map(Double.init), grads.map { $0.map(Double.init) }, lr: 0.01)
        for i in 0..<4 { #expect(abs(Double(params[0].values[i]) - want[i]) < 1e-6) }
        #expect(params[1].values == [7] && adam.steps == 3)
    }

    @Test("StepDecay multiplies by gamma each epoch")
    func decay() {
        let s = StepDecay(initial: 0.1, gamma: 0.5)
        #expect(s.rate(epoch: 0) == 0.1 && abs(s.rate(epoch: 3) - 0.0125) < 1e-9)
    }
}

@Suite("Validation recall")
struct ValidationTests {
    @Test("R@k from a score matrix: the diagonal's rank, ties to the lower index")
    func ranks() {
        // Row 0: own score best (rank 1). Row 1: tied with column 0, which wins the tie (rank 2).
        // Row 2: the three other columns score higher (rank 4). Row 3: rank 1.
        let s: [Float] = [0.9, 0.1, 0.2, 0.3,
                          0.5, 0.5, 0.1, 0.1,
                          0.9, 0.8, 0.1, 0.7,
                          0.0, 0.0, 0.0, 0.4]
        let r = ValidationResult(scores: Matrix(rows: 4, columns: 4, values: s))
        #expect(r.recallAt1 == 0.5 && r.recallAt5 == 1 && r.recallAt10 == 1 && r.sum == 2.5)
    }
}
