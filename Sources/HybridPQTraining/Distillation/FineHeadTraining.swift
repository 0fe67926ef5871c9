import Foundation
import HybridPQ

/// Trains the fine stage's token and frame heads (identity start) with the contrastive loss on
/// the hybrid score Z = C + λ·S: C the frozen model's hot-code score (what the first stage
/// ranks by: −‖q − x̂‖² for joint-mode models), S the late interaction through the heads
/// (`FineLateInteraction`, gradient-checked). HCQ's symmetric loss over each batch at temperature
/// τ; Adam; deterministic for a seed; the heads with the best val R@1 + R@5 + R@10 of Z (float
/// frames) are kept — at worst the identity start.
public enum FineHeadTraining {
    /// Settings.
    public struct Configuration: Sendable {
        public var epochs = 6
        public var batchSize = 128
        public var learningRate: Float = 2e-4
        public var temperature: Float = 0.05
        public var weight: Float = 6
        public var seed: UInt64 = 1234
        public init() {}
    }

    /// The hot-code scores C (queries × targets) of `items` under `model`.
    static func coarseScores(_ model: HybridModel, data: CrossViewDataSet, queries: [Int], targets: [Int]) throws -> Matrix {
        let lq = model.quantizers[0]
        let q = lq.rotated(try model.queryEmbeddings(data.queries.gathering(rows: queries),
                                                     tokens: data.queryTokens?.gathering(items: queries), quantized: true)[0])
        let x = try lq.quantizer.decode(try lq.encode(try model.targetEmbeddings(data.targets.gathering(rows: targets),
                                                                                 frames: data.frames?.gathering(items: targets))[0]))
        var c = q.multipliedTransposed(x)
        let qn = q.rowSquaredNorms(), xn = x.rowSquaredNorms()
        let ip = lq.metric == .innerProduct
        for i in 0..<c.rows {
            for j in 0..<c.columns {
                c.values[i * c.columns + j] = ip ? c.values[i * c.columns + j] : 2 * c.values[i * c.columns + j] - qn[i] - xn[j]
            }
        }
        return c
    }

    /// R@1 + R@5 + R@10 of the scores' diagonal.
    static func validationSum(_ z: Matrix) -> Double { ValidationResult(scores: z).sum }

    /// Trained heads (token, frame) and the val sums per epoch (the first: the identity start).
    public static func train(model: HybridModel, data: CrossViewDataSet, configuration c: Configuration = Configuration(),
                             log: (String) -> Void = { _ in }) throws -> (tokenHead: Matrix, frameHead: Matrix, history: [Double]) {
        try train(data: data, configuration: c, log: log) { queries, targets in
            try coarseScores(model, data: data, queries: queries, targets: targets)
        }
    }

    /// Trained heads against any coarse score C (`coarse(queries, targets)`: queries × targets),
    /// e.g. a teacher's continuous coarse score (`FineTeacher`).
    public static func train(data: CrossViewDataSet, configuration c: Configuration = Configuration(), log: (String) -> Void = { _ in },
                             coarse: ([Int], [Int]) throws -> Matrix) throws -> (tokenHead: Matrix, frameHead: Matrix, history: [Double]) {
        guard let tokens = data.queryTokens, let frames = data.frames else {
            throw TrainingError.missingInput("query_tokens.npy and frames.npy (+ masks): the fine heads score tokens against frames")
        }
        let d = data.dimension
        var heads = [Matrix.identity(d), Matrix.identity(d)]
        var adam = Adam(shapes: heads)
        let val = data.split.val
        let valC = try coarse(val, val)
        let valLI = FineLateInteraction(tokens: tokens.gathering(items: val), frames: frames.gathering(items: val))
        func valSum() -> Double {
            var z = valC
            let s = valLI.forward(tokenHead: heads[0], frameHead: heads[1]).scores
            for i in 0..<z.values.count { z.values[i] += c.weight * s.values[i] }
            return validationSum(z)
        }
        var history = [valSum()]
        var best = (sum: history[0], heads: heads)
        log(String(format: "fine heads: identity start, val R@1+R@5+R@10 %.4f", history[0]))
        var rng = SeededGenerator(seed: c.seed)
        let start = Date()
        for epoch in 0..<c.epochs {
            let order = data.split.train.shuffled(using: &rng)
            var b = 0, losses = 0.0, batches = 0
            while b + c.batchSize <= order.count {
                let items = Array(order[b..<(b + c.batchSize)])
                b += c.batchSize
                let cs = try coarse(items, items)
                let li = FineLateInteraction(tokens: tokens.gathering(items: items), frames: frames.gathering(items: items))
                let pass = li.forward(tokenHead: heads[0], frameHead: heads[1])
                var z = cs
                for i in 0..<z.values.count { z.values[i] += c.weight * pass.scores.values[i] }
                let diag = Array(0..<items.count)
                let rows = ContrastiveLoss.crossEntropy(z, targets: diag, temperature: c.temperature)
                let cols = ContrastiveLoss.crossEntropy(z.transposed(), targets: diag, temperature: c.temperature)
                let colGrad = cols.gradient.transposed()
                var ds = rows.gradient
                for i in 0..<ds.values.count { ds.values[i] = c.weight * 0.5 * (ds.values[i] + colGrad.values[i]) }
                let g = li.backward(pass, scoreGradient: ds)
                adam.step(&heads, [g.tokenHead, g.frameHead], learningRate: c.learningRate)
                losses += Double(rows.loss + cols.loss) / 2
                batches += 1
            }
            let sum = valSum()
            history.append(sum)
            if sum > best.sum { best = (sum, heads) }
            let elapsed = Date().timeIntervalSince(start), eta = elapsed / Double(epoch + 1) * Double(c.epochs - epoch - 1)
            log(String(format: "fine heads: epoch %d/%d, loss %.4f, val R@1+R@5+R@10 %.4f, %.0f s elapsed, ETA %.0f s",
                       epoch + 1, c.epochs, losses / Double(max(1, batches)), sum, elapsed, eta))
        }
        return (best.heads[0], best.heads[1], history)
    }
}
