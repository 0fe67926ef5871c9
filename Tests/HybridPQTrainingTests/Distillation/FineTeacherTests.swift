import HybridPQ
import HybridPQTraining
import Testing

@Suite struct FineTeacherTests {
    typealias G = GradientCheck

    static func batch() -> CrossViewBatch {
        var config = SyntheticDataSet.Configuration(count: 5)
        config.dimension = 6
        config.fineFeatures = true
        config.frames = 4
        config.tokens = 3
        return CrossViewBatch(SyntheticDataSet.generate(config), Array(0..<5))
    }

    @Test func frameRelevanceIsTheSoftmaxOfMeanTokenFrameScoresOverValidFrames() throws {
        var b = Self.batch()
        // Make one item's frames all padding and one query's tokens all padding.
        for n in 0..<4 { b.frames!.mask[2 * 4 + n] = 0 }
        for t in 0..<3 { b.tokens!.mask[3 * 3 + t] = 0 }
        let th = G.gaussian(6, 6, seed: 1), fh = G.gaussian(6, 6, seed: 2)
        let teacher = FineTeacher(coarseModel: nil, tokenHead: th, frameHead: fh, weight: 1)
        let tau: Float = 0.3
        let p = try teacher.frameRelevance(b, temperature: tau)
        let t = b.tokens!.values.multiplied(th), g = b.frames!.values.multiplied(fh)
        for i in 0..<5 {
            let tokens = (0..<3).filter { b.tokens!.mask[i * 3 + $0] != 0 }, frames = (0..<4).filter { b.frames!.mask[i * 4 + $0] != 0 }
            let row = Array(p.values[(i * 4)..<(i * 4 + 4)])
            if tokens.isEmpty || frames.isEmpty { #expect(row.allSatisfy { $0 == 0 }); continue }
            // Reference in Double.
            let r = frames.map { n in
                tokens.reduce(0.0) { acc, k in acc + (0..<6).reduce(0.0) { $0 + Double(t[i * 3 + k, $1]) * Double(g[i * 4 + n, $1]) } }
                    / Double(tokens.count) / Double(tau)
            }
            let e = r.map { _exp($0 - r.max()!) }
            for (k, n) in frames.enumerated() { #expect(abs(Double(row[n]) - e[k] / e.reduce(0, +)) < 1e-4) }
            for n in 0..<4 where !frames.contains(n) { #expect(row[n] == 0) }
        }
    }

    @Test func scoresAreTwiceTheCoarseInnerProductPlusWeightedLateInteraction() throws {
        let b = Self.batch()
        let teacher = FineTeacher(coarseModel: nil, tokenHead: .identity(6), frameHead: .identity(6), weight: 3)
        let z = try teacher.scores(b)
        for i in 0..<5 {
            for j in 0..<5 {
                let coarse = (0..<6).reduce(Float(0)) { $0 + b.queries[i, $1] * b.targets[j, $1] }
                var li: Float = 0, count = 0
                for k in 0..<3 where b.tokens!.mask[i * 3 + k] != 0 {
                    count += 1
                    li += (0..<4).filter { b.frames!.mask[j * 4 + $0] != 0 }.map { n in
                        (0..<6).reduce(Float(0)) { $0 + b.tokens!.values[i * 3 + k, $1] * b.frames!.values[j * 4 + n, $1] }
                    }.max() ?? 0
                }
                #expect(abs(z[i, j] - (2 * coarse + 3 * li / Float(max(1, count)))) < 1e-4)
            }
        }
    }
}

extension FineTeacherTests {
    /// The chunked all-pairs scores (the joint phase's teacher) equal the batch scores.
    @Test func allPairScoresEqualBatchScores() throws {
        var config = SyntheticDataSet.Configuration(count: 12)
        config.dimension = 6
        config.fineFeatures = true
        config.frames = 4
        config.tokens = 3
        let data = SyntheticDataSet.generate(config)
        let teacher = FineTeacher(coarseModel: nil, tokenHead: G.gaussian(6, 6, seed: 3), frameHead: G.gaussian(6, 6, seed: 4), weight: 1.5)
        let queries = [3, 0, 7, 11, 5], targets = [2, 9, 4, 0, 10, 1, 6]
        let all = try teacher.scores(data: data, queries: queries, targets: targets, chunk: 2)
        let batch = try teacher.scores(CrossViewBatch(data, queries, targets))
        for i in 0..<all.values.count { #expect(abs(all.values[i] - batch.values[i]) < 1e-4) }
    }
}
