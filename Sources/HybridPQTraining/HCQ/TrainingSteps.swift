@_spi(Training) import HybridPQ

/// One batch of HCQ's symmetric loss (continuous, quantized or blended) with its gradients.
public enum SymmetricStep {
    /// Loss Σ_l w_l [(1 − α) L_cont,l + α L_quant,l] of a batch (α = `quantizedWeight`) and its
    /// gradient for every parameter. L_cont = CE(E_q E_vᵀ/τ) + CE(E_v E_qᵀ/τ); L_quant uses
    /// straight-through codes on the other side: CE(E_q Ẑ_vᵀ/τ) + CE(E_v Ẑ_qᵀ/τ).
    ///
    /// With a `teacher` (`--teach`, TeachCLIP), the coarse level's continuous scores also learn the
    /// teacher's (`coarseWeight` × `DistillationLoss.coarse`) and the AFA frame weights the
    /// teacher's frame relevance (`fineWeight` × `DistillationLoss.frameRelevance`).
    public static func gradients(model: HybridModel, batch: CrossViewBatch, temperature tau: Float,
                                 quantizedWeight alpha: Float, teacher: FineTeacher? = nil, coarseWeight: Float = 1,
                                 fineWeight: Float = 1) throws -> (loss: Float, grads: HybridParameters) {
        let p = model.parameters
        let qp = try model.forwardQueries(batch.queries, tokens: batch.tokens)
        let tp = try model.forwardTargets(batch.targets, frames: batch.frames)
        var dQ: [Matrix] = [], dT: [Matrix] = []
        var loss: Float = 0
        for l in 0..<model.configuration.levelCount {
            let w = model.levelWeights[l]
            let eq = qp.embeddings[l], ev = tp.embeddings[l]
            var gq = Matrix(rows: eq.rows, columns: eq.columns), gt = gq
            if alpha < 1 {
                let c = ContrastiveLoss.symmetric(queries: eq, targetKeys: ev, targets: ev, queryKeys: eq, temperature: tau)
                loss += w * (1 - alpha) * c.loss
                axpy(&gq, w * (1 - alpha), c.dQ, c.dP)
                axpy(&gt, w * (1 - alpha), c.dK, c.dV)
            }
            if alpha > 0 {
                let zq = try Codebooks.straightThrough(eq, model.quantizers[l])
                let zv = try Codebooks.straightThrough(ev, model.quantizers[l])
                let c = ContrastiveLoss.symmetric(queries: eq, targetKeys: zv, targets: ev, queryKeys: zq, temperature: tau)
                loss += w * alpha * c.loss
                // Straight-through: ẑ's gradient is the embedding's.
                axpy(&gq, w * alpha, c.dQ, c.dP)
                axpy(&gt, w * alpha, c.dK, c.dV)
            }
            dQ.append(gq)
            dT.append(gt)
        }
        var dLogits: Matrix?
        if let teacher {
            let eq = qp.embeddings[0], ev = tp.embeddings[0]
            let coarse = DistillationLoss.coarse(student: eq.multipliedTransposed(ev), teacher: try teacher.scores(batch), temperature: tau)
            loss += coarseWeight * coarse.loss
            let dq = coarse.gradient.multiplied(ev), dv = coarse.gradient.transposed().multiplied(eq)
            for i in 0..<dq.values.count { dQ[0].values[i] += coarseWeight * dq.values[i]; dT[0].values[i] += coarseWeight * dv.values[i] }
            if let frames = batch.frames, let weights = tp.frameWeights {
                let fine = DistillationLoss.frameRelevance(teacher: try teacher.frameRelevance(batch, temperature: tau), weights: weights,
                                                           mask: frames.mask)
                loss += fineWeight * fine.loss
                var g = fine.logitGradient
                for i in 0..<g.values.count { g.values[i] *= fineWeight }
                dLogits = g
            }
        }
        var grads = HybridParameters.zeros(model.configuration)
        ModelGradients.queries(qp, dEmbeddings: dQ, model: model, parameters: p, into: &grads)
        ModelGradients.targets(tp, dEmbeddings: dT, model: model, parameters: p, dFrameLogits: dLogits, into: &grads)
        return (loss, grads)
    }

    static func axpy(_ y: inout Matrix, _ a: Float, _ x1: Matrix, _ x2: Matrix) {
        for i in 0..<y.values.count { y.values[i] += a * (x1.values[i] + x2.values[i]) }
    }
}

