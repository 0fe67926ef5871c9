import Foundation
import HybridPQ
import Testing

/// Small models with random (not trained) quantizers for the model and hybrid-index tests.
enum ModelFixtures {
    static func data(count: Int = 60, dimension: Int = 16, seed: UInt64 = 3) -> CrossViewDataSet {
        var c = SyntheticDataSet.Configuration(count: count)
        c.dimension = dimension
        c.fineFeatures = true
        c.frames = 4
        c.tokens = 5
        c.seed = seed
        return SyntheticDataSet.generate(c)
    }

    /// A model with `levels` fine levels, random heads near the identity and random codebooks
    /// (joint mode also gets random rotations).
    static func model(mode: HybridModel.Mode, levels: Int, dimension: Int = 16, subspaces: Int = 4) throws -> HybridModel {
        var m = try HybridModel(.init(inputDimension: dimension, levels: levels, ghosts: 1, subspaces: subspaces, mode: mode),
                                vladCentres: levels > 0 ? centres(levels + 1, dimension) : nil)
        for (i, t) in m.parameters.tensors.enumerated() {
            let noise = TestData.gaussian(rows: t.rows, columns: t.columns, seed: 10 + UInt64(i))
            for j in 0..<t.values.count { m.parameters.tensors[i].values[j] += 0.1 * noise.values[j] }
        }
        m.parameters[.frameMix].values[0] = 0.5
        m.quantizers = try (0...levels).map { l in
            var books = TestData.gaussian(rows: subspaces * 256, columns: dimension / subspaces, seed: 100 + UInt64(l))
            if mode == .hcq {
                // Codewords of norm 1/√M, as HCQ's refit leaves them.
                books = books.rowNormalized()
                for i in 0..<books.values.count { books.values[i] /= Float(subspaces).squareRoot() }
            }
            let pq = try ProductQuantizer(dimension: dimension, subspaces: subspaces, bitsPerCode: 8, codebooks: books.values)
            return try LevelQuantizer(rotation: mode == .joint ? Orthogonal.random(dimension, seed: 200 + UInt64(l)) : nil,
                                      quantizer: pq, metric: mode == .joint ? .l2 : .innerProduct)
        }
        m.levelWeights = (0...levels).map { Float($0 + 1) / Float((levels + 1) * (levels + 2) / 2) }
        return m
    }
}

