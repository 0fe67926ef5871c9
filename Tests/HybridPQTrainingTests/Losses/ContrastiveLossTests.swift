import HybridPQ
import HybridPQTraining
import Testing

@Suite struct ContrastiveLossTests {
    typealias G = GradientCheck

    @Test func crossEntropyMatchesDefinitionAndGradient() {
        let s = G.gaussian(4, 7, seed: 20, scale: 0.3)
        let t = [0, 3, 6, 2]
        let (loss, grad) = ContrastiveLoss.crossEntropy(s, targets: t, temperature: 0.1)
        // Definition in Double.
        var ref = 0.0
        for i in 0..<4 {
            let row = (0..<7).map { Double(s[i, $0]) / 0.1 }
            let mx = row.max()!
            ref += mx + row.reduce(0.0) { $0 + _exp($1 - mx) }.logarithm - row[t[i]]
        }
        #expect(abs(Double(loss) - ref / 4) < 1e-4)
        #expect(G.relativeError(s, analytic: grad) { Double(ContrastiveLoss.crossEntropy($0, targets: t, temperature: 0.1).loss) } < G.tolerance)
    }

    @Test func softTargetCrossEntropyGradientAndHardLimit() {
        let s = GradientCheck.gaussian(3, 5, seed: 28, scale: 0.4)
        var y = ContrastiveLoss.softmax(GradientCheck.gaussian(3, 5, seed: 29), temperature: 1)
        let (_, grad) = ContrastiveLoss.crossEntropy(s, softTargets: y, temperature: 0.2)
        #expect(G.relativeError(s, analytic: grad) { Double(ContrastiveLoss.crossEntropy($0, softTargets: y, temperature: 0.2).loss) } < G.tolerance)
        // One-hot soft targets give the hard loss.
        y = Matrix(rows: 3, columns: 5)
        for (i, t) in [4, 0, 2].enumerated() { y[i, t] = 1 }
        let hard = ContrastiveLoss.crossEntropy(s, targets: [4, 0, 2], temperature: 0.2)
        let soft = ContrastiveLoss.crossEntropy(s, softTargets: y, temperature: 0.2)
        #expect(abs(hard.loss - soft.loss) < 1e-5)
        for (a, b) in zip(hard.gradient.values, soft.gradient.values) { #expect(abs(a - b) < 1e-6) }
    }

    @Test func symmetricLossGradients() {
        let q = G.gaussian(5, 4, seed: 21, scale: 0.5), k = G.gaussian(5, 4, seed: 22, scale: 0.5)
        let v = G.gaussian(5, 4, seed: 23, scale: 0.5), p = G.gaussian(5, 4, seed: 24, scale: 0.5)
        let r = ContrastiveLoss.symmetric(queries: q, targetKeys: k, targets: v, queryKeys: p, temperature: 0.2)
        func f(_ q: Matrix, _ k: Matrix, _ v: Matrix, _ p: Matrix) -> Double {
            Double(ContrastiveLoss.symmetric(queries: q, targetKeys: k, targets: v, queryKeys: p, temperature: 0.2).loss)
        }
        #expect(G.relativeError(q, analytic: r.dQ) { f($0, k, v, p) } < G.tolerance)
        #expect(G.relativeError(k, analytic: r.dK) { f(q, $0, v, p) } < G.tolerance)
        #expect(G.relativeError(v, analytic: r.dV) { f(q, k, $0, p) } < G.tolerance)
        #expect(G.relativeError(p, analytic: r.dP) { f(q, k, v, $0) } < G.tolerance)
    }

    @Test func jointScoreGradients() {
        let q = G.gaussian(3, 6, seed: 25), x = G.gaussian(8, 6, seed: 26), r = G.gaussian(3, 8, seed: 27)
        let (dq, dx) = Codebooks.jointScoreGradients(r, q, x)
        #expect(G.relativeError(q, analytic: dq) { G.project(Codebooks.jointScores($0, x), r) } < G.tolerance)
        #expect(G.relativeError(x, analytic: dx) { G.project(Codebooks.jointScores(q, $0), r) } < G.tolerance)
    }
}

extension Double {
    var logarithm: Double { _log(self) }
}
