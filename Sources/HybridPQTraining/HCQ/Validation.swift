import HybridPQ

/// Retrieval figures of a model on a set of items (query i must find target i among the set's
/// targets), computed from the full score matrix: the checkpoint criterion of training.
public struct ValidationResult: Sendable, Equatable {
    public var recallAt1: Double
    public var recallAt5: Double
    public var recallAt10: Double
    /// R@1 + R@5 + R@10 (HCQ's model-selection sum).
    public var sum: Double { recallAt1 + recallAt5 + recallAt10 }

    /// Ranks of the diagonal in each row of `scores` (ties: lower index first, as `TopK`).
    public init(scores: Matrix) {
        let n = scores.rows
        var r1 = 0, r5 = 0, r10 = 0
        for i in 0..<n {
            let own = scores.values[i * scores.columns + i]
            var rank = 1
            for j in 0..<scores.columns where j != i {
                let s = scores.values[i * scores.columns + j]
                if s > own || (s == own && j < i) { rank += 1 }
            }
            if rank <= 1 { r1 += 1 }
            if rank <= 5 { r5 += 1 }
            if rank <= 10 { r10 += 1 }
        }
        recallAt1 = Double(r1) / Double(max(1, n))
        recallAt5 = Double(r5) / Double(max(1, n))
        recallAt10 = Double(r10) / Double(max(1, n))
    }

    /// Scores of `items` under `model`: continuous (Σ_l w_l ⟨e_q, e_v⟩, the flat-hybrid score) or
    /// quantized (targets replaced by their codes' reconstructions, scored as the index does).
    public static func evaluate(_ model: HybridModel, data: CrossViewDataSet, items: [Int], quantized: Bool) throws -> ValidationResult {
        let batch = CrossViewBatch(data, items)
        let eq = try model.queryEmbeddings(batch.queries, tokens: batch.tokens, quantized: quantized)
        let ev = try model.targetEmbeddings(batch.targets, frames: batch.frames)
        var total = Matrix(rows: items.count, columns: items.count)
        for l in 0..<model.configuration.levelCount {
            var s: Matrix
            if quantized {
                let q = model.quantizers[l]
                let xhat = try q.quantizer.decode(q.encode(ev[l]))
                s = q.metric == .l2 ? Codebooks.jointScores(q.rotated(eq[l]), xhat) : eq[l].multipliedTransposed(xhat)
            } else {
                s = eq[l].multipliedTransposed(ev[l])
            }
            for i in 0..<s.values.count { total.values[i] += model.levelWeights[l] * s.values[i] }
        }
        return ValidationResult(scores: total)
    }
}

