import Dispatch
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
    /// Bytes read only for re-ranked candidates, mean per item (0: none).
    var coldBytesPerItem: Double = 0
    /// One-query search latency, one thread (`--latency`), microseconds.
    var latencyP50: Double?
    var latencyP99: Double?
    /// Queries per second of one-query searches issued by `threads` threads at once (`--latency`).
    var concurrentQPS: Double?
    /// `--stream`: peak anonymous memory while building (the mapped input excluded), bytes.
    var buildPeakAnonBytes: Int?
}

/// Builds each requested index and measures it.
final class Runner {
    let options: Options
    let workload: Workload
    let threads: Int
    let log: (String) -> Void

    /// Exact results per metric (ANN recall reference), computed once.
    var exact: [Metric: SearchResults] = [:]
    /// The `--model` file, loaded once.
    var loadedModel: HybridModel?
    /// Method/size pairs asked for and not built, with the reason.
    var skipped: [SkippedRow] = []
    /// The fraction of queries sent to a two-stage index's fine stage in the row being measured.
    var fineFraction: Double?
    /// The IVF lists probed in the row being measured.
    var nprobe: Int?
    /// The projected coarse step of the row being measured (nil: exact) and its candidates.
    var coarseDims: Int?
    var coarseCandidates: Int?

    init(options: Options, workload: Workload, log: @escaping (String) -> Void) {
        self.options = options
        self.workload = workload
        self.threads = Concurrency.resolve(threads: options.threads)
        self.log = log
    }

    func run() throws -> [ResultRow] {
        var rows: [ResultRow] = []
        for method in options.methods {
            if workload.databaseStream != nil, !method.inverted || method.needsModel {
                skip(method, bytes: nil, "--stream builds ivf-pq* and ivf-opq* only (the others hold the database in memory)")
                continue
            }
            switch method {
            case .flat:
                var index = FlatIndex(dimension: workload.dimension, metric: options.metric ?? .innerProduct)
                rows.append(try measure(method, params: [], trainSeconds: 0, queries: FeatureBatch(workload.queries)) {
                    try index.add(workload.database)
                    return index
                })
            case .pq, .pq4, .opq, .opq4:
                for b in options.bytes {
                    switch method.shape(bytes: b, dimension: workload.dimension) {
                    case let .success(shape): rows.append(try quantized(method, shape: shape))
                    case let .failure(why): skip(method, bytes: b, why.reason)
                    }
                }
            case .ivfPQ, .ivfPQ4, .ivfOPQ, .ivfOPQ4:
                for b in options.bytes {
                    switch method.shape(bytes: b, dimension: workload.dimension) {
                    case let .success(shape): rows += try ivf(method, shape: shape)
                    case let .failure(why): skip(method, bytes: b, why.reason)
                    }
                }
            case .flatHybrid, .hcq, .hcqCoarse:
                rows.append(try trained(method))
            case .dns:
                rows.append(try twoStage(fraction: nil))
            case .dnsSelect:
                for f in options.fractions { rows.append(try twoStage(fraction: f)) }
            case .flatFine:
                rows.append(try flatFine())
            case .ivfHCQ:
                rows += try ivfTrained()
            case .trainedOPQ, .trainedOPQ4:
                let d = try loadModel().configuration.dimension
                for b in options.bytes {
                    switch method.shape(bytes: b, dimension: d) {
                    case let .success(shape): rows.append(try trainedOPQ(method, shape: shape))
                    case let .failure(why): skip(method, bytes: b, why.reason)
                    }
                }
            }
        }
        return rows
    }

    /// Records a pair that cannot be built (reported on stderr and in the JSON).
    func skip(_ method: Method, bytes: Int?, _ reason: String) {
        // On stderr even with --quiet: a row asked for and not built is never silent.
        let line = "pqbench: \(method.rawValue)\(bytes.map { " at \($0) B" } ?? ""): not built: \(reason)\n"
        FileHandle.standardError.write(Data(line.utf8))
        skipped.append(SkippedRow(method: method.rawValue, bytes: bytes, reason: reason))
    }

