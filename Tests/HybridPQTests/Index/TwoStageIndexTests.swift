import Testing
import HybridPQ

/// The DnS two-stage search: late interaction over frame codes, the cold store, and the hot
/// scan's candidates re-scored with the hybrid score.
@Suite("Two-stage search: late interaction over a cold store")
struct TwoStageIndexTests {
    static let d = 16

    /// A fine model with a random rotation and codebooks, identity heads (`bits` 4: 8 sub-spaces
    /// of 16 codewords, packed two per byte in the cold store).
    static func fine(weight: Float = 0.7, bits: Int = 8) throws -> FineModel {
        let m = bits == 4 ? 8 : 4
        let books = TestData.gaussian(rows: m * (1 << bits), columns: d / m, seed: 501)
        let pq = try ProductQuantizer(dimension: d, subspaces: m, bitsPerCode: bits, codebooks: books.values)
        let lq = try LevelQuantizer(rotation: Orthogonal.random(d, seed: 502), quantizer: pq, metric: .innerProduct)
        return try FineModel.identity(weight: weight, frameQuantizer: lq)
    }

    /// Brute-force late interaction from decoded frames, in Double: mean over valid tokens of
    /// the max over the item's valid frames of ⟨R x_t, decode(code(R f))⟩; nil without frames.
    static func bruteForce(fine: FineModel, tokens: SequenceFeatures, q: Int, frames: SequenceFeatures, item: Int) throws -> Double? {
        let lq = fine.frameQuantizer
        let tv = (0..<tokens.length).filter { tokens.mask[q * tokens.length + $0] != 0 }.map { q * tokens.length + $0 }
        let fv = (0..<frames.length).filter { frames.mask[item * frames.length + $0] != 0 }.map { item * frames.length + $0 }
        guard !tv.isEmpty, !fv.isEmpty else { return nil }
        let t = lq.rotated(tokens.values.gathering(rows: tv))
        let decoded = try lq.quantizer.decode(lq.encode(frames.values.gathering(rows: fv)))
        let total = (0..<tv.count).reduce(0.0) { s, i in
            s + (0..<fv.count).map { n in TestData.dot(t.rowSlice(i), decoded.rowSlice(n)) }.max()!
        }
        return total / Double(tv.count)
    }

    @Test("late interaction from codes (8- and 4-bit) equals brute force from decoded vectors; padding never counts", arguments: [8, 4])
    func lateInteraction(bits: Int) throws {
        let fine = try Self.fine(bits: bits)
        let data = ModelFixtures.data(count: 30, dimension: Self.d, seed: 503)
        var tokens = data.queryTokens!, frames = data.frames!
        // Uneven masks: item 0 has no valid frame, query 1 a single valid token.
        for t in 0..<frames.length { frames.mask[t] = 0 }
        for t in 1..<tokens.length { tokens.mask[tokens.length + t] = 0 }
        for i in 2..<30 { frames.mask[i * frames.length + (i % frames.length)] = 0 }
        var store = FrameStore(quantizer: fine.frameQuantizer)
        try store.append(frames.gathering(items: Array(0..<10)))
        try store.append(frames.gathering(items: Array(10..<30)))          // appends continue the offsets
        #expect(store.count == 30 && store.frameCount == frames.mask.filter { $0 != 0 }.count)
        #expect(store.bytesPerFrame == 4, "8-bit: 4 sub-spaces; 4-bit: 8 sub-spaces packed in 4 bytes")
        let reranker = LateInteractionReranker(tokens: tokens, store: store, weight: 1)
        let positions = [5, 0, 17, 29, 3, 3]                      // any order, repeats allowed
        let (decoded, ranges) = reranker.frames(of: positions)
        #expect(ranges[1].isEmpty && decoded.rows == ranges.reduce(0) { $0 + $1.count })
        for q in 0..<6 {
            let got = LateInteraction.scores(tokens: reranker.tokenVectors(query: q), frames: decoded, ranges: ranges)
            for (i, item) in positions.enumerated() {
                let want = try Self.bruteForce(fine: fine, tokens: tokens, q: q, frames: frames, item: item)
                if let want {
                    #expect(abs(Double(got[i] ?? .nan) - want) < 1e-4 * max(1, abs(want)), "query \(q) item \(item)")
                } else {
                    #expect(got[i] == nil, "item \(item) has no frame: no fine score")
                }
            }
        }
        // Padding holds garbage: nothing changes.
        var noisy = frames
        for r in 0..<(noisy.count * noisy.length) where noisy.mask[r] == 0 {
            for c in 0..<Self.d { noisy.values.values[r * Self.d + c] = 1e3 }
        }
        var store2 = FrameStore(quantizer: fine.frameQuantizer)
        try store2.append(noisy)
        #expect(store2.codes.array == store.codes.array && store2.firstFrame.array == store.firstFrame.array)
    }

