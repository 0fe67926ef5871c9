import Testing
import HybridPQ

@Suite("Candidate reservoir")
struct CandidateReservoirTests {
    /// The best `k` positions by (sum desc, position asc), from a full sort.
    static func reference(_ sums: [UInt16], positions: [Int], k: Int) -> Set<Int> {
        Set(zip(sums, positions).sorted { $0.0 != $1.0 ? $0.0 > $1.0 : $0.1 < $1.1 }.prefix(k).map(\.1))
    }

    @Test("keeps exactly the sort-based best k, ties to the smaller position, with a valid floor",
          arguments: [1, 2, 7, 100, 600])
    func matchesSort(k: Int) {
        var rng = SeededGenerator(seed: UInt64(k) + 11)
        let n = 3_001
        // Few distinct sums, so ties cross the k-th place.
        let sums = (0..<n).map { _ in UInt16(rng.next() % 40) * 1_000 }
        var reservoir = CandidateReservoir(k: k)
        for (p, s) in sums.enumerated() where s >= reservoir.floor {
            reservoir.add(sum: s, position: p)
            // The floor never passes a pair that belongs in the final top k.
        }
        let want = Self.reference(sums, positions: Array(0..<n), k: k)
        #expect(reservoir.floor <= sums[want.min { sums[$0] < sums[$1] }!] + 1)
        #expect(Set(reservoir.positions()) == want)
    }

    @Test("merging reservoirs of disjoint ranges equals one reservoir over all")
    func merge() {
        var rng = SeededGenerator(seed: 4)
        let sums = (0..<5_000).map { _ in UInt16(rng.next() % 300) }
        var whole = CandidateReservoir(k: 50), a = CandidateReservoir(k: 50), b = CandidateReservoir(k: 50)
        for (p, s) in sums.enumerated() {
            whole.add(sum: s, position: p)
            if p < 2_000 { a.add(sum: s, position: p) } else { b.add(sum: s, position: p) }
        }
        var merged = CandidateReservoir(k: 50)
        merged.merge(b)
        merged.merge(a)
        let want = Self.reference(sums, positions: Array(0..<sums.count), k: 50)
        #expect(Set(merged.positions()) == want)
        #expect(Set(whole.positions()) == want)
    }

    @Test("fewer pairs than k: all are kept and the floor stays 0")
    func underfull() {
        var r = CandidateReservoir(k: 10)
        for p in 0..<7 { r.add(sum: UInt16(p * 3), position: p) }
        #expect(r.floor == 0)
        #expect(Set(r.positions()) == Set(0..<7))
    }

    @Test("ranked(first:) keeps the best k pairs with their sums, the best `first` of them in front",
          arguments: [(50, 1), (50, 10), (50, 49), (50, 50), (50, 80)])
    func ranked(k: Int, first: Int) {
        var rng = SeededGenerator(seed: UInt64(k * 31 + first))
        let sums = (0..<4_000).map { _ in UInt16(rng.next() % 500) }
        var r = CandidateReservoir(k: k)
        for (p, s) in sums.enumerated() where s >= r.floor { r.add(sum: s, position: p) }
        let pairs = r.ranked(first: first)
        #expect(Set(pairs.map(\.position)) == Self.reference(sums, positions: Array(0..<sums.count), k: k))
        for pair in pairs { #expect(sums[pair.position] == pair.sum) }
        let front = min(first, pairs.count)
        #expect(Set(pairs.prefix(front).map(\.position))
                == Self.reference(pairs.map(\.sum), positions: pairs.map(\.position), k: front))
    }
}