/// One batch of joint training: queries against the reconstructions of every train target.
public enum JointStep {
    /// Loss CE(S/τ, t) with S = Σ_l w_l (⟨R_l e_q,l, x̂_l⟩ − ½‖x̂_l‖²) over all train targets
    /// (x̂ from the fixed `codes` and the current codebooks), `targets[i]` the position of batch
    /// item i among them; gradients for the query-side heads (through
    /// `quantizedQueryParameters`) and for each level's codebooks ((M·K) × d).
    ///
    /// With `teacher` (the continuous model's train target embeddings per level) and
    /// `distillation` λ > 0, the target distribution is (1 − λ)·onehot + λ·softmax(S_teacher/τ), the
    /// continuous model's own scores over the same targets (the quantized scores learn the
    /// teacher's ranking, not only the positive: a regulariser against overfitting the codes).
    /// With `teacherScores` (a fine teacher's scores of the batch against the same targets,
    /// `--teach`), `teachWeight` × the row-wise softmax Pearson distance is added.
    public static func gradients(model: HybridModel, batch: CrossViewBatch, targets: [Int], codes: [[UInt8]],
                                 temperature tau: Float, teacher: [Matrix]? = nil,
                                 distillation lambda: Float = 0, teacherScores: Matrix? = nil,
                                 teachWeight: Float = 0) throws -> (loss: Float, grads: HybridParameters, codebooks: [Matrix]) {
        let qparams = model.quantizedQueryParameters ?? model.parameters
        let qp = try model.forwardQueries(batch.queries, tokens: batch.tokens, parameters: qparams)
        let levels = model.configuration.levelCount
        var rotated: [Matrix] = [], recon: [Matrix] = []
        var total: Matrix?
        for l in 0..<levels {
            let q = model.quantizers[l]
            let xr = q.rotated(qp.embeddings[l])
            let xhat = try q.quantizer.decode(codes[l])
            var s = Codebooks.jointScores(xr, xhat)
            for i in 0..<s.values.count { s.values[i] *= model.levelWeights[l] }
            if total == nil { total = s } else { for i in 0..<s.values.count { total!.values[i] += s.values[i] } }
            rotated.append(xr)
            recon.append(xhat)
        }
        var loss: Float, dS: Matrix
        if let teacher, lambda > 0 {
            let eq = try model.queryEmbeddings(batch.queries, tokens: batch.tokens)
            var ts = Matrix(rows: total!.rows, columns: total!.columns)
            for l in 0..<levels {
                let s = eq[l].multipliedTransposed(teacher[l])
                for i in 0..<s.values.count { ts.values[i] += model.levelWeights[l] * s.values[i] }
            }
            var y = ContrastiveLoss.softmax(ts, temperature: tau)
            for i in 0..<y.values.count { y.values[i] *= lambda }
            for (i, t) in targets.enumerated() { y.values[i * y.columns + t] += 1 - lambda }
            (loss, dS) = ContrastiveLoss.crossEntropy(total!, softTargets: y, temperature: tau)
        } else {
            (loss, dS) = ContrastiveLoss.crossEntropy(total!, targets: targets, temperature: tau)
        }
        if let teacherScores, teachWeight > 0 {
            // TeachCLIP's coarse distillation against the fine teacher's scores over the same targets.
            let p = DistillationLoss.softmaxPearson(total!, teacherScores, tau)
            loss += teachWeight * p.loss
            for i in 0..<dS.values.count { dS.values[i] += teachWeight * p.gradient.values[i] }
        }
        var dE: [Matrix] = [], dBooks: [Matrix] = []
        for l in 0..<levels {
            var g = dS
            for i in 0..<g.values.count { g.values[i] *= model.levelWeights[l] }
            let (dq, dx) = Codebooks.jointScoreGradients(g, rotated[l], recon[l])
            let r = model.quantizers[l].rotation
            dE.append(r.map { dq.multipliedTransposed($0) } ?? dq)
            var db = Codebooks.matrix(model.quantizers[l].quantizer)
            for i in 0..<db.values.count { db.values[i] = 0 }
            Codebooks.scatter(dx, codes: codes[l], subspaces: model.configuration.subspaces, into: &db)
            dBooks.append(db)
        }
        var grads = HybridParameters.zeros(model.configuration)
        ModelGradients.queries(qp, dEmbeddings: dE, model: model, parameters: qparams, into: &grads)
        return (loss, grads, dBooks)
    }
}
