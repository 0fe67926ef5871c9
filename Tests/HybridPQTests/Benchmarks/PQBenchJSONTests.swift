import Foundation
import Testing

/// pqbench's JSON is a fixed interface (DESIGN.md §5): a golden structure test over a small run of
/// the built executable (`swift build` builds it with the tests).
@Suite("pqbench JSON (DESIGN.md §5)")
struct PQBenchJSONTests {
    static let executable: String = {
        let root = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent()
            .deletingLastPathComponent().deletingLastPathComponent()
        return root.appendingPathComponent(".build/release/pqbench").path
    }()

    /// Runs pqbench with `arguments`: its exit status and standard error.
    static func run(_ arguments: [String]) throws -> (status: Int32, stderr: String) {
        let p = Process()
        p.executableURL = URL(fileURLWithPath: executable)
        p.arguments = arguments
        p.standardOutput = FileHandle.nullDevice
        let err = Pipe()
        p.standardError = err
        try p.run()
        let stderr = String(decoding: err.fileHandleForReading.readDataToEndOfFile(), as: UTF8.self)
        p.waitUntilExit()
        return (p.terminationStatus, stderr)
    }

    @Test("the JSON has the fixed structure; unbuildable sizes are listed with their reason")
    func structure() throws {
        try #require(FileManager.default.isExecutableFile(atPath: Self.executable), "build pqbench first (swift build -c release)")
        let out = TestData.temporaryDirectory() + "/r.json"
        let (status, stderr) = try Self.run(["--synthetic", "1500", "--dim", "32", "--queries", "40", "--methods", "flat,pq,pq4",
                                             "--bytes", "8,3", "--iterations", "3", "--threads", "1", "--latency", "--quiet", "--json", out])
        try #require(status == 0, "pqbench failed: \(stderr)")
        let json = try #require(try JSONSerialization.jsonObject(with: Data(contentsOf: URL(fileURLWithPath: out))) as? [String: Any])

        let dataset = try #require(json["dataset"] as? [String: Any])
        #expect(dataset["name"] is String && dataset["database"] as? Int == 1500 && dataset["queries"] as? Int == 40
                && dataset["dim"] as? Int == 32)
        let rows = try #require(json["results"] as? [[String: Any]])
        #expect(rows.map { $0["method"] as? String } == ["flat", "pq", "pq4"])
        for row in rows {
            let method = row["method"] as? String ?? "?"
            for key in ["params", "bytes_per_item", "cold_bytes_per_item", "index_bytes", "recall", "ann_recall_at_10",
                        "train_seconds", "search_qps", "scan_codes_per_second_per_core"] {
                #expect(row[key] != nil, "\(method) lacks \(key)")
            }
            let recall = try #require(row["recall"] as? [String: Any])
            for k in ["R@1", "R@5", "R@10"] {
                let v = try #require(recall[k] as? Double, "\(method) \(k)")
                #expect(v >= 0 && v <= 1, "recall values are fractions")
            }
            #expect(recall["MdR"] is Double)
            #expect((row["search_qps"] as? Double ?? 0) > 0 && (row["scan_codes_per_second_per_core"] as? Double ?? 0) > 0)
            #expect(row["cold_bytes_per_item"] as? Double == 0)
            let p50 = row["latency_p50_us"] as? Double ?? -1, p99 = row["latency_p99_us"] as? Double ?? -1
            #expect(p50 > 0 && p99 >= p50, "\(method): --latency gives p50 ≤ p99")
        }
        let params = try #require(rows[1]["params"] as? [String: Any])
        #expect(params["M"] as? Int == 8 && params["K"] as? Int == 256 && rows[1]["bytes_per_item"] as? Int == 8)
        #expect(rows[2]["bytes_per_item"] as? Int == 8 && (rows[2]["params"] as? [String: Any])?["M"] as? Int == 16)
        // 3 B: M = 3 does not divide 32, nor M = 6 (4-bit): reported, not dropped.
        let skipped = try #require(json["skipped"] as? [[String: Any]])
        #expect(skipped.map { $0["method"] as? String } == ["pq", "pq4"])
        #expect(skipped.allSatisfy { $0["bytes"] as? Int == 3 && ($0["reason"] as? String ?? "").contains("not divisible") })
        #expect(stderr.contains("pq at 3 B: not built: dimension 32 is not divisible by M = 3 sub-spaces"))
    }

    @Test("ivf rows: one per (coarse step, candidates, nprobe), the projected step's settings in params")
    func coarseRows() throws {
        try #require(FileManager.default.isExecutableFile(atPath: Self.executable), "build pqbench first (swift build -c release)")
        let out = TestData.temporaryDirectory() + "/ivf.json"
        let (status, stderr) = try Self.run(["--synthetic", "1500", "--dim", "32", "--queries", "40", "--methods", "ivf-pq4", "--bytes", "8",
                                             "--nlist", "8", "--nprobe", "1,2", "--coarse-dims", "0,4", "--coarse-candidates", "3",
                                             "--iterations", "3", "--threads", "1", "--quiet", "--json", out])
        try #require(status == 0, "pqbench failed: \(stderr)")
        let json = try #require(try JSONSerialization.jsonObject(with: Data(contentsOf: URL(fileURLWithPath: out))) as? [String: Any])
        let params = try #require(json["results"] as? [[String: Any]]).map { $0["params"] as? [String: Any] ?? [:] }
        #expect(params.map { $0["nprobe"] as? Int } == [1, 2, 1, 2])
        #expect(params.map { $0["coarse_dims"] as? Int } == [nil, nil, 4, 4])
        #expect(params.map { $0["coarse_candidates"] as? Int } == [nil, nil, 3, 3])
        // Candidates without a projected step are a usage error, not ignored.
        let bad = try Self.run(["--synthetic", "1500", "--methods", "ivf-pq4", "--coarse-candidates", "3"])
        #expect(bad.status != 0 && bad.stderr.contains("--coarse-candidates"))
    }
}
