import Testing
import HybridPQ

@Suite("Rotated indexes and the Rotation transform")
struct RotatedIndexTests {
    @Test("a rotated index answers as its base over rotated vectors, for 8- and 4-bit bases")
    func equalsBaseOverRotatedVectors() throws {
        let d = 16
        let r = try Orthogonal.random(d, seed: 401)
        let x = TestData.gaussian(rows: 300, columns: d, seed: 402), q = TestData.gaussian(rows: 5, columns: d, seed: 403)
        let pq = try ProductQuantizer.train(x.multiplied(r), subspaces: 4, iterations: 4)
        var rotated = try OPQIndex(rotation: r, base: PQIndex(quantizer: pq))
        try rotated.add(x)
        var plain = PQIndex(quantizer: pq)
        try plain.add(x.multiplied(r))
        #expect(try rotated.search(q, k: 7) == plain.search(q.multiplied(r), k: 7))
        #expect(rotated.memoryBytes == plain.memoryBytes + d * d * 4)

        let pq4 = try ProductQuantizer.train(x.multiplied(r), subspaces: 8, bitsPerCode: 4, iterations: 4)
        var rotated4 = try OPQ4Index(rotation: r, base: PQ4Index(quantizer: pq4))
        try rotated4.add(x)
        var plain4 = try PQ4Index(quantizer: pq4)
        try plain4.add(x.multiplied(r))
        let p = SearchParameters(k: 5, rerank: 40, kernel: .portable)
        #expect(try rotated4.search(q, parameters: p) == plain4.search(q.multiplied(r), parameters: p))
    }

    @Test("a matrix that is not a rotation is refused by name, in every place that takes one")
    func notARotation() throws {
        let pq = try ProductQuantizer.train(TestData.gaussian(rows: 300, columns: 8, seed: 404), subspaces: 2, iterations: 2)
        var scaled = try Orthogonal.random(8, seed: 405)
        scaled.values[0] *= 2
        #expect(throws: QuantizerError.invalidRotation("not orthogonal (RᵀR ≠ I)")) { try Rotation(scaled) }
        #expect(throws: IndexError.quantizer(.invalidRotation("not orthogonal (RᵀR ≠ I)"))) {
            try OPQIndex(rotation: scaled, base: PQIndex(quantizer: pq))
        }
        #expect(throws: QuantizerError.invalidRotation("not orthogonal (RᵀR ≠ I)")) { try OPQ(rotation: scaled, quantizer: pq) }
        #expect(throws: QuantizerError.invalidRotation("rotation is 8×4, not square")) { try Rotation(Matrix(rows: 8, columns: 4)) }
        var nan = try Orthogonal.random(8, seed: 406)
        nan.values[3] = .nan
        #expect(throws: QuantizerError.invalidRotation("rotation holds NaN or infinity")) { try Rotation(nan) }
        #expect(throws: IndexError.dimensionMismatch(expected: 8, found: 4)) {
            try OPQIndex(rotation: Orthogonal.random(4, seed: 407), base: PQIndex(quantizer: pq))
        }
    }
}
