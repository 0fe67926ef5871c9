import Foundation
import Testing
import HybridPQ

/// `pqbench --export-embeddings`: the files Benchmarks/hcq/quantization_ceiling.py reads hold the
/// model's coarse embeddings in its quantizer's space, checked against the model computed here.
@Suite("pqbench --export-embeddings")
struct PQBenchExportTests {
    @Test("queries, targets and splits through the model's heads and rotation; codebooks that give the index's codes")
    func embeddings() throws {
        try #require(FileManager.default.isExecutableFile(atPath: PQBenchJSONTests.executable), "build pqbench first (swift build -c release)")
        let dir = TestData.temporaryDirectory()
        let data = ModelFixtures.data(count: 80, dimension: 16, seed: 21)
        try data.write(to: dir + "/data")
        var model = try ModelFixtures.model(mode: .joint, levels: 0)
        var joint = model.parameters                       // the joint phase's query heads: others
        for i in joint[.queryWeight].values.indices { joint[.queryWeight].values[i] += 0.05 * Float(i % 7 - 3) }
        model.quantizedQueryParameters = joint
        try model.save(to: dir + "/m.hpqm")
        let (status, stderr) = try PQBenchJSONTests.run(["--data", dir + "/data", "--model", dir + "/m.hpqm", "--methods", "hcq", "--bytes", "4",
                                                         "--threads", "1", "--quiet", "--export-embeddings", dir + "/out"])
        try #require(status == 0, "pqbench failed: \(stderr)")
        func read(_ name: String) throws -> NPYArray { try NPYArray.read(dir + "/out/" + name) }
        let level = model.quantizers[0]
        let test = data.split.test
        let q = try level.rotated(model.queryEmbeddings(data.queries.gathering(rows: test), tokens: data.queryTokens?.gathering(items: test),
                                                        quantized: true)[0])
        let exportedQueries = try read("queries.npy")
        #expect(exportedQueries.shape == [test.count, 16])
        let asJoint = Self.close(exportedQueries.floats(), q.values)
        #expect(asJoint)
        let continuous = try level.rotated(model.queryEmbeddings(data.queries.gathering(rows: test), tokens: nil)[0])
        let asContinuous = Self.close(exportedQueries.floats(), continuous.values)
        #expect(!asContinuous, "the joint heads, not the continuous ones")
        for (name, items) in [("targets.npy", test), ("train_targets.npy", data.split.train), ("val_targets.npy", data.split.val)] {
            let t = try level.rotated(model.targetEmbeddings(data.targets.gathering(rows: items), frames: data.frames?.gathering(items: items))[0])
            let exported = try read(name)
            #expect(exported.shape == [items.count, 16], "\(name)")
            let same = Self.close(exported.floats(), t.values)
            #expect(same, "\(name)")
        }
        // Nearest codeword per sub-space over the exported codebooks = the model's own codes.
        let books = try read("codebooks.npy")
        #expect(books.shape == [4, 256, 4])
        let exportedTargets = try read("targets.npy").floats(), b = books.floats()
        var codes: [UInt8] = []
        for i in 0..<test.count {
            for m in 0..<4 {
                let x = exportedTargets[(i * 16 + m * 4)..<(i * 16 + m * 4 + 4)]
                let distances = (0..<256).map { j in Self.distance(x, b[((m * 256 + j) * 4)..<((m * 256 + j) * 4 + 4)]) }
                codes.append(UInt8(distances.firstIndex(of: distances.min()!)!))
            }
        }
        let expected = try level.encode(model.targetEmbeddings(data.targets.gathering(rows: test), frames: data.frames?.gathering(items: test))[0])
        let sameCodes = codes == expected
        #expect(sameCodes)
        let about = try #require(try JSONSerialization.jsonObject(with: Data(contentsOf: URL(fileURLWithPath: dir + "/out/about.json"))) as? [String: Any])
        #expect(about["metric"] as? String == "l2" && about["bits"] as? Int == 8 && about["database"] as? String == "test")
        // Without a model it is a usage error.
        let bad = try PQBenchJSONTests.run(["--data", dir + "/data", "--export-embeddings", dir + "/out2"])
        #expect(bad.status != 0 && bad.stderr.contains("--export-embeddings needs --model"))
    }

    static func close(_ a: [Float], _ b: [Float]) -> Bool {
        a.count == b.count && zip(a, b).allSatisfy { abs($0 - $1) <= 1e-5 * max(1, abs($1)) }
    }

    static func distance(_ a: ArraySlice<Float>, _ b: ArraySlice<Float>) -> Float {
        zip(a, b).reduce(0) { $0 + ($1.0 - $1.1) * ($1.0 - $1.1) }
    }
}
