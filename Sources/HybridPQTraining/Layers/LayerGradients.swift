import HybridPQ

/// Backward passes of `HybridPQ.Layers`, one per forward function, each checked against finite
/// differences in the tests. Parameter gradients are *accumulated* into the given matrices;
/// the input gradient is returned.
public enum LayerGradients {
    /// Dense y = x Wᵀ + b: dW += dYᵀ x, db += Σ_rows dY; returns dX = dY W when `inputGradient`.
    @discardableResult
    public static func dense(_ dY: Matrix, input x: Matrix, weight: Matrix, dWeight: inout Matrix, dBias: inout Matrix,
                             inputGradient: Bool = true) -> Matrix? {
        precondition(dY.rows == x.rows && dY.columns == weight.rows, "dense backward: shapes disagree")
        dY.values.withUnsafeBufferPointer { g in
            x.values.withUnsafeBufferPointer { xv in
                dWeight.values.withUnsafeMutableBufferPointer { dw in
                    BLAS.gemmAtB(m: weight.rows, n: weight.columns, k: x.rows, a: g.baseAddress!, lda: dY.columns,
                                 b: xv.baseAddress!, ldb: x.columns, beta: 1, c: dw.baseAddress!, ldc: weight.columns)
                }
            }
        }
        for r in 0..<dY.rows { for c in 0..<dY.columns { dBias.values[c] += dY.values[r * dY.columns + c] } }
        return inputGradient ? dY.multiplied(weight) : nil
    }

    /// Self-gate y = h ⊙ σ(z), z = h Gᵀ + g: with dz = dy ⊙ h ⊙ σ(1 − σ), dG += dzᵀ h,
    /// dg += Σ dz, and dh = dy ⊙ σ + dz G.
    public static func selfGate(_ dY: Matrix, input h: Matrix, gate: Matrix, weight: Matrix,
                                dWeight: inout Matrix, dBias: inout Matrix) -> Matrix {
        var dz = dY
        var dh = dY
        for i in 0..<dY.values.count {
            let s = gate.values[i]
            dz.values[i] = dY.values[i] * h.values[i] * s * (1 - s)
            dh.values[i] = dY.values[i] * s
        }
        let back = dense(dz, input: h, weight: weight, dWeight: &dWeight, dBias: &dBias)!
        for i in 0..<dh.values.count { dh.values[i] += back.values[i] }
        return dh
    }

    /// Masked mean: each valid row of item i gets dMean_i / count_i; padding rows get zero.
    public static func maskedMean(_ dMean: Matrix, mask: [UInt8], length: Int, counts: [Float]) -> Matrix {
        let d = dMean.columns
        var dx = Matrix(rows: dMean.rows * length, columns: d)
        for i in 0..<dMean.rows where counts[i] > 0 {
            let inv = 1 / counts[i]
            for t in 0..<length where mask[i * length + t] != 0 {
                let r = (i * length + t) * d
                for j in 0..<d { dx.values[r + j] = dMean.values[i * d + j] * inv }
            }
        }
        return dx
    }

    /// Attentional pooling (see `Layers.attentivePool`): with u_i = Σ_n π_n x_n and
    /// π = softmax_valid(⟨w, x_n⟩), g_n = ⟨du_i, x_n⟩, the logit gradient is
    /// da_n = π_n (g_n − Σ_m π_m g_m) plus `dLogits` (a loss on the weights themselves, e.g. fine
    /// distillation); dx_n = π_n du_i + da_n w, dw += Σ_n da_n x_n. Padding gets nothing.
    public static func attentivePool(_ dPooled: Matrix, input x: Matrix, mask: [UInt8], length: Int, weights: Matrix,
                                     scorer: Matrix, dLogits: Matrix?, dScorer: inout Matrix) -> Matrix {
        let d = x.columns
        var dx = Matrix(rows: x.rows, columns: d)
        for i in 0..<dPooled.rows {
            var g = [Float](repeating: 0, count: length), mean: Float = 0
            for t in 0..<length where mask[i * length + t] != 0 {
                var v: Float = 0
                for j in 0..<d { v += dPooled.values[i * d + j] * x.values[(i * length + t) * d + j] }
                g[t] = v
                mean += weights.values[i * length + t] * v
            }
            for t in 0..<length where mask[i * length + t] != 0 {
                let p = weights.values[i * length + t], r = (i * length + t) * d
                let da = p * (g[t] - mean) + (dLogits?.values[i * length + t] ?? 0)
                for j in 0..<d {
                    dx.values[r + j] = p * dPooled.values[i * d + j] + da * scorer.values[j]
                    dScorer.values[j] += da * x.values[r + j]
                }
            }
        }
        return dx
    }

    /// GhostVLAD (see `Layers.ghostVLAD`). With v_l = Σ_t m_t a_tl (x_t − c_l):
    /// da_tl = m_t ⟨dv_l, x_t − c_l⟩ for real clusters (0 for ghosts), dc_l −= Σ_t m_t a_tl dv_l,
    /// dx_t += m_t Σ_l a_tl dv_l; then through the softmax dz = a ⊙ (da − ⟨a, da⟩) and the
    /// assignment layer (dW += dzᵀ x, db += Σ dz, dx += dz W).
    public static func ghostVLAD(_ dV: Matrix, input x: Matrix, mask: [UInt8], length: Int, assignment a: Matrix,
                                 weight: Matrix, centres: Matrix,
                                 dWeight: inout Matrix, dBias: inout Matrix, dCentres: inout Matrix) -> Matrix {
        let d = x.columns, k = weight.rows, levels = centres.rows, items = dV.rows
        var dx = Matrix(rows: x.rows, columns: d)
        var dz = Matrix(rows: x.rows, columns: k)
        for i in 0..<items {
            for t in 0..<length where mask[i * length + t] != 0 {
                let r = i * length + t
                var da = [Float](repeating: 0, count: k)
                for l in 0..<levels {
                    let w = a.values[r * k + l]
                    let gb = i * levels * d + l * d
                    var dot: Float = 0
                    for j in 0..<d {
                        let g = dV.values[gb + j]
                        dot += g * (x.values[r * d + j] - centres.values[l * d + j])
                        dx.values[r * d + j] += w * g
                        dCentres.values[l * d + j] -= w * g
                    }
                    da[l] = dot
                }
                var mean: Float = 0
                for l in 0..<k { mean += a.values[r * k + l] * da[l] }
                for l in 0..<k { dz.values[r * k + l] = a.values[r * k + l] * (da[l] - mean) }
            }
        }
        let back = dense(dz, input: x, weight: weight, dWeight: &dWeight, dBias: &dBias)!
        for i in 0..<dx.values.count { dx.values[i] += back.values[i] }
        return dx
    }

    /// Block normalisation y_b = s · x_b / ‖x_b‖: dx_b = (s/n) dy_b − y_b ⟨y_b, dy_b⟩ / (n s),
    /// n = ‖x_b‖ (zero blocks pass no gradient).
    public static func normalizeBlocks(_ dY: Matrix, output y: Matrix, norms: [Float], block: Int, scale: Float) -> Matrix {
        var dx = dY
        for b in 0..<norms.count {
            let base = b * block, n = norms[b]
            guard n > 0 else { for j in 0..<block { dx.values[base + j] = 0 }; continue }
            var dot: Float = 0
            for j in 0..<block { dot += y.values[base + j] * dY.values[base + j] }
            let a = scale / n, c = dot / (n * scale)
            for j in 0..<block { dx.values[base + j] = a * dY.values[base + j] - c * y.values[base + j] }
        }
        return dx
    }
}
