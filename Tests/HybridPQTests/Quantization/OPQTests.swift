import Testing
import HybridPQ

@Suite("OPQ")
struct OPQTests {
    /// Correlated data with unequal variance across dimensions, where a rotation pays off.
    static func correlated(rows: Int, seed: UInt64) -> Matrix {
        let d = 16
        let g = TestData.gaussian(rows: rows, columns: d, seed: seed)
        var mix = TestData.gaussian(rows: d, columns: d, seed: 99)
        for j in 0..<d { for i in 0..<d { mix[i, j] *= Float(d - j) / Float(d) } }   // decaying scales
        return g.multiplied(mix)
    }

    @Test("Procrustes and polar factors are orthogonal and solve their problems")
    func procrustes() throws {
        let r = try Orthogonal.random(12, seed: 3)
        #expect(Orthogonal.orthogonalityError(r) < 1e-4)
        // B = A·R exactly: Procrustes must recover R.
        let a = TestData.gaussian(rows: 200, columns: 12, seed: 4)
        let b = a.multiplied(r)
        let found = try Orthogonal.procrustes(a, b)
        for i in 0..<r.values.count { #expect(abs(found.values[i] - r.values[i]) < 1e-3) }
        // And no other rotation fits better than the solution for noisy B.
        var noisy = b
        let noise = TestData.gaussian(rows: 200, columns: 12, seed: 5)
        for i in 0..<noisy.values.count { noisy.values[i] += 0.3 * noise.values[i] }
        let best = try Orthogonal.procrustes(a, noisy)
        func misfit(_ r: Matrix) -> Double {
            let p = a.multiplied(r)
            return zip(p.values, noisy.values).reduce(0.0) { $0 + Double($1.0 - $1.1) * Double($1.0 - $1.1) }
        }
        for seed in 10..<15 { #expect(misfit(best) <= misfit(try Orthogonal.random(12, seed: UInt64(seed))) + 1e-6) }
        #expect(misfit(best) <= misfit(r) + 1e-3)
    }

    @Test("the learned rotation is orthogonal (RᵀR = I to 1e-4) and lowers reconstruction error", arguments: [8, 4])
    func opq(bits: Int) throws {
        let train = Self.correlated(rows: 3000, seed: 1)
        let test = Self.correlated(rows: 500, seed: 2)
        var config = OPQ.Configuration(subspaces: 4, bitsPerCode: bits)
        config.iterations = 8
        let opq = try OPQ.train(train, config)
        #expect(Orthogonal.orthogonalityError(opq.rotation) < 1e-4)
        let plain = try ProductQuantizer.train(train, subspaces: 4, bitsPerCode: bits)
        #expect(try opq.reconstructionError(test) < plain.reconstructionError(test))
        // Deterministic for a seed.
        #expect(try OPQ.train(train, config) == opq)
    }

    @Test("an OPQ index searches like a PQ index over rotated vectors, and persists")
    func index() throws {
        let train = Self.correlated(rows: 2000, seed: 6)
        var config = OPQ.Configuration(subspaces: 4)
        config.iterations = 3
        let opq = try OPQ.train(train, config)
        var index = try OPQIndex(opq: opq, metric: .innerProduct)
        let x = Self.correlated(rows: 300, seed: 7), q = Self.correlated(rows: 5, seed: 8)
        try index.add(x, ids: nil)
        var plain = PQIndex(quantizer: opq.quantizer, metric: .innerProduct)
        try plain.add(x.multiplied(opq.rotation), ids: nil)
        #expect(try index.search(q, k: 5, threads: 1) == plain.search(q.multiplied(opq.rotation), k: 5, threads: 1))
        let dir = TestData.temporaryDirectory()
        try index.save(to: dir + "/o.hpq")
        #expect(try OPQIndex.load(from: dir + "/o.hpq").search(q, k: 5, threads: 1) == index.search(q, k: 5, threads: 1))

        var config4 = OPQ.Configuration(subspaces: 4, bitsPerCode: 4)
        config4.iterations = 3
        var index4 = try OPQ4Index(opq: try OPQ.train(train, config4))
        try index4.add(x, ids: nil)
        try index4.save(to: dir + "/o4.hpq")
        let back = try OPQ4Index.load(from: dir + "/o4.hpq", mapping: true)
        #expect(try back.search(q, k: 5, threads: 1) == index4.search(q, k: 5, threads: 1))
        #expect(throws: IndexFileError.wrongKind(path: dir + "/o4.hpq", expected: "opq", found: "opq4")) { try OPQIndex.load(from: dir + "/o4.hpq") }
    }
}
