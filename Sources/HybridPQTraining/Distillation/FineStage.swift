import Foundation
import HybridPQ

/// Fits the fine stage of a model (`pqtrain --fine`): a frame quantizer for the cold store and
/// the weight λ of the hybrid score `s_coarse + λ · s_fine`, on top of a trained coarse model.
///
/// The token and frame heads are trained first when `headEpochs` > 0 (`FineHeadTraining`; else
/// they stay at the identity start: raw features);
/// with `refineBytes` > 0 a finer PQ of the coarse embedding (`FineModel.coarseRefiner`) is fitted
/// for re-scoring; the frame quantizer is PQ (or, with `frameRotation`, OPQ) of the train split's valid frames
/// (`frameBytes` bytes per frame, 8-bit codes) — OPQ's rotation costs a D × D product per
/// re-ranked query; λ is chosen on val — the two-stage search (hot code → `rerank` candidates → hybrid
/// score from the cold store) over the val items, best R@1 + R@5 + R@10 over a fixed grid.
public enum FineStage {
    /// The λ values tried on val.
    public static let weightGrid: [Float] = [0, 0.5, 1, 2, 3, 4, 6, 8, 12, 16]

    /// The fitted fine model and the val sums per λ.
    public struct Result: Sendable {
        public var fine: FineModel
        public var validation: [(weight: Float, sum: Double)]
    }

    /// Fits the frame quantizer and λ for `model` on `data` (which needs tokens and frames).
    public static func fit(model: HybridModel, data: CrossViewDataSet, frameBytes: Int, frameBits: Int = 8, frameRotation: Bool = false,
                           headEpochs: Int = 0, headLearningRate: Float = 2e-4, frameEpochs: Int = 0, refineBytes: Int = 0,
                           rerank: Int = 100, seed: UInt64 = 1234,
                           log: @escaping (String) -> Void = { _ in }) throws -> Result {
        guard let tokens = data.queryTokens, let frames = data.frames else {
            throw TrainingError.missingInput("query_tokens.npy and frames.npy (+ masks): the fine stage scores tokens against frames")
        }
        guard model.isQuantized else { throw ModelError.notQuantized }
        // Heads: trained (FineHeadTraining) or the identity.
        var tokenHead = Matrix.identity(data.dimension), frameHead = tokenHead
        if headEpochs > 0 {
            var hc = FineHeadTraining.Configuration()
            hc.epochs = headEpochs
            hc.learningRate = headLearningRate
            hc.seed = seed
            (tokenHead, frameHead, _) = try FineHeadTraining.train(model: model, data: data, configuration: hc, log: log)
        }
        // Frames of the train split through the frame head, valid ones only.
        let train = frames.gathering(items: data.split.train)
        let rows = (0..<(train.count * train.length)).filter { train.mask[$0] != 0 }
        // The heads fold into the frame side (FineModel.foldedFrameHead): code frames as searched.
        let x = train.values.gathering(rows: rows).multiplied(frameHead.multiplied(tokenHead.transposed()))
        let t0 = Date()
        let lq: LevelQuantizer
        if frameRotation {
            var config = OPQ.Configuration(subspaces: frameBytes)
            config.seed = seed
            let opq = try OPQ.train(x, config) { done, total in
                log(String(format: "fine: frame OPQ (M = %d, %d frames) round %d/%d, %.0f s", frameBytes, x.rows, done, total, Date().timeIntervalSince(t0)))
            }
            lq = try LevelQuantizer(rotation: opq.rotation, quantizer: opq.quantizer, metric: .innerProduct)
        } else {
            // 4-bit codes: two sub-spaces per byte of the budget.
            let m = frameBits == 4 ? 2 * frameBytes : frameBytes
            let pq = try ProductQuantizer.train(x, subspaces: m, bitsPerCode: frameBits, seed: seed) { done, total in
                log(String(format: "fine: frame PQ (M = %d, %d-bit, %d frames) sub-space %d/%d, %.0f s", m, frameBits, x.rows, done, total,
                           Date().timeIntervalSince(t0)))
            }
            var frameLQ = try LevelQuantizer(rotation: nil, quantizer: pq, metric: .innerProduct)
            if frameEpochs > 0 {
                let start = try FineModel(tokenHead: tokenHead, frameHead: frameHead, weight: FineHeadTraining.Configuration().weight,
                                          frameQuantizer: frameLQ)
                let tuned = try FrameCodebookTraining.train(fine: start, model: model, data: data, epochs: frameEpochs, seed: seed, log: log)
                frameLQ = try LevelQuantizer(rotation: nil, quantizer: tuned.quantizer, metric: .innerProduct)
            }
            lq = frameLQ
        }
        // The finer coarse code for re-scoring: PQ of the train targets' coarse embeddings in the
        // hot level's rotated space.
        var refiner: ProductQuantizer?
        if refineBytes > 0 {
            let e = try model.targetEmbeddings(data.targets.gathering(rows: data.split.train),
                                               frames: frames.gathering(items: data.split.train))[0]
            let t1 = Date()
            refiner = try ProductQuantizer.train(model.quantizers[0].rotated(e), subspaces: refineBytes, seed: seed &+ 1) { done, total in
                log(String(format: "fine: coarse refiner (M = %d) sub-space %d/%d, %.0f s", refineBytes, done, total, Date().timeIntervalSince(t1)))
            }
        }
        func fineModel(_ w: Float) throws -> FineModel {
            var f = try FineModel(tokenHead: tokenHead, frameHead: frameHead, weight: w, frameQuantizer: lq)
            f.coarseRefiner = refiner
            return f
        }
        // λ on val: one two-stage index per weight over the val items.
        let val = data.split.val
        let items = FeatureBatch(data.targets.gathering(rows: val), sequences: frames.gathering(items: val))
        let queries = FeatureBatch(data.queries.gathering(rows: val), sequences: tokens.gathering(items: val))
        var tried: [(Float, Double)] = []
        for w in weightGrid {
            var index = try TwoStageIndex(model: model, fine: fineModel(w))
            try index.add(items, ids: nil)
            let r = try index.search(queries, parameters: SearchParameters(k: 10, threads: Concurrency.availableCores, rerank: rerank))
            let m = RetrievalMetrics(results: r, expected: (0..<val.count).map { Int64($0) })
            tried.append((w, m.recallAt1 + m.recallAt5 + m.recallAt10))
            log(String(format: "fine: λ = %.2f: val R@1 %.4f, R@1+R@5+R@10 %.4f", w, m.recallAt1, m.recallAt1 + m.recallAt5 + m.recallAt10))
        }
        let best = tried.max { $0.1 < $1.1 || ($0.1 == $1.1 && $0.0 > $1.0) }!
        var fine = try fineModel(best.0)
        try fitSelectors(&fine, model: model, data: data, rerank: rerank, log: log)
        return Result(fine: fine, validation: tried.map { ($0.0, $0.1) })
    }

