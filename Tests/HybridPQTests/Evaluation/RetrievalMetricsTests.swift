import Testing
import HybridPQ

@Suite("Retrieval metrics")
struct RetrievalMetricsTests {
    @Test("R@k and median rank from hand-made results")
    func handMade() {
        var r = SearchResults(queries: 4, k: 3)
        r.ids = [0, 5, 6,   7, 1, 8,   9, 9, 2,   4, 4, 4]   // ranks 1, 2, 3, not found
        let m = RetrievalMetrics(results: r, expected: [0, 1, 2, 3])
        #expect(m.recallAt1 == 0.25 && m.recallAt5 == 0.75 && m.recallAt10 == 0.75)
        #expect(m.medianRank == 2.5)
        let n = RetrievalMetrics(results: r, expected: [5, 5, 5, 3])  // only beyond depth / rank 2
        #expect(n.medianRank == nil)
        #expect(abs(RetrievalMetrics.standardError(0.8, queries: 2000) - 0.008944) < 1e-5)
    }

    @Test("overlap with exact results")
    func overlap() {
        var a = SearchResults(queries: 1, k: 10), b = SearchResults(queries: 1, k: 10)
        a.ids = (0..<10).map { Int64($0) }
        b.ids = (5..<15).map { Int64($0) }
        #expect(RetrievalMetrics.overlap(a, exact: b) == 0.5)
    }
}
