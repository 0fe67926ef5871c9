/// The fine-grained half of a model (DnS's fine student, multi-vector late interaction): query
/// tokens and target frames are kept as separate vectors, each through its own head, and scored
/// by late interaction (`LateInteraction`): the mean over the query's valid tokens of the best
/// valid frame's inner product. Frames are product-coded (`frameQuantizer`) into a cold store
/// read only for re-ranked candidates; the hybrid score is `s_coarse + weight · s_fine`.
///
/// Heads start at the identity (like the coarse heads), so an untrained fine model scores the
/// raw token and frame features. For search the two heads are folded into one on the frame side
/// (`foldedFrameHead`): tokens stay raw.
public struct FineModel: Sendable, Equatable {
    /// Din × D projection of query tokens.
    public var tokenHead: Matrix
    /// Din × D projection of target frames.
    public var frameHead: Matrix
    /// λ: the fine score's weight in the hybrid score (chosen on val).
    public var weight: Float
    /// The product quantizer (and rotation) of frame embeddings: inner-product tables.
    public var frameQuantizer: LevelQuantizer
    /// The learned selector of the queries worth the fine stage (`SearchParameters.fineFraction`).
    public var selector: QuerySelector?
    /// The baseline selector: the smallest top-1/top-2 coarse gap first.
    public var gapSelector: QuerySelector?
    /// A finer code of the coarse embedding for re-scoring (IndexRefine's idea), kept in the cold
    /// store: a product quantizer in the hot level's (rotated) space with more sub-spaces than the
    /// hot code. With it, a candidate's coarse term is its distance to the refined code instead of
    /// the hot code's table score. nil: the hot code's score.
    public var coarseRefiner: ProductQuantizer?

    /// A fine model from its parts; heads must map Din to the quantizer's dimension.
    public init(tokenHead: Matrix, frameHead: Matrix, weight: Float, frameQuantizer: LevelQuantizer) throws(ModelError) {
        let d = frameQuantizer.quantizer.dimension
        for (name, h) in [("token head", tokenHead), ("frame head", frameHead)] {
            guard h.columns == d, h.rows == tokenHead.rows else {
                throw .shapeMismatch(input: name, expected: "\(tokenHead.rows)×\(d)", found: "\(h.rows)×\(h.columns)")
            }
            guard h.values.allSatisfy(\.isFinite) else { throw .invalidConfiguration("\(name) holds NaN or infinity") }
        }
        guard weight.isFinite, weight >= 0 else { throw .invalidConfiguration("fine weight \(weight) is not a finite λ ≥ 0") }
        guard frameQuantizer.metric == .innerProduct else {
            throw .invalidConfiguration("late interaction scores inner products; the frame quantizer uses \(frameQuantizer.metric.rawValue)")
        }
        self.tokenHead = tokenHead
        self.frameHead = frameHead
        self.weight = weight
        self.frameQuantizer = frameQuantizer
    }

    /// An identity-start fine model over `frameQuantizer` (input dimension = its dimension).
    public static func identity(weight: Float, frameQuantizer: LevelQuantizer) throws(ModelError) -> FineModel {
        let d = frameQuantizer.quantizer.dimension
        return try FineModel(tokenHead: .identity(d), frameHead: .identity(d), weight: weight, frameQuantizer: frameQuantizer)
    }

    /// Raw feature dimension the heads take.
    public var inputDimension: Int { tokenHead.rows }

    /// Both heads folded into the frame side, `W_f · W_tᵀ` (Din × Din): ⟨x W_t, f W_f⟩ =
    /// ⟨x, f W_f W_tᵀ⟩, so frames are stored (and coded) through it and queries use their raw
    /// tokens — a re-ranked query pays no projection at all.
    public var foldedFrameHead: Matrix { frameHead.multiplied(tokenHead.transposed()) }

    /// Frames as the cold store codes them: through the folded head (the mask is kept).
    public func frameEmbeddings(_ frames: SequenceFeatures) throws(ModelError) -> SequenceFeatures {
        try project(frames, foldedFrameHead, "frames")
    }

    private func project(_ s: SequenceFeatures, _ head: Matrix, _ name: String) throws(ModelError) -> SequenceFeatures {
        guard s.values.columns == head.rows else {
            throw .shapeMismatch(input: name, expected: "\(head.rows) columns", found: "\(s.values.columns)")
        }
        if head.rows == head.columns, head == .identity(head.rows) { return s }    // the untrained start: no product
        return SequenceFeatures(count: s.count, length: s.length, values: s.values.multiplied(head), mask: s.mask)
    }
}
