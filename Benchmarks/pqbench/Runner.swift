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
    static let knownMethods = ["flat", "pq", "pq4", "opq", "opq4"] + trainedMethods
    /// Methods that need a `pqtrain` model (`--model`).
    static let trainedMethods = ["flat-hybrid", "hcq", "hcq-coarse", "trained-opq", "trained-opq4"]

    let options: Options
    let workload: Workload
    let threads: Int
    let log: (String) -> Void

    /// Exact results per metric (ANN recall reference), computed once.
    var exact: [Metric: SearchResults] = [:]
    /// The `--model` file, loaded once.
    var loadedModel: HybridModel?

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
            case "pq", "pq4", "opq", "opq4":
                for b in options.bytes { if let row = try quantized(method, bytes: b) { rows.append(row) } }
            case "flat-hybrid", "hcq", "hcq-coarse":
                rows.append(try trained(method))
            case "trained-opq", "trained-opq4":
                for b in options.bytes { if let row = try trainedOPQ(bytes: b, fourBit: method == "trained-opq4") { rows.append(row) } }
            default:
                throw UsageError("method '\(method)' is not implemented in this build")
            }
        }
        return rows
    }

    /// One quantized method at `bytes` code bytes per item: 8-bit methods use M = bytes, 4-bit
    /// ones M = 2 · bytes. Returns nil (with a note) when D is not divisible by M.
    func quantized(_ method: String, bytes b: Int) throws -> ResultRow? {
        let fourBit = method.hasSuffix("4"), rotated = method.hasPrefix("opq")
        let d = workload.database.columns, m = fourBit ? 2 * b : b, bits = fourBit ? 4 : 8
        guard d % m == 0 else {
            log("\(method): skipping \(b) bytes: dimension \(d) is not divisible by M = \(m)")
            return nil
        }
        let metric = options.metric ?? .l2
        let t0 = Clock.now()
        var rotation: Matrix?
        let pq: ProductQuantizer
        if rotated {
            var config = OPQ.Configuration(subspaces: m, bitsPerCode: bits)
            config.seed = options.seed
            config.finalPQIterations = options.iterations
            let progress = Progress("\(method) M=\(m): round", enabled: !options.quiet)
            let opq = try OPQ.train(workload.train, config, progress: progress.update)
            rotation = opq.rotation
            pq = opq.quantizer
        } else {
            let progress = Progress("\(method) M=\(m): sub-space", enabled: !options.quiet)
            pq = try ProductQuantizer.train(workload.train, subspaces: m, bitsPerCode: bits, iterations: options.iterations,
                                            seed: options.seed, initialization: options.kmeansInit, progress: progress.update)
        }
        let trainSeconds = Clock.now() - t0
        var params = [("M", "\(m)"), ("K", "\(1 << bits)")]
        if fourBit {
            params += [("rerank", "\(options.rerank ?? PQ4Index.defaultRerank(k: options.k))"), ("kernel", options.kernel.rawValue)]
        }
        return try measure(method: method, params: params, trainSeconds: trainSeconds) { () throws -> any VectorIndex in
            var index: any VectorIndex
            switch (fourBit, rotation) {
            case (false, nil): index = PQIndex(quantizer: pq, metric: metric)
            case (false, let r?): index = try OPQIndex(rotation: r, base: PQIndex(quantizer: pq, metric: metric))
            case (true, nil): index = FastScanSearch(index: try PQ4Index(quantizer: pq, metric: metric), rerank: options.rerank, kernel: options.kernel)
            case (true, let r?): index = FastScanSearch(index: try PQ4Index(quantizer: pq, metric: metric), rerank: options.rerank,
                                                         kernel: options.kernel, rotation: r)
            }
            try index.add(workload.database, ids: nil)
            return index
        }
    }

    /// Builds an index, evaluates recall at depth, and times batch search and one-core scans.
    func measure(method: String, params: [(String, String)], trainSeconds: Double,
                          build: () throws -> any VectorIndex) throws -> ResultRow {
        let t0 = Clock.now()
        let index = try build()
        let addSeconds = Clock.now() - t0
        let q = workload.queries
        let depth = min(max(options.depth, options.k, 10), index.count)
        // R@k and ANN recall from a depth-10 search (the configuration that is timed); MdR from
        // the deep search. For exact-scoring indexes the first is a prefix of the second.
        let top10 = try index.search(q, k: max(10, options.k), threads: threads)
        let deep = try index.search(q, k: depth, threads: threads)
        var row = ResultRow(method: method, params: params + [("metric", index.metric.rawValue)],
                            bytesPerItem: index.bytesPerItem, indexBytes: index.memoryBytes,
                            trainSeconds: trainSeconds, addSeconds: addSeconds, searchQPS: 0, scanPerCore: 0,
                            queries: q.rows)
        let expected = workload.expected ?? workload.groundTruth.map { $0.map { Int64($0.first ?? -1) } }
        if let expected {
            let m = RetrievalMetrics(results: top10, expected: expected)
            row.recall1 = m.recallAt1; row.recall5 = m.recallAt5; row.recall10 = m.recallAt10
            row.medianRank = RetrievalMetrics(results: deep, expected: expected).medianRank
        }
        row.annRecall10 = try RetrievalMetrics.overlap(top10, exact: exactResults(index.metric), k: 10)

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
            if let p = index as? OPQIndex { try p.save(to: path) }
            if let h = (index as? ModelSearch)?.hybrid { try h.save(to: path) }
            if let p = index as? FastScanSearch {
                if let r = p.rotation { try OPQ4Index(rotation: r, base: p.index).save(to: path) } else { try p.index.save(to: path) }
            }
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

/// A `PQ4Index` (behind an optional OPQ rotation) with pqbench's re-ranking depth and kernel
/// fixed, so `measure` can search it through the `VectorIndex` protocol.
struct FastScanSearch: VectorIndex {
    var index: PQ4Index
    let rerank: Int?
    let kernel: FastScanKernel
    var rotation: Matrix? = nil
    var dimension: Int { index.dimension }
    var count: Int { index.count }
    var metric: Metric { index.metric }
    var bytesPerItem: Int { index.bytesPerItem }
    var memoryBytes: Int { index.memoryBytes + (rotation?.values.count ?? 0) * 4 }
    mutating func add(_ vectors: Matrix, ids: [Int64]?) throws(IndexError) {
        try index.add(rotation.map { vectors.multiplied($0) } ?? vectors, ids: ids)
    }
    func search(_ queries: Matrix, k: Int, threads: Int?) throws(IndexError) -> SearchResults {
        // The deep evaluation search asks for k up to 1000: re-rank at least that many.
        try index.search(rotation.map { queries.multiplied($0) } ?? queries, k: k, threads: threads,
                         rerank: max(rerank ?? PQ4Index.defaultRerank(k: min(k, 10)), k), kernel: kernel)
    }
}