    /// The search parameters of a run at depth `k`: all cores unless told, the kernel and the
    /// re-ranking depth asked for. The re-ranking depth follows the timed depth-10 search
    /// (`--rerank`, default 10 · min(k, 10)), raised to k for the deep evaluation search.
    func parameters(k: Int, threads: Int) -> SearchParameters {
        let rerank = options.rerank ?? SearchParameters.defaultRerank(k: min(k, 10))
        var p = SearchParameters(k: k, threads: threads, rerank: max(rerank, k), kernel: options.kernel)
        p.fineFraction = fineFraction
        p.nprobe = nprobe
        if nprobe != nil, let dp = coarseDims {
            p.coarseDimensions = dp
            p.coarseCandidates = coarseCandidates
        }
        if let keep = options.filterKeep { p.filter = .predicate(Self.keepFilter(fraction: keep)) }
        return p
    }

    /// A predicate keeping about `fraction` of the ids (a multiplicative hash, so kept ids are
    /// spread over the database).
    static func keepFilter(fraction: Double) -> @Sendable (Int64) -> Bool {
        let limit = UInt64(fraction * Double(UInt32.max))
        return { id in (UInt64(truncatingIfNeeded: id) &* 0x9E37_79B9_7F4A_7C15) >> 32 <= limit }
    }

    /// Params that fast-scan methods report.
    func fastScanParams(_ method: Method) -> [(String, String)] {
        guard method.fastScan else { return [] }
        return [("rerank", "\(options.rerank ?? SearchParameters.defaultRerank(k: options.k))"),
                ("kernel", (options.kernel ?? .best).rawValue)]
    }

    /// One quantized method (pq, pq4, opq, opq4) at a code shape.
    func quantized(_ method: Method, shape: (subspaces: Int, bits: Int)) throws -> ResultRow {
        let m = shape.subspaces, bits = shape.bits
        let metric = options.metric ?? .l2
        let t0 = Clock.now()
        let (pq, opq) = try trainQuantizer(method, subspaces: m, bits: bits, on: workload.train)
        let trainSeconds = Clock.now() - t0
        let params = [("M", "\(m)"), ("K", "\(1 << bits)")] + fastScanParams(method)
        let queries = FeatureBatch(workload.queries)
        return try measure(method, params: params, trainSeconds: trainSeconds, queries: queries) { () throws -> AnyIndex in
            var index: AnyIndex
            switch (method.fastScan, opq) {
            case (false, nil): index = .pq(PQIndex(quantizer: pq, metric: metric))
            case (false, let o?): index = .opq(try OPQIndex(opq: o, metric: metric))
            case (true, nil): index = .pq4(try PQ4Index(quantizer: pq, metric: metric))
            case (true, let o?): index = .opq4(try OPQ4Index(opq: o, metric: metric))
            }
            try index.add(workload.database)
            return index
        }
    }

