/// Keeps the best `k` (score, id) pairs seen so far: larger score first, and on equal scores
/// the smaller id first — a total order, so results do not depend on scan order or on how the
/// database was split across threads. NaN scores are never kept.
///
/// A binary heap with the *worst* kept pair at the root; `threshold` lets a scan skip the heap
/// for the vast majority of candidates that cannot enter. An optional `accept` hook (an id
/// filter) is asked, after the threshold test, whether a pair may enter at all.
public struct TopK: SearchCollector {
    /// Capacity.
    public let k: Int
    /// Asked about each id that beats the threshold; `nil`: every id may enter.
    public let accept: AcceptHook?
    var scores: [Float]
    var ids: [Int64]
    /// Pairs currently kept.
    public private(set) var count: Int = 0

    /// An empty collector of capacity `k` (≥ 0), with an optional acceptance test on ids.
    public init(k: Int, accept: AcceptHook? = nil) {
        precondition(k >= 0, "k must be non-negative")
        self.k = k
        self.accept = accept
        scores = [Float](repeating: 0, count: k)
        ids = [Int64](repeating: 0, count: k)
    }

    /// The smallest score that can still enter (−∞ until full).
    public var threshold: Float { count < k ? -Float.infinity : scores[0] }

    static func worse(_ s1: Float, _ i1: Int64, _ s2: Float, _ i2: Int64) -> Bool {
        s1 < s2 || (s1 == s2 && i1 > i2)
    }

    /// Offers one pair.
    public mutating func offer(score: Float, id: Int64) {
        guard k > 0, !score.isNaN else { return }
        if count < k {
            if let accept, !accept.accepts(id) { return }
            count += 1
            let n = count
            scores.withUnsafeMutableBufferPointer { sc in
                ids.withUnsafeMutableBufferPointer { id_ in
                    // Sift up from the new last slot.
                    var i = n - 1
                    while i > 0 {
                        let p = (i - 1) / 2
                        guard Self.worse(score, id, sc[p], id_[p]) else { break }
                        sc[i] = sc[p]; id_[i] = id_[p]; i = p
                    }
                    sc[i] = score; id_[i] = id
                }
            }
            return
        }
        guard Self.worse(scores[0], ids[0], score, id) else { return }
        if let accept, !accept.accepts(id) { return }
        let k = self.k
        scores.withUnsafeMutableBufferPointer { sc in
            ids.withUnsafeMutableBufferPointer { id_ in
                // Replace the root (the worst kept pair) and sift down.
                var i = 0
                while true {
                    let l = 2 * i + 1
                    if l >= k { break }
                    var c = l
                    if l + 1 < k, Self.worse(sc[l + 1], id_[l + 1], sc[l], id_[l]) { c = l + 1 }
                    guard Self.worse(sc[c], id_[c], score, id) else { break }
                    sc[i] = sc[c]; id_[i] = id_[c]; i = c
                }
                sc[i] = score; id_[i] = id
            }
        }
    }

    /// Offers a run of scores whose ids are `ids[j]`, or `firstId + j` when `ids` is nil.
    public mutating func offer(scores block: UnsafePointer<Float>, count n: Int,
                               ids idList: UnsafePointer<Int64>?, firstId: Int64 = 0) {
        var t = threshold
        for j in 0..<n {
            let s = block[j]
            if s < t { continue }           // cannot enter; NaN falls through to offer(), which drops it
            offer(score: s, id: idList?[j] ?? (firstId + Int64(j)))
            t = threshold
        }
    }

    /// Merges another collector's pairs into this one (another core's database range; its
    /// pairs passed the same hook, which is asked again — merges are rare).
    public mutating func merge(_ other: TopK) {
        for i in 0..<other.count { offer(score: other.scores[i], id: other.ids[i]) }
    }

    /// The kept pairs, best first.
    public func sorted() -> [(score: Float, id: Int64)] {
        (0..<count).map { (scores[$0], ids[$0]) }.sorted {
            $0.score != $1.score ? $0.score > $1.score : $0.id < $1.id
        }
    }
}
