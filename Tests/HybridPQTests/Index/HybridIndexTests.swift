import HybridPQ
import Testing

@Suite struct HybridIndexTests {
    /// Σ_l w_l score_l(q, item) computed directly from reconstructions, in Double: ⟨e_q, x̂⟩ in HCQ
    /// mode, −‖R e_q − x̂‖² in joint mode.
    static func referenceScores(_ model: HybridModel, _ q: [Matrix], _ t: [Matrix], levels: [Int]) throws -> [[Double]] {
        var out = [[Double]](repeating: [Double](repeating: 0, count: t[0].rows), count: q[0].rows)
        for l in levels {
            let lq = model.quantizers[l]
            let xhat = try lq.quantizer.decode(lq.encode(t[l]))
            let qr = lq.rotated(q[l])
            let w = levels.count == 1 ? 1 : Double(model.levelWeights[l])
            for i in 0..<qr.rows {
                for j in 0..<xhat.rows {
                    let s: Double
                    if lq.metric == .l2 {
                        s = -zip(qr.rowSlice(i), xhat.rowSlice(j)).reduce(0.0) { $0 + Double($1.0 - $1.1) * Double($1.0 - $1.1) }
                    } else {
                        s = TestData.dot(qr.rowSlice(i), xhat.rowSlice(j))
                    }
                    out[i][j] += w * s
                }
            }
        }
        return out
    }

    @Test(arguments: [(HybridModel.Mode.hcq, false), (.hcq, true), (.joint, false), (.joint, true)])
    func searchEqualsBruteForceOverLevels(mode: HybridModel.Mode, coarseOnly: Bool) throws {
        let data = ModelFixtures.data(count: 300)
        let model = try ModelFixtures.model(mode: mode, levels: 2)
        var index = try HybridIndex(model: model, coarseOnly: coarseOnly)
        try index.add(targets: data.targets, frames: data.frames, ids: (0..<300).map { Int64(1000 + $0) })
        #expect(index.bytesPerItem == (coarseOnly ? 4 : 12))
        let queries = data.queries.slicing(rows: 0..<20)
        let tokens = data.queryTokens!.gathering(items: Array(0..<20))
        let k = 7
        let results = try index.search(queries: queries, tokens: tokens, k: k, threads: 2)
        let q = try model.queryEmbeddings(queries, tokens: tokens, quantized: true)
        let t = try model.targetEmbeddings(data.targets, frames: data.frames)
        let ref = try Self.referenceScores(model, q, t, levels: coarseOnly ? [0] : [0, 1, 2])
        for i in 0..<20 {
            let sorted = ref[i].sorted(by: >)
            for j in 0..<k {
                let id = Int(results.ids(ofQuery: i)[results.ids(ofQuery: i).startIndex + j]) - 1000
                let score = Double(results.scores(ofQuery: i)[results.scores(ofQuery: i).startIndex + j])
                // Each returned score is the item's true score, and the j-th best one.
                #expect(abs(score - ref[i][id]) < 1e-3 * max(1, abs(score)))
                #expect(abs(score - sorted[j]) < 1e-3 * max(1, abs(score)))
            }
        }
        // One thread gives the same answer.
        #expect(try index.search(queries: queries, tokens: tokens, k: k, threads: 1) == results)
    }

    @Test func indexFileRoundTripGivesTheSameResults() throws {
        let data = ModelFixtures.data(count: 200)
        let model = try ModelFixtures.model(mode: .joint, levels: 1)
        var index = try HybridIndex(model: model)
        try index.add(targets: data.targets, frames: data.frames)
        let path = TestData.temporaryDirectory() + "/h.hpq"
        try index.save(to: path)
        let tokens = data.queryTokens!
        let expected = try index.search(queries: data.queries, tokens: tokens, k: 5)
        for mapping in [false, true] {
            let loaded = try HybridIndex.load(from: path, mapping: mapping)
            #expect(loaded.model == model && loaded.levels == index.levels && loaded.count == 200)
            #expect(try loaded.search(queries: data.queries, tokens: tokens, k: 5) == expected)
        }
        // The model inside an index file loads on its own too.
        #expect(try HybridModel.load(from: path) == model)
    }

    @Test func unquantizedModelsAndBadQueriesAreTypedErrors() throws {
        let model = try HybridModel(.init(inputDimension: 16, levels: 0, subspaces: 4, mode: .joint))
        #expect(throws: IndexError.model(.notQuantized)) { _ = try HybridIndex(model: model) }
        let q = try ModelFixtures.model(mode: .joint, levels: 0)
        let index = try HybridIndex(model: q)
        #expect(throws: IndexError.dimensionMismatch(expected: 16, found: 8)) {
            _ = try index.search(queries: TestData.gaussian(rows: 2, columns: 8, seed: 1), tokens: nil, k: 3)
        }
        #expect(throws: IndexError.invalidK(0)) { _ = try index.search(queries: TestData.gaussian(rows: 2, columns: 16, seed: 1), tokens: nil, k: 0) }
    }
}

@Suite struct HybridIndexFastScanTests {
    /// A joint-mode coarse model with 4-bit codes.
    static func model() throws -> HybridModel {
        var m = try HybridModel(.init(inputDimension: 16, levels: 0, subspaces: 8, mode: .joint, bitsPerCode: 4))
        let books = TestData.gaussian(rows: 8 * 16, columns: 2, seed: 9)
        let pq = try ProductQuantizer(dimension: 16, subspaces: 8, bitsPerCode: 4, codebooks: books.values)
        m.quantizers = [try LevelQuantizer(rotation: Orthogonal.random(16, seed: 4), quantizer: pq, metric: .l2)]
        return m
    }

    @Test func fourBitModelsSearchLikeAFastScanIndexOverRotatedEmbeddings() throws {
        let data = ModelFixtures.data(count: 500)
        let model = try Self.model()
        var index = try HybridIndex(model: model)
        try index.add(targets: data.targets, frames: data.frames)
        #expect(index.bytesPerItem == 4 && index.count == 500)
        // Second implementation: PQ4Index over the rotated level embeddings.
        let q = model.quantizers[0]
        var reference = try PQ4Index(quantizer: q.quantizer, metric: .l2)
        try reference.add(q.rotated(try model.targetEmbeddings(data.targets, frames: data.frames)[0]), ids: nil)
        let queries = data.queries.slicing(rows: 0..<30)
        let expected = try reference.search(q.rotated(try model.queryEmbeddings(queries, tokens: nil)[0]), k: 5)
        let results = try index.search(queries: queries, tokens: nil, k: 5)
        #expect(results == expected)
        // And a file round trip keeps it.
        let path = TestData.temporaryDirectory() + "/h4.hpq"
        try index.save(to: path)
        let loaded = try HybridIndex.load(from: path, mapping: true)
        #expect(loaded.count == 500 && loaded.bytesPerItem == 4)
        #expect(try loaded.search(queries: queries, tokens: nil, k: 5) == expected)
    }

    @Test func fourBitCodesAreOnlyForJointCoarseModels() {
        #expect(throws: ModelError.self) { _ = try HybridModel(.init(inputDimension: 16, levels: 1, subspaces: 8, mode: .joint, bitsPerCode: 4)) }
        #expect(throws: ModelError.self) { _ = try HybridModel(.init(inputDimension: 16, levels: 0, subspaces: 8, mode: .hcq, bitsPerCode: 4)) }
        #expect(throws: ModelError.self) { _ = try HybridModel(.init(inputDimension: 16, levels: 0, subspaces: 8, mode: .joint, bitsPerCode: 6)) }
    }
}
