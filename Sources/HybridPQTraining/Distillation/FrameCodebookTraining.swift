import Foundation
import HybridPQ

/// Trains the frame codebooks for the late-interaction score (quantization-aware, as the joint
/// mode trains the coarse code): each batch's frames are coded with the current codebooks and the
/// gradient moves the codewords they use, like k-means steered by the retrieval loss. The hybrid
/// score Z = C + λ·S(tokens, decoded frames) of a batch goes through HCQ's symmetric contrastive
/// loss; dS reaches the decoded frames (`FineLateInteraction.frameGradient`) and is scattered into
/// the codewords they use (`Codebooks.scatter`). Adam; the codebooks with the best val
/// R@1 + R@5 + R@10 of Z (val frames coded once, decoded with the current codebooks) are kept —
/// at worst the fitted PQ. Frames must be coded without a rotation (PQ, not OPQ).
public enum FrameCodebookTraining {
    /// Decoded frames in the layout of `frames` (valid rows decoded from `codes`, padding zero).
    static func decoded(_ frames: SequenceFeatures, codes: [UInt8], quantizer: ProductQuantizer) throws -> SequenceFeatures {
        let x = try quantizer.decode(codes)
        var out = Matrix(rows: frames.values.rows, columns: frames.values.columns)
        var k = 0
        for r in 0..<frames.values.rows where frames.mask[r] != 0 {
            for c in 0..<x.columns { out.values[r * out.columns + c] = x.values[k * x.columns + c] }
            k += 1
        }
        return SequenceFeatures(count: frames.count, length: frames.length, values: out, mask: frames.mask)
    }

    /// The valid rows of `frames` coded by `quantizer`.
    static func codes(_ frames: SequenceFeatures, _ quantizer: ProductQuantizer) throws -> [UInt8] {
        try quantizer.encode(frames.values.gathering(rows: (0..<frames.values.rows).filter { frames.mask[$0] != 0 }))
    }

    /// Tuned codebooks for `fine`'s frame quantizer (no rotation), and the val sums per epoch.
    public static func train(fine: FineModel, model: HybridModel, data: CrossViewDataSet, epochs: Int,
                             learningRate: Float = 1e-3, batchSize: Int = 128, temperature: Float = 0.05, seed: UInt64 = 1234,
                             log: (String) -> Void = { _ in }) throws -> (quantizer: ProductQuantizer, history: [Double]) {
        guard fine.frameQuantizer.transform == nil else {
            throw ModelError.invalidConfiguration("frame codebook training needs frames coded without a rotation")
        }
        guard let tokens = data.queryTokens, let allFrames = data.frames else {
            throw TrainingError.missingInput("query_tokens.npy and frames.npy (+ masks)")
        }
        let frames = try fine.frameEmbeddings(allFrames)          // through the folded head
        var pq = fine.frameQuantizer.quantizer
        var books = [Codebooks.matrix(pq)]
        var adam = Adam(shapes: books)
        let val = data.split.val
        let valFrames = frames.gathering(items: val), valCodes = try codes(valFrames, pq)
        let valC = try FineHeadTraining.coarseScores(model, data: data, queries: val, targets: val)
        let valTokens = tokens.gathering(items: val)
        func valSum(_ q: ProductQuantizer) throws -> Double {
            let li = FineLateInteraction(tokens: valTokens, frames: try decoded(valFrames, codes: valCodes, quantizer: q))
            let s = li.forward(tokenHead: .identity(data.dimension), frameHead: .identity(data.dimension)).scores
            var z = valC
            for i in 0..<z.values.count { z.values[i] += fine.weight * s.values[i] }
            return ValidationResult(scores: z).sum
        }
        var history = [try valSum(pq)]
        var best = (sum: history[0], quantizer: pq)
        var rng = SeededGenerator(seed: seed)
        let identity = Matrix.identity(data.dimension)
        let start = Date()
        for epoch in 0..<epochs {
            let order = data.split.train.shuffled(using: &rng)
            var b = 0
            while b + batchSize <= order.count {
                let items = Array(order[b..<(b + batchSize)])
                b += batchSize
                let f = frames.gathering(items: items), c = try codes(f, pq)
                let li = FineLateInteraction(tokens: tokens.gathering(items: items), frames: try decoded(f, codes: c, quantizer: pq))
                let pass = li.forward(tokenHead: identity, frameHead: identity)
                var z = try FineHeadTraining.coarseScores(model, data: data, queries: items, targets: items)
                for i in 0..<z.values.count { z.values[i] += fine.weight * pass.scores.values[i] }
                let diag = Array(0..<items.count)
                let rows = ContrastiveLoss.crossEntropy(z, targets: diag, temperature: temperature)
                let cols = ContrastiveLoss.crossEntropy(z.transposed(), targets: diag, temperature: temperature).gradient.transposed()
                var ds = rows.gradient
                for i in 0..<ds.values.count { ds.values[i] = fine.weight * 0.5 * (ds.values[i] + cols.values[i]) }
                let dg = li.frameGradient(pass, scoreGradient: ds)
                let valid = dg.gathering(rows: (0..<f.values.rows).filter { f.mask[$0] != 0 })
                var dBooks = Matrix(rows: books[0].rows, columns: books[0].columns)
                Codebooks.scatter(valid, codes: c, subspaces: pq.subspaces, into: &dBooks)
                adam.step(&books, [dBooks], learningRate: learningRate)
                pq = try ProductQuantizer(dimension: pq.dimension, subspaces: pq.subspaces, bitsPerCode: pq.bitsPerCode,
                                          codebooks: books[0].values)
            }
            let sum = try valSum(pq)
            history.append(sum)
            if sum > best.sum { best = (sum, pq) }
            log(String(format: "fine: frame codebooks epoch %d/%d, val R@1+R@5+R@10 %.4f, %.0f s", epoch + 1, epochs, sum,
                       Date().timeIntervalSince(start)))
        }
        return (best.quantizer, history)
    }
}
