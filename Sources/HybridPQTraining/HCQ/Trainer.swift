import Foundation
import HybridPQ

/// Errors of training: inputs that do not fit the requested model, checkpoints that do not fit
/// the run.
public enum TrainingError: Error, Equatable, CustomStringConvertible {
    /// The data set lacks something the model needs.
    case missingInput(String)
    /// Too few items in a split.
    case tooFewItems(split: String, found: Int, needed: Int)
    /// A checkpoint made with other settings or data (field, expected, found).
    case inconsistentCheckpoint(path: String, field: String, expected: String, found: String)

    public var description: String {
        switch self {
        case let .missingInput(s): return "missing input: \(s)"
        case let .tooFewItems(s, f, n): return "the \(s) split has \(f) items; training needs at least \(n)"
        case let .inconsistentCheckpoint(p, f, e, x): return "\(p): checkpoint was made with \(f) = \(x), this run has \(e)"
        }
    }
}

/// Trains a `HybridModel` (docs/HCQ.md has the procedure).
///
/// HCQ mode: one phase of `epochs` epochs; each epoch refits every level's codebooks by
/// spherical k-means on the cached train embeddings of both sides, then optimises the symmetric
/// loss blended from continuous to quantized with w_e = cos(e/(E−1) · π/2) (straight-through
/// codes). Joint mode: a continuous phase (heads only, early stopping), then per level OPQ of the
/// frozen target embeddings, then joint training of the query heads and the codebooks against
/// the fixed target codes. Every epoch is validated on the val split; the best model is kept
/// (and written to `outputPath`), so joint training can only end at or above its OPQ start on
/// val. After every epoch a checkpoint is written; `run(resume: true)` continues from it and
/// gives the same model as an uninterrupted run.
public final class Trainer {
    public enum Phase: String, Sendable { case continuous, hcq, joint, done }

    let data: CrossViewDataSet
    public let configuration: TrainingConfiguration
    let outputPath: String?
    let checkpointPath: String?
    let log: (String) -> Void
    let trainItems: [Int]
    let valItems: [Int]
    /// The fine model teaching the continuous phase (`--teach`), or nil.
    let teacher: FineTeacher?
    /// The teacher's scores of every train query against every train target (train order), for
    /// the joint phase's distillation; computed once, when the joint phase first needs them.
    var teacherTrainScores: Matrix?

    // State (what a checkpoint holds).
    var phase: Phase
    var epoch = 0
    var model: HybridModel
    var adam: Adam
    var best = -Double.infinity
    var badEpochs = 0
    var bestModel: HybridModel
    /// Stop `run` after this many epochs, leaving the checkpoint to resume from (nil: run to
    /// the end). A time box for long runs, and how tests interrupt training.
    public var epochBudget: Int?
    /// Joint mode: end after the continuous phase (no quantizers): a teacher's coarse model.
    public var continuousOnly = false
    /// Validation figures after every epoch (epoch −1: the joint phase's OPQ start).
    public private(set) var history: [(phase: Phase, epoch: Int, loss: Double, validation: ValidationResult)] = []

    /// A trainer on `data`'s train split, validating on its val split.
    public init(data: CrossViewDataSet, configuration: TrainingConfiguration, outputPath: String? = nil,
                checkpointPath: String? = nil, teacher: FineTeacher? = nil, log: @escaping (String) -> Void = { _ in }) throws {
        let c = configuration.model
        guard data.dimension == c.inputDimension else {
            throw ModelError.shapeMismatch(input: "data set", expected: "dimension \(c.inputDimension)", found: "\(data.dimension)")
        }
        if c.levels > 0 {
            guard data.queryTokens != nil else { throw TrainingError.missingInput("query_tokens.npy (+ mask): the model has \(c.levels) fine levels") }
            guard data.frames != nil else { throw TrainingError.missingInput("frames.npy (+ mask): the model has \(c.levels) fine levels") }
        }
        trainItems = data.split.train
        valItems = data.split.val
        guard trainItems.count >= 256 else { throw TrainingError.tooFewItems(split: "train", found: trainItems.count, needed: 256) }
        guard valItems.count >= 2 else { throw TrainingError.tooFewItems(split: "val", found: valItems.count, needed: 2) }
        if teacher != nil {
            guard data.queryTokens != nil, data.frames != nil else {
                throw TrainingError.missingInput("query_tokens.npy and frames.npy (+ masks): a teacher scores tokens against frames")
            }
        }
        self.data = data
        self.teacher = teacher
        self.configuration = configuration
        self.outputPath = outputPath
        self.checkpointPath = checkpointPath
        self.log = log
        model = try HybridModel(c, vladCentres: c.levels > 0 ? Self.initialCentres(data, trainItems, c, seed: configuration.seed) : nil)
        bestModel = model
        adam = Adam(shapes: model.parameters.tensors)
        phase = c.mode == .hcq ? .hcq : .continuous
    }

