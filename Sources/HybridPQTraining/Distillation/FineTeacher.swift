import Foundation
import HybridPQ

/// The fine model that teaches the coarse one (`pqtrain --teach`, TeachCLIP): scores
/// Z = C + λ·S with S the late interaction through trained token and frame heads
/// (`FineLateInteraction`) and C a coarse score — 2⟨e_q, e_v⟩ of a continuous model's coarse
/// embeddings, or of the raw global features without one (the factor 2 puts C on the scale the
/// heads were trained against: the hot code's −‖q − x̂‖² = 2⟨q, x̂⟩ − const).
///
/// It gives the student two signals: its batch score matrix (coarse distillation) and, for
/// each target, a distribution over the target's frames — how relevant each frame is to the
/// matching query's tokens (fine distillation, against the student's AFA weights).
public struct FineTeacher: Sendable {
    /// The continuous model whose coarse embeddings give C (nil: the raw global features).
    public var coarseModel: HybridModel?
    /// Token head W_t (Din × Din).
    public var tokenHead: Matrix
    /// Frame head W_f (Din × Din).
    public var frameHead: Matrix
    /// Weight λ of the late interaction.
    public var weight: Float

    /// A teacher from its parts.
    public init(coarseModel: HybridModel?, tokenHead: Matrix, frameHead: Matrix, weight: Float) {
        self.coarseModel = coarseModel
        self.tokenHead = tokenHead
        self.frameHead = frameHead
        self.weight = weight
    }

    /// C for a batch (queries × targets).
    public func coarseScores(_ batch: CrossViewBatch) throws -> Matrix {
        var c: Matrix
        if let m = coarseModel {
            let q = try m.queryEmbeddings(batch.queries, tokens: batch.tokens)[0]
            let v = try m.targetEmbeddings(batch.targets, frames: batch.frames)[0]
            c = q.multipliedTransposed(v)
        } else {
            c = batch.queries.multipliedTransposed(batch.targets)
        }
        for i in 0..<c.values.count { c.values[i] *= 2 }
        return c
    }

    /// Z = C + λ·S for a batch (queries × targets).
    public func scores(_ batch: CrossViewBatch) throws -> Matrix {
        guard let tokens = batch.tokens, let frames = batch.frames else {
            throw TrainingError.missingInput("query tokens and frames: the teacher scores tokens against frames")
        }
        var z = try coarseScores(batch)
        let s = FineLateInteraction(tokens: tokens, frames: frames).forward(tokenHead: tokenHead, frameHead: frameHead).scores
        for i in 0..<z.values.count { z.values[i] += weight * s.values[i] }
        return z
    }

