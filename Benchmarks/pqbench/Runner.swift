import Foundation
import HybridPQ

/// One row of the report: a method at one code size (DESIGN.md §5 JSON fields).
struct ResultRow {
    var method: String
    var params: [(String, String)]
    var bytesPerItem: Int
    var indexBytes: Int
    var recall1: Double?
    var recall5: Double?
    var recall10: Double?
    var medianRank: Double?
    var annRecall10: Double?
    var trainSeconds: Double
    var addSeconds: Double
    var searchQPS: Double
    var scanPerCore: Double
    var queries: Int
}

/// Builds each requested index and measures it.
final class Runner {
    static let knownMethods = ["flat", "pq"]

    let options: Options
    let workload: Workload
    let threads: Int
    let log: (String) -> Void

    /// Exact results per metric (ANN recall reference), computed once.
    var exact: [Metric: SearchResults] = [:]

    init(options: Options, workload: Workload, log: @escaping (String) -> Void) {
        self.options = options
        self.workload = workload
        self.threads = Concurrency.resolve(threads: options.threads)
        self.log = log
    }

    func run() throws -> [ResultRow] {
        var rows: [ResultRow] = []
        for method in options.methods {
            switch method {
            case "flat":
                rows.append(try measure(method: "flat", params: [], trainSeconds: 0) { () throws -> any VectorIndex in
                    var index = FlatIndex(dimension: workload.database.columns, metric: options.metric ?? .innerProduct)
                    try index.add(workload.database, ids: nil)
                    return index
                })
            case "pq":
                let metric = options.metric ?? .l2
                for b in options.bytes {
                    let d = workload.database.columns
                    guard d % b == 0 else {
                        log("pq: skipping \(b) bytes: dimension \(d) is not divisible by M = \(b)")
                        continue
                    }
                    log("pq: training M=\(b), K=256 on \(workload.train.rows) vectors…")
                    let t0 = Clock.now()
                    let progress = Progress("pq M=\(b): sub-space", enabled: !options.quiet)
                    let pq = try ProductQuantizer.train(workload.train, subspaces: b, bitsPerCode: 8,
                                                        iterations: options.iterations, seed: options.seed,
                                                        progress: progress.update)
                    let trainSeconds = Clock.now() - t0
                    rows.append(try measure(method: "pq", params: [("M", "\(b)"), ("K", "256")],
                                            trainSeconds: trainSeconds) { () throws -> any VectorIndex in
                        var index = PQIndex(quantizer: pq, metric: metric)
                        try index.add(workload.database, ids: nil)
                        return index
                    })
                }
            default:
                throw UsageError("method '\(method)' is not implemented in this build")
            }
        }
        return rows
    }

    /// Builds an index, evaluates recall at depth, and times batch search and one-core scans.
    func measure(method: String, params: [(String, String)], trainSeconds: Double,
                          build: () throws -> any VectorIndex) throws -> ResultRow {
        let t0 = Clock.now()
        let index = try build()
        let addSeconds = Clock.now() - t0
        let q = workload.queries
        let depth = min(max(options.depth, options.k, 10), index.count)
        let deep = try index.search(q, k: depth, threads: threads)
        var row = ResultRow(method: method, params: params + [("metric", index.metric.rawValue)],
                            bytesPerItem: index.bytesPerItem, indexBytes: index.memoryBytes,
                            trainSeconds: trainSeconds, addSeconds: addSeconds, searchQPS: 0, scanPerCore: 0,
                            queries: q.rows)
        if let expected = workload.expected {
            let m = RetrievalMetrics(results: deep, expected: expected)
            row.recall1 = m.recallAt1; row.recall5 = m.recallAt5; row.recall10 = m.recallAt10
            row.medianRank = m.medianRank
        } else if let gt = workload.groundTruth {
            let m = RetrievalMetrics(results: deep, expected: gt.map { Int64($0.first ?? -1) })
            row.recall1 = m.recallAt1; row.recall5 = m.recallAt5; row.recall10 = m.recallAt10
            row.medianRank = m.medianRank
        }
        row.annRecall10 = try RetrievalMetrics.overlap(deep, exact: exactResults(index.metric), k: 10)

        // Batch throughput: all queries, all cores, depth k; repeated for at least 0.5 s.
        row.searchQPS = Double(q.rows) / (try timed(minimum: 0.5) { _ = try index.search(q, k: options.k, threads: threads) })
        // One core: queries in batches of up to 64 (LUT construction included), at least 0.5 s.
        let sample = q.slicing(rows: 0..<min(q.rows, 64))
        let perBatch = try timed(minimum: 0.5) { _ = try index.search(sample, k: options.k, threads: 1) }
        row.scanPerCore = Double(index.count) * Double(sample.rows) / perBatch
        if let dir = options.saveIndexes {
            try FileManager.default.createDirectory(atPath: dir, withIntermediateDirectories: true)
            let path = dir + "/\(method)-\(index.bytesPerItem).hpq"
            if let f = index as? FlatIndex { try f.save(to: path) }
            if let p = index as? PQIndex { try p.save(to: path) }
        }
        log(String(format: "%@ %@: R@1 %@, ANN R@10 %.4f, %.0f QPS, %.3g codes/s/core", method,
                   params.map { "\($0.0)=\($0.1)" }.joined(separator: ","), row.recall1.map { String(format: "%.4f", $0) } ?? "-",
                   row.annRecall10 ?? 0, row.searchQPS, row.scanPerCore))
        return row
    }

    func exactResults(_ metric: Metric) throws -> SearchResults {
        if let r = exact[metric] { return r }
        var flat = FlatIndex(dimension: workload.database.columns, metric: metric)
        try flat.add(workload.database, ids: nil)
        let r = try flat.search(workload.queries, k: 10, threads: threads)
        exact[metric] = r
        return r
    }

    /// Seconds of the fastest call of `body` among at least 3 calls and `minimum` seconds.
    /// The best of several runs is the figure least disturbed by other load on a shared machine
    /// (this one is a VM whose speed varies by ±30 % from minute to minute); the FAISS peer
    /// script measures the same way.
    func timed(minimum: Double, _ body: () throws -> Void) throws -> Double {
        var calls = 0
        var best = Double.infinity
        let start = Clock.now()
        repeat {
            let t0 = Clock.now()
            try body()
            best = min(best, Clock.now() - t0)
            calls += 1
        } while calls < 3 || Clock.now() - start < minimum
        return best
    }
}

enum Clock {
    static func now() -> Double { Double(DispatchTime.now().uptimeNanoseconds) * 1e-9 }
}
