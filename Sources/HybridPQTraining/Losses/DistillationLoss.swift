import Foundation
import HybridPQ

/// TeachCLIP's two distillation losses, forward and backward (hand-written, gradient-checked).
///
/// - Coarse: the Pearson distance between the student's and the teacher's batch score matrices
///   after a softmax, row-wise (each query's distribution over the batch's targets) and
///   column-wise (each target's over the queries). Pearson's r is invariant to a per-row scale
///   and shift of either side, so the student learns the teacher's *ranking shape*, not its
///   score range (the two are trained at different scales).
/// - Fine: the cross-entropy between the teacher's distribution over a target's frames (how
///   relevant each frame is to the matching query) and the student's AFA frame weights.
public enum DistillationLoss {
    /// Mean over rows of 1 − r(a_i, b_i) (Pearson correlation), and its gradient with respect
    /// to `a`. A constant row (zero variance) has r = 0 and passes no gradient.
    public static func pearsonRows(_ a: Matrix, _ b: Matrix) -> (loss: Float, gradient: Matrix) {
        precondition(a.rows == b.rows && a.columns == b.columns, "pearsonRows: shapes disagree")
        let n = a.columns
        var grad = Matrix(rows: a.rows, columns: n)
        var loss: Float = 0
        for i in 0..<a.rows {
            let ar = a.values[(i * n)..<((i + 1) * n)], br = b.values[(i * n)..<((i + 1) * n)]
            let ma = ar.reduce(0, +) / Float(n), mb = br.reduce(0, +) / Float(n)
            var sab: Float = 0, saa: Float = 0, sbb: Float = 0
            for (x, y) in zip(ar, br) { sab += (x - ma) * (y - mb); saa += (x - ma) * (x - ma); sbb += (y - mb) * (y - mb) }
            let na = saa.squareRoot(), nb = sbb.squareRoot()
            guard na > 0, nb > 0 else { loss += 1; continue }
            let r = sab / (na * nb)
            loss += 1 - r
            // dr/da_j = (b̄_j / (‖ā‖‖b̄‖) − r ā_j / ‖ā‖²); the centring needs no extra term because
            // b̄ and ā each sum to zero. The loss is −r per row, averaged.
            let scale = -1 / Float(a.rows)
            for j in 0..<n {
                let ac = a.values[i * n + j] - ma, bc = b.values[i * n + j] - mb
                grad.values[i * n + j] = scale * (bc / (na * nb) - r * ac / saa)
            }
        }
        return (loss / Float(max(1, a.rows)), grad)
    }

    /// Coarse distillation: ½ [pearsonRows(softmax_rows(S/τ), softmax_rows(T/τ)) + the same over
    /// columns], gradient with respect to the student scores S.
    public static func coarse(student s: Matrix, teacher t: Matrix, temperature tau: Float) -> (loss: Float, gradient: Matrix) {
        let rows = softmaxPearson(s, t, tau)
        let cols = softmaxPearson(s.transposed(), t.transposed(), tau)
        var g = rows.gradient
        let gc = cols.gradient.transposed()
        for i in 0..<g.values.count { g.values[i] = 0.5 * (g.values[i] + gc.values[i]) }
        return (0.5 * (rows.loss + cols.loss), g)
    }

    /// The row-wise half of `coarse`: pearsonRows(softmax_rows(S/τ), softmax_rows(T/τ)), gradient
    /// with respect to S — for score matrices over more targets than queries (the joint phase
    /// scores a batch against every train target).
    public static func softmaxPearson(_ s: Matrix, _ t: Matrix, _ tau: Float) -> (loss: Float, gradient: Matrix) {
        let p = ContrastiveLoss.softmax(s, temperature: tau)
        let q = ContrastiveLoss.softmax(t, temperature: tau)
        let (loss, dp) = pearsonRows(p, q)
        // Through the softmax: dz = p ⊙ (dp − ⟨p, dp⟩) / τ.
        var dz = Matrix(rows: s.rows, columns: s.columns)
        let n = s.columns
        for i in 0..<s.rows {
            var dot: Float = 0
            for j in 0..<n { dot += p.values[i * n + j] * dp.values[i * n + j] }
            for j in 0..<n { dz.values[i * n + j] = p.values[i * n + j] * (dp.values[i * n + j] - dot) / tau }
        }
        return (loss, dz)
    }

    /// Fine distillation: mean over items with a valid frame of −Σ_n p_n log π_n, with p the
    /// teacher's distribution and π the AFA weights (both items × F, zero on padding); the
    /// gradient with respect to the AFA logits is (π − p) / items (softmax cross-entropy).
    public static func frameRelevance(teacher p: Matrix, weights pi: Matrix, mask: [UInt8]) -> (loss: Float, logitGradient: Matrix) {
        precondition(p.rows == pi.rows && p.columns == pi.columns && mask.count == p.values.count, "frameRelevance: shapes disagree")
        let f = p.columns
        let items = (0..<p.rows).filter { i in (0..<f).contains { mask[i * f + $0] != 0 } }
        var g = Matrix(rows: p.rows, columns: f)
        var loss: Float = 0
        let inv = 1 / Float(max(1, items.count))
        for i in items {
            for n in 0..<f where mask[i * f + n] != 0 {
                let k = i * f + n
                loss -= p.values[k] * Foundation.log(max(pi.values[k], .leastNormalMagnitude))
                g.values[k] = (pi.values[k] - p.values[k]) * inv
            }
        }
        return (loss * inv, g)
    }
}