@Suite struct HybridModelTests {
    @Test(arguments: [HybridModel.Mode.hcq, .joint])
    func identityStartScoresLikeRawCosine(mode: HybridModel.Mode) throws {
        let data = ModelFixtures.data()
        let model = try HybridModel(.init(inputDimension: 16, levels: 0, subspaces: 4, mode: mode))
        let q = try model.queryEmbeddings(data.queries, tokens: nil)[0]
        let t = try model.targetEmbeddings(data.targets, frames: data.frames)[0]
        if mode == .joint {
            // Joint mode normalises whole vectors: exactly the (unit) raw features.
            for (a, b) in zip(q.values + t.values, data.queries.rowNormalized().values + data.targets.rowNormalized().values) {
                #expect(abs(a - b) < 1e-6)
            }
        } else {
            // HCQ mode: unit sub-vectors scaled by 1/√M; the score is the mean sub-space cosine.
            let raw = Layers.normalizeBlocks(data.queries, block: 4, scale: 0.5).output
            for (a, b) in zip(q.values, raw.values) { #expect(abs(a - b) < 1e-6) }
        }
    }

    @Test func fineLevelsNeedTokensAndFrames() throws {
        let data = ModelFixtures.data()
        let model = try ModelFixtures.model(mode: .hcq, levels: 2)
        #expect(throws: ModelError.missingInput("query tokens: the model has 2 fine levels")) { _ = try model.queryEmbeddings(data.queries, tokens: nil) }
        #expect(throws: ModelError.missingInput("frames: the model has 2 fine levels")) { _ = try model.targetEmbeddings(data.targets, frames: nil) }
        let e = try model.queryEmbeddings(data.queries, tokens: data.queryTokens)
        #expect(e.count == 3 && e.allSatisfy { $0.rows == 60 && $0.columns == 16 })
        // Each level embedding is a unit vector.
        for l in e { for n in l.rowSquaredNorms() { #expect(abs(n - 1) < 1e-4) } }
    }

    @Test(arguments: [HybridModel.Mode.hcq, .joint])
    func modelFileRoundTripAndTypedErrors(mode: HybridModel.Mode) throws {
        var model = try ModelFixtures.model(mode: mode, levels: 2)
        if mode == .joint { model.quantizedQueryParameters = ModelFixtures.perturbed(model.parameters) }
        model.info["train.seed"] = "7"
        let dir = TestData.temporaryDirectory()
        let path = dir + "/m.hpqm"
        try model.save(to: path)
        #expect(try HybridModel.load(from: path) == model)
        // A flipped byte anywhere is caught by a checksum; a cut file is reported as truncated.
        var bytes = try Array(Data(contentsOf: URL(fileURLWithPath: path)))
        let original = bytes
        bytes[bytes.count - 3] ^= 0x40
        try Data(bytes).write(to: URL(fileURLWithPath: path))
        #expect { try HybridModel.load(from: path) } throws: { e in
            if case .checksumMismatch = e as? IndexFileError { return true } else { return false }
        }
        try Data(original.prefix(original.count - 100)).write(to: URL(fileURLWithPath: path))
        #expect { try HybridModel.load(from: path) } throws: { e in
            if case .truncated = e as? IndexFileError { return true } else { return false }
        }
        // Another kind of file is named as such.
        var pq = PQIndex(quantizer: model.quantizers[0].quantizer)
        try pq.add(TestData.gaussian(rows: 3, columns: 16, seed: 1), ids: nil)
        try pq.save(to: path)
        #expect(throws: IndexFileError.wrongKind(path: path, expected: "hcq-model", found: "pq")) { try HybridModel.load(from: path) }
    }
}

extension HybridModelTests {
    /// AFA: a learned frame scorer changes the coarse target and is saved; a file from before AFA
    /// (no AFAW section) loads with a zero scorer, i.e. the plain mean of the frames.
    @Test func frameScorerIsSavedAndOldFilesPoolByTheMean() throws {
        var model = try ModelFixtures.model(mode: .joint, levels: 0)
        model.parameters[.frameMix].values[0] = 0.5
        model.parameters[.frameScorer] = Matrix(rows: 1, columns: model.configuration.dimension)
        #expect(!model.parameters.hasFrameAttention)
        let plain = model
        for j in 0..<model.parameters[.frameScorer].values.count { model.parameters[.frameScorer].values[j] = Float(j % 5) - 2 }
        let data = ModelFixtures.data()
        let x = data.targets, frames = data.frames
        #expect(try model.targetEmbeddings(x, frames: frames)[0] != plain.targetEmbeddings(x, frames: frames)[0])
        let dir = TestData.temporaryDirectory()
        try model.save(to: dir + "/afa.hpqm")
        #expect(try HybridModel.load(from: dir + "/afa.hpqm") == model)
        try plain.save(to: dir + "/plain.hpqm")
        let contents = try IndexFile.read(dir + "/plain.hpqm")
        try IndexFile.write(kind: .hcqModel, sections: contents.sections.values.filter { $0.tag != "AFAW" }.sorted { $0.tag < $1.tag },
                            to: dir + "/old.hpqm")
        let old = try HybridModel.load(from: dir + "/old.hpqm")
        #expect(old == plain)
        #expect(try old.targetEmbeddings(x, frames: frames)[0] == plain.targetEmbeddings(x, frames: frames)[0])
    }
}

extension ModelFixtures {
    /// Small GhostVLAD centres, so every item's soft assignment reaches every cluster.
    static func centres(_ k: Int, _ d: Int) -> Matrix {
        var c = TestData.gaussian(rows: k, columns: d, seed: 5)
        for i in 0..<c.values.count { c.values[i] *= 0.1 }
        return c
    }

    /// Query heads changed, target side shared (as joint training leaves them).
    static func perturbed(_ p: HybridParameters) -> HybridParameters {
        var q = p
        for t in HybridParameters.Tensor.allCases where t.isQuerySide {
            for j in 0..<q[t].values.count { q[t].values[j] *= 1.01 }
        }
        return q
    }
}
