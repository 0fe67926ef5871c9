import Foundation
import Testing
import HybridPQ

/// The live index against an independent reference: the same index kind rebuilt from scratch
/// over exactly the live items (same quantizer, same codes, so the same scores), searched once.
@Suite("Live index: segments, tombstones, snapshots, filters")
struct LiveIndexTests {
    static let d = 16

    static func quantizer() throws -> ProductQuantizer {
        try ProductQuantizer.train(TestData.gaussian(rows: 600, columns: d, seed: 900), subspaces: 4, bitsPerCode: 8, iterations: 4, seed: 1)
    }

    /// The reference: a fresh index of the live (id → vector) pairs.
    static func reference<I: SegmentIndex>(_ template: I, _ live: [Int64: [Float]]) throws -> I {
        var r = template.emptied()
        let ids = live.keys.sorted()
        guard !ids.isEmpty else { return r }
        try r.add(Matrix(rows: ids.count, columns: d, values: ids.flatMap { live[$0]! }), ids: ids)
        return r
    }

    /// A random sequence of adds, upserts and removes, mirrored in `live`.
    static func churn<I: SegmentIndex>(_ index: LiveIndex<I>, live: inout [Int64: [Float]], steps: Int, seed: UInt64) throws {
        var rng = SeededGenerator(seed: seed)
        var next: Int64 = max(10_000, (live.keys.max() ?? 0) + 1)
        for step in 0..<steps {
            let kind = Int(rng.next() % 4)
            if kind < 2 || live.count < 5 {
                let n = 1 + Int(rng.next() % 7)
                let x = TestData.gaussian(rows: n, columns: d, seed: seed &+ UInt64(step) &* 31)
                let ids = (0..<n).map { _ in next += 1 + Int64(rng.next() % 3); return next }
                try index.add(FeatureBatch(x), ids: ids)
                for (i, id) in ids.enumerated() { live[id] = x.row(i) }
            } else if kind == 2 {
                let pick = Array(live.keys.sorted().shuffled(using: &rng).prefix(1 + Int(rng.next() % 4)))
                try index.remove(ids: pick)
                for id in pick { live[id] = nil }
            } else {
                // Upsert: some present ids, one new.
                var ids = Array(live.keys.sorted().shuffled(using: &rng).prefix(2))
                next += 1
                ids.append(next)
                let x = TestData.gaussian(rows: ids.count, columns: d, seed: seed &+ UInt64(step) &* 37 &+ 5)
                try index.upsert(FeatureBatch(x), ids: ids)
                for (i, id) in ids.enumerated() { live[id] = x.row(i) }
            }
        }
    }

    @Test("after random adds, upserts and removes, search equals the index rebuilt over the live items", arguments: ["flat", "pq", "pq4"])
    func churnEqualsRebuild(kind: String) throws {
        let q = try Self.quantizer()
        let template: AnyIndex = switch kind {
        case "flat": .flat(FlatIndex(dimension: Self.d, metric: .l2))
        case "pq": .pq(PQIndex(quantizer: q))
        default: .pq4(try PQ4Index(quantizer: ProductQuantizer.train(TestData.gaussian(rows: 600, columns: Self.d, seed: 901),
                                                                      subspaces: 8, bitsPerCode: 4, iterations: 4, seed: 2)))
        }
        let index = LiveIndex(template: template)
        var live: [Int64: [Float]] = [:]
        try Self.churn(index, live: &live, steps: 120, seed: 7)
        #expect(index.count == live.count)
        #expect(index.segmentCount <= 2 + Int(log2(Double(max(2, live.count)))) * 2, "the tail stays at O(log n) segments")
        let queries = FeatureBatch(TestData.gaussian(rows: 9, columns: Self.d, seed: 902))
        let p = SearchParameters(k: 7, rerank: 1000)
        let want = try Self.reference(template, live).search(queries, parameters: p)
        let got = try index.search(queries, parameters: p)
        #expect(got.ids == want.ids)
        try index.compact()
        #expect(index.segmentCount == 1)
        #expect(try index.search(queries, parameters: p).ids == want.ids)
        // Compact already: a second compact() keeps the segment (no rewrite of every item).
        let compacted = index.snapshot().segments[0].number
        try index.compact()
        #expect(index.snapshot().segments[0].number == compacted)
    }

