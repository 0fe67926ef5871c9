import Testing
import HybridPQ
import HybridPQTraining

@Suite("DnS selector: logistic regression over the hot stage's features")
struct SelectorTests {
    static func data(_ n: Int, seed: UInt64) -> (features: [[Float]], labels: [Bool]) {
        var g = SeededGenerator(seed: seed)
        var f: [[Float]] = [], y: [Bool] = []
        for _ in 0..<n {
            let x = (0..<QuerySelector.featureCount).map { _ in Float(g.nextUnitDouble() * 4 - 2) }
            f.append(x)
            y.append(-2 * x[0] + 0.5 * x[3] + Float(g.nextUnitDouble() - 0.5) > 0)   // small gap → changed
        }
        return (f, y)
    }

    @Test("the BCE gradient equals finite differences")
    func gradient() {
        let (f, y) = Self.data(40, seed: 601)
        let z = f.map { $0.map(Double.init) }, t = y.map { $0 ? 1.0 : 0.0 }
        let w = [0.3, -0.7, 0.2, 0.1], b = -0.2, h = 1e-6
        let g = SelectorTraining.loss(weights: w, bias: b, z: z, labels: t)
        for j in 0..<4 {
            var wp = w, wm = w
            wp[j] += h; wm[j] -= h
            let fd = (SelectorTraining.loss(weights: wp, bias: b, z: z, labels: t).loss
                      - SelectorTraining.loss(weights: wm, bias: b, z: z, labels: t).loss) / (2 * h)
            #expect(abs(fd - g.weights[j]) < 1e-6)
        }
        let fd = (SelectorTraining.loss(weights: w, bias: b + h, z: z, labels: t).loss
                  - SelectorTraining.loss(weights: w, bias: b - h, z: z, labels: t).loss) / (2 * h)
        #expect(abs(fd - g.bias) < 1e-6)
    }

    @Test("a fitted selector ranks held-out queries by how likely they change; fitting is deterministic")
    func fit() throws {
        let (f, y) = Self.data(600, seed: 602)
        let a = SelectorTraining.fit(features: f, labels: y), b = SelectorTraining.fit(features: f, labels: y)
        #expect(a.weights == b.weights && a.bias == b.bias)
        #expect(a.weights[0] < 0 && abs(a.weights[1]) < abs(a.weights[0]))     // the gap carries the signal
        let s = try QuerySelector(weights: a.weights, bias: a.bias, mean: a.mean, scale: a.scale,
                                  quantiles: (0...100).map { Float($0) / 100 })
        let (tf, ty) = Self.data(400, seed: 603)
        let correct = zip(tf, ty).filter { (s.score($0.0) >= 0.5) == $0.1 }.count
        #expect(correct > 340, "accuracy \(correct)/400")
        #expect(s.threshold(fraction: 0.3) == 0.7 && s.threshold(fraction: 1) == -.infinity && s.threshold(fraction: 0) == .infinity)
    }

    @Test("features: gaps, spread of the top 10, token count")
    func features() {
        let f = QuerySelector.features(topScores: [5, 3, 2, 2, 1], tokens: 7)
        #expect(f[0] == 2 && f[1] == 4 && f[3] == 7)
        let top: [Float] = [5, 3, 2, 2, 1, 1, 1, 1, 1, 1]
        let m = top.reduce(0, +) / 10
        #expect(abs(f[2] - (top.reduce(0) { $0 + ($1 - m) * ($1 - m) } / 10).squareRoot()) < 1e-6)
    }
}
