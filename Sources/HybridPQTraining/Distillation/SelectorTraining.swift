import HybridPQ

/// Fits DnS's selector (`QuerySelector`): logistic regression with binary cross-entropy on
/// standardised features, full-batch gradient descent from zero — deterministic, no seed.
public enum SelectorTraining {
    /// Mean binary cross-entropy of σ(w·z + b) against `labels` (0 or 1), and its gradient with
    /// respect to w and b: ∂/∂w = mean((p − y) z), ∂/∂b = mean(p − y).
    public static func loss(weights w: [Double], bias b: Double, z: [[Double]], labels y: [Double])
        -> (loss: Double, weights: [Double], bias: Double) {
        let n = Double(max(1, z.count))
        var l = 0.0, gw = [Double](repeating: 0, count: w.count), gb = 0.0
        for (x, t) in zip(z, y) {
            let a = zip(w, x).reduce(b) { $0 + $1.0 * $1.1 }
            // log(1 + e^a) − t·a, computed without overflow.
            l += max(a, 0) + (1 + (-abs(a)).exp).log - t * a
            let p = 1 / (1 + (-a).exp)
            for j in 0..<w.count { gw[j] += (p - t) * x[j] }
            gb += p - t
        }
        return (l / n, gw.map { $0 / n }, gb / n)
    }

    /// Standardisation and logistic weights fitted to `features` (rows of
    /// `QuerySelector.featureCount`) and `labels`.
    public static func fit(features: [[Float]], labels: [Bool], iterations: Int = 400, learningRate: Double = 0.5)
        -> (weights: [Float], bias: Float, mean: [Float], scale: [Float]) {
        let f = QuerySelector.featureCount, n = Double(max(1, features.count))
        let mean = (0..<f).map { j in features.reduce(0.0) { $0 + Double($1[j]) } / n }
        let scale = (0..<f).map { j in
            max(1e-6, (features.reduce(0.0) { $0 + (Double($1[j]) - mean[j]) * (Double($1[j]) - mean[j]) } / n).squareRoot())
        }
        let z = features.map { x in (0..<f).map { (Double(x[$0]) - mean[$0]) / scale[$0] } }
        let y = labels.map { $0 ? 1.0 : 0.0 }
        var w = [Double](repeating: 0, count: f), b = 0.0
        for _ in 0..<iterations {
            let g = loss(weights: w, bias: b, z: z, labels: y)
            for j in 0..<f { w[j] -= learningRate * g.weights[j] }
            b -= learningRate * g.bias
        }
        return (w.map { Float($0) }, Float(b), mean.map { Float($0) }, scale.map { Float($0) })
    }
}

extension Double {
    fileprivate var exp: Double { _exp(self) }
    fileprivate var log: Double { _log(self) }
}

#if canImport(Glibc)
import Glibc
private func _exp(_ x: Double) -> Double { Glibc.exp(x) }
private func _log(_ x: Double) -> Double { Glibc.log(x) }
#else
import Darwin
private func _exp(_ x: Double) -> Double { Darwin.exp(x) }
private func _log(_ x: Double) -> Double { Darwin.log(x) }
#endif
