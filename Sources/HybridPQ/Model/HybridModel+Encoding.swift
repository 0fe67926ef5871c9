/// From input features to level embeddings: the forward pass of `HybridModel`.
///
/// Level l's embedding e_l is a unit vector in both modes: joint mode normalises the whole
/// level vector; HCQ mode normalises each of the M sub-vectors to norm 1/√M, so that
/// ⟨e, e'⟩ = (1/M) Σ_m cos(x_m, x'_m), HCQ's similarity.
extension HybridModel {
    /// Everything the query-side forward pass computed (the backward pass reads it). Training's
    /// interface (`@_spi(Training)`, imported by HybridPQTraining), not the engine's public API.
    @_spi(Training) public struct QueryPass: Sendable {
        /// Global input features (B × Din).
        public var input: Matrix
        /// Projection h = x Wᵀ + b.
        public var projected: Matrix
        /// Gate σ(h Gᵀ + g).
        public var gate: Matrix
        /// Token inputs, projected tokens and GhostVLAD assignments (fine levels only).
        public var tokens: SequenceFeatures?
        public var projectedTokens: Matrix?
        public var assignment: Matrix?
        /// Un-normalised level vectors, coarse first.
        public var levelVectors: [Matrix]
        /// Block norms of each level vector (see `Layers.normalizeBlocks`).
        public var levelNorms: [[Float]]
        /// Level embeddings, coarse first.
        public var embeddings: [Matrix]
    }

    /// Everything the target-side forward pass computed (training's interface, as `QueryPass`).
    @_spi(Training) public struct TargetPass: Sendable {
        public var input: Matrix
        public var frames: SequenceFeatures?
        /// Projected frames (B·F × D) and each item's count of valid frames.
        public var projectedFrames: Matrix?
        public var frameCounts: [Float]
        /// Pooled valid projected frames (B × D): their mean, or their AFA-weighted sum when the
        /// model has a frame scorer.
        public var frameMean: Matrix?
        /// Each frame's pooling weight (B × F; 0 on padding): 1/count for the mean.
        public var frameWeights: Matrix?
        public var assignment: Matrix?
        public var levelVectors: [Matrix]
        public var levelNorms: [[Float]]
        public var embeddings: [Matrix]
    }

    /// Block width and scale of the level normalisation for this model's mode.
    public var normalization: (block: Int, scale: Float) {
        let c = configuration
        return c.mode == .hcq ? (c.dimension / c.subspaces, 1 / Float(c.subspaces).squareRoot()) : (c.dimension, 1)
    }

    /// The query-side forward pass with `p`'s weights (default: the continuous model's).
    @_spi(Training) public func forwardQueries(_ x: Matrix, tokens: SequenceFeatures?, parameters p: HybridParameters? = nil)
        throws(ModelError) -> QueryPass {
        let p = p ?? parameters
        let c = configuration
        try check(x, tokens, name: "queries", sequence: "query tokens")
        let h = Layers.dense(x, weight: p[.queryWeight], bias: p[.queryBias])
        let (y, gate) = Layers.selfGate(h, weight: p[.gateWeight], bias: p[.gateBias])
        var pass = QueryPass(input: x, projected: h, gate: gate, tokens: tokens, levelVectors: [y], levelNorms: [], embeddings: [])
        if c.levels > 0, let tokens {
            let pt = Layers.dense(tokens.values, weight: p[.tokenWeight], bias: p[.tokenBias])
            let (v, a) = Layers.ghostVLAD(pt, mask: tokens.mask, length: tokens.length, weight: p[.vladWeight],
                                          bias: p[.vladBias], centres: p[.vladCentres])
            pass.projectedTokens = pt
            pass.assignment = a
            for l in 0..<c.levels { pass.levelVectors.append(v.slicing(columns: (l * c.dimension)..<((l + 1) * c.dimension))) }
        }
        (pass.embeddings, pass.levelNorms) = normalizeLevels(pass.levelVectors)
        return pass
    }

