import HybridPQ

/// Settings of one `pqtrain` run. Defaults are the ones chosen on debian-desc's val split
/// (docs/BENCHMARKS.md, "HCQ"); nothing is chosen on test.
public struct TrainingConfiguration: Sendable, Equatable {
    /// Shape of the model to train.
    public var model: HybridModel.Configuration
    /// HCQ mode: epochs of the continuous-to-quantized annealing. Joint mode: epochs of the
    /// continuous phase (the heads alone), before the OPQ start.
    public var epochs = 30
    /// Joint mode: epochs of joint training of query heads and codebooks after the OPQ start.
    public var jointEpochs = 15
    /// Items per batch (in-batch negatives for the symmetric loss).
    public var batchSize = 128
    /// Adam learning rate of the heads, decayed by `decay` per epoch (StepLR).
    public var learningRate: Float = 2e-4
    /// Joint mode: Adam learning rate of the query heads in the joint phase (nil: `learningRate`).
    public var jointHeadLearningRate: Float?
    /// Joint mode: weight λ of the continuous model's scores in the joint phase's targets
    /// (0: the hard positive alone; see `JointStep`).
    public var distillation: Float = 0
    /// With a teacher (`Trainer`'s `teacher`, `pqtrain --teach`): weight of TeachCLIP's coarse
    /// (Pearson) distillation loss beside the contrastive loss.
    public var teachCoarseWeight: Float = 1
    /// With a teacher: weight of the fine (frame-relevance → AFA weights) distillation loss.
    public var teachFineWeight: Float = 1
    /// With a teacher: weight of the row-wise Pearson distillation of the joint phase's quantized
    /// scores (over every train target) toward the teacher's.
    public var teachJointWeight: Float = 0
    /// Joint mode: Adam learning rate of the codebooks.
    public var codebookLearningRate: Float = 1e-3
    /// Step decay γ per epoch.
    public var decay: Float = 0.95
    /// Softmax temperature τ.
    public var temperature: Float = 0.05
    /// Epochs without a better validation score before a phase stops early (continuous and
    /// joint phases; HCQ's annealing always runs to the end, keeping its best epoch).
    public var patience = 5
    /// Seed of every random choice (batch order, k-means, OPQ).
    public var seed: UInt64 = 1
    /// Spherical k-means iterations per codebook refit (HCQ mode).
    public var kmeansIterations = 10
    /// OPQ rounds of the joint start.
    public var opqIterations = 20

    /// Settings for `model`.
    public init(model: HybridModel.Configuration) { self.model = model }

    /// The trainer's choice of shape for a budget of `bytes` code bytes per item
    /// (docs/HCQ.md "Choosing the shape"): without a budget, HCQ's published shape (HCQ mode,
    /// M = 32 — or the largest divisor of D not above 32 — and L = 7 fine levels, 8·M bytes);
    /// with one, joint mode on the coarse level alone with M = the largest divisor of D that is
    /// ≤ `bytes` (fine GhostVLAD levels did not pay for their bytes on debian-desc).
    public static func forBudget(bytes: Int?, inputDimension d: Int, fineFeatures: Bool) throws(ModelError) -> TrainingConfiguration {
        func largestDivisor(atMost b: Int) -> Int { (1...max(1, min(b, d))).last { d % $0 == 0 } ?? 1 }
        guard let bytes else {
            guard fineFeatures else {
                throw .missingInput("query_tokens.npy and frames.npy: HCQ's default shape has 7 fine levels (use --bytes or --levels 0 without them)")
            }
            return TrainingConfiguration(model: .init(inputDimension: d, levels: 7, ghosts: 1,
                                                      subspaces: largestDivisor(atMost: 32), mode: .hcq))
        }
        guard bytes >= 1 else { throw .invalidConfiguration("--bytes must be ≥ 1 (got \(bytes))") }
        return TrainingConfiguration(model: .init(inputDimension: d, levels: 0, ghosts: 1,
                                                  subspaces: largestDivisor(atMost: bytes), mode: .joint))
    }

    /// The shapes `pqtrain --bytes B` trains and chooses between on val: `forBudget`'s 8-bit
    /// coarse shape and, when D has an even divisor M₄ with M₄/2 ≤ B bytes and M₄ ≤ 256 (the
    /// fast-scan limit) that uses more sub-spaces, the 4-bit shape with the largest such M₄.
    public static func budgetCandidates(bytes: Int, inputDimension d: Int) throws(ModelError) -> [TrainingConfiguration] {
        let eight = try forBudget(bytes: bytes, inputDimension: d, fineFeatures: false)
        let m4 = stride(from: min(2 * bytes, 256, d), through: 2, by: -1).first { $0 % 2 == 0 && d % $0 == 0 }
        guard let m4, m4 > eight.model.subspaces else { return [eight] }
        var four = eight
        four.model.subspaces = m4
        four.model.bitsPerCode = 4
        return [eight, four]
    }

    /// The settings as `key=value` pairs (model file `info.*`, checkpoint consistency check).
    public var description: [(String, String)] {
        [("mode", model.mode.rawValue), ("levels", "\(model.levels)"), ("ghosts", "\(model.ghosts)"),
         ("subspaces", "\(model.subspaces)"), ("bits", "\(model.bitsPerCode)"), ("epochs", "\(epochs)"), ("joint_epochs", "\(jointEpochs)"),
         ("batch", "\(batchSize)"), ("lr", "\(learningRate)"), ("codebook_lr", "\(codebookLearningRate)"),
         ("joint_lr", jointHeadLearningRate.map { "\($0)" } ?? "\(learningRate)"), ("distillation", "\(distillation)"),
         ("teach_coarse", "\(teachCoarseWeight)"), ("teach_fine", "\(teachFineWeight)"), ("teach_joint", "\(teachJointWeight)"),
         ("decay", "\(decay)"), ("temperature", "\(temperature)"), ("patience", "\(patience)"), ("seed", "\(seed)"),
         ("kmeans_iterations", "\(kmeansIterations)"), ("opq_iterations", "\(opqIterations)")]
    }
}
