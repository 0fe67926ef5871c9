@_spi(Training) import HybridPQ

/// The backward pass of `HybridModel`'s forward passes: from gradients of the level
/// embeddings to gradients of every parameter tensor (accumulated into `grads`).
public enum ModelGradients {
    /// Query side: level normalisation, self-gate and projection (coarse), GhostVLAD and token
    /// projection (fine levels).
    @_spi(Training) public static func queries(_ pass: HybridModel.QueryPass, dEmbeddings: [Matrix], model: HybridModel,
                               parameters p: HybridParameters, into grads: inout HybridParameters) {
        let dv = levelVectorGradients(dEmbeddings, pass.embeddings, pass.levelNorms, model)
        let dh = grads.with(.gateWeight, .gateBias) { w, b in
            LayerGradients.selfGate(dv[0], input: pass.projected, gate: pass.gate, weight: p[.gateWeight], dWeight: &w, dBias: &b)
        }
        grads.with(.queryWeight, .queryBias) { w, b in
            LayerGradients.dense(dh, input: pass.input, weight: p[.queryWeight], dWeight: &w, dBias: &b, inputGradient: false)
        }
        guard model.configuration.levels > 0, let tokens = pass.tokens, let pt = pass.projectedTokens,
              let a = pass.assignment else { return }
        let dpt = vladGradients(joinLevels(Array(dv[1...])), input: pt, sequence: tokens, assignment: a, p, &grads)
        grads.with(.tokenWeight, .tokenBias) { w, b in
            LayerGradients.dense(dpt, input: tokens.values, weight: p[.tokenWeight], dWeight: &w, dBias: &b, inputGradient: false)
        }
    }

    /// Target side: level normalisation, projection plus weighted frame mean (coarse),
    /// GhostVLAD (fine levels), frame projection.
    /// `dFrameLogits` (B × F): a loss's gradient on the AFA logits of the frames (fine distillation).
    /// Without a frame scorer the frames are averaged as before, and the scorer still gets the
    /// gradient it would have at zero (so `--teach` training can start from the plain mean).
    @_spi(Training) public static func targets(_ pass: HybridModel.TargetPass, dEmbeddings: [Matrix], model: HybridModel,
                               parameters p: HybridParameters, dFrameLogits: Matrix? = nil, into grads: inout HybridParameters) {
        let dv = levelVectorGradients(dEmbeddings, pass.embeddings, pass.levelNorms, model)
        grads.with(.targetWeight, .targetBias) { w, b in
            LayerGradients.dense(dv[0], input: pass.input, weight: p[.targetWeight], dWeight: &w, dBias: &b, inputGradient: false)
        }
        guard let frames = pass.frames, let pf = pass.projectedFrames, let mean = pass.frameMean else { return }
        // Coarse target u = h + α · mean: dα = ⟨du, mean⟩, dmean = α du.
        let mix = p[.frameMix].values[0]
        var dMean = dv[0]
        var dMix: Float = 0
        for i in 0..<dMean.values.count {
            dMix += dv[0].values[i] * mean.values[i]
            dMean.values[i] *= mix
        }
        grads[.frameMix].values[0] += dMix
        var dpf: Matrix
        if let weights = pass.frameWeights {
            var ds = grads[.frameScorer]
            let afa = LayerGradients.attentivePool(dMean, input: pf, mask: frames.mask, length: frames.length, weights: weights,
                                                   scorer: p[.frameScorer], dLogits: dFrameLogits, dScorer: &ds)
            grads[.frameScorer] = ds
            // The plain mean keeps its own backward (the same values, bit for bit as before AFA existed).
            dpf = p.hasFrameAttention ? afa
                : LayerGradients.maskedMean(dMean, mask: frames.mask, length: frames.length, counts: pass.frameCounts)
        } else {
            dpf = LayerGradients.maskedMean(dMean, mask: frames.mask, length: frames.length, counts: pass.frameCounts)
        }
        if model.configuration.levels > 0, let a = pass.assignment {
            let back = vladGradients(joinLevels(Array(dv[1...])), input: pf, sequence: frames, assignment: a, p, &grads)
            for i in 0..<dpf.values.count { dpf.values[i] += back.values[i] }
        }
        grads.with(.frameWeight, .frameBias) { w, b in
            LayerGradients.dense(dpf, input: frames.values, weight: p[.frameWeight], dWeight: &w, dBias: &b, inputGradient: false)
        }
    }

    /// GhostVLAD's backward pass into the shared assignment weights and centres.
    static func vladGradients(_ dV: Matrix, input x: Matrix, sequence: SequenceFeatures, assignment a: Matrix,
                              _ p: HybridParameters, _ grads: inout HybridParameters) -> Matrix {
        grads.with(.vladWeight, .vladBias, .vladCentres) { w, b, c in
            LayerGradients.ghostVLAD(dV, input: x, mask: sequence.mask, length: sequence.length, assignment: a,
                                     weight: p[.vladWeight], centres: p[.vladCentres], dWeight: &w, dBias: &b, dCentres: &c)
        }
    }

    static func levelVectorGradients(_ dE: [Matrix], _ e: [Matrix], _ norms: [[Float]], _ model: HybridModel) -> [Matrix] {
        let (block, scale) = model.normalization
        return (0..<dE.count).map { l in
            LayerGradients.normalizeBlocks(dE[l], output: e[l], norms: norms[l], block: block, scale: scale)
        }
    }

    /// Level matrices (items × D each) side by side: items × (L·D), the GhostVLAD output layout.
    static func joinLevels(_ levels: [Matrix]) -> Matrix {
        let n = levels[0].rows, d = levels[0].columns, l = levels.count
        var out = Matrix(rows: n, columns: l * d)
        for (k, m) in levels.enumerated() {
            for i in 0..<n { for j in 0..<d { out.values[i * l * d + k * d + j] = m.values[i * d + j] } }
        }
        return out
    }
}

extension HybridParameters {
    /// Runs `body` with exclusive access to two tensors (moved out and back: no copies).
    @discardableResult
    mutating func with<R>(_ a: Tensor, _ b: Tensor, _ body: (inout Matrix, inout Matrix) -> R) -> R {
        var x = Matrix(rows: 0, columns: 0), y = x
        swap(&x, &tensors[a.rawValue]); swap(&y, &tensors[b.rawValue])
        let r = body(&x, &y)
        swap(&x, &tensors[a.rawValue]); swap(&y, &tensors[b.rawValue])
        return r
    }

    /// Runs `body` with exclusive access to three tensors.
    @discardableResult
    mutating func with<R>(_ a: Tensor, _ b: Tensor, _ c: Tensor, _ body: (inout Matrix, inout Matrix, inout Matrix) -> R) -> R {
        var z = Matrix(rows: 0, columns: 0)
        swap(&z, &tensors[c.rawValue])
        let r = with(a, b) { x, y in body(&x, &y, &z) }
        swap(&z, &tensors[c.rawValue])
        return r
    }
}