    /// The hot stage's features of each query and whether the fine stage changes its top-1,
    /// over `items` (their queries against their targets).
    static func selectorData(_ fine: FineModel, model: HybridModel, data: CrossViewDataSet, items: [Int], rerank: Int)
        throws -> (features: [[Float]], changed: [Bool]) {
        let tokens = data.queryTokens!.gathering(items: items)
        var index = try TwoStageIndex(model: model, fine: fine)
        try index.add(FeatureBatch(data.targets.gathering(rows: items), sequences: data.frames!.gathering(items: items)), ids: nil)
        let queries = FeatureBatch(data.queries.gathering(rows: items), sequences: tokens)
        let threads = Concurrency.availableCores
        let hot = try index.hot.search(queries, parameters: SearchParameters(k: 10, threads: threads))
        let both = try index.search(queries, parameters: SearchParameters(k: 1, threads: threads, rerank: rerank))
        let counts = (0..<items.count).map { q in (0..<tokens.length).reduce(0) { $0 + (tokens.mask[q * tokens.length + $1] != 0 ? 1 : 0) } }
        let features = (0..<items.count).map { q in
            QuerySelector.features(topScores: hot.scores(ofQuery: q).filter(\.isFinite), tokens: counts[q])
        }
        return (features, (0..<items.count).map { hot.ids(ofQuery: $0)[0] != both.ids(ofQuery: $0)[0] })
    }

    /// DnS's selector (label: the fine stage changes the query's top-1) trained on up to 2,000
    /// train items, and the gap-only baseline; both get their thresholds from the val queries.
    static func fitSelectors(_ fine: inout FineModel, model: HybridModel, data: CrossViewDataSet, rerank: Int,
                             log: (String) -> Void) throws {
        let train = try selectorData(fine, model: model, data: data, items: Array(data.split.train.prefix(2000)), rerank: rerank)
        let fit = SelectorTraining.fit(features: train.features, labels: train.changed)
        let val = try selectorData(fine, model: model, data: data, items: data.split.val, rerank: rerank)
        func quantiles(_ s: QuerySelector) -> [Float] {
            let scores = val.features.map(s.score).sorted()
            return (0...100).map { scores[min(scores.count - 1, $0 * (scores.count - 1) / 100)] }
        }
        var learned = try QuerySelector(weights: fit.weights, bias: fit.bias, mean: fit.mean, scale: fit.scale,
                                        quantiles: [Float](repeating: 0, count: 101))
        learned.quantiles = quantiles(learned)
        var gap = try QuerySelector(weights: [-1, 0, 0, 0], bias: 0, mean: fit.mean, scale: fit.scale,
                                    quantiles: [Float](repeating: 0, count: 101))
        gap.quantiles = quantiles(gap)
        fine.selector = learned
        fine.gapSelector = gap
        let rate = Double(train.changed.filter { $0 }.count) / Double(max(1, train.changed.count))
        log(String(format: "fine: selector trained on %d queries (top-1 changed for %.1f %%); weights %@", train.changed.count,
                   100 * rate, fit.weights.map { String(format: "%.3f", $0) }.joined(separator: "/")))
    }
}
