/// The forward computations of the HCQ heads, one function per layer.
///
/// Each returns what its backward pass needs (HybridPQTraining/Layers has the gradients) so the
/// forward code exists once, shared by inference and training. Sequences are `count × length`
/// rows with a 0/1 mask; padding rows never contribute to any output.
public enum Layers {
    /// Dense layer y = x Wᵀ + b for `x` (n × in), `weight` (out × in), `bias` (1 × out).
    public static func dense(_ x: Matrix, weight: Matrix, bias: Matrix) -> Matrix {
        precondition(x.columns == weight.columns && bias.columns == weight.rows, "dense: shapes disagree")
        var y = x.multipliedTransposed(weight)
        y.values.withUnsafeMutableBufferPointer { v in
            bias.values.withUnsafeBufferPointer { b in
                for r in 0..<y.rows { for c in 0..<y.columns { v[r * y.columns + c] += b[c] } }
            }
        }
        return y
    }

    /// Self-gating y = h ⊙ σ(h Gᵀ + g); returns y and the gate σ(·).
    public static func selfGate(_ h: Matrix, weight: Matrix, bias: Matrix) -> (output: Matrix, gate: Matrix) {
        var gate = dense(h, weight: weight, bias: bias)
        var y = h
        for i in 0..<gate.values.count {
            let s = 1 / (1 + (-gate.values[i]).exp)
            gate.values[i] = s
            y.values[i] *= s
        }
        return (y, gate)
    }

    /// Mean of the valid rows of each item: `x` holds `items × length` rows; returns the
    /// items × columns means and each item's count of valid rows (an item with none gets zeros).
    public static func maskedMean(_ x: Matrix, mask: [UInt8], length: Int) -> (mean: Matrix, counts: [Float]) {
        let items = x.rows / max(1, length), d = x.columns
        var out = Matrix(rows: items, columns: d)
        var counts = [Float](repeating: 0, count: items)
        x.values.withUnsafeBufferPointer { xv in
            out.values.withUnsafeMutableBufferPointer { o in
                for i in 0..<items {
                    for t in 0..<length where mask[i * length + t] != 0 {
                        counts[i] += 1
                        let r = (i * length + t) * d
                        for j in 0..<d { o[i * d + j] += xv[r + j] }
                    }
                    if counts[i] > 0 { let inv = 1 / counts[i]; for j in 0..<d { o[i * d + j] *= inv } }
                }
            }
        }
        return (out, counts)
    }

    /// Attentional pooling (TeachCLIP's AFA): item i's output is Σ_n π_in x_in with
    /// π_i = softmax over i's valid rows of the logits ⟨w, x_in⟩ (`scorer` w is 1 × columns).
    /// Returns the pooled items × columns matrix and the weights (items × length, exactly 0 on
    /// padding; an item with no valid row gets zero weights and a zero output).
    public static func attentivePool(_ x: Matrix, mask: [UInt8], length: Int, scorer: Matrix) -> (pooled: Matrix, weights: Matrix) {
        let items = x.rows / max(1, length), d = x.columns
        precondition(scorer.columns == d, "attentivePool: scorer width disagrees")
        var out = Matrix(rows: items, columns: d)
        var weights = Matrix(rows: items, columns: length)
        for i in 0..<items {
            var logits = [Float](repeating: -.infinity, count: length), top = -Float.infinity
            for t in 0..<length where mask[i * length + t] != 0 {
                var a: Float = 0
                for j in 0..<d { a += scorer.values[j] * x.values[(i * length + t) * d + j] }
                logits[t] = a
                top = max(top, a)
            }
            guard top > -.infinity else { continue }
            var sum: Float = 0
            for t in 0..<length where mask[i * length + t] != 0 { logits[t] = (logits[t] - top).exp; sum += logits[t] }
            for t in 0..<length where mask[i * length + t] != 0 {
                let w = logits[t] / sum
                weights.values[i * length + t] = w
                for j in 0..<d { out.values[i * d + j] += w * x.values[(i * length + t) * d + j] }
            }
        }
        return (out, weights)
    }

    /// GhostVLAD: a = softmax(x Wᵀ + b) over all L + G clusters (ghosts included), then
    /// v_l = Σ_t mask_t a_tl (x_t − c_l) for the L real clusters only. Returns the items × (L·D)
    /// un-normalised descriptors (level l in columns l·D ..< (l+1)·D) and the assignments.
    public static func ghostVLAD(_ x: Matrix, mask: [UInt8], length: Int, weight: Matrix, bias: Matrix,
                                 centres: Matrix) -> (output: Matrix, assignment: Matrix) {
        let n = x.rows, d = x.columns, k = weight.rows, levels = centres.rows
        let items = n / max(1, length)
        var a = dense(x, weight: weight, bias: bias)
        softmaxRows(&a)
        var out = Matrix(rows: items, columns: levels * d)
        x.values.withUnsafeBufferPointer { xv in
            a.values.withUnsafeBufferPointer { av in
                centres.values.withUnsafeBufferPointer { cv in
                    out.values.withUnsafeMutableBufferPointer { o in
                        for i in 0..<items {
                            for t in 0..<length where mask[i * length + t] != 0 {
                                let r = i * length + t
                                for l in 0..<levels {
                                    let w = av[r * k + l]
                                    let ob = i * levels * d + l * d
                                    for j in 0..<d { o[ob + j] += w * (xv[r * d + j] - cv[l * d + j]) }
                                }
                            }
                        }
                    }
                }
            }
        }
        return (out, a)
    }

    /// Row-wise softmax in place (max-subtracted).
    public static func softmaxRows(_ z: inout Matrix) {
        let k = z.columns
        z.values.withUnsafeMutableBufferPointer { v in
            for r in 0..<z.rows {
                var mx = -Float.infinity
                for c in 0..<k { mx = max(mx, v[r * k + c]) }
                var s: Float = 0
                for c in 0..<k { let e = (v[r * k + c] - mx).exp; v[r * k + c] = e; s += e }
                let inv = 1 / s
                for c in 0..<k { v[r * k + c] *= inv }
            }
        }
    }

    /// Each consecutive block of `block` columns of each row scaled to norm `scale` (a block
    /// of zeros — or of norm below 1e-12 — becomes zero). `block == columns, scale == 1` is row L2 normalisation; HCQ's
    /// sub-vector normalisation is `block = D/M, scale = 1/√M` (a unit vector overall).
    /// Returns the output and each block's norm before scaling (rows × blocks).
    public static func normalizeBlocks(_ x: Matrix, block: Int, scale: Float) -> (output: Matrix, norms: [Float]) {
        precondition(block >= 1 && x.columns % block == 0, "normalizeBlocks: block does not divide the width")
        let blocks = x.columns / block
        var out = x
        var norms = [Float](repeating: 0, count: x.rows * blocks)
        out.values.withUnsafeMutableBufferPointer { v in
            for b in 0..<(x.rows * blocks) {
                let base = b * block
                var s: Float = 0
                for j in 0..<block { s += v[base + j] * v[base + j] }
                // Blocks below 1e-12 count as zero: scaling them up would amplify rounding noise.
                let norm = s.squareRoot() >= 1e-12 ? s.squareRoot() : 0
                norms[b] = norm
                let inv: Float = norm > 0 ? scale / norm : 0
                for j in 0..<block { v[base + j] *= inv }
            }
        }
        return (out, norms)
    }
}

extension Float {
    /// e^self (Foundation-free).
    var exp: Float { Float(_exp(Double(self))) }
}
