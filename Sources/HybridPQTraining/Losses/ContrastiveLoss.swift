import HybridPQ
#if canImport(Glibc)
import Glibc
#endif

/// Softmax cross-entropy over similarity scores: the contrastive (InfoNCE) loss of HCQ.
public enum ContrastiveLoss {
    /// Mean over rows of −log softmax(S_i / τ)[t_i] for `scores` (rows × candidates) whose row i
    /// should pick candidate `targets[i]`. Returns the loss and dLoss/dS
    /// (= (softmax − onehot) / (τ · rows)).
    public static func crossEntropy(_ scores: Matrix, targets: [Int], temperature tau: Float) -> (loss: Float, gradient: Matrix) {
        precondition(targets.count == scores.rows, "one target per row")
        let n = scores.columns
        var grad = Matrix(rows: scores.rows, columns: n)
        var loss: Double = 0
        let invRows = 1 / Float(scores.rows)
        for i in 0..<scores.rows {
            var mx = -Float.infinity
            for j in 0..<n { mx = max(mx, scores.values[i * n + j] / tau) }
            var sum: Double = 0
            for j in 0..<n {
                let e = expf(scores.values[i * n + j] / tau - mx)
                grad.values[i * n + j] = e
                sum += Double(e)
            }
            let logZ = Double(mx) + log(sum)
            loss += logZ - Double(scores.values[i * n + targets[i]] / tau)
            let inv = Float(1 / sum)
            for j in 0..<n { grad.values[i * n + j] *= inv * invRows / tau }
            grad.values[i * n + targets[i]] -= invRows / tau
        }
        return (Float(loss / Double(scores.rows)), grad)
    }

    /// Cross-entropy against soft targets: mean over rows of −Σ_j y_ij log softmax(S_i / τ)_j for
    /// `targets` rows that sum to 1. Returns the loss and dLoss/dS = (softmax − y) / (τ · rows).
    public static func crossEntropy(_ scores: Matrix, softTargets y: Matrix, temperature tau: Float) -> (loss: Float, gradient: Matrix) {
        precondition(y.rows == scores.rows && y.columns == scores.columns, "soft targets must match the scores")
        let p = softmax(scores, temperature: tau)
        var grad = p
        var loss = 0.0
        let invRows = 1 / Float(scores.rows)
        for i in 0..<grad.values.count {
            if y.values[i] > 0 { loss -= Double(y.values[i]) * log(max(Double(p.values[i]), 1e-30)) }
            grad.values[i] = (p.values[i] - y.values[i]) * invRows / tau
        }
        return (Float(loss / Double(scores.rows)), grad)
    }

    /// Row-wise softmax(S / τ).
    public static func softmax(_ scores: Matrix, temperature tau: Float) -> Matrix {
        var p = scores
        for i in 0..<p.values.count { p.values[i] /= tau }
        Layers.softmaxRows(&p)
        return p
    }

    /// HCQ's symmetric loss for one level: CE(S_t2v / τ, diag) + CE(S_v2t / τ, diag) with
    /// S_t2v = Q Kᵀ (queries against target-side keys) and S_v2t = V Pᵀ (targets against
    /// query-side keys). Continuous training passes K = V and P = Q. Returns the loss and the
    /// gradients with respect to Q, K, V, P (in that order).
    public static func symmetric(queries q: Matrix, targetKeys k: Matrix, targets v: Matrix, queryKeys p: Matrix,
                                 temperature tau: Float) -> (loss: Float, dQ: Matrix, dK: Matrix, dV: Matrix, dP: Matrix) {
        let diag = Array(0..<q.rows)
        let (l1, g1) = crossEntropy(q.multipliedTransposed(k), targets: diag, temperature: tau)
        let (l2, g2) = crossEntropy(v.multipliedTransposed(p), targets: diag, temperature: tau)
        return (l1 + l2, g1.multiplied(k), g1.transposed().multiplied(q), g2.multiplied(p), g2.transposed().multiplied(v))
    }
}