    @Test("two-stage results equal a brute-force re-scoring of the hot stage's candidates", arguments: [0, 12])
    func twoStage(rerank: Int) throws {
        let data = ModelFixtures.data(count: 80, dimension: Self.d, seed: 504)
        let model = try ModelFixtures.model(mode: .joint, levels: 0, dimension: Self.d)
        let fine = try Self.fine(weight: 0.8)
        var frames = data.frames!
        for t in 0..<frames.length { frames.mask[3 * frames.length + t] = 0 }    // item 3: no frames
        var index = try TwoStageIndex(model: model, fine: fine)
        try index.add(FeatureBatch(data.targets, sequences: frames), ids: (0..<80).map { Int64(1000 + $0) })
        #expect(index.coldBytesPerItem > 0 && index.bytesPerItem == 4)
        let queries = FeatureBatch(data.queries.slicing(rows: 0..<7), sequences: data.queryTokens!.gathering(items: Array(0..<7)))
        let depth = rerank == 0 ? 80 : rerank                              // 0: every item re-ranked
        let results = try index.search(queries, parameters: SearchParameters(k: 5, threads: 2, rerank: depth))
        // The hot stage's candidates: its own top `depth` by the coarse code.
        let hot = try index.hot.search(queries, parameters: SearchParameters(k: depth))
        let e = try model.queryEmbeddings(queries.vectors, tokens: queries.sequences, quantized: true)
        let tables = try model.quantizers[0].lookupTables(e[0])
        let hotCodes = index.hot.store.onlyRun.codes.array
        for q in 0..<7 {
            let t = Array(tables.table(q))
            var scores: [Float] = [], ids: [Int64] = []
            for id in hot.ids(ofQuery: q) where id >= 0 {
                let item = Int(id - 1000)
                let coarse = (0..<4).reduce(Float(0)) { s, m in s + t[m * 256 + Int(hotCodes[item * 4 + m])] }
                let fineScore = try Self.bruteForce(fine: fine, tokens: queries.sequences!, q: q, frames: frames, item: item) ?? 0
                scores.append(coarse + 0.8 * Float(fineScore))
                ids.append(id)
            }
            #expect(results.ids(ofQuery: q) == TestData.sortedTopK(scores: scores, ids: ids, k: 5), "query \(q)")
            #expect(results.scores(ofQuery: q).allSatisfy { $0.isFinite })
        }
    }

    @Test("with a coarse refiner the candidates' coarse term is the distance to their refined code (brute force); it round-trips")
    func refinedCoarse() throws {
        let data = ModelFixtures.data(count: 60, dimension: Self.d, seed: 509)
        let model = try ModelFixtures.model(mode: .joint, levels: 0, dimension: Self.d)
        var fine = try Self.fine(weight: 0.6)
        fine.coarseRefiner = try ProductQuantizer(dimension: Self.d, subspaces: 8, bitsPerCode: 8,
                                                  codebooks: TestData.gaussian(rows: 8 * 256, columns: 2, seed: 510).values)
        var index = try TwoStageIndex(model: model, fine: fine)
        try index.add(FeatureBatch(data.targets.slicing(rows: 0..<25), sequences: data.frames!.gathering(items: Array(0..<25))), ids: nil)
        try index.add(FeatureBatch(data.targets.slicing(rows: 25..<60), sequences: data.frames!.gathering(items: Array(25..<60))), ids: nil)
        #expect(index.cold.refinedCodes.count == 60 * 8)
        #expect(abs(index.coldBytesPerItem - Double(index.cold.codes.count + 60 * 8 + 61 * 8) / 60) < 1e-9)
        let queries = FeatureBatch(data.queries.slicing(rows: 0..<6), sequences: data.queryTokens!.gathering(items: Array(0..<6)))
        let depth = 15
        let results = try index.search(queries, parameters: SearchParameters(k: 4, rerank: depth))
        let hot = try index.hot.search(queries, parameters: SearchParameters(k: depth))
        let lq = model.quantizers[0]
        let qr = lq.rotated(try model.queryEmbeddings(queries.vectors, tokens: queries.sequences, quantized: true)[0])
        let refiner = fine.coarseRefiner!
        let xr = try refiner.decode(refiner.encode(lq.rotated(try model.targetEmbeddings(data.targets, frames: data.frames)[0])))
        for q in 0..<6 {
            var scores: [Float] = [], ids: [Int64] = []
            for id in hot.ids(ofQuery: q) where id >= 0 {
                let item = Int(id)
                let dist = (0..<Self.d).reduce(0.0) { s, j in let t = Double(qr[q, j] - xr[item, j]); return s + t * t }
                let fineScore = try Self.bruteForce(fine: fine, tokens: queries.sequences!, q: q, frames: data.frames!, item: item) ?? 0
                scores.append(Float(-dist + 0.6 * fineScore))
                ids.append(id)
            }
            #expect(results.ids(ofQuery: q) == TestData.sortedTopK(scores: scores, ids: ids, k: 4), "query \(q)")
        }
        let path = TestData.temporaryDirectory() + "/r.hpq"
        try index.save(to: path)
        for mapping in [false, true] {
            let back = try TwoStageIndex.load(from: path, mapping: mapping)
            #expect(back.fine == fine && back.cold.refinedCodes.array == index.cold.refinedCodes.array)
            #expect(try back.search(queries, parameters: SearchParameters(k: 4, rerank: depth)) == results)
        }
    }

