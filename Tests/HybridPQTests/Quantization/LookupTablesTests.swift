import Testing
import HybridPQ

@Suite("ADC lookup tables")
struct LookupTablesTests {
    @Test("every entry is the sub-vector's inner product or negated squared distance to the codeword", arguments: [Metric.innerProduct, .l2])
    func entries(metric: Metric) throws {
        let pq = try ProductQuantizer.train(TestData.gaussian(rows: 400, columns: 12, seed: 411), subspaces: 3, iterations: 3)
        let q = TestData.gaussian(rows: 4, columns: 12, seed: 412)
        let t = try pq.lookupTables(q, metric: metric)
        #expect(t.queries == 4 && t.subspaces == 3 && t.codewords == 256 && t.values.count == 4 * 3 * 256)
        let d = pq.subDimension
        for qi in 0..<4 {
            let table = Array(t.table(qi))
            for m in 0..<3 {
                for c in [0, 17, 255] {
                    let word = pq.codebooks[((m * 256 + c) * d)..<((m * 256 + c + 1) * d)]
                    let sub = q.values[(qi * 12 + m * d)..<(qi * 12 + (m + 1) * d)]
                    let want = metric == .l2
                        ? -zip(sub, word).reduce(0.0) { $0 + Double($1.0 - $1.1) * Double($1.0 - $1.1) }
                        : TestData.dot(sub, word)
                    #expect(abs(Double(table[m * 256 + c]) - want) < 1e-4 * max(1, abs(want)))
                }
            }
        }
        #expect(throws: QuantizerError.dimensionMismatch(expected: 12, found: 5)) {
            try pq.lookupTables(Matrix(rows: 1, columns: 5), metric: metric)
        }
    }

    @Test("4-bit quantizers: one- and two-query tables (sixteen codewords at a time) equal the reference and the batched BLAS tables, also after setCodebook",
          arguments: [Metric.innerProduct, .l2])
    func fourBit(metric: Metric) throws {
        var pq = try ProductQuantizer.train(TestData.gaussian(rows: 400, columns: 20, seed: 421), subspaces: 4, bitsPerCode: 4,
                                            iterations: 3)
        let q = TestData.gaussian(rows: 5, columns: 20, seed: 422)
        for round in 0..<2 {
            if round == 1 {
                // A replaced codebook must reach the one-query path too.
                try pq.setCodebook(2, TestData.gaussian(rows: 16, columns: 5, seed: 423))
            }
            let batched = try pq.lookupTables(q, metric: metric)
            for rows in [0..<1, 3..<5] {
                let t = try pq.lookupTables(q.slicing(rows: rows), metric: metric)
                for (i, qi) in rows.enumerated() {
                    for m in 0..<4 {
                        for c in 0..<16 {
                            let word = pq.codebooks[((m * 16 + c) * 5)..<((m * 16 + c + 1) * 5)]
                            let sub = q.values[(qi * 20 + m * 5)..<(qi * 20 + (m + 1) * 5)]
                            let want = metric == .l2
                                ? -zip(sub, word).reduce(0.0) { $0 + Double($1.0 - $1.1) * Double($1.0 - $1.1) }
                                : TestData.dot(sub, word)
                            let got = Double(t.values[i * 64 + m * 16 + c])
                            #expect(abs(got - want) < 1e-4 * max(1, abs(want)), "round \(round) m \(m) c \(c)")
                            #expect(abs(got - Double(batched.values[qi * 64 + m * 16 + c])) < 1e-4 * max(1, abs(want)))
                        }
                    }
                }
            }
        }
    }
}