    /// An IVF method at a code shape: coarse centroids and codes (behind an OPQ rotation for
    /// ivf-opq*) trained on the train split, the index built once (streamed with `--stream`),
    /// then one row per `--nprobe` value.
    func ivf(_ method: Method, shape: (subspaces: Int, bits: Int)) throws -> [ResultRow] {
        let m = shape.subspaces, bits = shape.bits
        let nlist = defaultLists(items: workload.databaseCount, sample: workload.train.rows)
        let t0 = Clock.now()
        let pq: ProductQuantizer, opq: OPQ?, centroids: Matrix
        if options.residual {
            guard !method.rotated else {
                skip(method, bytes: m * bits / 8, "--residual builds ivf-pq and ivf-pq4 (an OPQ rotation trained on residuals is not built)")
                return []
            }
            // Centroids first: the quantizer learns the train split's residuals to them.
            centroids = try trainCoarse(method.rawValue, workload.train, nlist: nlist)
            (pq, opq) = try trainQuantizer(method, subspaces: m, bits: bits,
                                           on: IVFIndex.residuals(of: workload.train, to: centroids).residuals)
        } else {
            (pq, opq) = try trainQuantizer(method, subspaces: m, bits: bits, on: workload.train)
            // Lists of rotated vectors behind a rotation.
            centroids = try trainCoarse(method.rawValue, opq.map { workload.train.multiplied($0.rotation) } ?? workload.train, nlist: nlist)
        }
        let trainSeconds = Clock.now() - t0
        let metric = options.metric ?? .l2
        // Built as the concrete kind (an enum payload grown in place would be copied per chunk).
        let built: AnyIndex, buildSeconds: Double, peakAnon: Int?
        if let opq {
            let r = try build(try IVFOPQIndex(opq: opq, centroids: centroids, metric: metric), method: method, m: m)
            (built, buildSeconds, peakAnon) = (.ivfOPQ(r.0), r.1, r.2)
        } else {
            let r = try build(try IVFIndex(centroids: centroids, quantizer: pq, metric: metric, residual: options.residual),
                              method: method, m: m)
            (built, buildSeconds, peakAnon) = (.ivf(r.0), r.1, r.2)
        }
        return try probeRows(method, built, nlist: nlist,
                             params: [("M", "\(m)"), ("K", "\(1 << bits)")] + (options.residual ? [("residual", "1")] : []),
                             after: fastScanParams(method),
                             trainSeconds: trainSeconds, buildSeconds: buildSeconds, peakAnon: peakAnon, queries: FeatureBatch(workload.queries))
    }

    /// The product quantizer of `method` at a code shape, trained on `train` — behind a learned
    /// OPQ rotation (returned too) for the rotated methods.
    func trainQuantizer(_ method: Method, subspaces m: Int, bits: Int, on train: Matrix) throws -> (ProductQuantizer, OPQ?) {
        if method.rotated {
            var config = OPQ.Configuration(subspaces: m, bitsPerCode: bits)
            config.seed = options.seed
            config.finalPQIterations = options.iterations
            let progress = Progress("\(method.rawValue) M=\(m): round", enabled: !options.quiet)
            let opq = try OPQ.train(train, config, progress: progress.update)
            return (opq.quantizer, opq)
        }
        let progress = Progress("\(method.rawValue) M=\(m): sub-space", enabled: !options.quiet)
        return (try ProductQuantizer.train(train, subspaces: m, bitsPerCode: bits, iterations: options.iterations,
                                           seed: options.seed, initialization: options.kmeansInit, progress: progress.update), nil)
    }

    /// Coarse centroids of `nlist` lists: k-means of `train`, progress on stderr.
    func trainCoarse(_ label: String, _ train: Matrix, nlist: Int) throws -> Matrix {
        let coarse = Progress("\(label) nlist=\(nlist): coarse k-means iteration", enabled: !options.quiet)
        defer { coarse.finish() }
        return try IVFIndex.trainCentroids(train, lists: nlist, seed: options.seed, initialization: options.kmeansInit,
                                           progress: coarse.update)
    }

    /// `--nlist`, else 4·√N bounded by the training sample.
    func defaultLists(items n: Int, sample: Int) -> Int {
        options.nlist ?? max(1, min(sample, Int((Double(n).squareRoot() * 4).rounded())))
    }