    /// Runs (or, with `resume`, continues) training and returns the best model.
    public func run(resume: Bool = false) throws -> HybridModel {
        if resume { try loadCheckpoint() }
        let start = Date()
        let c = configuration
        var epochsDone = 0
        var timing = ""
        func eta() -> String {
            // An upper bound: early stopping may end a phase sooner.
            let left: Int
            switch phase {
            case .hcq: left = c.epochs - epoch
            case .continuous: left = c.epochs - epoch + c.jointEpochs
            case .joint: left = c.jointEpochs - epoch
            case .done: left = 0
            }
            let per = Date().timeIntervalSince(start) / Double(max(1, epochsDone))
            return String(format: "%.0f s elapsed, ETA ≤ %.0f s", Date().timeIntervalSince(start), per * Double(max(0, left)))
        }
        while phase != .done {
            if let budget = epochBudget, epochsDone >= budget { return bestModel }
            switch phase {
            case .hcq:
                if epoch == 0 && model.quantizers.isEmpty { try refitSpherical() }
                guard epoch < c.epochs else { phase = .done; break }
                let w = c.epochs > 1 ? Float(cos(Double(epoch) / Double(c.epochs - 1) * Double.pi / 2)) : 0
                let t0 = Date()
                let loss = try symmetricEpoch(quantizedWeight: 1 - w)
                let t1 = Date()
                try refitSpherical()
                let t2 = Date()
                try endEpoch(loss: loss, quantized: true)
                timing = String(format: " [steps %.1f s, codebook refit %.1f s, validation %.1f s]", t1.timeIntervalSince(t0),
                                t2.timeIntervalSince(t1), Date().timeIntervalSince(t2))
            case .continuous:
                guard epoch < c.epochs, badEpochs < c.patience else {
                    if continuousOnly { phase = .done } else { try startJoint() }
                    break
                }
                let loss = try symmetricEpoch(quantizedWeight: 0)
                try endEpoch(loss: loss, quantized: false)
            case .joint:
                guard epoch < c.jointEpochs, badEpochs < c.patience else { phase = .done; break }
                let loss = try jointEpoch()
                try endEpoch(loss: loss, quantized: true)
            case .done: break
            }
            epochsDone += 1
            if let h = history.last, h.epoch >= 0, phase != .done {
                log(String(format: "%@ epoch %d: loss %.4f, val R@1 %.4f R@5 %.4f R@10 %.4f%@; %@", h.phase.rawValue, h.epoch + 1,
                           h.loss, h.validation.recallAt1, h.validation.recallAt5, h.validation.recallAt10,
                           badEpochs == 0 ? " (best)" : "", eta() + timing))
            }
        }
        var out = bestModel
        if out.configuration.levels > 0 && out.isQuantized { try chooseLevelWeights(&out) }
        out.info = Dictionary(uniqueKeysWithValues: c.description.map { ("train.\($0.0)", $0.1) })
        let v = try ValidationResult.evaluate(out, data: data, items: valItems, quantized: out.isQuantized)
        out.info["train.seconds"] = String(format: "%.1f", Date().timeIntervalSince(start))
        out.info["val.R@1"] = String(format: "%.4f", v.recallAt1)
        out.info["val.R@5"] = String(format: "%.4f", v.recallAt5)
        out.info["val.R@10"] = String(format: "%.4f", v.recallAt10)
        out.info["val.sum"] = String(format: "%.4f", v.sum)
        if let outputPath { try out.save(to: outputPath) }
        if let checkpointPath { try? FileManager.default.removeItem(atPath: checkpointPath) }
        return out
    }

    // MARK: - Epochs

    /// Batches of the train split in this epoch's order (a function of seed, phase and epoch only).
    func batches() -> [[Int]] {
        var rng = SeededGenerator(seed: configuration.seed &+ UInt64(epoch) &* 7919 &+ (phase == .joint ? 104_729 : 0))
        var order = Array(0..<trainItems.count)
        order.shuffle(using: &rng)
        let b = configuration.batchSize
        return stride(from: 0, to: order.count, by: b).compactMap { s in
            let chunk = Array(order[s..<min(order.count, s + b)])
            return chunk.count >= 2 ? chunk : nil
        }
    }

