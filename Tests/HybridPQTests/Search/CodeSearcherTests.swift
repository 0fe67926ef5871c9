import Testing
import HybridPQ

/// The one search path over codes (`CodeSearcher` through `PQIndex` and `PQ4Index`): the ADC and
/// fast-scan strategies over stores of several runs, the filter as the collectors' accept hook,
/// and the split over threads (`ParallelSearch`), each against a sort-based reference.
@Suite("Search pipeline: scan strategies over runs, filters, threads")
struct CodeSearcherTests {
    static let dim = 16
    static let train = TestData.gaussian(rows: 1500, columns: dim, seed: 301)

    /// Sort-based reference: the exact ADC table score of every accepted item, best `k` by (score, id).
    static func reference(tables: LookupTables, codes: [[Int]], ids: [Int64], k: Int,
                          accept: (Int64) -> Bool = { _ in true }) -> [[Int64]] {
        (0..<tables.queries).map { q in
            let t = Array(tables.table(q))
            let kept = ids.indices.filter { accept(ids[$0]) }
            let scores = kept.map { i in
                (0..<codes[i].count).reduce(Float(0)) { s, m in s + t[m * tables.codewords + codes[i][m]] }
            }
            return TestData.sortedTopK(scores: scores, ids: kept.map { ids[$0] }, k: k)
        }
    }

    /// A store of `n` items in `runs` runs (sizes uneven, ids not in position order).
    static func store(_ layout: CodeLayout, codes: [UInt8], ids: [Int64], runs: Int) throws -> CodeStore {
        var s = CodeStore(layout: layout)
        let m = layout.subspaces, n = ids.count
        for r in 0..<runs {
            let lo = n * r * r / (runs * runs), hi = n * (r + 1) * (r + 1) / (runs * runs)   // uneven sizes
            try s.append(codes: Array(codes[(lo * m)..<(hi * m)]), ids: Array(ids[lo..<hi]))
            s.startRun()
        }
        return s
    }

