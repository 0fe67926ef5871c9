/// The trainable tensors of a `HybridModel`, addressed by `HybridParameters.Tensor`.
///
/// One array of matrices rather than named fields so optimizers, checkpoints and gradient
/// checks can walk every tensor the same way; biases are 1 × n matrices. The same type holds
/// gradients.
public struct HybridParameters: Sendable, Equatable {
    /// Every tensor, with the four-character tag it has in model files.
    public enum Tensor: Int, CaseIterable, Sendable {
        /// Query global projection W_q (D × Din) and bias (1 × D).
        case queryWeight, queryBias
        /// Self-gate weights G (D × D) and bias (1 × D).
        case gateWeight, gateBias
        /// Query token projection (D × Din) and bias.
        case tokenWeight, tokenBias
        /// Target global projection (D × Din) and bias.
        case targetWeight, targetBias
        /// Frame projection (D × Din) and bias.
        case frameWeight, frameBias
        /// Weight of the mean of frames in the coarse target (1 × 1).
        case frameMix
        /// GhostVLAD assignment weights ((L + G) × D) and bias (1 × (L + G)).
        case vladWeight, vladBias
        /// GhostVLAD centres (L × D).
        case vladCentres
        /// AFA frame scorer w (1 × D): frame n of a target gets the weight softmax_n(⟨w, f_n⟩) over
        /// the valid frames (TeachCLIP's attentional frame-feature aggregation). Zero — the
        /// default, and every model trained without `--teach` — is the plain mean.
        case frameScorer

        /// File tag.
        public var tag: String {
            ["WQRY", "BQRY", "WGAT", "BGAT", "WTOK", "BTOK", "WTGT", "BTGT", "WFRM", "BFRM", "FMIX", "VLAW", "VLAB", "VLAC", "AFAW"][rawValue]
        }

        /// Whether the tensor belongs to the query side (trained in the joint phase).
        public var isQuerySide: Bool {
            switch self {
            case .queryWeight, .queryBias, .gateWeight, .gateBias, .tokenWeight, .tokenBias: return true
            default: return false
            }
        }

        /// Shape (rows, columns) for a configuration.
        public func shape(_ c: HybridModel.Configuration) -> (Int, Int) {
            let d = c.dimension, din = c.inputDimension, k = c.levels + c.ghosts
            switch self {
            case .queryWeight, .tokenWeight, .targetWeight, .frameWeight: return (d, din)
            case .queryBias, .gateBias, .tokenBias, .targetBias, .frameBias: return (1, d)
            case .gateWeight: return (d, d)
            case .frameMix: return (1, 1)
            case .frameScorer: return (1, d)
            case .vladWeight: return (k, d)
            case .vladBias: return (1, k)
            case .vladCentres: return (c.levels, d)
            }
        }
    }

    /// Whether frames are pooled by learned AFA weights (a non-zero frame scorer) rather than
    /// the plain mean.
    public var hasFrameAttention: Bool { self[.frameScorer].values.contains { $0 != 0 } }

    /// Tensors in `Tensor` order.
    public var tensors: [Matrix]

    /// The tensor `t`.
    public subscript(_ t: Tensor) -> Matrix {
        get { tensors[t.rawValue] }
        set { tensors[t.rawValue] = newValue }
    }

    /// Parameters from tensors in `Tensor` order (shapes are checked by `validate`).
    public init(tensors: [Matrix]) { self.tensors = tensors }

    /// All-zero tensors of the shapes of `c` (a gradient accumulator).
    public static func zeros(_ c: HybridModel.Configuration) -> HybridParameters {
        HybridParameters(tensors: Tensor.allCases.map { let (r, k) = $0.shape(c); return Matrix(rows: r, columns: k) })
    }

    /// The untrained model's tensors (see `HybridModel`). GhostVLAD: with centres C (L + G
    /// rows, e.g. k-means of projected features), assignment logits 2s⟨x, c⟩ − s‖c‖² with s = 5
    /// (NetVLAD's initialisation: soft nearest-centre), centres the first L rows.
    public static func identity(_ c: HybridModel.Configuration, vladCentres: Matrix?) -> HybridParameters {
        var p = zeros(c)
        for t in [Tensor.queryWeight, .tokenWeight, .targetWeight, .frameWeight] {
            for i in 0..<c.dimension { p[t][i, i] = 1 }
        }
        if let centres = vladCentres, centres.rows == c.levels + c.ghosts, centres.columns == c.dimension {
            let s: Float = 5
            let norms = centres.rowSquaredNorms()
            for l in 0..<centres.rows {
                for j in 0..<c.dimension { p[.vladWeight][l, j] = 2 * s * centres[l, j] }
                p[.vladBias][0, l] = -s * norms[l]
            }
            for l in 0..<c.levels { for j in 0..<c.dimension { p[.vladCentres][l, j] = centres[l, j] } }
        }
        return p
    }

    /// Checks every tensor's shape and finiteness against `c`.
    public func validate(_ c: HybridModel.Configuration) throws(ModelError) {
        guard tensors.count == Tensor.allCases.count else {
            throw .invalidConfiguration("\(tensors.count) parameter tensors, expected \(Tensor.allCases.count)")
        }
        for t in Tensor.allCases {
            let (r, k) = t.shape(c)
            guard self[t].rows == r, self[t].columns == k else {
                throw .shapeMismatch(input: "tensor \(t.tag)", expected: "\(r)×\(k)", found: "\(self[t].rows)×\(self[t].columns)")
            }
            guard self[t].values.allSatisfy({ $0.isFinite }) else {
                throw .invalidConfiguration("tensor \(t.tag) holds NaN or infinity")
            }
        }
    }
}
