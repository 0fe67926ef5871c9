import HybridPQ
import HybridPQTraining
import Testing

/// TeachCLIP's AFA pooling: a distribution over valid frames only, the plain mean at a zero
/// scorer, and a gradient-checked backward pass (pooled output and a loss on the weights).
@Suite struct AttentivePoolTests {
    typealias G = GradientCheck
    static let mask: [UInt8] = [1, 1, 0, 0, 1, 0, 1, 1, 0, 0, 0, 0]   // 3 items × 4 frames; the third all padding

    @Test func weightsAreADistributionOverValidFramesOnly() {
        let x = G.gaussian(12, 5, seed: 1), w = G.gaussian(1, 5, seed: 2)
        let (pooled, weights) = Layers.attentivePool(x, mask: Self.mask, length: 4, scorer: w)
        for i in 0..<3 {
            let row = Array(weights.values[(i * 4)..<(i * 4 + 4)])
            for t in 0..<4 where Self.mask[i * 4 + t] == 0 { #expect(row[t] == 0) }
            let total = row.reduce(0, +)
            #expect(i == 2 ? total == 0 : abs(total - 1) < 1e-6)
        }
        #expect(pooled.row(2).allSatisfy { $0 == 0 })
        // Independent reference: softmax by hand for item 1 (frames 0, 2, 3).
        let logits = [0, 2, 3].map { t in (0..<5).reduce(Float(0)) { $0 + w.values[$1] * x[4 + t, $1] } }
        let e = logits.map { Float(_exp(Double($0))) }
        for (k, t) in [0, 2, 3].enumerated() { #expect(abs(weights.values[4 + t] - e[k] / e.reduce(0, +)) < 1e-6) }
        // Padding values never matter.
        var y = x
        for r in 0..<12 where Self.mask[r] == 0 { for j in 0..<5 { y[r, j] = 1e3 } }
        #expect(Layers.attentivePool(y, mask: Self.mask, length: 4, scorer: w).pooled == pooled)
    }

    @Test func zeroScorerIsTheMaskedMean() {
        let x = G.gaussian(12, 5, seed: 3)
        let pooled = Layers.attentivePool(x, mask: Self.mask, length: 4, scorer: Matrix(rows: 1, columns: 5)).pooled
        let mean = Layers.maskedMean(x, mask: Self.mask, length: 4).mean
        for i in 0..<pooled.values.count { #expect(abs(pooled.values[i] - mean.values[i]) < 1e-6) }
    }

    @Test func gradientsOfInputScorerAndWeightLoss() {
        let x = G.gaussian(12, 5, seed: 4), w = G.gaussian(1, 5, seed: 5)
        let r = G.gaussian(3, 5, seed: 6)          // loss on the pooled output
        let rw = G.gaussian(3, 4, seed: 7)         // loss on the weights (a distillation term)
        func loss(_ x: Matrix, _ w: Matrix) -> Double {
            let (p, a) = Layers.attentivePool(x, mask: Self.mask, length: 4, scorer: w)
            return G.project(p, r) + G.project(a, rw)
        }
        let (_, a) = Layers.attentivePool(x, mask: Self.mask, length: 4, scorer: w)
        // dLoss/dlogits of the weight term through the softmax: a ⊙ (rw − ⟨a, rw⟩) per item.
        var dLogits = Matrix(rows: 3, columns: 4)
        for i in 0..<3 {
            let dot = (0..<4).reduce(Float(0)) { $0 + a.values[i * 4 + $1] * rw.values[i * 4 + $1] }
            for t in 0..<4 { dLogits.values[i * 4 + t] = a.values[i * 4 + t] * (rw.values[i * 4 + t] - dot) }
        }
        var dw = Matrix(rows: 1, columns: 5)
        let dx = LayerGradients.attentivePool(r, input: x, mask: Self.mask, length: 4, weights: a, scorer: w, dLogits: dLogits, dScorer: &dw)
        #expect(G.relativeError(x, analytic: dx, samples: 60) { loss($0, w) } < G.tolerance)
        #expect(G.relativeError(w, analytic: dw) { loss(x, $0) } < G.tolerance)
        for r in 0..<12 where Self.mask[r] == 0 { #expect(dx.row(r).allSatisfy { $0 == 0 }) }
    }
}