    @Test("appending to any run (inverted lists) keeps positions and ids consistent; searches equal the reference", arguments: [false, true])
    func appendToAnyRun(fastScan: Bool) throws {
        let pq = try ProductQuantizer.train(Self.train, subspaces: 4, bitsPerCode: fastScan ? 4 : 8, iterations: 4)
        let layout: CodeLayout = fastScan ? .fastScan(FastScanLayout(subspaces: 4)) : .rows(bytesPerItem: 4)
        let n = 300
        let x = TestData.gaussian(rows: n, columns: Self.dim, seed: 310)
        let codes = try pq.encode(x)
        var store = CodeStore(layout: layout, emptyRuns: 5)
        var rng = SeededGenerator(seed: 311)
        var lists = [[Int]](repeating: [], count: 5)
        for start in stride(from: 0, to: n, by: 17) {
            let r = Int(rng.next() % 5), rows = Array(start..<min(n, start + 17))
            try store.append(codes: rows.flatMap { i in Array(codes[(i * 4)..<(i * 4 + 4)]) }, ids: rows.map { Int64($0) }, toRun: r)
            lists[r] += rows
        }
        #expect(throws: IndexError.self) { try store.append(codes: [], ids: [], toRun: 5) }
        #expect(store.count == n && store.offsets == [0] + (0..<5).map { r in lists[0...r].reduce(0) { $0 + $1.count } })
        // Position p holds the p-th item of the lists in run order.
        let order = lists.flatMap { $0 }
        store.withRuns { runs in
            for (p, i) in order.enumerated() {
                let v = runs.first { $0.offset <= p && p < $0.offset + $0.count }!
                #expect(v.ids![p - v.offset] == Int64(i))
            }
        }
        let q = TestData.gaussian(rows: 5, columns: Self.dim, seed: 312)
        let tables = try pq.lookupTables(q, metric: .l2)
        let perItem = (0..<n).map { i in (0..<4).map { Int(codes[i * 4 + $0]) } }
        let want = Self.reference(tables: tables, codes: perItem, ids: (0..<n).map(Int64.init), k: 8)
        let r: SearchResults
        if fastScan {
            r = try PQ4Index(quantizer: pq, metric: .l2, store: store).search(q, parameters: SearchParameters(k: 8, rerank: n))
        } else {
            r = try PQIndex(quantizer: pq, metric: .l2, store: store).search(q, parameters: SearchParameters(k: 8))
        }
        for qi in 0..<5 { #expect(r.ids(ofQuery: qi) == want[qi]) }
    }

    @Test("8-bit ADC over 1 or 3 runs equals the sort-based reference, with and without filters", arguments: [1, 3])
    func adcRuns(runs: Int) throws {
        let pq = try ProductQuantizer.train(Self.train, subspaces: 4, iterations: 4)
        let n = 700
        let x = TestData.gaussian(rows: n, columns: Self.dim, seed: 302)
        let codes = try pq.encode(x)
        let ids = (0..<n).map { Int64((n - $0) * 7 % 1009) }
        let index = try PQIndex(quantizer: pq, metric: .l2, store: Self.store(.rows(bytesPerItem: 4), codes: codes, ids: ids, runs: runs))
        #expect(index.store.runs.count >= runs && index.count == n)
        // Saved as one run, loaded back: the same answers.
        let path = TestData.temporaryDirectory() + "/runs.hpq"
        try index.save(to: path)
        let back = try PQIndex.load(from: path)
        #expect(back.store.runs.count == 1)
        let q = TestData.gaussian(rows: 9, columns: Self.dim, seed: 303)
        let tables = try pq.lookupTables(q, metric: .l2)
        let perItem = (0..<n).map { i in (0..<4).map { Int(codes[i * 4 + $0]) } }
        let filters: [(IDFilter?, (Int64) -> Bool)] = [
            (nil, { _ in true }),
            (.allow(Set(ids.filter { $0 % 3 == 0 })), { $0 % 3 == 0 }),
            (.deny(Set(ids.filter { $0 % 2 == 0 })), { $0 % 2 != 0 }),
            (.predicate { $0 < 50 }, { $0 < 50 }),
        ]
        for (filter, accept) in filters {
            let r = try index.search(q, parameters: SearchParameters(k: 12, threads: 2, filter: filter))
            let want = Self.reference(tables: tables, codes: perItem, ids: ids, k: 12, accept: accept)
            for qi in 0..<9 { #expect(Array(r.ids(ofQuery: qi).prefix(want[qi].count)) == want[qi]) }
            #expect(try back.search(q, parameters: SearchParameters(k: 12, threads: 2, filter: filter)) == r)
        }
    }

    @Test("4-bit fast scan over 1 or 3 runs, exhaustive re-ranking, equals the reference, with filters", arguments: [1, 3])
    func fastScanRuns(runs: Int) throws {
        let pq = try ProductQuantizer.train(Self.train, subspaces: 8, bitsPerCode: 4, iterations: 4)
        let n = 650
        let x = TestData.gaussian(rows: n, columns: Self.dim, seed: 304)
        let codes = try pq.encode(x)
        let ids = (0..<n).map { Int64(($0 * 31) % 2003) }
        let layout = FastScanLayout(subspaces: 8)
        let index = try PQ4Index(quantizer: pq, metric: .innerProduct,
                                 store: Self.store(.fastScan(layout), codes: codes, ids: ids, runs: runs))
        let path = TestData.temporaryDirectory() + "/runs4.hpq"
        try index.save(to: path)
        let back = try PQ4Index.load(from: path)
        let q = TestData.gaussian(rows: 7, columns: Self.dim, seed: 305)
        let tables = try pq.lookupTables(q, metric: .innerProduct)
        let perItem = (0..<n).map { i in (0..<8).map { Int(codes[i * 8 + $0]) } }
        for (filter, accept) in [(nil, { (_: Int64) in true }), (IDFilter.predicate { $0 % 5 == 1 }, { (id: Int64) in id % 5 == 1 })] {
            for kernel in FastScanKernel.available {
                // Re-ranking every item: the result is the exact 4-bit ADC top-k of the accepted items.
                let p = SearchParameters(k: 10, threads: 2, rerank: n, kernel: kernel, filter: filter)
                let r = try index.search(q, parameters: p)
                let want = Self.reference(tables: tables, codes: perItem, ids: ids, k: 10, accept: accept)
                for qi in 0..<7 { #expect(r.ids(ofQuery: qi) == want[qi], "\(kernel)") }
                #expect(try back.search(q, parameters: p) == r, "saved as one run")
            }
        }
    }

    @Test("a filter keeping 1 % of the items still returns k results")
    func selectiveFilter() throws {
        let pq = try ProductQuantizer.train(Self.train, subspaces: 8, bitsPerCode: 4, iterations: 4)
        var index = try PQ4Index(quantizer: pq)
        try index.add(TestData.gaussian(rows: 3000, columns: Self.dim, seed: 306))
        let keep = Set((0..<30).map { Int64($0 * 100) })           // 1 % of the ids
        let r = try index.search(TestData.gaussian(rows: 3, columns: Self.dim, seed: 307),
                                 parameters: SearchParameters(k: 10, filter: .allow(keep)))
        for qi in 0..<3 {
            let got = r.ids(ofQuery: qi)
            #expect(got.allSatisfy { keep.contains($0) } && Set(got).count == 10)
        }
    }

    @Test("split by query or by position range over several runs gives the single-threaded answer")
    func threadsOverRuns() throws {
        // ≥ 2 × 32,768 items and fewer queries than threads: the database-parallel path.
        let pq = try ProductQuantizer.train(Self.train, subspaces: 2, iterations: 3)
        let n = 70_000
        let x = TestData.gaussian(rows: n, columns: Self.dim, seed: 308)
        let ids = (0..<n).map { Int64($0) }
        let index = try PQIndex(quantizer: pq, metric: .l2,
                                store: Self.store(.rows(bytesPerItem: 2), codes: pq.encode(x), ids: ids, runs: 4))
        let q = TestData.gaussian(rows: 3, columns: Self.dim, seed: 309)
        let one = try index.search(q, parameters: SearchParameters(k: 20, threads: 1))
        #expect(try index.search(q, parameters: SearchParameters(k: 20, threads: 8)) == one)   // by position range
        #expect(try index.search(q, parameters: SearchParameters(k: 20, threads: 2)) == one)   // by query
        let tables = try pq.lookupTables(q, metric: .l2)
        let codes = try pq.encode(x)
        let want = Self.reference(tables: tables, codes: (0..<n).map { i in [Int(codes[2 * i]), Int(codes[2 * i + 1])] }, ids: ids, k: 20)
        for qi in 0..<3 { #expect(one.ids(ofQuery: qi) == want[qi]) }
    }

    @Test("bad parameters and stores are typed errors naming the setting")
    func badParameters() throws {
        let pq = try ProductQuantizer.train(Self.train, subspaces: 4, iterations: 2)
        var index = PQIndex(quantizer: pq)
        try index.add(TestData.gaussian(rows: 10, columns: Self.dim, seed: 310))
        let q = TestData.gaussian(rows: 1, columns: Self.dim, seed: 311)
        #expect(throws: IndexError.invalidK(0)) { try index.search(q, parameters: SearchParameters(k: 0)) }
        #expect(throws: IndexError.invalidParameter(name: "threads", value: 0, reason: "must be ≥ 1")) {
            try index.search(q, parameters: SearchParameters(k: 1, threads: 0))
        }
        #expect(throws: IndexError.invalidParameter(name: "rerank", value: -3, reason: "must be ≥ 1")) {
            try index.search(q, parameters: SearchParameters(k: 1, rerank: -3))
        }
        #expect(throws: IndexError.invalidParameter(name: "nprobe", value: 0, reason: "must be ≥ 1")) {
            try index.search(q, parameters: SearchParameters(k: 1, nprobe: 0))
        }
        #expect(throws: IndexError.inconsistentStore(reason: "a run of 2 items holds 3 code bytes, expected 8")) {
            try CodeStore(layout: .rows(bytesPerItem: 4), runs: [CodeRun(codes: StoredArray([1, 2, 3]), ids: StoredArray([1, 2]))])
        }
        #expect(throws: IndexError.inconsistentStore(reason: "layout rows(bytesPerItem: 5) does not fit 4 one-byte codes")) {
            try PQIndex(quantizer: pq, store: CodeStore(layout: .rows(bytesPerItem: 5)))
        }
        #expect(SearchParameters.defaultRerank(k: .max) == .max)
        // A re-ranking depth beyond the item count is every item, not a trap.
        var fs = try PQ4Index(quantizer: ProductQuantizer.train(Self.train, subspaces: 4, bitsPerCode: 4, iterations: 2))
        try fs.add(TestData.gaussian(rows: 40, columns: Self.dim, seed: 312))
        #expect(try fs.search(q, parameters: SearchParameters(k: 3, rerank: .max)) == fs.search(q, parameters: SearchParameters(k: 3, rerank: 40)))
        #expect(SearchParameters(k: 10).rerankDepth == 100 && SearchParameters(k: 10, rerank: 3).rerankDepth == 10)
    }
}
