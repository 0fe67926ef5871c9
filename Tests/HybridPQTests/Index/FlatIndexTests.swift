import Testing
import HybridPQ

@Suite("Flat index")
struct FlatIndexTests {
    @Test("search equals brute-force scoring and sorting", arguments: [Metric.innerProduct, .l2])
    func bruteForce(metric: Metric) throws {
        let x = TestData.gaussian(rows: 9000, columns: 10, seed: 1)   // > one BLAS block
        let q = TestData.gaussian(rows: 300, columns: 10, seed: 2)    // > one query block
        var index = FlatIndex(dimension: 10, metric: metric)
        let ids = (0..<9000).map { Int64(100_000 - 7 * $0) }
        try index.add(x.slicing(rows: 0..<4000), ids: Array(ids[0..<4000]))
        try index.add(x.slicing(rows: 4000..<9000), ids: Array(ids[4000...]))
        let r = try index.search(q, k: 7, threads: 2)
        for qi in stride(from: 0, to: 300, by: 17) {
            let exact = (0..<9000).map { i -> Double in
                metric == .innerProduct ? TestData.dot(q.rowSlice(qi), x.rowSlice(i))
                    : -zip(q.rowSlice(qi), x.rowSlice(i)).reduce(0.0) { $0 + Double($1.0 - $1.1) * Double($1.0 - $1.1) }
            }
            let order = exact.indices.sorted { exact[$0] > exact[$1] }
            let got = Array(r.ids(ofQuery: qi))
            // Identical except where Float rounding reorders near-ties.
            for (j, id) in got.enumerated() {
                let i = ids.firstIndex(of: id)!
                #expect(abs(exact[i] - exact[order[j]]) < 1e-4 * max(1, abs(exact[order[j]])))
            }
        }
        #expect(try index.search(q, k: 7, threads: 1) == r)
    }

    @Test("k is capped at the item count (k = Int.max sizes nothing); a filter leaving fewer than k pads with -1")
    func padding() throws {
        var index = FlatIndex(dimension: 3)
        try index.add(Matrix(rowVectors: [[1, 0, 0], [0, 1, 0], [0, 0, 1]]), ids: nil)
        let q = Matrix(rowVectors: [[1, 0.5, 0]])
        let r = try index.search(q, k: 4, threads: nil)
        #expect(r.k == 3 && Array(r.ids(ofQuery: 0)) == [0, 1, 2])
        #expect(try index.search(q, parameters: SearchParameters(k: Int.max, rerank: Int.max)).k == 3)
        let f = try index.search(q, parameters: SearchParameters(k: 3, filter: .deny([1, 2])))
        #expect(Array(f.ids(ofQuery: 0)) == [0, -1, -1])
        #expect(f.scores(ofQuery: 0).last == -.infinity)
        var pq = PQIndex(quantizer: try ProductQuantizer.train(TestData.gaussian(rows: 300, columns: 4, seed: 3), subspaces: 2, iterations: 2, seed: 1))
        try pq.add(TestData.gaussian(rows: 5, columns: 4, seed: 4))
        #expect(try pq.search(FeatureBatch(TestData.gaussian(rows: 2, columns: 4, seed: 5)), parameters: SearchParameters(k: Int.max, rerank: Int.max)).k == 5)
    }

    @Test("bad input is a typed error")
    func errors() throws {
        var index = FlatIndex(dimension: 3)
        #expect(throws: IndexError.dimensionMismatch(expected: 3, found: 2)) { try index.add(Matrix(rows: 1, columns: 2), ids: nil) }
        #expect(throws: IndexError.idCountMismatch(vectors: 2, ids: 1)) { try index.add(Matrix(rows: 2, columns: 3), ids: [1]) }
        #expect(throws: IndexError.nonFinite(row: 1)) {
            try index.add(Matrix(rowVectors: [[1, 2, 3], [1, .infinity, 0]]), ids: nil)
        }
        #expect(index.count == 0) // nothing half-added
        #expect(throws: IndexError.invalidK(0)) { try index.search(Matrix(rows: 1, columns: 3), k: 0, threads: nil) }
    }
}