    /// One row per `--nprobe` value (at most nlist) of a built IVF index.
    func probeRows<Index: VectorIndex>(_ method: Method, _ index: Index, nlist: Int, params: [(String, String)], after: [(String, String)] = [],
                                       trainSeconds: Double, buildSeconds: Double, peakAnon: Int? = nil,
                                       queries: FeatureBatch) throws -> [ResultRow] {
        var rows: [ResultRow] = []
        // One row per (coarse step, candidates, nprobe): 0 dimensions is the exact coarse step.
        let steps = (options.coarseDims ?? [0]).flatMap { dims in
            dims == 0 ? [(0, nil)] : (options.coarseCandidates ?? [0]).map { (dims, $0 > 0 ? $0 : nil) } as [(Int, Int?)]
        }
        for (dims, candidates) in steps {
            for probe in options.nprobe ?? [1] where probe <= nlist {
                nprobe = probe
                coarseDims = dims > 0 ? dims : nil
                coarseCandidates = candidates
                defer { nprobe = nil; coarseDims = nil; coarseCandidates = nil }
                var coarse: [(String, String)] = []
                if dims > 0 {
                    coarse = [("coarse_dims", "\(dims)"),
                              ("coarse_candidates", "\(IVFIndex.coarseCandidates(candidates, nprobe: probe, nlist: nlist))")]
                }
                var row = try measure(method, params: params + [("nlist", "\(nlist)"), ("nprobe", "\(probe)")] + coarse + after,
                                      trainSeconds: trainSeconds, queries: queries) { index }
                row.addSeconds = buildSeconds
                row.buildPeakAnonBytes = peakAnon
                rows.append(row)
            }
        }
        return rows
    }

    /// Adds the database to `index`: from the stream (`--stream`, peak anonymous memory
    /// sampled, progress with ETA) or the matrix in memory. Returns the index, seconds and peak.
    func build<Index: VectorIndex>(_ index: Index, method: Method, m: Int) throws -> (Index, Double, Int?) {
        var index = index
        let t0 = Clock.now()
        var peakAnon: Int?
        if let stream = workload.databaseStream {
            let progress = Progress("\(method.rawValue) M=\(m): adding rows", enabled: !options.quiet)
            (_, peakAnon) = try MemorySampler.peakAnonymous {
                try index.add(stream: stream, chunk: 262_144, progress: progress.update)
            }
        } else {
            try index.add(workload.database)
        }
        return (index, Clock.now() - t0, peakAnon)
    }

    /// Builds an index, evaluates recall at depth, and times batch search and one-core scans.
    func measure<Index: VectorIndex>(_ method: Method, params: [(String, String)], trainSeconds: Double,
                                     queries q: FeatureBatch, build: () throws -> Index) throws -> ResultRow {
        let t0 = Clock.now()
        let index = try build()
        let addSeconds = Clock.now() - t0
        let depth = min(max(options.depth, options.k, 10), index.count)
        // R@k and ANN recall from a depth-10 search (the configuration that is timed); MdR from
        // the deep search. For exact-scoring indexes the first is a prefix of the second.
        let top10 = try index.search(q, parameters: parameters(k: max(10, options.k), threads: threads))
        let deep = try index.search(q, parameters: parameters(k: depth, threads: threads))
        var row = ResultRow(method: method.rawValue, params: params + [("metric", index.metric.rawValue)],
                            bytesPerItem: index.bytesPerItem, indexBytes: index.memoryBytes,
                            trainSeconds: trainSeconds, addSeconds: addSeconds, searchQPS: 0, scanPerCore: 0,
                            queries: q.count)
        row.coldBytesPerItem = (index as? ColdBytes)?.coldBytesPerItem ?? 0
        let expected = workload.expected ?? workload.groundTruth.map { $0.map { Int64($0.first ?? -1) } }
        if let expected {
            let m = RetrievalMetrics(results: top10, expected: expected)
            row.recall1 = m.recallAt1; row.recall5 = m.recallAt5; row.recall10 = m.recallAt10
            row.medianRank = RetrievalMetrics(results: deep, expected: expected).medianRank
        }
        row.annRecall10 = try RetrievalMetrics.overlap(top10, exact: exactResults(index.metric), k: 10)

        // Batch throughput: all queries, all cores, depth k; repeated for at least 0.5 s.
        let batch = parameters(k: options.k, threads: threads)
        row.searchQPS = Double(q.count) / (try timed(minimum: 0.5) { _ = try index.search(q, parameters: batch) })
        // One core: queries in batches of up to 64 (LUT construction included), at least 0.5 s.
        let sample = q.prefix(min(q.count, 64))
        let oneCore = parameters(k: options.k, threads: 1)
        let perBatch = try timed(minimum: 0.5) { _ = try index.search(sample, parameters: oneCore) }
        row.scanPerCore = Double(index.count) * Double(sample.count) / perBatch
        if options.latency {
            (row.latencyP50, row.latencyP99) = try latency(index, q, parameters: oneCore)
            row.concurrentQPS = try concurrentQPS(index, q, parameters: oneCore, threads: threads)
        }
        if let dir = options.saveIndexes {
            try FileManager.default.createDirectory(atPath: dir, withIntermediateDirectories: true)
            let path = dir + "/\(method.rawValue)-\(index.bytesPerItem).hpq"
            if let saved = index as? AnyIndex { try saved.save(to: path) } else { log("\(method.rawValue): not saved (no file kind)") }
        }
        log(String(format: "%@ %@: R@1 %@, ANN R@10 %.4f, %.0f QPS, %.3g codes/s/core", method.rawValue,
                   params.map { "\($0.0)=\($0.1)" }.joined(separator: ","), row.recall1.map { String(format: "%.4f", $0) } ?? "-",
                   row.annRecall10 ?? 0, row.searchQPS, row.scanPerCore))
        return row
    }

