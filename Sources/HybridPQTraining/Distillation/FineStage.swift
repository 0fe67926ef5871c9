import Foundation
import HybridPQ

/// Fits the fine stage of a model (`pqtrain --fine`): a frame quantizer for the cold store and
/// the weight λ of the hybrid score `s_coarse + λ · s_fine`, on top of a trained coarse model.
///
/// What is fitted today: the token and frame heads stay at their identity start (raw features);
/// the frame quantizer is OPQ of the train split's valid frames (`frameBytes` bytes per frame,
/// 8-bit codes); λ is chosen on val — the two-stage search (hot code → `rerank` candidates → hybrid
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
    public static func fit(model: HybridModel, data: CrossViewDataSet, frameBytes: Int, rerank: Int = 100, seed: UInt64 = 1234,
                           log: @escaping (String) -> Void = { _ in }) throws -> Result {
        guard let tokens = data.queryTokens, let frames = data.frames else {
            throw TrainingError.missingInput("query_tokens.npy and frames.npy (+ masks): the fine stage scores tokens against frames")
        }
        guard model.isQuantized else { throw ModelError.notQuantized }
        // Frames of the train split, valid ones only.
        let train = frames.gathering(items: data.split.train)
        let rows = (0..<(train.count * train.length)).filter { train.mask[$0] != 0 }
        let x = train.values.gathering(rows: rows)
        var config = OPQ.Configuration(subspaces: frameBytes)
        config.seed = seed
        let t0 = Date()
        let opq = try OPQ.train(x, config) { done, total in
            log(String(format: "fine: frame OPQ (M = %d, %d frames) round %d/%d, %.0f s", frameBytes, x.rows, done, total, Date().timeIntervalSince(t0)))
        }
        let lq = try LevelQuantizer(rotation: opq.rotation, quantizer: opq.quantizer, metric: .innerProduct)
        // λ on val: one two-stage index per weight over the val items.
        let val = data.split.val
        let items = FeatureBatch(data.targets.gathering(rows: val), sequences: frames.gathering(items: val))
        let queries = FeatureBatch(data.queries.gathering(rows: val), sequences: tokens.gathering(items: val))
        var tried: [(Float, Double)] = []
        for w in weightGrid {
            var index = try TwoStageIndex(model: model, fine: FineModel.identity(weight: w, frameQuantizer: lq))
            try index.add(items, ids: nil)
            let r = try index.search(queries, parameters: SearchParameters(k: 10, threads: Concurrency.availableCores, rerank: rerank))
            let m = RetrievalMetrics(results: r, expected: (0..<val.count).map { Int64($0) })
            tried.append((w, m.recallAt1 + m.recallAt5 + m.recallAt10))
            log(String(format: "fine: λ = %.2f: val R@1 %.4f, R@1+R@5+R@10 %.4f", w, m.recallAt1, m.recallAt1 + m.recallAt5 + m.recallAt10))
        }
        let best = tried.max { $0.1 < $1.1 || ($0.1 == $1.1 && $0.0 > $1.0) }!
        return Result(fine: try FineModel.identity(weight: best.0, frameQuantizer: lq), validation: tried.map { ($0.0, $0.1) })
    }
}