    /// One epoch of the symmetric loss; `quantizedWeight` blends in the straight-through
    /// quantized loss (HCQ mode). Returns the mean loss.
    func symmetricEpoch(quantizedWeight wq: Float) throws -> Double {
        let lr = StepDecay(initial: configuration.learningRate, gamma: configuration.decay).rate(epoch: epoch)
        var total = 0.0
        let all = batches()
        for positions in all {
            let items = positions.map { trainItems[$0] }
            let (loss, grads) = try SymmetricStep.gradients(model: model, batch: CrossViewBatch(data, items),
                                                            temperature: configuration.temperature, quantizedWeight: wq,
                                                            teacher: teacher, coarseWeight: configuration.teachCoarseWeight,
                                                            fineWeight: configuration.teachFineWeight)
            total += Double(loss)
            var g = grads
            // AFA frame weights are TeachCLIP's: without a teacher the scorer stays zero (the plain mean).
            if teacher == nil { g[.frameScorer] = Matrix(rows: 1, columns: model.configuration.dimension) }
            adam.step(&model.parameters.tensors, g.tensors, learningRate: lr)
        }
        return total / Double(max(1, all.count))
    }

    /// One epoch of joint training against the fixed codes of the train targets.
    func jointEpoch() throws -> Double {
        let c = configuration
        let lr = StepDecay(initial: c.jointHeadLearningRate ?? c.learningRate, gamma: c.decay).rate(epoch: epoch)
        let clr = StepDecay(initial: c.codebookLearningRate, gamma: c.decay).rate(epoch: epoch)
        let targets = try trainTargetEmbeddings()
        if let teacher, c.teachJointWeight > 0, teacherTrainScores == nil {
            let t0 = Date()
            teacherTrainScores = try teacher.scores(data: data, queries: trainItems, targets: trainItems, chunk: 128) { done, total in
                if done % 1024 < 128 || done == total {
                    let s = Date().timeIntervalSince(t0)
                    log(String(format: "teach: teacher scores of %d/%d train queries, %.0f s, ETA %.0f s", done, total, s, s / Double(done) * Double(total - done)))
                }
            }
        }
        // Codes are assigned once per epoch with the current codebooks, as an index would.
        let codes = try (0..<model.configuration.levelCount).map { l in try model.quantizers[l].encode(targets[l]) }
        var total = 0.0
        let all = batches()
        let tensorCount = model.parameters.tensors.count
        let update = HybridParameters.Tensor.allCases.map(\.isQuerySide) + [Bool](repeating: true, count: model.configuration.levelCount)
        for positions in all {
            let items = positions.map { trainItems[$0] }
            let (loss, grads, bookGrads) = try JointStep.gradients(model: model, batch: CrossViewBatch(data, items), targets: positions,
                                                                   codes: codes, temperature: c.temperature,
                                                                   teacher: c.distillation > 0 ? targets : nil, distillation: c.distillation,
                                                                   teacherScores: teacherTrainScores?.gathering(rows: positions),
                                                                   teachWeight: c.teachJointWeight)
            total += Double(loss)
            var tensors = model.quantizedQueryParameters!.tensors + model.quantizers.map { Codebooks.matrix($0.quantizer) }
            let rates = [Float](repeating: lr, count: tensorCount) + [Float](repeating: clr, count: bookGrads.count)
            adam.step(&tensors, grads.tensors + bookGrads, learningRates: rates, update: update)
            model.quantizedQueryParameters!.tensors = Array(tensors[0..<tensorCount])
            for l in 0..<model.configuration.levelCount {
                let q = model.quantizers[l]
                model.quantizers[l] = try LevelQuantizer(
                    rotation: q.rotation,
                    quantizer: ProductQuantizer(dimension: q.quantizer.dimension, subspaces: q.quantizer.subspaces,
                                                bitsPerCode: q.quantizer.bitsPerCode, codebooks: tensors[tensorCount + l].values),
                    metric: q.metric)
            }
        }
        return total / Double(max(1, all.count))
    }

    /// Validates, keeps the best model, advances the epoch and writes a checkpoint.
    func endEpoch(loss: Double, quantized: Bool) throws {
        let v = try ValidationResult.evaluate(model, data: data, items: valItems, quantized: quantized)
        history.append((phase, epoch, loss, v))
        if v.sum > best {
            best = v.sum
            badEpochs = 0
            bestModel = model
            if let outputPath { try bestModel.save(to: outputPath) }
        } else {
            badEpochs += 1
        }
        epoch += 1
        try saveCheckpoint()
    }

