/// Cross-view retrieval quality: query i should find item i.
///
/// R@k is the fraction of queries whose matching item is among the first k results; MdR is the
/// median 1-based rank of the matching item. Ranks are read from search results of depth
/// `results.k`: a matching item not found within that depth has rank > depth, so MdR is exact
/// while at least half of the queries find their item within the depth, and `nil` otherwise.
public struct RetrievalMetrics: Sendable, Equatable {
    /// R@1, R@5, R@10 (fractions in [0, 1]).
    public var recallAt1: Double
    public var recallAt5: Double
    public var recallAt10: Double
    /// Median rank (1-based), `nil` when it lies beyond the search depth.
    public var medianRank: Double?
    /// Number of queries evaluated.
    public var queries: Int

    /// Standard error of a recall fraction p over n queries: √(p(1−p)/n).
    public static func standardError(_ p: Double, queries n: Int) -> Double {
        n > 0 ? (p * (1 - p) / Double(n)).squareRoot() : 0
    }

    /// Metrics for `results`, where query q's matching item has id `expected[q]`.
    public init(results: SearchResults, expected: [Int64]) {
        precondition(expected.count == results.queries, "one expected id per query")
        let nq = results.queries
        var ranks = [Int](repeating: Int.max, count: nq)
        for q in 0..<nq {
            if let r = results.ids(ofQuery: q).firstIndex(of: expected[q]) {
                ranks[q] = r + 1
            }
        }
        func recall(_ k: Int) -> Double { nq == 0 ? 0 : Double(ranks.filter { $0 <= k }.count) / Double(nq) }
        recallAt1 = recall(1)
        recallAt5 = recall(5)
        recallAt10 = recall(10)
        queries = nq
        let sorted = ranks.sorted()
        if nq == 0 {
            medianRank = nil
        } else if nq % 2 == 1 {
            medianRank = sorted[nq / 2] == Int.max ? nil : Double(sorted[nq / 2])
        } else {
            let a = sorted[nq / 2 - 1], b = sorted[nq / 2]
            medianRank = (a == Int.max || b == Int.max) ? nil : Double(a + b) / 2
        }
    }

    /// Mean overlap between each query's first `k` results and its exact first `k`:
    /// ANN recall@k against exact search.
    public static func overlap(_ results: SearchResults, exact: SearchResults, k: Int = 10) -> Double {
        precondition(results.queries == exact.queries, "result batches differ in size")
        guard results.queries > 0 else { return 0 }
        var total = 0
        for q in 0..<results.queries {
            let truth = Set(exact.ids(ofQuery: q).prefix(k).filter { $0 >= 0 })
            total += results.ids(ofQuery: q).prefix(k).filter { truth.contains($0) }.count
        }
        return Double(total) / Double(results.queries * k)
    }
}