    /// Z for every query of `queries` against every target of `targets` (queries × targets), in
    /// chunks of `chunk` queries (one token × frame product per chunk; no backward state kept):
    /// the joint phase's teacher over all train targets.
    public func scores(data: CrossViewDataSet, queries: [Int], targets: [Int], chunk: Int = 64,
                       progress: (Int, Int) -> Void = { _, _ in }) throws -> Matrix {
        guard let allTokens = data.queryTokens, let allFrames = data.frames else {
            throw TrainingError.missingInput("query tokens and frames: the teacher scores tokens against frames")
        }
        let frames = allFrames.gathering(items: targets)
        let frameRows = (0..<(frames.count * frames.length)).filter { frames.mask[$0] != 0 }
        let g = frames.values.gathering(rows: frameRows).multiplied(frameHead)
        var ranges: [Range<Int>] = [], at = 0
        for j in 0..<frames.count {
            let n = (0..<frames.length).reduce(0) { $0 + (frames.mask[j * frames.length + $1] != 0 ? 1 : 0) }
            ranges.append(at..<(at + n))
            at += n
        }
        let rawTargets = data.targets.gathering(rows: targets)
        let targetSide = try coarseModel.map { m in try m.targetEmbeddings(rawTargets, frames: frames)[0] } ?? rawTargets
        var out = Matrix(rows: queries.count, columns: targets.count)
        for start in stride(from: 0, to: queries.count, by: chunk) {
            let items = Array(queries[start..<min(queries.count, start + chunk)])
            let tokens = allTokens.gathering(items: items)
            let q = data.queries.gathering(rows: items)
            var coarse = try coarseModel.map { m in try m.queryEmbeddings(q, tokens: tokens)[0] } ?? q
            coarse = coarse.multipliedTransposed(targetSide)
            let rows = (0..<(tokens.count * tokens.length)).filter { tokens.mask[$0] != 0 }
            let t = tokens.values.gathering(rows: rows).multiplied(tokenHead)
            let dots = t.multipliedTransposed(g)           // valid tokens of the chunk × all valid frames
            var tokenStart = 0
            for (i, _) in items.enumerated() {
                let nt = (0..<tokens.length).reduce(0) { $0 + (tokens.mask[i * tokens.length + $1] != 0 ? 1 : 0) }
                for (j, r) in ranges.enumerated() {
                    var li: Float = 0
                    if nt > 0 && !r.isEmpty {
                        for k in tokenStart..<(tokenStart + nt) {
                            var best = -Float.infinity
                            for n in r { best = max(best, dots.values[k * dots.columns + n]) }
                            li += best
                        }
                        li /= Float(nt)
                    }
                    out.values[(start + i) * targets.count + j] = 2 * coarse.values[i * targets.count + j] + weight * li
                }
                tokenStart += nt
            }
            progress(min(queries.count, start + chunk), queries.count)
        }
        return out
    }

    /// For each item i of the batch, the softmax at `temperature` over i's valid frames of their
    /// relevance to i's own query: the mean over the query's valid tokens of ⟨x_t W_t, f_n W_f⟩
    /// (items × F; zero on padding and for items without a valid token or frame).
    public func frameRelevance(_ batch: CrossViewBatch, temperature tau: Float) throws -> Matrix {
        guard let tokens = batch.tokens, let frames = batch.frames else {
            throw TrainingError.missingInput("query tokens and frames: the teacher scores tokens against frames")
        }
        let t = tokens.values.multiplied(tokenHead), g = frames.values.multiplied(frameHead)
        let d = t.columns, lt = tokens.length, lf = frames.length
        var out = Matrix(rows: frames.count, columns: lf)
        for i in 0..<frames.count {
            let valid = (0..<lt).filter { tokens.mask[i * lt + $0] != 0 }
            let rows = (0..<lf).filter { frames.mask[i * lf + $0] != 0 }
            guard !valid.isEmpty, !rows.isEmpty else { continue }
            var r = [Float](repeating: 0, count: lf), top = -Float.infinity
            for n in rows {
                var s: Float = 0
                for k in valid { for j in 0..<d { s += t.values[(i * lt + k) * d + j] * g.values[(i * lf + n) * d + j] } }
                r[n] = s / Float(valid.count) / tau
                top = max(top, r[n])
            }
            var sum: Float = 0
            for n in rows { r[n] = Foundation.exp(r[n] - top); sum += r[n] }
            for n in rows { out.values[i * lf + n] = r[n] / sum }
        }
        return out
    }

    /// Trains the teacher's heads (`FineHeadTraining`, identity start) against its coarse score.
    public static func train(data: CrossViewDataSet, coarseModel: HybridModel?,
                             configuration: FineHeadTraining.Configuration = FineHeadTraining.Configuration(),
                             log: (String) -> Void = { _ in }) throws -> FineTeacher {
        let probe = FineTeacher(coarseModel: coarseModel, tokenHead: Matrix.identity(data.dimension),
                                frameHead: Matrix.identity(data.dimension), weight: configuration.weight)
        let heads = try FineHeadTraining.train(data: data, configuration: configuration, log: log) { queries, targets in
            try probe.coarseScores(CrossViewBatch(data, queries, targets))
        }
        return FineTeacher(coarseModel: coarseModel, tokenHead: heads.tokenHead, frameHead: heads.frameHead, weight: configuration.weight)
    }
}
