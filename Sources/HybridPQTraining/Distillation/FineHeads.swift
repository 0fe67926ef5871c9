import HybridPQ

/// Late interaction between a batch of queries and a batch of targets through trainable heads,
/// forward and backward (hand-written, gradient-checked):
///
///   T = X·W_t (tokens), G = F·W_f (frames), D = T·Gᵀ,
///   S_ij = (1 / |T_i|) Σ_{t ∈ T_i} max_{n ∈ F_j} D[t, n]
///
/// over valid tokens T_i of query i and valid frames F_j of target j (padding never counts; a
/// pair with no valid token or frame scores 0 and passes no gradient). The max passes its
/// gradient to the frame that attains it.
public struct FineLateInteraction {
    /// Query tokens (raw features, masks).
    public let tokens: SequenceFeatures
    /// Target frames (raw features, masks).
    public let frames: SequenceFeatures
    let tokenRows: [[Int]]   // valid token rows of each query
    let frameRows: [[Int]]   // valid frame rows of each target

    /// A batch of queries' tokens against a batch of targets' frames.
    public init(tokens: SequenceFeatures, frames: SequenceFeatures) {
        self.tokens = tokens
        self.frames = frames
        tokenRows = (0..<tokens.count).map { i in (0..<tokens.length).filter { tokens.mask[i * tokens.length + $0] != 0 }.map { i * tokens.length + $0 } }
        frameRows = (0..<frames.count).map { j in (0..<frames.length).filter { frames.mask[j * frames.length + $0] != 0 }.map { j * frames.length + $0 } }
    }

    /// What the backward pass needs: the projected rows and each (token, target)'s best frame.
    public struct Pass {
        /// Scores, queries × targets.
        public var scores: Matrix
        var projectedTokens: Matrix
        var projectedFrames: Matrix
        /// best[t][j]: the frame row of target j that token row t's max picked (−1: none).
        var best: [[Int]]
    }

    /// S for heads `wt`, `wf` (D_in × D).
    public func forward(tokenHead wt: Matrix, frameHead wf: Matrix) -> Pass {
        let t = tokens.values.multiplied(wt), g = frames.values.multiplied(wf)
        let d = t.multipliedTransposed(g)                  // all token rows × all frame rows
        let nf = d.columns
        var s = Matrix(rows: tokens.count, columns: frames.count)
        var best = [[Int]](repeating: [Int](repeating: -1, count: frames.count), count: d.rows)
        for i in 0..<tokens.count where !tokenRows[i].isEmpty {
            for j in 0..<frames.count where !frameRows[j].isEmpty {
                var total: Float = 0
                for r in tokenRows[i] {
                    var m = -Float.infinity, arg = -1
                    for n in frameRows[j] where d.values[r * nf + n] > m { m = d.values[r * nf + n]; arg = n }
                    total += m
                    best[r][j] = arg
                }
                s.values[i * frames.count + j] = total / Float(tokenRows[i].count)
            }
        }
        return Pass(scores: s, projectedTokens: t, projectedFrames: g, best: best)
    }

    /// dLoss/dW_t and dLoss/dW_f from dLoss/dS.
    public func backward(_ pass: Pass, scoreGradient ds: Matrix) -> (tokenHead: Matrix, frameHead: Matrix) {
        let dd = dotGradient(pass, ds)
        let dt = dd.multiplied(pass.projectedFrames)            // nt × D
        let dg = dd.transposed().multiplied(pass.projectedTokens) // nf × D
        return (tokens.values.transposed().multiplied(dt), frames.values.transposed().multiplied(dg))
    }

    /// dLoss/dG, the gradient for every projected frame row (zero for padding and unpicked
    /// frames): what codebook training scatters into the codewords the frames use.
    public func frameGradient(_ pass: Pass, scoreGradient ds: Matrix) -> Matrix {
        dotGradient(pass, ds).transposed().multiplied(pass.projectedTokens)
    }

    /// dLoss/dD: each pair's gradient shared among the query's tokens, at the frame each picked.
    func dotGradient(_ pass: Pass, _ ds: Matrix) -> Matrix {
        let nt = tokens.values.rows, nf = frames.values.rows
        var dd = Matrix(rows: nt, columns: nf)
        for i in 0..<tokens.count where !tokenRows[i].isEmpty {
            let w = 1 / Float(tokenRows[i].count)
            for j in 0..<frames.count where !frameRows[j].isEmpty {
                let g = ds.values[i * frames.count + j] * w
                for r in tokenRows[i] { dd.values[r * nf + pass.best[r][j]] += g }
            }
        }
        return dd
    }
}
