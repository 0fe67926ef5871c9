import HybridPQ

/// The deterministic operation sequence of the crash test's writer (Tests/LiveWriter) and of
/// the test that checks what survived: operation j is a function of j alone.
///
/// j ≡ 0, 1 (mod 4): add ids 10j … 10j+3; j ≡ 2: upsert 10(j−1), 10(j−1)+1 and new 10j;
/// j ≡ 3: remove the ids added by operation j − 3.
public enum LiveWriterScript {
    /// Vector dimension.
    public static let dimension = 8

    /// One operation.
    public enum Operation: Sendable {
        case add([Int64], Matrix)
        case upsert([Int64], Matrix)
        case remove([Int64])
    }

    /// Operation `j` (≥ 0).
    public static func operation(_ j: Int) -> Operation {
        func vectors(_ n: Int) -> Matrix {
            var rng = SeededGenerator(seed: UInt64(j) &* 7919 &+ 1)
            var m = Matrix(rows: n, columns: dimension)
            m.values.withUnsafeMutableBufferPointer { rng.fillGaussian($0) }
            return m
        }
        let base = Int64(10 * j)
        switch j % 4 {
        case 0, 1: return .add((0..<4).map { base + $0 }, vectors(4))
        case 2: return .upsert([Int64(10 * (j - 1)), Int64(10 * (j - 1) + 1), base], vectors(3))
        default: return .remove((0..<4).map { Int64(10 * (j - 3)) + $0 })
        }
    }

    /// The live items (id → vector) after operations 0 … `last` (none for `last` < 0).
    public static func state(after last: Int) -> [Int64: [Float]] {
        var live: [Int64: [Float]] = [:]
        guard last >= 0 else { return live }
        for j in 0...last {
            switch operation(j) {
            case let .add(ids, x), let .upsert(ids, x): for (i, id) in ids.enumerated() { live[id] = x.row(i) }
            case let .remove(ids): for id in ids { live[id] = nil }
            }
        }
        return live
    }
}
