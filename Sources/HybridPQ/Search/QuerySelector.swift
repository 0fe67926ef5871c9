/// Which queries go to the fine stage (DnS's selector, for text queries): a logistic model over
/// features of the hot stage's ranking — queries whose coarse top candidates are close together
/// are the ones a finer score is likely to reorder.
///
/// Features of a query (`features(topScores:tokens:)`), from its best coarse scores s₁ ≥ s₂ ≥ …:
/// the gap s₁ − s₂, the gap s₁ − s₅, the standard deviation of the top 10, and its valid token
/// count. They are standardised (`mean`, `scale`) and scored as σ(w·z + b). A query is sent to the
/// fine stage when its score reaches the threshold of the asked fraction: `quantiles` holds the
/// scores of the val queries at 0 %, 1 %, …, 100 %, so fraction f uses the (1 − f) quantile.
public struct QuerySelector: Sendable, Equatable {
    /// Features per query.
    public static let featureCount = 4
    /// Logistic weights on the standardised features.
    public var weights: [Float]
    /// Logistic bias.
    public var bias: Float
    /// Feature means (standardisation).
    public var mean: [Float]
    /// Feature scales (standard deviations, ≥ a small floor).
    public var scale: [Float]
    /// 101 selector scores of the val queries at 0 %, 1 %, …, 100 % (ascending).
    public var quantiles: [Float]

    /// A selector from its parts (sizes checked).
    public init(weights: [Float], bias: Float, mean: [Float], scale: [Float], quantiles: [Float]) throws(ModelError) {
        let n = Self.featureCount
        guard weights.count == n, mean.count == n, scale.count == n, quantiles.count == 101 else {
            throw .shapeMismatch(input: "selector", expected: "\(n) weights, means and scales and 101 quantiles",
                                 found: "\(weights.count), \(mean.count), \(scale.count) and \(quantiles.count)")
        }
        guard (weights + mean + scale + quantiles + [bias]).allSatisfy(\.isFinite), scale.allSatisfy({ $0 > 0 }) else {
            throw .invalidConfiguration("selector parameters must be finite, scales positive")
        }
        self.weights = weights
        self.bias = bias
        self.mean = mean
        self.scale = scale
        self.quantiles = quantiles
    }

    /// A query's features from its best coarse scores (descending; at least one) and its valid
    /// token count. Missing ranks repeat the last score.
    public static func features(topScores s: [Float], tokens: Int) -> [Float] {
        precondition(!s.isEmpty, "a query needs at least one candidate score")
        func at(_ i: Int) -> Float { s[min(i, s.count - 1)] }
        let top = (0..<10).map(at)
        let m = top.reduce(0, +) / 10
        let sd = (top.reduce(0) { $0 + ($1 - m) * ($1 - m) } / 10).squareRoot()
        return [at(0) - at(1), at(0) - at(4), sd, Float(tokens)]
    }

    /// The selector's score of a feature vector, in (0, 1).
    public func score(_ f: [Float]) -> Float {
        var z = bias
        for i in 0..<Self.featureCount { z += weights[i] * (f[i] - mean[i]) / scale[i] }
        return Float(1 / (1 + _exp(Double(-z))))
    }

    /// The score a query needs to be among the `fraction` sent to the fine stage (fractions of
    /// the val queries; 0 — or NaN — sends none, 1 sends all).
    public func threshold(fraction: Double) -> Float {
        if fraction >= 1 { return -.infinity }
        if !(fraction > 0) { return .infinity }     // 0, negative or NaN: none
        return quantiles[max(0, min(100, Int((100 * (1 - fraction)).rounded())))]
    }
}
