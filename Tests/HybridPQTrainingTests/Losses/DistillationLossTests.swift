import HybridPQ
import HybridPQTraining
import Testing

@Suite struct DistillationLossTests {
    typealias G = GradientCheck

    /// Pearson correlation in Double, written independently.
    static func pearson(_ a: [Float], _ b: [Float]) -> Double {
        let n = Double(a.count)
        let ma = a.reduce(0.0) { $0 + Double($1) } / n, mb = b.reduce(0.0) { $0 + Double($1) } / n
        var ab = 0.0, aa = 0.0, bb = 0.0
        for (x, y) in zip(a, b) { ab += (Double(x) - ma) * (Double(y) - mb); aa += (Double(x) - ma) * (Double(x) - ma); bb += (Double(y) - mb) * (Double(y) - mb) }
        return ab / (aa * bb).squareRoot()
    }

    @Test func pearsonDistanceMatchesAReferenceAndIgnoresRowScaleAndShift() {
        let a = G.gaussian(4, 7, seed: 1), b = G.gaussian(4, 7, seed: 2)
        let (loss, _) = DistillationLoss.pearsonRows(a, b)
        let reference = (0..<4).reduce(0.0) { $0 + 1 - Self.pearson(a.row($1), b.row($1)) } / 4
        #expect(abs(Double(loss) - reference) < 1e-5)
        // A per-row positive scale and any shift of either side changes nothing.
        var a2 = a, b2 = b
        for i in 0..<4 {
            for j in 0..<7 {
                a2[i, j] = a[i, j] * Float(i + 2) + Float(3 * i) - 1
                b2[i, j] = b[i, j] * 0.25 * Float(i + 1) - 5
            }
        }
        #expect(abs(DistillationLoss.pearsonRows(a2, b2).loss - loss) < 1e-5)
        // Equal rows: distance 0; opposite: 2.
        #expect(abs(DistillationLoss.pearsonRows(a, a).loss) < 1e-6)
        var neg = a
        for i in 0..<neg.values.count { neg.values[i] = -neg.values[i] }
        #expect(abs(DistillationLoss.pearsonRows(a, neg).loss - 2) < 1e-5)
    }

    @Test func pearsonAndCoarseDistillationGradients() {
        let a = G.gaussian(5, 6, seed: 3), b = G.gaussian(5, 6, seed: 4)
        let (_, g) = DistillationLoss.pearsonRows(a, b)
        #expect(G.relativeError(a, analytic: g) { Double(DistillationLoss.pearsonRows($0, b).loss) } < G.tolerance)
        let s = G.gaussian(5, 5, seed: 5), t = G.gaussian(5, 5, seed: 6)
        let (_, gs) = DistillationLoss.coarse(student: s, teacher: t, temperature: 0.7)
        #expect(G.relativeError(s, analytic: gs) { Double(DistillationLoss.coarse(student: $0, teacher: t, temperature: 0.7).loss) } < G.tolerance)
    }

    @Test func frameRelevanceIsSoftmaxCrossEntropyOverValidFrames() {
        let mask: [UInt8] = [1, 1, 1, 0, 1, 1, 0, 0, 0, 0, 0, 0]
        let logits = G.gaussian(3, 4, seed: 7)
        var p = Matrix(rows: 3, columns: 4)
        p.values = [0.2, 0.5, 0.3, 0, 0.9, 0.1, 0, 0, 0, 0, 0, 0]
        func weights(_ z: Matrix) -> Matrix {
            var w = Matrix(rows: 3, columns: 4)
            for i in 0..<3 {
                let valid = (0..<4).filter { mask[i * 4 + $0] != 0 }
                let e = valid.map { Float(_exp(Double(z.values[i * 4 + $0]))) }
                for (k, t) in valid.enumerated() { w.values[i * 4 + t] = e[k] / e.reduce(0, +) }
            }
            return w
        }
        let (loss, g) = DistillationLoss.frameRelevance(teacher: p, weights: weights(logits), mask: mask)
        // Two items have frames: the mean of −Σ p log π over them.
        let w = weights(logits)
        let reference = -(0..<8).reduce(0.0) { $0 + (p.values[$1] > 0 ? Double(p.values[$1]) * _log(Double(w.values[$1])) : 0) } / 2
        #expect(abs(Double(loss) - reference) < 1e-5)
        let err = G.relativeError(logits, analytic: g) { z in
            Double(DistillationLoss.frameRelevance(teacher: p, weights: weights(z), mask: mask).loss)
        }
        #expect(err < G.tolerance)
        for i in 0..<12 where mask[i] == 0 { #expect(g.values[i] == 0) }
    }
}
