import Foundation
import Testing
import HybridPQ

/// pqserve over a pipe: the JSON-lines protocol against the library's own answers.
@Suite("pqserve: a live index over JSON lines", .serialized)
struct PQServeTests {
    static var executable: String {
        let exe = (try? FileManager.default.destinationOfSymbolicLink(atPath: "/proc/self/exe")) ?? CommandLine.arguments[0]
        return URL(fileURLWithPath: exe).deletingLastPathComponent().appendingPathComponent("pqserve").path
    }

    /// Runs pqserve with `arguments`, feeding `requests` (one per line); the responses.
    static func run(_ arguments: [String], _ requests: [[String: Any]]) throws -> [[String: Any]] {
        let p = Process()
        p.executableURL = URL(fileURLWithPath: executable)
        p.arguments = arguments
        let input = Pipe(), output = Pipe()
        p.standardInput = input
        p.standardOutput = output
        try p.run()
        for r in requests { input.fileHandleForWriting.write(try JSONSerialization.data(withJSONObject: r) + Data("\n".utf8)) }
        try input.fileHandleForWriting.close()
        let data = output.fileHandleForReading.readDataToEndOfFile()
        p.waitUntilExit()
        return try String(decoding: data, as: UTF8.self).split(separator: "\n").map {
            try JSONSerialization.jsonObject(with: Data($0.utf8)) as! [String: Any]
        }
    }

    @Test("create from an index file, search, add, remove, commit; reopen sees the committed state; bad requests are errors")
    func protocolRoundTrip() throws {
        try #require(FileManager.default.isExecutableFile(atPath: Self.executable), "pqserve is built beside the tests")
        let d = LiveIndexTests.d
        var pq = PQIndex(quantizer: try LiveIndexTests.quantizer())
        let x = TestData.gaussian(rows: 50, columns: d, seed: 930)
        try pq.add(x, ids: (0..<50).map { Int64(100 + $0) })
        let tmp = TestData.temporaryDirectory()
        try pq.save(to: tmp + "/pq.hpq")
        let q = (0..<3).map { x.row($0).map(Double.init) }
        let extra = TestData.gaussian(rows: 2, columns: d, seed: 931)
        let responses = try Self.run(["--dir", tmp + "/live", "--create-from", tmp + "/pq.hpq"], [
            ["op": "search", "vectors": q, "k": 5],
            ["op": "add", "vectors": (0..<2).map { extra.row($0).map(Double.init) }, "ids": [7, 8]],
            ["op": "remove", "ids": [100, 101]],
            ["op": "search", "vectors": q, "k": 5, "deny": [102]],
            ["op": "commit"],
            ["op": "stats"],
            ["op": "remove", "ids": [99999]],
            ["op": "search", "vectors": [[1, 2]]],
            ["op": "fly"],
        ])
        #expect(responses.count == 9)
        let want = try pq.search(FeatureBatch(x.slicing(rows: 0..<3)), parameters: SearchParameters(k: 5))
        #expect((responses[0]["ids"] as? [[Int64]]) == (0..<3).map { want.ids(ofQuery: $0) })
        #expect((responses[1]["ids"] as? [Int64]) == [7, 8])
        let after = (responses[3]["ids"] as? [[Int64]]) ?? []
        #expect(after.count == 3 && after.allSatisfy { !$0.contains(100) && !$0.contains(101) && !$0.contains(102) && $0.count == 5 })
        #expect(responses[5]["count"] as? Int == 50)
        #expect(responses[6]["ok"] as? Bool == false && (responses[6]["error"] as? String ?? "").contains("99999"))
        #expect(responses[7]["ok"] as? Bool == false && (responses[7]["error"] as? String ?? "").contains("dimension"))
        #expect(responses[8]["ok"] as? Bool == false)
        // Reopened: the committed state.
        let reopened = try Self.run(["--dir", tmp + "/live"], [["op": "stats"], ["op": "search", "vectors": q, "k": 5, "deny": [102]]])
        #expect(reopened[0]["count"] as? Int == 50)
        #expect((reopened[1]["ids"] as? [[Int64]]) == after)
        // End of input commits what was written without a commit (the log buffers records).
        let added = try Self.run(["--dir", tmp + "/live"], [["op": "add", "vectors": [extra.row(0).map(Double.init)], "ids": [9]]])
        #expect(added[0]["ok"] as? Bool == true)
        #expect(try Self.run(["--dir", tmp + "/live"], [["op": "stats"]])[0]["count"] as? Int == 51)
    }

    /// An IVF index file served: `nprobe` reaches the index (results equal the library's at that
    /// nprobe and differ from nprobe 1's); a non-integer nprobe or one above nlist is an error.
    @Test("pqserve serves an IVF index file; search takes nprobe and the projected coarse step")
    func ivfNprobe() throws {
        try #require(FileManager.default.isExecutableFile(atPath: Self.executable), "pqserve is built beside the tests")
        let d = LiveIndexTests.d
        let x = TestData.gaussian(rows: 400, columns: d, seed: 932)
        var ivf = try IVFIndex(centroids: IVFIndex.trainCentroids(x, lists: 8), quantizer: try LiveIndexTests.quantizer())
        try ivf.add(x)
        let tmp = TestData.temporaryDirectory()
        try ivf.save(to: tmp + "/ivf.hpq")
        let queries = TestData.gaussian(rows: 4, columns: d, seed: 933)
        let q = (0..<4).map { queries.row($0).map(Double.init) }
        let r = try Self.run(["--dir", tmp + "/live", "--create-from", tmp + "/ivf.hpq"], [
            ["op": "search", "vectors": q, "k": 6, "nprobe": 3],
            ["op": "search", "vectors": q, "k": 6],
            ["op": "search", "vectors": q, "k": 6, "nprobe": 2.5],
            ["op": "search", "vectors": q, "k": 6, "nprobe": 9],
            ["op": "search", "vectors": q, "k": 6, "nprobe": 3, "coarse_dims": 2, "coarse_candidates": 4],
            ["op": "search", "vectors": q, "k": 6, "nprobe": 3, "coarse_dims": 0],
        ])
        for (i, nprobe) in [(0, 3), (1, 1)] {
            var p = SearchParameters(k: 6)
            p.nprobe = nprobe
            let want = try ivf.search(FeatureBatch(queries), parameters: p)
            #expect((r[i]["ids"] as? [[Int64]]) == (0..<4).map { want.ids(ofQuery: $0).filter { $0 >= 0 } }, "nprobe \(nprobe)")
        }
        #expect((r[0]["ids"] as? [[Int64]]) != (r[1]["ids"] as? [[Int64]]))
        #expect(r[2]["ok"] as? Bool == false && (r[2]["error"] as? String ?? "").contains("nprobe"))
        #expect(r[3]["ok"] as? Bool == false && (r[3]["error"] as? String ?? "").contains("nprobe"))
        // The projected coarse step reaches the index: the library's results with the same settings.
        var projected = SearchParameters(k: 6)
        projected.nprobe = 3
        projected.coarseDimensions = 2
        projected.coarseCandidates = 4
        let want = try ivf.search(FeatureBatch(queries), parameters: projected)
        #expect((r[4]["ids"] as? [[Int64]]) == (0..<4).map { want.ids(ofQuery: $0).filter { $0 >= 0 } })
        #expect(r[5]["ok"] as? Bool == false && (r[5]["error"] as? String ?? "").contains("coarseDimensions"))
    }
}
