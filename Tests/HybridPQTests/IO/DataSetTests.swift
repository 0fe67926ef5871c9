import Foundation
import Testing
import HybridPQ

@Suite("Data-set directories")
struct DataSetTests {
    @Test("a written synthetic data set loads back identically, fine features included")
    func roundTrip() throws {
        var config = SyntheticDataSet.Configuration(count: 60)
        config.dimension = 16
        config.fineFeatures = true
        let ds = SyntheticDataSet.generate(config)
        let dir = TestData.temporaryDirectory()
        try ds.write(to: dir)
        let back = try CrossViewDataSet.load(directory: dir, fineFeatures: true)
        #expect(back.queries == ds.queries && back.targets == ds.targets)
        #expect(back.split == ds.split)
        #expect(back.frames == ds.frames && back.queryTokens == ds.queryTokens)
        // Padding rows are exact zeros and masked out.
        let f = try #require(back.frames)
        for r in 0..<(f.count * f.length) where f.mask[r] == 0 {
            #expect(f.values.rowSlice(r).allSatisfy { $0 == 0 })
        }
    }

    @Test("the synthetic generator is deterministic and plants the cross-view match")
    func synthetic() throws {
        var config = SyntheticDataSet.Configuration(count: 500)
        config.dimension = 32
        let a = SyntheticDataSet.generate(config), b = SyntheticDataSet.generate(config)
        #expect(a.queries == b.queries && a.targets == b.targets)
        // Exact search: query i should find target i far more often than chance (1/500).
        var flat = FlatIndex(dimension: 32)
        try flat.add(a.targets, ids: nil)
        let r = try flat.search(a.queries, k: 10, threads: 1)
        let m = RetrievalMetrics(results: r, expected: (0..<500).map { Int64($0) })
        #expect(m.recallAt10 > 0.5)
    }

    @Test("inconsistent directories are reported with the file at fault")
    func inconsistent() throws {
        let dir = TestData.temporaryDirectory()
        try NPYArray(float32: [Float](repeating: 0, count: 12), shape: [3, 4]).write(to: dir + "/queries.npy")
        try NPYArray(float32: [Float](repeating: 0, count: 15), shape: [3, 5]).write(to: dir + "/targets.npy")
        try AtomicFile.write(Array("{\"train\": [0], \"val\": [1], \"test\": [2]}".utf8), to: dir + "/split.json")
        let e = try #require(throws: DataError.self) { try CrossViewDataSet.load(directory: dir) }
        guard case let .shapeMismatch(path, _, _) = e else { Issue.record("got \(e)"); return }
        #expect(path.hasSuffix("targets.npy"))
        try NPYArray(float32: [Float](repeating: 0, count: 12), shape: [3, 4]).write(to: dir + "/targets.npy")
        try AtomicFile.write(Array("{\"train\": [0], \"val\": [1], \"test\": [7]}".utf8), to: dir + "/split.json")
        #expect(throws: DataError.inconsistent(path: dir + "/split.json", reason: "test index 7 outside 0..<3")) {
            try CrossViewDataSet.load(directory: dir)
        }
        try AtomicFile.write(Array("{\"train\": [0, 1], \"val\": [1], \"test\": [2]}".utf8), to: dir + "/split.json")
        #expect(throws: DataError.inconsistent(path: dir + "/split.json", reason: "index 1 appears twice")) {
            try CrossViewDataSet.load(directory: dir)
        }
        try AtomicFile.write(Array("{\"train\": [0], \"val\": [1]}".utf8), to: dir + "/split.json")
        #expect(throws: DataError.malformed(path: dir + "/split.json", reason: "missing key \"test\"")) {
            try CrossViewDataSet.load(directory: dir)
        }
        try AtomicFile.write(Array("{\"train\": [0], \"val\": [1], \"test\": [2]}".utf8), to: dir + "/split.json")
        #expect(try CrossViewDataSet.load(directory: dir).count == 3)
    }

    @Test("plain vector sets load from .npy")
    func vectorSet() throws {
        let dir = TestData.temporaryDirectory()
        let base = TestData.gaussian(rows: 20, columns: 8, seed: 3)
        try NPYArray(float32: base.values, shape: [20, 8]).write(to: dir + "/base.npy")
        try NPYArray(float16: Array(base.values.prefix(16)), shape: [2, 8]).write(to: dir + "/query.npy")
        try NPYArray(int64: [0, 1, 2, 3], shape: [2, 2]).write(to: dir + "/groundtruth.npy")
        let vs = try VectorDataSet.load(directory: dir)
        #expect(vs.base == base && vs.queries.rows == 2 && vs.groundTruth == [[0, 1], [2, 3]] && vs.train == nil)
    }
}
