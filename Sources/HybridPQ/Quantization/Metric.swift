/// How similarity between a query and a database vector is measured.
///
/// HybridPQ always ranks by a *score where larger is better*: the inner product for
/// `.innerProduct`, the **negated squared** Euclidean distance for `.l2`. On unit-norm
/// vectors the two give the same exact ranking, but not the same quantized ranking: the L2
/// score of a PQ code also charges the code's own norm (‖q − x̂‖² = ‖q‖² − 2⟨q, x̂⟩ + ‖x̂‖²),
/// which on debian-desc is worth ~6 points of R@1 at 16 bytes (FAISS measures the same).
public enum Metric: String, Sendable, CaseIterable, Codable {
    /// Inner product ⟨q, x⟩ (cosine on unit vectors).
    case innerProduct = "ip"
    /// Negated squared Euclidean distance −‖q − x‖².
    case l2 = "l2"

    /// Parses `ip`/`inner_product`/`cosine` or `l2`.
    public init?(name: String) {
        switch name.lowercased() {
        case "ip", "inner_product", "innerproduct", "dot", "cosine": self = .innerProduct
        case "l2", "euclidean": self = .l2
        default: return nil
        }
    }
}
