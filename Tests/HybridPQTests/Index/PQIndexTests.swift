import Testing
import HybridPQ

@Suite("PQ index")
struct PQIndexTests {
    static let train = TestData.gaussian(rows: 3000, columns: 32, seed: 31)

    /// The ADC score of every item for every query, by the reference kernel, and the expected
    /// top-k by sorting those scores.
    static func reference(_ index: PQIndex, _ queries: Matrix, ids: [Int64], k: Int) throws -> [[Int64]] {
        let tables = try index.quantizer.lookupTables(queries, metric: index.metric)
        let codes = index.store.onlyRun.codes.array
        return (0..<queries.rows).map { q in
            let t = Array(tables.table(q))
            let m = index.quantizer.subspaces
            let scores = (0..<index.count).map { i -> Float in
                var even: Float = 0, odd: Float = 0
                for s in 0..<m {
                    let v = t[s * index.quantizer.codewords + Int(codes[i * m + s])]
                    if s % 2 == 0 { even += v } else { odd += v }
                }
                return even + odd
            }
            return TestData.sortedTopK(scores: scores, ids: ids, k: k)
        }
    }

    @Test("top-k equals a sort over reference ADC scores", arguments: [(8, 8, Metric.l2), (16, 8, .innerProduct), (32, 8, .l2), (8, 5, .l2)])
    func matchesReference(m: Int, bits: Int, metric: Metric) throws {
        let pq = try ProductQuantizer.train(Self.train, subspaces: m, bitsPerCode: bits, iterations: 8)
        var index = PQIndex(quantizer: pq, metric: metric)
        let x = TestData.gaussian(rows: 2501, columns: 32, seed: 32)
        let ids = (0..<2501).map { Int64(($0 * 7919) % 2501) + 10 }
        try index.add(x, ids: ids)
        let q = TestData.gaussian(rows: 23, columns: 32, seed: 33)
        let r = try index.search(q, k: 10, threads: 2)
        let expected = try Self.reference(index, q, ids: ids, k: 10)
        for qi in 0..<23 { #expect(Array(r.ids(ofQuery: qi)) == expected[qi]) }
    }

    @Test("multi-threaded search equals single-threaded, query- and database-parallel")
    func threads() throws {
        let pq = try ProductQuantizer.train(Self.train, subspaces: 8, iterations: 5)
        var index = PQIndex(quantizer: pq)
        try index.add(TestData.gaussian(rows: 70_000, columns: 32, seed: 34), ids: nil)
        let q = TestData.gaussian(rows: 5, columns: 32, seed: 35)
        let one = try index.search(q, k: 15, threads: 1)
        #expect(try index.search(q, k: 15, threads: 2) == one)      // 5 queries ≥ 2 threads: query-parallel
        #expect(try index.search(q, k: 15, threads: 8) == one)      // 5 queries < 8 threads: database-parallel
        let single = try index.search(q.slicing(rows: 2..<3), k: 15, threads: 4)
        #expect(Array(single.ids(ofQuery: 0)) == Array(one.ids(ofQuery: 2)))
    }

    @Test("ADC search ranks by the score of the decoded vectors")
    func decodedScores() throws {
        let pq = try ProductQuantizer.train(Self.train, subspaces: 8, iterations: 5)
        var index = PQIndex(quantizer: pq, metric: .innerProduct)
        let x = TestData.gaussian(rows: 500, columns: 32, seed: 36)
        try index.add(x, ids: nil)
        let decoded = try pq.decode(index.store.onlyRun.codes.array)
        let q = TestData.gaussian(rows: 4, columns: 32, seed: 37)
        let r = try index.search(q, k: 5, threads: 1)
        for qi in 0..<4 {
            for (j, id) in r.ids(ofQuery: qi).enumerated() {
                let exact = TestData.dot(q.rowSlice(qi), decoded.rowSlice(Int(id)))
                #expect(abs(Double(r.scores(ofQuery: qi)[j]) - exact) < 1e-4 * max(1, abs(exact)))
            }
        }
    }

    @Test("bad input is a typed error")
    func errors() throws {
        var index = PQIndex(quantizer: try ProductQuantizer.train(Self.train, subspaces: 4, iterations: 2))
        #expect(throws: IndexError.dimensionMismatch(expected: 32, found: 31)) {
            try index.add(Matrix(rows: 1, columns: 31), ids: nil)
        }
        #expect(throws: IndexError.invalidK(-1)) { try index.search(Matrix(rows: 1, columns: 32), k: -1, threads: nil) }
        var q = Matrix(rows: 2, columns: 32)
        q[1, 4] = .nan
        #expect(throws: IndexError.nonFinite(row: 1)) { try index.search(q, k: 1, threads: nil) }
    }
}