    /// Joint mode: from the best continuous model to OPQ-started quantizers.
    func startJoint() throws {
        model = bestModel
        let c = configuration
        let targets = try trainTargetEmbeddings()
        log("joint: OPQ start (M = \(c.model.subspaces), \(c.opqIterations) rounds) on \(targets[0].rows) train targets…")
        model.quantizers = try (0..<model.configuration.levelCount).map { l in
            try Codebooks.opqStart(targets[l], subspaces: c.model.subspaces, bitsPerCode: c.model.bitsPerCode,
                                   iterations: c.opqIterations, seed: c.seed &+ UInt64(l))
        }
        model.quantizedQueryParameters = model.parameters
        adam = Adam(shapes: model.parameters.tensors + model.quantizers.map { Codebooks.matrix($0.quantizer) })
        phase = .joint
        epoch = 0
        badEpochs = 0
        // The OPQ start is the first candidate: training keeps it unless val improves.
        let v = try ValidationResult.evaluate(model, data: data, items: valItems, quantized: true)
        history.append((.joint, -1, .nan, v))
        log(String(format: "joint: OPQ start val R@1 %.4f R@5 %.4f R@10 %.4f", v.recallAt1, v.recallAt5, v.recallAt10))
        best = v.sum
        bestModel = model
        if let outputPath { try bestModel.save(to: outputPath) }
        try saveCheckpoint()
    }

    /// The coarse-versus-fine weight, chosen on val (quantized scores): the coarse level gets w,
    /// each fine level (1 − w)/L; HCQ's equal weights (w = 1/(L+1)) are a candidate and win ties.
    func chooseLevelWeights(_ m: inout HybridModel) throws {
        let l = m.configuration.levels
        let equal = 1 / Float(l + 1)
        var bestWeights = m.levelWeights
        var bestScore = try ValidationResult.evaluate(m, data: data, items: valItems, quantized: true).sum
        for w in [Float(0.25), 0.4, 0.55, 0.7, 0.85, 1.0] where abs(w - equal) > 1e-6 {
            var c = m
            c.levelWeights = [w] + [Float](repeating: (1 - w) / Float(l), count: l)
            let s = try ValidationResult.evaluate(c, data: data, items: valItems, quantized: true).sum
            log(String(format: "level weights: coarse %.2f, val R@1+R@5+R@10 %.4f", w, s))
            if s > bestScore + 1e-9 { bestScore = s; bestWeights = c.levelWeights }
        }
        m.levelWeights = bestWeights
    }

    // MARK: - Helpers

    /// Level embeddings of every train target (frozen target side), in train-split order.
    func trainTargetEmbeddings() throws -> [Matrix] {
        try embed(trainItems) { b in try model.targetEmbeddings(b.targets, frames: b.frames) }
    }

    func embed(_ items: [Int], _ f: (CrossViewBatch) throws -> [Matrix]) throws -> [Matrix] {
        var parts: [[Matrix]] = []
        for s in stride(from: 0, to: items.count, by: 1024) {
            parts.append(try f(CrossViewBatch(data, Array(items[s..<min(items.count, s + 1024)]))))
        }
        return (0..<parts[0].count).map { l in
            Matrix(rows: items.count, columns: parts[0][l].columns, values: parts.flatMap { $0[l].values })
        }
    }

    /// HCQ mode: every level's codebooks refitted on the train embeddings of both sides.
    func refitSpherical() throws {
        let q = try embed(trainItems) { b in try model.queryEmbeddings(b.queries, tokens: b.tokens) }
        let t = try trainTargetEmbeddings()
        let m = configuration.model.subspaces
        model.quantizers = try (0..<model.configuration.levelCount).map { l in
            let both = Matrix(rows: q[l].rows + t[l].rows, columns: q[l].columns, values: q[l].values + t[l].values)
            let previous = model.quantizers.isEmpty ? nil : model.quantizers[l].quantizer
            let pq = try Codebooks.refitSpherical(both, subspaces: m, previous: previous, iterations: configuration.kmeansIterations,
                                                  seed: configuration.seed &+ UInt64(l) &* 1000)
            return try LevelQuantizer(rotation: nil, quantizer: pq, metric: .innerProduct)
        }
    }

    /// GhostVLAD's starting centres: k-means (L + G clusters) of train tokens and frames.
    static func initialCentres(_ data: CrossViewDataSet, _ train: [Int], _ c: HybridModel.Configuration, seed: UInt64) throws -> Matrix {
        var rows: [Float] = []
        var rng = SeededGenerator(seed: seed &+ 17)
        for seq in [data.queryTokens, data.frames].compactMap({ $0 }) {
            for _ in 0..<min(20_000, train.count * seq.length) {
                let i = train[Int(rng.next() % UInt64(train.count))], t = Int(rng.next() % UInt64(seq.length))
                let r = i * seq.length + t
                guard seq.mask[r] != 0 else { continue }
                rows += seq.values.row(r)
            }
        }
        var config = KMeans.Configuration(clusters: c.levels + c.ghosts)
        config.seed = seed
        return try KMeans(config).fit(Matrix(rows: rows.count / c.dimension, columns: c.dimension, values: rows)).centroids
    }
}