    /// The target-side forward pass (always the continuous model's weights, or `p`).
    @_spi(Training) public func forwardTargets(_ x: Matrix, frames: SequenceFeatures?, parameters p: HybridParameters? = nil)
        throws(ModelError) -> TargetPass {
        let p = p ?? parameters
        let c = configuration
        try check(x, frames, name: "targets", sequence: "frames")
        if frames == nil && p[.frameMix].values[0] != 0 {
            throw .missingInput("frames: the model mixes the mean of the frames into the coarse target")
        }
        var y = Layers.dense(x, weight: p[.targetWeight], bias: p[.targetBias])
        var pass = TargetPass(input: x, frames: frames, frameCounts: [], levelVectors: [], levelNorms: [], embeddings: [])
        if let frames {
            let pf = Layers.dense(frames.values, weight: p[.frameWeight], bias: p[.frameBias])
            var (mean, counts) = Layers.maskedMean(pf, mask: frames.mask, length: frames.length)
            var weights = Matrix(rows: frames.count, columns: frames.length)
            if p.hasFrameAttention {
                (mean, weights) = Layers.attentivePool(pf, mask: frames.mask, length: frames.length, scorer: p[.frameScorer])
            } else {
                for r in 0..<frames.mask.count where frames.mask[r] != 0 { weights.values[r] = 1 / counts[r / frames.length] }
            }
            pass.frameWeights = weights
            let mix = p[.frameMix].values[0]
            for i in 0..<y.values.count { y.values[i] += mix * mean.values[i] }
            pass.projectedFrames = pf
            pass.frameCounts = counts
            pass.frameMean = mean
            if c.levels > 0 {
                let (v, a) = Layers.ghostVLAD(pf, mask: frames.mask, length: frames.length, weight: p[.vladWeight],
                                              bias: p[.vladBias], centres: p[.vladCentres])
                pass.assignment = a
                pass.levelVectors = [y] + (0..<c.levels).map { l in v.slicing(columns: (l * c.dimension)..<((l + 1) * c.dimension)) }
            }
        }
        if pass.levelVectors.isEmpty { pass.levelVectors = [y] }
        (pass.embeddings, pass.levelNorms) = normalizeLevels(pass.levelVectors)
        return pass
    }

    /// Level embeddings of queries; `quantized` uses the query heads tuned for the codes.
    public func queryEmbeddings(_ x: Matrix, tokens: SequenceFeatures?, quantized: Bool = false) throws(ModelError) -> [Matrix] {
        try forwardQueries(x, tokens: tokens, parameters: quantized ? (quantizedQueryParameters ?? parameters) : parameters).embeddings
    }

    /// Level embeddings of targets.
    public func targetEmbeddings(_ x: Matrix, frames: SequenceFeatures?) throws(ModelError) -> [Matrix] {
        try forwardTargets(x, frames: frames).embeddings
    }

    /// The continuous hybrid embedding: levels side by side, each scaled by √weight, so the inner
    /// product of a query's and a target's is Σ_l w_l ⟨e_l, e'_l⟩ (the flat-hybrid score).
    public static func concatenated(_ levels: [Matrix], weights: [Float]) -> Matrix {
        let n = levels.first?.rows ?? 0, d = levels.first?.columns ?? 0
        var out = Matrix(rows: n, columns: d * levels.count)
        for (l, e) in levels.enumerated() {
            let s = weights[l].squareRoot()
            for i in 0..<n { for j in 0..<d { out.values[i * d * levels.count + l * d + j] = s * e.values[i * d + j] } }
        }
        return out
    }

    func normalizeLevels(_ vectors: [Matrix]) -> ([Matrix], [[Float]]) {
        let (block, scale) = normalization
        var out: [Matrix] = [], norms: [[Float]] = []
        for v in vectors {
            let (e, n) = Layers.normalizeBlocks(v, block: block, scale: scale)
            out.append(e)
            norms.append(n)
        }
        return (out, norms)
    }

    func check(_ x: Matrix, _ seq: SequenceFeatures?, name: String, sequence: String) throws(ModelError) {
        let c = configuration
        guard x.columns == c.inputDimension else {
            throw .shapeMismatch(input: name, expected: "\(c.inputDimension) columns", found: "\(x.columns)")
        }
        if c.levels > 0 && seq == nil { throw .missingInput("\(sequence): the model has \(c.levels) fine levels") }
        if let seq {
            guard seq.count == x.rows, seq.values.columns == c.inputDimension else {
                throw .shapeMismatch(input: sequence, expected: "\(x.rows) items of \(c.inputDimension)",
                                     found: "\(seq.count) items of \(seq.values.columns)")
            }
        }
    }
}
