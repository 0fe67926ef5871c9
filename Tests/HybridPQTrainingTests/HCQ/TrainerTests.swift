import Foundation
import HybridPQ
import LiveTestSupport
import HybridPQTraining
import Testing

@Suite struct TrainerTests {
    /// 2,000 synthetic items (train 400, val 100) of dimension 16 with tokens and frames.
    static let data: CrossViewDataSet = {
        var c = SyntheticDataSet.Configuration(count: 2000)
        c.dimension = 16
        c.fineFeatures = true
        c.frames = 4
        c.tokens = 5
        c.queryNoise = 1.2
        return SyntheticDataSet.generate(c)
    }()

    static func config(_ mode: HybridModel.Mode, levels: Int) -> TrainingConfiguration {
        var t = TrainingConfiguration(model: .init(inputDimension: 16, levels: levels, ghosts: 1, subspaces: 4, mode: mode))
        t.epochs = 4
        t.jointEpochs = 3
        t.opqIterations = 3
        t.kmeansIterations = 3
        t.learningRate = 2e-4
        t.codebookLearningRate = 1e-3
        return t
    }

    @Test func jointTrainingIsDeterministicAndNeverEndsBelowItsOPQStart() throws {
        let a = try Trainer(data: Self.data, configuration: Self.config(.joint, levels: 0))
        let ma = try a.run()
        let mb = try Trainer(data: Self.data, configuration: Self.config(.joint, levels: 0)).run()
        #expect(ma.parameters == mb.parameters && ma.quantizers == mb.quantizers)
        #expect(ma.isQuantized && ma.quantizers[0].rotation != nil)
        let start = a.history.first { $0.phase == .joint && $0.epoch == -1 }!.validation
        let final = try ValidationResult.evaluate(ma, data: Self.data, items: Self.data.split.val, quantized: true)
        #expect(final.sum >= start.sum)
    }

    /// Queries rotated by a random orthogonal matrix: raw cosine (the identity start) is near
    /// chance, and the heads can only recover the match by learning the inverse rotation.
    @Test func continuousTrainingLearnsAHiddenRotation() throws {
        var data = Self.data
        data.queries = data.queries.multiplied(try Orthogonal.random(16, seed: 5))
        var config = Self.config(.joint, levels: 0)
        config.epochs = 60
        config.patience = 60
        config.decay = 1
        config.jointEpochs = 0
        config.learningRate = 3e-3
        let untrained = try HybridModel(config.model)
        let before = try ValidationResult.evaluate(untrained, data: data, items: data.split.val, quantized: false)
        let t = try Trainer(data: data, configuration: config)
        _ = try t.run()
        let continuous = t.history.filter { $0.phase == .continuous }
        let after = continuous.map(\.validation.recallAt1).max()!
        #expect(before.recallAt1 < 0.15)
        #expect(after > before.recallAt1 + 0.1, "val R@1 \(before.recallAt1) → \(after)")
        #expect(continuous.last!.loss < 0.5 * continuous.first!.loss)
    }