    @Test("missing frames or tokens are typed errors; nothing is stored")
    func missingInputs() throws {
        let data = ModelFixtures.data(count: 20, dimension: Self.d, seed: 505)
        var index = try TwoStageIndex(model: ModelFixtures.model(mode: .joint, levels: 0, dimension: Self.d), fine: Self.fine())
        #expect(throws: IndexError.model(.missingInput("frames: a two-stage index keeps every item's frames"))) {
            try index.add(data.targets)
        }
        #expect(index.count == 0 && index.cold.count == 0)
        try index.add(FeatureBatch(data.targets, sequences: data.frames), ids: nil)
        #expect(throws: IndexError.model(.missingInput("query tokens: the fine stage scores them"))) {
            try index.search(data.queries, parameters: SearchParameters(k: 3))
        }
        #expect(throws: ModelError.invalidConfiguration("fine weight -1.0 is not a finite λ ≥ 0")) {
            try FineModel.identity(weight: -1, frameQuantizer: Self.fine().frameQuantizer)
        }
    }

    @Test("the fine stage round-trips through the model file; a model without one says so")
    func modelFile() throws {
        var model = try ModelFixtures.model(mode: .joint, levels: 0, dimension: Self.d)
        let path = TestData.temporaryDirectory() + "/m.hpqm"
        try model.save(to: path)
        #expect(try HybridModel.load(from: path).fine == nil)
        model.fine = try Self.fine(weight: 2.5)
        try model.save(to: path)
        let back = try HybridModel.load(from: path)
        #expect(back.fine == model.fine && back == model)
    }

    @Test("fineFraction: 0 keeps the hot order, 1 re-ranks every query, between only the selected ones")
    func fraction() throws {
        let data = ModelFixtures.data(count: 60, dimension: Self.d, seed: 506)
        var fine = try Self.fine(weight: 1.5)
        let model = try ModelFixtures.model(mode: .joint, levels: 0, dimension: Self.d)
        let q = FeatureBatch(data.queries.slicing(rows: 0..<20), sequences: data.queryTokens!.gathering(items: Array(0..<20)))
        // The gap-only selector, its thresholds from these queries' own hot scores.
        var gap = try QuerySelector(weights: [-1, 0, 0, 0], bias: 0, mean: [0, 0, 0, 0], scale: [1, 1, 1, 1],
                                    quantiles: [Float](repeating: 0, count: 101))
        var probe = try TwoStageIndex(model: model, fine: fine)
        try probe.add(FeatureBatch(data.targets, sequences: data.frames), ids: nil)
        let hot = try probe.hot.search(q, parameters: SearchParameters(k: 10))
        let scores = (0..<20).map { gap.score(QuerySelector.features(topScores: hot.scores(ofQuery: $0), tokens: 0)) }.sorted()
        gap.quantiles = (0...100).map { scores[$0 * 19 / 100] }
        fine.selector = gap
        var index = try TwoStageIndex(model: model, fine: fine)
        try index.add(FeatureBatch(data.targets, sequences: data.frames), ids: nil)
        func run(_ f: Double?) throws -> SearchResults {
            var p = SearchParameters(k: 5, rerank: 20)
            p.fineFraction = f
            return try index.search(q, parameters: p)
        }
        let all = try run(nil), none = try run(0), half = try run(0.5)
        #expect(try run(1) == all)
        let hotOnly = try index.hot.search(q, parameters: SearchParameters(k: 5))
        #expect(none.ids == hotOnly.ids)
        // Each query of the half run is either its hot order or its fine order.
        var fineCount = 0
        for i in 0..<20 {
            let h = half.ids(ofQuery: i)
            #expect(h == none.ids(ofQuery: i) || h == all.ids(ofQuery: i))
            if h == all.ids(ofQuery: i) && h != none.ids(ofQuery: i) { fineCount += 1 }
        }
        #expect(fineCount > 0)
        #expect(throws: IndexError.invalidParameter(name: "fineFraction", value: 150, reason: "must be a fraction in [0, 1]")) {
            _ = try run(1.5)
        }
        #expect(throws: IndexError.invalidParameter(name: "fineFraction", value: -1, reason: "must be a fraction in [0, 1]")) {
            _ = try run(.nan)
        }
    }

    @Test("a two-stage index round-trips through its file (kind dns), copied or mapped, and AnyIndex opens it", arguments: [8, 4])
    func file(bits: Int) throws {
        let data = ModelFixtures.data(count: 40, dimension: Self.d, seed: 507)
        var frames = data.frames!
        for t in 0..<frames.length { frames.mask[7 * frames.length + t] = 0 }
        var index = try TwoStageIndex(model: ModelFixtures.model(mode: .joint, levels: 0, dimension: Self.d), fine: Self.fine(weight: 1.2, bits: bits))
        try index.add(FeatureBatch(data.targets, sequences: frames), ids: (0..<40).map { Int64(3 * $0) })
        let path = TestData.temporaryDirectory() + "/t.hpq"
        try index.save(to: path)
        let q = FeatureBatch(data.queries.slicing(rows: 0..<6), sequences: data.queryTokens!.gathering(items: Array(0..<6)))
        let p = SearchParameters(k: 4, rerank: 12)
        let want = try index.search(q, parameters: p)
        for mapping in [false, true] {
            let back = try TwoStageIndex.load(from: path, mapping: mapping)
            #expect(back.cold.codes.array == index.cold.codes.array && back.cold.firstFrame.array == index.cold.firstFrame.array)
            #expect(back.cold.codes.isMapped == mapping && back.fine == index.fine)
            #expect(try back.search(q, parameters: p) == want)
        }
        let any = try AnyIndex.load(from: path)
        #expect(any.kind == .dns && any.count == 40)
        #expect(try any.search(q, parameters: p) == want)
    }

    @Test("flat-fine equals the brute-force float hybrid score over every item")
    func flatFine() throws {
        let data = ModelFixtures.data(count: 30, dimension: Self.d, seed: 508)
        let model = try ModelFixtures.model(mode: .joint, levels: 0, dimension: Self.d)
        let fine = try Self.fine(weight: 0.9)
        var frames = data.frames!
        for t in 0..<frames.length { frames.mask[4 * frames.length + t] = 0 }
        var index = try FlatFineIndex(model: model, fine: fine)
        try index.add(FeatureBatch(data.targets, sequences: frames), ids: (0..<30).map { Int64(50 - $0) })
        let tokens = data.queryTokens!.gathering(items: Array(0..<5))
        let r = try index.search(FeatureBatch(data.queries.slicing(rows: 0..<5), sequences: tokens), parameters: SearchParameters(k: 6))
        let q = try model.queryEmbeddings(data.queries.slicing(rows: 0..<5), tokens: tokens)[0]
        let x = try model.targetEmbeddings(data.targets, frames: frames)[0]
        for i in 0..<5 {
            var scores: [Float] = []
            for j in 0..<30 {
                let l2 = zip(q.rowSlice(i), x.rowSlice(j)).reduce(0.0) { $0 + Double($1.0 - $1.1) * Double($1.0 - $1.1) }
                let tv = (0..<tokens.length).filter { tokens.mask[i * tokens.length + $0] != 0 }
                let fv = (0..<frames.length).filter { frames.mask[j * frames.length + $0] != 0 }
                var li = 0.0
                if !fv.isEmpty {
                    for t in tv {
                        li += fv.map { n in TestData.dot(tokens.values.rowSlice(i * tokens.length + t), frames.values.rowSlice(j * frames.length + n)) }.max()!
                    }
                    li /= Double(tv.count)
                }
                scores.append(Float(-l2 + 0.9 * li))
            }
            #expect(r.ids(ofQuery: i) == TestData.sortedTopK(scores: scores, ids: (0..<30).map { Int64(50 - $0) }, k: 6), "query \(i)")
        }
    }
}