    /// p50 and p99 of one-query searches on one thread, in µs: each query searched alone, in
    /// order, after a warm-up of 20 searches (up to 2,000 queries timed).
    func latency<Index: VectorIndex>(_ index: Index, _ q: FeatureBatch, parameters: SearchParameters) throws -> (Double, Double) {
        let n = min(q.count, 2000)
        let single = (0..<n).map { q.slicing(rows: $0..<($0 + 1)) }
        for i in 0..<min(20, n) { _ = try index.search(single[i], parameters: parameters) }
        var times: [Double] = []
        times.reserveCapacity(n)
        for s in single {
            let t0 = Clock.now()
            _ = try index.search(s, parameters: parameters)
            times.append((Clock.now() - t0) * 1e6)
        }
        times.sort()
        func at(_ p: Double) -> Double { times[min(times.count - 1, Int((p * Double(times.count - 1)).rounded()))] }
        return (at(0.5), at(0.99))
    }

    /// Queries per second when `threads` threads each search one query per call (one core per
    /// call, as a service's request threads do), over the query set split between them.
    func concurrentQPS<Index: VectorIndex>(_ index: Index, _ q: FeatureBatch, parameters: SearchParameters, threads: Int) throws -> Double {
        let n = min(q.count, 2000)
        let single = (0..<n).map { q.slicing(rows: $0..<($0 + 1)) }
        let failed = Failure()
        let t0 = Clock.now()
        DispatchQueue.concurrentPerform(iterations: threads) { t in
            for i in stride(from: t, to: n, by: threads) {
                do { _ = try index.search(single[i], parameters: parameters) } catch { failed.set("\(error)") }
            }
        }
        let seconds = Clock.now() - t0
        if let e = failed.message { throw MethodError(e) }
        return Double(n) / seconds
    }

    func exactResults(_ metric: Metric) throws -> SearchResults {
        if let r = exact[metric] { return r }
        if let stream = workload.databaseStream, let dir = workload.directory {
            let r = try StreamedExact.top10(stream, queries: workload.queries, metric: metric, directory: dir, threads: threads, log: log)
            exact[metric] = r
            return r
        }
        var flat = FlatIndex(dimension: workload.dimension, metric: metric)
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

/// The first error of concurrent work.
final class Failure: @unchecked Sendable {
    private let lock = NSLock()
    private(set) var message: String?
    func set(_ m: String) { lock.lock(); if message == nil { message = m }; lock.unlock() }
}