    @Test func resumingFromACheckpointGivesTheUninterruptedModel() throws {
        let dir = TestData.temporaryDirectory()
        let whole = try Trainer(data: Self.data, configuration: Self.config(.joint, levels: 0)).run()
        let first = try Trainer(data: Self.data, configuration: Self.config(.joint, levels: 0),
                                outputPath: dir + "/m.hpqm", checkpointPath: dir + "/m.ckpt")
        first.epochBudget = 5   // stops inside the joint phase
        _ = try first.run()
        #expect(FileManager.default.fileExists(atPath: dir + "/m.ckpt"))
        let second = try Trainer(data: Self.data, configuration: Self.config(.joint, levels: 0),
                                 outputPath: dir + "/m.hpqm", checkpointPath: dir + "/m.ckpt")
        let resumed = try second.run(resume: true)
        #expect(resumed.parameters == whole.parameters && resumed.quantizedQueryParameters == whole.quantizedQueryParameters
                && resumed.quantizers == whole.quantizers)
        #expect(try HybridModel.load(from: dir + "/m.hpqm").quantizers == whole.quantizers)
        #expect(!FileManager.default.fileExists(atPath: dir + "/m.ckpt"))
        // A checkpoint made with other settings is refused, naming the setting.
        let third = try Trainer(data: Self.data, configuration: Self.config(.joint, levels: 0),
                                outputPath: dir + "/n.hpqm", checkpointPath: dir + "/n.ckpt")
        third.epochBudget = 1
        _ = try third.run()
        var other = Self.config(.joint, levels: 0)
        other.seed = 99
        #expect(throws: TrainingError.inconsistentCheckpoint(path: dir + "/n.ckpt", field: "seed", expected: "99", found: "1")) {
            _ = try Trainer(data: Self.data, configuration: other, outputPath: dir + "/n.hpqm", checkpointPath: dir + "/n.ckpt").run(resume: true)
        }
    }

    @Test func hcqModeTrainsEveryLevelAndKeepsUnitCodewords() throws {
        let t = try Trainer(data: Self.data, configuration: Self.config(.hcq, levels: 1))
        let m = try t.run()
        #expect(m.isQuantized && m.quantizers.count == 2 && m.quantizers.allSatisfy { $0.rotation == nil && $0.metric == .innerProduct })
        for q in m.quantizers {
            for s in 0..<4 {
                for n in q.quantizer.codebook(s).rowSquaredNorms() { #expect(abs(n - 0.25) < 1e-4) }
            }
        }
        #expect(t.history.count == 4)
        // The model returned is the best epoch's (validated quantized), far above chance (1 %).
        let trained = try ValidationResult.evaluate(m, data: Self.data, items: Self.data.split.val, quantized: true)
        #expect(abs(trained.sum - t.history.map(\.validation.sum).max()!) < 1e-9)
        #expect(trained.recallAt1 > 0.1)
    }

    @Test func missingInputsAndTinySplitsAreTypedErrors() throws {
        var noFine = Self.data
        noFine.queryTokens = nil
        #expect(throws: TrainingError.missingInput("query_tokens.npy (+ mask): the model has 1 fine levels")) {
            _ = try Trainer(data: noFine, configuration: Self.config(.hcq, levels: 1))
        }
        var tiny = Self.data
        tiny.split = Split(train: Array(0..<100), val: Array(100..<200), test: Array(200..<300))
        #expect(throws: TrainingError.tooFewItems(split: "train", found: 100, needed: 256)) {
            _ = try Trainer(data: tiny, configuration: Self.config(.joint, levels: 0))
        }
        #expect(throws: ModelError.missingInput("query_tokens.npy and frames.npy: HCQ's default shape has 7 fine levels (use --bytes or --levels 0 without them)")) {
            _ = try TrainingConfiguration.forBudget(bytes: nil, inputDimension: 16, fineFeatures: false)
        }
        let b = try TrainingConfiguration.forBudget(bytes: 20, inputDimension: 384, fineFeatures: true)
        #expect(b.model.subspaces == 16 && b.model.levels == 0 && b.model.mode == .joint)
        let c16 = try TrainingConfiguration.budgetCandidates(bytes: 16, inputDimension: 384)
        #expect(c16.map { [$0.model.bitsPerCode, $0.model.subspaces, $0.model.bytesPerItem] } == [[8, 16, 16], [4, 32, 16]])
        let c256 = try TrainingConfiguration.budgetCandidates(bytes: 256, inputDimension: 384)
        #expect(c256.map { [$0.model.bitsPerCode, $0.model.subspaces, $0.model.bytesPerItem] } == [[8, 192, 192]])
        let h = try TrainingConfiguration.forBudget(bytes: nil, inputDimension: 384, fineFeatures: true)
        #expect(h.model.subspaces == 32 && h.model.levels == 7 && h.model.bytesPerItem == 256)
    }
}

enum TestData {
    /// A fresh empty directory, removed when the test process exits.
    static func temporaryDirectory() -> String { ScratchSpace.directory() }
}

@Suite struct FourBitTrainingTests {
    @Test func jointTrainingWithFourBitCodesKeepsItsOPQStartOrBetter() throws {
        var config = TrainerTests.config(.joint, levels: 0)
        config.model.subspaces = 8
        config.model.bitsPerCode = 4
        let t = try Trainer(data: TrainerTests.data, configuration: config)
        let m = try t.run()
        #expect(m.quantizers[0].quantizer.bitsPerCode == 4 && m.configuration.bytesPerItem == 4)
        let start = t.history.first { $0.phase == .joint && $0.epoch == -1 }!.validation
        let final = try ValidationResult.evaluate(m, data: TrainerTests.data, items: TrainerTests.data.split.val, quantized: true)
        #expect(final.sum >= start.sum)
        var index = try HybridIndex(model: m)
        let test = TrainerTests.data.split.test
        try index.add(targets: TrainerTests.data.targets.gathering(rows: test), frames: TrainerTests.data.frames!.gathering(items: test))
        if case .fastScan = index.store.layout {} else { Issue.record("a 4-bit model's index is not stored as fast-scan blocks") }
        #expect(index.count == test.count)
    }
}
