import Testing
import HybridPQ

@Suite("Product quantizer")
struct ProductQuantizerTests {
    static let data = TestData.gaussian(rows: 1500, columns: 24, seed: 21)

    @Test("D not divisible by M and other bad shapes are clear errors")
    func shapes() {
        #expect(throws: QuantizerError.dimensionNotDivisible(dimension: 24, subspaces: 5)) {
            try ProductQuantizer.train(Self.data, subspaces: 5)
        }
        #expect(throws: QuantizerError.unsupportedBits(9)) { try ProductQuantizer.train(Self.data, subspaces: 4, bitsPerCode: 9) }
        #expect(throws: QuantizerError.codebookSize(expected: 24 * 256, found: 10)) {
            try ProductQuantizer(dimension: 24, subspaces: 4, codebooks: [Float](repeating: 0, count: 10))
        }
        #expect(throws: QuantizerError.training(.tooFewPoints(points: 100, clusters: 256))) {
            try ProductQuantizer.train(Self.data.slicing(rows: 0..<100), subspaces: 4)
        }
    }

    @Test("one or two vectors of a 4-bit quantizer (encoded without BLAS) get the brute-force nearest codewords, as in a batch")
    func encodeFewDirect() throws {
        let pq = try ProductQuantizer.train(Self.data, subspaces: 8, bitsPerCode: 4, iterations: 10)
        let x = TestData.gaussian(rows: 40, columns: 24, seed: 23)
        let batch = try pq.encode(x)
        var few: [UInt8] = []
        for i in stride(from: 0, to: 40, by: 2) {
            few += try pq.encode(x.slicing(rows: i..<(i + 1)))
            few += try pq.encode(x.slicing(rows: (i + 1)..<(i + 2)))
            #expect(try pq.encode(x.slicing(rows: i..<(i + 2))) == Array(few[(i * 8)..<((i + 2) * 8)]))
        }
        var agree = 0
        for i in 0..<40 {
            for m in 0..<8 {
                let book = pq.codebook(m)
                let dist = (0..<16).map { k in (0..<3).reduce(0.0) { $0 + pow(Double(x[i, m * 3 + $1]) - Double(book[k, $1]), 2) } }
                let best = dist.min()!
                #expect(dist[Int(few[i * 8 + m])] <= best + 1e-5 * max(1, best))
                if few[i * 8 + m] == batch[i * 8 + m] { agree += 1 }
            }
        }
        #expect(agree == 320)      // no near-ties in this data: the two paths agree everywhere
    }

    @Test("codes are the brute-force nearest codewords; decode returns them")
    func encodeDecode() throws {
        let pq = try ProductQuantizer.train(Self.data, subspaces: 6, bitsPerCode: 6, iterations: 10)
        let x = TestData.gaussian(rows: 50, columns: 24, seed: 22)
        let codes = try pq.encode(x)
        let decoded = try pq.decode(codes)
        for i in 0..<50 {
            for m in 0..<6 {
                let book = pq.codebook(m)
                let dist = (0..<64).map { k in
                    (0..<4).reduce(0.0) { $0 + pow(Double(x[i, m * 4 + $1]) - Double(book[k, $1]), 2) }
                }
                let best = dist.min()!
                let chosen = Int(codes[i * 6 + m])
                #expect(dist[chosen] <= best + 1e-5 * max(1, best))
                for j in 0..<4 { #expect(decoded[i, m * 4 + j] == book[chosen, j]) }
            }
        }
    }

    @Test("exported codebooks import to an identical quantizer")
    func importExport() throws {
        let pq = try ProductQuantizer.train(Self.data, subspaces: 4, bitsPerCode: 8)
        let copy = try ProductQuantizer(dimension: 24, subspaces: 4, bitsPerCode: 8, codebooks: pq.codebooks)
        #expect(copy == pq)
        let x = TestData.gaussian(rows: 30, columns: 24, seed: 3)
        #expect(try copy.encode(x) == pq.encode(x))
        var edited = pq
        try edited.setCodebook(2, Matrix(rows: 256, columns: 6))
        #expect(edited.codebook(2).values.allSatisfy { $0 == 0 } && edited.codebook(1) == pq.codebook(1))
    }

    @Test("more sub-spaces reconstruct better")
    func reconstruction() throws {
        let e4 = try ProductQuantizer.train(Self.data, subspaces: 4).reconstructionError(Self.data)
        let e12 = try ProductQuantizer.train(Self.data, subspaces: 12).reconstructionError(Self.data)
        #expect(e12 < e4)
    }

    @Test("ADC table sums equal exact scores of the decoded vectors", arguments: [Metric.innerProduct, .l2])
    func lookupTables(metric: Metric) throws {
        let pq = try ProductQuantizer.train(Self.data, subspaces: 8)
        let x = TestData.gaussian(rows: 40, columns: 24, seed: 7)
        let q = TestData.gaussian(rows: 5, columns: 24, seed: 8)
        let codes = try pq.encode(x)
        let decoded = try pq.decode(codes)
        let tables = try pq.lookupTables(q, metric: metric)
        for qi in 0..<5 {
            let t = Array(tables.table(qi))
            for i in 0..<40 {
                let adc = (0..<8).reduce(0.0) { $0 + Double(t[$1 * 256 + Int(codes[i * 8 + $1])]) }
                let exact: Double
                switch metric {
                case .innerProduct: exact = TestData.dot(q.rowSlice(qi), decoded.rowSlice(i))
                case .l2: exact = -zip(q.rowSlice(qi), decoded.rowSlice(i)).reduce(0.0) { $0 + pow(Double($1.0 - $1.1), 2) }
                }
                #expect(abs(adc - exact) < 1e-4 * max(1, abs(exact)))
            }
        }
    }
}

private func pow(_ x: Double, _ n: Int) -> Double { n == 2 ? x * x : x }
