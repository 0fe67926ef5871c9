import Testing
import HybridPQ

@Suite("4-bit fast-scan index")
struct PQ4IndexTests {
    static let train = TestData.gaussian(rows: 2000, columns: 24, seed: 51)

    static func index(m: Int, n: Int, metric: Metric = .l2, columns: Int = 24) throws -> PQ4Index {
        let train = columns == 24 ? Self.train : TestData.gaussian(rows: 2000, columns: columns, seed: 51)
        let pq = try ProductQuantizer.train(train, subspaces: m, bitsPerCode: 4, iterations: 6)
        var index = try PQ4Index(quantizer: pq, metric: metric)
        try index.add(TestData.gaussian(rows: n, columns: columns, seed: 52), ids: (0..<n).map { Int64(n - $0) * 3 })
        return index
    }

    /// Sort-based reference: exact float ADC score of every item, best `rerank` by quantized sum
    /// (ties by position), re-scored exactly, best `k` by (score, id).
    static func reference(_ index: PQ4Index, _ q: Matrix, k: Int, rerank: Int) throws -> [[Int64]] {
        let tables = try index.quantizer.lookupTables(q, metric: index.metric)
        let m = index.quantizer.subspaces
        let codes = index.store.onlyRun.codes.array
        let ids = index.store.onlyRun.ids.array
        return try (0..<q.rows).map { qi in
            let t = Array(tables.table(qi))
            let quantized = t.withUnsafeBufferPointer {
                QuantizedLookupTable(lut: $0.baseAddress!, subspaces: m, paddedSubspaces: index.layout.paddedSubspaces)
            }
            let itemCodes = codes.withUnsafeBufferPointer { p in
                (0..<index.count).map { i in (0..<m).map { index.layout.code(p.baseAddress!, item: i, subspace: $0) } }
            }
            let sums = itemCodes.map { c in Float((0..<m).reduce(0) { $0 + Int(quantized.entries[$1 * 16 + c[$1]]) }) }
            let candidates = TestData.sortedTopK(scores: sums, ids: (0..<index.count).map { Int64($0) }, k: rerank)
            let exact = candidates.map { p in (0..<m).reduce(Float(0)) { $0 + t[$1 * 16 + itemCodes[Int(p)][$1]] } }
            _ = try #require(candidates.count == min(rerank, index.count))
            return TestData.sortedTopK(scores: exact, ids: candidates.map { ids[Int($0)] }, k: k)
        }
    }

    @Test("results equal the sort-based reference for every kernel (odd M, n not a multiple of 32, M ≥ 48: early stopping, first chunks over 2k)",
          arguments: [(3, 1001), (8, 64), (12, 777), (24, 45), (48, 4001), (64, 2500)])
    func matchesReference(m: Int, n: Int) throws {
        let columns = max(24, m)
        let index = try Self.index(m: m, n: n, columns: columns)
        let q = TestData.gaussian(rows: 7, columns: columns, seed: 53)
        for rerank in [10, 50] {
            let expected = try Self.reference(index, q, k: 10, rerank: rerank)
            for kernel in FastScanKernel.available {
                let r = try index.search(q, parameters: SearchParameters(k: 10, threads: 2, rerank: rerank, kernel: kernel))
                for qi in 0..<7 { #expect(Array(r.ids(ofQuery: qi).prefix(min(10, n))) == expected[qi], "\(kernel)") }
            }
        }
    }

    @Test("multi-threaded and database-parallel search equal single-threaded")
    func threads() throws {
        let index = try Self.index(m: 8, n: 70_001)
        let q = TestData.gaussian(rows: 3, columns: 24, seed: 54)
        let one = try index.search(q, k: 10, threads: 1)
        #expect(try index.search(q, k: 10, threads: 8) == one)   // 3 queries < 8 threads: database-parallel
        #expect(try index.search(q, k: 10, threads: 2) == one)
    }

    @Test("re-ranking recovers the exact 4-bit ADC top-1 when enough candidates are kept")
    func rerankRecovers() throws {
        let index = try Self.index(m: 12, n: 3000, metric: .innerProduct)
        let q = TestData.gaussian(rows: 20, columns: 24, seed: 55)
        let all = try index.search(q, parameters: SearchParameters(k: 1, rerank: 3000, kernel: .portable))   // exhaustive exact
        let some = try index.search(q, parameters: SearchParameters(k: 1, rerank: 64, kernel: .best))
        #expect(some == all)
    }

    @Test("save and load round-trip, mapped too")
    func persistence() throws {
        let index = try Self.index(m: 6, n: 100)
        let dir = TestData.temporaryDirectory()
        try index.save(to: dir + "/p.hpq")
        let q = TestData.gaussian(rows: 4, columns: 24, seed: 56)
        for mapping in [false, true] {
            let back = try PQ4Index.load(from: dir + "/p.hpq", mapping: mapping)
            #expect(try back.search(q, k: 5, threads: 1) == index.search(q, k: 5, threads: 1))
        }
        #expect(throws: IndexFileError.wrongKind(path: dir + "/p.hpq", expected: "pq", found: "pq4")) { try PQIndex.load(from: dir + "/p.hpq") }
    }

    @Test("8-bit quantizers are refused")
    func refuses() throws {
        let pq = try ProductQuantizer.train(Self.train, subspaces: 4, bitsPerCode: 8, iterations: 2)
        #expect(throws: IndexError.unsupported("fast scan needs 4-bit codes; the quantizer has 8")) { try PQ4Index(quantizer: pq) }
    }
}
