import Testing
import HybridPQ

@Suite("Top-k selection")
struct TopKTests {
    @Test("equals a sort-based reference, ties broken by id", arguments: [1, 5, 10, 64, 300])
    func matchesSort(k: Int) {
        var rng = SeededGenerator(seed: UInt64(k))
        let n = 257
        // Few distinct values, so ties are everywhere; ids shuffled so id order ≠ scan order.
        let scores = (0..<n).map { _ in Float(Int(rng.next() % 7)) }
        var ids = (0..<n).map { Int64($0 * 3) }
        for i in stride(from: n - 1, to: 0, by: -1) { ids.swapAt(i, Int(rng.next() % UInt64(i + 1))) }
        var top = TopK(k: k)
        scores.withUnsafeBufferPointer { s in
            ids.withUnsafeBufferPointer { id in
                // In two runs, as a scan over blocks would.
                top.offer(scores: s.baseAddress!, count: 100, ids: id.baseAddress!)
                top.offer(scores: s.baseAddress! + 100, count: n - 100, ids: id.baseAddress! + 100)
            }
        }
        #expect(top.sorted().map(\.id) == TestData.sortedTopK(scores: scores, ids: ids, k: k))
        #expect(top.count == min(k, n))
    }

    @Test("merging partial collectors equals one collector")
    func merge() {
        var rng = SeededGenerator(seed: 3)
        let scores = (0..<1000).map { _ in Float(Int(rng.next() % 50)) }
        var whole = TopK(k: 20), a = TopK(k: 20), b = TopK(k: 20)
        for (i, s) in scores.enumerated() {
            whole.offer(score: s, id: Int64(i))
            if i % 3 == 0 { a.offer(score: s, id: Int64(i)) } else { b.offer(score: s, id: Int64(i)) }
        }
        a.merge(b)
        #expect(a.sorted().map(\.id) == whole.sorted().map(\.id))
    }

    @Test("NaN is never kept; -infinity is")
    func nan() {
        var top = TopK(k: 3)
        top.offer(score: .nan, id: 1)
        top.offer(score: -.infinity, id: 2)
        top.offer(score: 1, id: 3)
        #expect(top.sorted().map(\.id) == [3, 2])
    }
}
