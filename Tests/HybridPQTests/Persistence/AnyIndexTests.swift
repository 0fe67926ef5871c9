import Testing
import HybridPQ

@Suite("Opening any index file by its kind")
struct AnyIndexTests {
    @Test("every index kind saved is opened by AnyIndex as that kind and searches the same")
    func everyKind() throws {
        let d = 16, dir = TestData.temporaryDirectory()
        let x = TestData.gaussian(rows: 300, columns: d, seed: 421), q = TestData.gaussian(rows: 3, columns: d, seed: 422)
        let pq = try ProductQuantizer.train(x, subspaces: 4, iterations: 3)
        let pq4 = try ProductQuantizer.train(x, subspaces: 8, bitsPerCode: 4, iterations: 3)
        let r = try Orthogonal.random(d, seed: 423)
        var indexes: [AnyIndex] = [.flat(FlatIndex(dimension: d)), .pq(PQIndex(quantizer: pq)), .pq4(try PQ4Index(quantizer: pq4)),
                                   .opq(try OPQIndex(rotation: r, base: PQIndex(quantizer: pq))),
                                   .opq4(try OPQ4Index(rotation: r, base: PQ4Index(quantizer: pq4)))]
        for i in indexes.indices {
            try indexes[i].add(x)
            let path = dir + "/\(indexes[i].kind.name).hpq"
            try indexes[i].save(to: path)
            for mapping in [false, true] {
                let back = try AnyIndex.load(from: path, mapping: mapping)
                #expect(back.kind == indexes[i].kind && back.count == 300)
                #expect(try back.search(q, k: 5) == indexes[i].search(q, k: 5))
            }
        }
    }

    @Test("a model file is not an index: wrongKind names what was found")
    func modelIsNotAnIndex() throws {
        let path = TestData.temporaryDirectory() + "/m.hpqm"
        let model = try HybridModel(.init(inputDimension: 8, levels: 0, subspaces: 2, mode: .joint))
        try model.save(to: path)
        #expect(throws: IndexFileError.wrongKind(path: path, expected: "flat|pq|pq4|opq|opq4|hcq|dns|ivf|ivf-opq|ivf-hcq", found: "hcq-model")) {
            try AnyIndex.load(from: path)
        }
    }
}