    /// A store built through the public `CodeStore` API can carry any ids: a live index refuses
    /// to serve one with an id twice or below 0 (checked as its id map is built, one pass).
    @Test("serving an index whose store holds an id twice or a negative id is a typed error")
    func servingBadIds() throws {
        let quantizer = try Self.quantizer()
        func index(_ ids: [Int64]) throws -> PQIndex {
            var store = CodeStore(layout: .rows(bytesPerItem: quantizer.subspaces))
            try store.append(codes: [UInt8](repeating: 1, count: ids.count * quantizer.subspaces), ids: ids)
            return try PQIndex(quantizer: quantizer, store: store)
        }
        #expect(throws: LiveIndexError.duplicateId(4)) { try LiveIndex(serving: try index([4, 9, 2, 4])) }
        #expect(throws: LiveIndexError.negativeId(-1)) { try LiveIndex(serving: try index([3, -1, 5])) }
        #expect(try LiveIndex(serving: try index([9, 2, 4])).count == 3)
    }

    @Test("one segment with removed rows (its deletions skipped by position, or by the version's deleted ids for kinds without a union) equals a rebuild, searched twice", arguments: ["flat", "pq4"])
    func oneSegmentWithDeletions(kind: String) throws {
        let template: AnyIndex = kind == "flat" ? .flat(FlatIndex(dimension: Self.d, metric: .l2))
            : .pq4(try PQ4Index(quantizer: ProductQuantizer.train(TestData.gaussian(rows: 600, columns: Self.d, seed: 901),
                                                                  subspaces: 8, bitsPerCode: 4, iterations: 4, seed: 2)))
        let x = TestData.gaussian(rows: 300, columns: Self.d, seed: 903)
        var first = template.emptied()
        try first.add(x, ids: (0..<300).map(Int64.init))
        let index = try LiveIndex(serving: first)
        var live: [Int64: [Float]] = [:]
        for i in 0..<300 { live[Int64(i)] = x.row(i) }
        let queries = FeatureBatch(TestData.gaussian(rows: 9, columns: Self.d, seed: 904))
        let p = SearchParameters(k: 7, rerank: 1000)
        // Remove each query's current best items, twice over, so that deletions decide the answer.
        for _ in 0..<2 {
            let best = Set(try index.search(queries, parameters: SearchParameters(k: 3, rerank: 1000)).ids.filter { $0 >= 0 })
            try index.remove(ids: best.sorted())
            for id in best { live[id] = nil }
            #expect(index.segmentCount == 1)
            let want = try Self.reference(template, live).search(queries, parameters: p)
            let snapshot = index.snapshot()
            #expect(try snapshot.search(queries, parameters: p).ids == want.ids)
            #expect(try snapshot.search(queries, parameters: p).ids == want.ids, "the version's cached entry")
        }
    }

    @Test("deletions in segments that start off a 64-row word are skipped exactly (a search of every item returns the live set)")
    func deletionsAcrossWords() throws {
        try Self.checkDeletionsAcrossWords(PQIndex(quantizer: try Self.quantizer()))
        try Self.checkDeletionsAcrossWords(PQ4Index(quantizer: ProductQuantizer.train(
            TestData.gaussian(rows: 600, columns: Self.d, seed: 905), subspaces: 8, bitsPerCode: 4, iterations: 4, seed: 3)))
    }

    /// Segments of one code kind are searched as the runs of one store, deletions skipped by
    /// position (`searchTogether`); a second segment starting at row 450 crosses 64-row words.
    static func checkDeletionsAcrossWords<I: SegmentIndex>(_ template: I) throws {
        let index = LiveIndex(template: template, policy: MergePolicy(maxSegments: 64, maxDeletedFraction: 1, flushItems: 1 << 20))
        var next: Int64 = 0
        for (i, n) in [450, 130].enumerated() {
            let ids = (0..<n).map { _ in next += 1; return next }
            try index.add(FeatureBatch(TestData.gaussian(rows: n, columns: Self.d, seed: 906 + UInt64(i))), ids: ids)
            if i == 0 { try index.compact() }      // segments of 450 and 130 rows: the second starts at 450
        }
        #expect(index.snapshot().segments.map(\.index.count) == [450, 130])
        // Every row whose position or in-segment row is near a 64-row word edge or a batch start
        // (ids are insertion order + 1).
        let removed = Set((1...next).filter { id in
            let p = Int(id - 1)
            return [0, 1, 62, 63].contains(p % 64) || [449, 450, 451, 579].contains(p)
        })
        try index.remove(ids: Array(removed))
        let live = Set(1...next).subtracting(removed)
        let r = try index.search(FeatureBatch(TestData.gaussian(rows: 3, columns: Self.d, seed: 907)),
                                 parameters: SearchParameters(k: Int(next), rerank: Int(next)))
        for q in 0..<3 { #expect(Set(r.ids(ofQuery: q).filter { $0 >= 0 }) == live, "\(I.self)") }
    }

    /// Each query's best items deleted: the first fast-scan chunk's floor, counted over items
    /// the deletions then reject, must be lowered until k accepted items lie above it (and the
    /// reservoir tests its pairs in batches). Every search between writes shares one cached
    /// union, so each result is checked after each write against a rebuilt index.
    @Test("deleting each query's best items: live pq4 search equals a rebuilt index after every write")
    func deletedBestItems() throws {
        let pq = try ProductQuantizer.train(TestData.gaussian(rows: 600, columns: Self.d, seed: 905), subspaces: 8, bitsPerCode: 4,
                                            iterations: 4, seed: 3)
        let template = try PQ4Index(quantizer: pq)
        let index = LiveIndex(template: template, policy: MergePolicy(maxSegments: 64, maxDeletedFraction: 1, flushItems: 1 << 20))
        var live: [Int64: [Float]] = [:]
        let x = TestData.gaussian(rows: 6_000, columns: Self.d, seed: 908)
        for (b, range) in [0..<4_000, 4_000..<5_500, 5_500..<6_000].enumerated() {
            let ids = range.map { Int64($0) }
            try index.add(FeatureBatch(x.slicing(rows: range)), ids: ids)
            for i in range { live[Int64(i)] = x.row(i) }
            if b == 0 { try index.compact() }
        }
        let queries = FeatureBatch(TestData.gaussian(rows: 4, columns: Self.d, seed: 909))
        let p = SearchParameters(k: 10)
        for round in 0..<3 {
            // The current best 150 of each query (more than the reservoir's depth of 100) go.
            let best = try index.search(queries, parameters: SearchParameters(k: 150, rerank: 150))
            let doomed = Array(Set((0..<queries.count).flatMap { best.ids(ofQuery: $0) }.filter { $0 >= 0 }))
            try index.remove(ids: doomed)
            for id in doomed { live[id] = nil }
            let want = try Self.reference(template, live).search(queries, parameters: p)
            let first = try index.search(queries, parameters: p), again = try index.search(queries, parameters: p)
            #expect(first.ids == want.ids, "round \(round)")
            #expect(again.ids == want.ids && again.scores == first.scores, "round \(round): the cached union")
        }
    }

    /// Two-stage (dns) segments merge with their cold stores: 4-bit frame codes packed two per
    /// byte and a coarse refiner's codes gathered row by row. After tail merges, removes, an
    /// upsert and `compact()`, the one segment equals a two-stage index rebuilt over the live items.
    @Test("two-stage segments merge with their cold frame stores: equal to a rebuilt index")
    func twoStageMerges() throws {
        let d = TwoStageIndexTests.d
        let data = ModelFixtures.data(count: 90, dimension: d, seed: 520)
        let model = try ModelFixtures.model(mode: .joint, levels: 0, dimension: d)
        var fine = try TwoStageIndexTests.fine(weight: 0.6, bits: 4)
        fine.coarseRefiner = try ProductQuantizer(dimension: d, subspaces: 8, bitsPerCode: 8,
                                                  codebooks: TestData.gaussian(rows: 8 * 256, columns: 2, seed: 521).values)
        let template = try TwoStageIndex(model: model, fine: fine)
        let index = LiveIndex(template: AnyIndex.twoStage(template))
        func batch(_ items: [Int]) -> FeatureBatch {
            FeatureBatch(data.targets.gathering(rows: items), sequences: data.frames!.gathering(items: items))
        }
        for b in 0..<6 { try index.add(batch(Array((b * 15)..<((b + 1) * 15))), ids: ((b * 15)..<((b + 1) * 15)).map(Int64.init)) }
        #expect(index.segmentCount < 6, "tail segments of two-stage indexes merge")
        try index.remove(ids: [3, 17, 40, 41, 88])
        try index.upsert(batch([5]), ids: [20])                  // id 20 now holds item 5
        try index.compact()
        #expect(index.segmentCount == 1)
        var live = (0..<90).filter { ![3, 17, 40, 41, 88, 20].contains($0) }.map { ($0, $0) }
        live.append((20, 5))
        var reference = template
        try reference.add(batch(live.map(\.1)), ids: live.map { Int64($0.0) })
        let queries = FeatureBatch(data.queries.slicing(rows: 0..<6), sequences: data.queryTokens!.gathering(items: Array(0..<6)))
        let p = SearchParameters(k: 5, rerank: 20)
        #expect(try index.search(queries, parameters: p) == reference.search(queries, parameters: p))
    }

    /// IVF segments (8-bit codes: the per-segment top-k are exact, so their merge is too): after
    /// churn, flushes and reopening, and after `compact()`, a live IVF index equals an IVF index
    /// rebuilt over the live items with the same centroids, at nprobe 3 and at nprobe = nlist;
    /// a filter applies inside every segment.
    @Test("IVF segments (lists of items or residual lists): a live IVF index equals one rebuilt over the live items, through reopening and compact()", arguments: [false, true])
    func ivfSegments(residual: Bool) throws {
        let train = TestData.gaussian(rows: 600, columns: Self.d, seed: 930)
        let template = try IVFIndex(centroids: IVFIndex.trainCentroids(train, lists: 8), quantizer: try Self.quantizer(), residual: residual)
        let dir = TestData.temporaryDirectory() + "/live-ivf"
        var live: [Int64: [Float]] = [:]
        let q = FeatureBatch(TestData.gaussian(rows: 6, columns: Self.d, seed: 931))
        func check(_ index: LiveIndex<IVFIndex>, _ label: String) throws {
            let reference = try Self.reference(template, live)
            for nprobe in [3, 8] {
                var p = SearchParameters(k: 7)
                p.nprobe = nprobe
                #expect(try index.search(q, parameters: p).ids == reference.search(q, parameters: p).ids, "\(label), nprobe \(nprobe)")
                p.filter = .predicate { $0 % 3 != 0 }
                #expect(try index.search(q, parameters: p).ids == reference.search(q, parameters: p).ids, "\(label), filtered")
            }
        }
        do {
            let index = try LiveIndex.create(directory: dir, template: template, policy: MergePolicy(maxSegments: 3, maxDeletedFraction: 0.2, flushItems: 1 << 30))
            for round in 0..<3 {
                try Self.churn(index, live: &live, steps: 40, seed: 40 + UInt64(round))
                try index.commit()
                try index.flush()
            }
            try check(index, "written")
        }
        let reopened = try LiveIndex<IVFIndex>.open(directory: dir, mapping: true)
        #expect(reopened.count == live.count && reopened.segmentCount > 1)
        #expect(reopened.snapshot().segments.allSatisfy { $0.index.residual == residual })
        try check(reopened, "reopened")
        try reopened.compact()
        #expect(reopened.segmentCount == 1)
        try check(reopened, "compacted")
    }

    @Test("duplicate, negative and unknown ids are typed errors that change nothing; automatic ids never collide")
    func idRules() throws {
        let index = LiveIndex(template: PQIndex(quantizer: try Self.quantizer()))
        let x = TestData.gaussian(rows: 4, columns: Self.d, seed: 903)
        try index.add(FeatureBatch(x), ids: [5, 6, 7, 8])
        #expect(throws: LiveIndexError.duplicateId(6)) { try index.add(FeatureBatch(x), ids: [1, 6, 2, 3]) }
        #expect(throws: LiveIndexError.duplicateId(2)) { try index.add(FeatureBatch(x), ids: [1, 2, 2, 3]) }
        #expect(throws: LiveIndexError.negativeId(-1)) { try index.add(FeatureBatch(x), ids: [1, 2, -1, 3]) }
        #expect(throws: LiveIndexError.unknownId(99)) { try index.remove(ids: [5, 99]) }
        #expect(throws: LiveIndexError.index(.dimensionMismatch(expected: 16, found: 3))) {
            try index.add(FeatureBatch(Matrix(rows: 1, columns: 3)), ids: [50])
        }
        var bad = x
        bad.values[5] = .nan
        #expect(throws: LiveIndexError.index(.nonFinite(row: 0))) { try index.add(FeatureBatch(bad), ids: [60, 61, 62, 63]) }
        #expect(index.count == 4 && [5, 6, 7, 8].allSatisfy(index.contains))
        // Bad queries are typed errors even on an empty index; k ≤ 0 too.
        let empty = LiveIndex(template: PQIndex(quantizer: try Self.quantizer()))
        #expect(throws: LiveIndexError.index(.dimensionMismatch(expected: 16, found: 3))) {
            try empty.search(FeatureBatch(Matrix(rows: 1, columns: 3)), parameters: SearchParameters(k: 3))
        }
        #expect(throws: LiveIndexError.index(.invalidK(0))) { try index.search(FeatureBatch(x), parameters: SearchParameters(k: 0)) }
        #expect(try empty.search(FeatureBatch(x), parameters: SearchParameters(k: 3)).ids.allSatisfy { $0 == -1 })
        let auto = try index.add(FeatureBatch(x))
        #expect(auto == [9, 10, 11, 12], "automatic ids start above every id seen")
        try index.upsert(FeatureBatch(x.slicing(rows: 0..<2)), ids: [6, 100])
        #expect(index.count == 9)
        #expect(try index.add(FeatureBatch(x.slicing(rows: 0..<1))) == [101])
        // An id returns only once, with its newest vector.
        let r = try index.search(FeatureBatch(x.slicing(rows: 0..<1)), parameters: SearchParameters(k: 20))
        let ids = r.ids(ofQuery: 0).filter { $0 >= 0 }
        #expect(Set(ids).count == ids.count && ids.count == 10)
    }

    @Test("a snapshot sees the writes before it and none after; k is capped at the items visible")
    func snapshotIsolation() throws {
        let index = LiveIndex(template: FlatIndex(dimension: Self.d))
        let x = TestData.gaussian(rows: 30, columns: Self.d, seed: 904)
        try index.add(FeatureBatch(x.slicing(rows: 0..<10)), ids: Array(0..<10))
        let before = index.snapshot()
        try index.add(FeatureBatch(x.slicing(rows: 10..<30)), ids: Array(10..<30))
        try index.remove(ids: [0, 1, 2])
        let after = index.snapshot()
        #expect(before.count == 10 && after.count == 27)
        let q = FeatureBatch(x.slicing(rows: 0..<3))
        let r0 = try before.search(q, parameters: SearchParameters(k: 50))
        #expect(r0.k == 10, "k capped at the 10 items visible")
        for i in 0..<3 { #expect(Set(r0.ids(ofQuery: i)) == Set(0..<10)) }
        let r1 = try after.search(q, parameters: SearchParameters(k: Int.max))
        #expect(r1.k == 27)
        for i in 0..<3 { #expect(Set(r1.ids(ofQuery: i)) == Set(3..<30)) }
    }

    @Test("filters apply inside the scan of every segment; 1 % kept still fills k")
    func filters() throws {
        let index = LiveIndex(template: PQIndex(quantizer: try Self.quantizer()))
        let x = TestData.gaussian(rows: 1000, columns: Self.d, seed: 905)
        for s in stride(from: 0, to: 1000, by: 100) { try index.add(FeatureBatch(x.slicing(rows: s..<(s + 100))), ids: (s..<(s + 100)).map(Int64.init)) }
        try index.remove(ids: [0, 100, 200])
        let keep = Set((0..<1000).filter { $0 % 100 < 1 || $0 % 97 == 0 }.map(Int64.init))   // ~2 %, some deleted
        let q = FeatureBatch(x.slicing(rows: 500..<504))
        for f in [IDFilter.allow(keep), .predicate { keep.contains($0) }] {
            let r = try index.search(q, parameters: SearchParameters(k: 5, filter: f))
            for i in 0..<4 {
                let ids = r.ids(ofQuery: i)
                #expect(ids.count == 5 && ids.allSatisfy { $0 >= 0 && keep.contains($0) && ![0, 100, 200].contains($0) })
            }
        }
        let deny = try index.search(q, parameters: SearchParameters(k: 5, filter: .deny([500, 501])))
        #expect(!deny.ids.contains(500) && !deny.ids.contains(501))
    }

    @Test("a sharded search (by id range) merged by (score, id) equals the unsharded one")
    func sharding() throws {
        let q = try Self.quantizer()
        let x = TestData.gaussian(rows: 300, columns: Self.d, seed: 906)
        let whole = LiveIndex(template: PQIndex(quantizer: q))
        let shards = (0..<3).map { _ in LiveIndex(template: PQIndex(quantizer: q)) }
        try whole.add(FeatureBatch(x), ids: (0..<300).map(Int64.init))
        for s in 0..<3 { try shards[s].add(FeatureBatch(x.slicing(rows: (s * 100)..<((s + 1) * 100))), ids: ((s * 100)..<((s + 1) * 100)).map(Int64.init)) }
        let queries = FeatureBatch(TestData.gaussian(rows: 6, columns: Self.d, seed: 907))
        let p = SearchParameters(k: 8)
        let want = try whole.search(queries, parameters: p)
        let parts = try shards.map { try $0.search(queries, parameters: p) }
        for i in 0..<6 {
            var top = TopK(k: 8)
            for r in parts { for (s, id) in zip(r.scores(ofQuery: i), r.ids(ofQuery: i)) where id >= 0 { top.offer(score: s, id: id) } }
            #expect(top.sorted().map(\.id) == want.ids(ofQuery: i))
        }
    }
}
