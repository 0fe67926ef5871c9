import HybridPQ

/// Command-line options of pqbench (DESIGN.md §5 fixes the ones marked "fixed").
struct Options {
    var data: String?                 // fixed: --data DIR
    var synthetic: Int?               // fixed: --synthetic N
    var dimension = 384               // fixed: --dim D
    var methods: [Method] = [.flat, .pq, .pq4, .opq4]  // fixed: --methods LIST
    var bytes = [8, 16, 32, 64]       // fixed: --bytes LIST
    var model: String?                // fixed: --model FILE (trained methods)
    var json: String?                 // fixed: --json FILE
    var csv: String?
    var plot: String?                 // --plot FILE.svg
    var plotPeers: [String] = []      // --plot-peer FILE.json (repeatable)
    var micro: Int?                   // --micro N: kernel throughput only
    var threads: Int?                 // fixed: --threads T
    var k = 10                        // fixed: --k K
    var metric: Metric?               // nil: ip for flat, l2 for quantized methods
    var database: String?             // test | all
    var queries: Int?
    var iterations = 25
    var kmeansInit: KMeans.Initialization = .kMeansPlusPlus
    var seed: UInt64 = 1234
    var depth = 1000
    var exportData: String?
    var exportEmbeddings: String?     // --export-embeddings DIR: the model's coarse embeddings and codebooks
    var saveIndexes: String?
    var quiet = false
    var rerank: Int?                  // pq4/opq4: candidates re-scored exactly (default 10·k)
    var nlist: Int?                   // ivf-*: coarse lists (default 4·√N)
    var nprobe: [Int]?                // ivf-*: lists probed, one row each (default 1)
    var coarseDims: [Int]?            // ivf-*: projected coarse step (SearchParameters.coarseDimensions; 0: exact)
    var coarseCandidates: [Int]?      // ivf-*: lists scored exactly after it (one row each)
    var residual = false              // ivf-pq, ivf-pq4: codes of x − c (PQ trained on residuals)
    var kernel: FastScanKernel?       // nil: the calibrated best
    var filterKeep: Double?           // --filter-keep F: search with an id filter keeping a fraction F
    var fractions = [0.1, 0.2, 0.3, 0.5]   // dns-select: fractions of queries re-ranked
    var gapSelector = false           // dns-select: the gap-only baseline selector
    var latency = false               // fixed: --latency (one query per call, one thread: p50/p99)
    var stream = false                // --stream: the database read from a memory mapping, a chunk at a time
    var trainSample: Int?             // --train-sample N: training rows for coarse and PQ k-means

    static let usage = """
    usage: pqbench --micro N [--bytes LIST]
           pqbench [--data DIR | --synthetic N [--dim D]] [--methods LIST] [--bytes 8,16,32,64]
                   [--metric ip|l2] [--k K] [--threads T] [--json FILE] [--csv FILE] [--plot FILE.svg] [--plot-peer FILE.json]
                   [--database test|all] [--queries Q] [--iterations I] [--seed S] [--depth R]
                   [--rerank R] [--kernel auto|portable|avx2|avx512] [--model FILE]
                   [--latency] [--filter-keep F] [--fractions LIST] [--selector learned|gap]
                   [--export-data DIR] [--export-embeddings DIR] [--save-indexes DIR] [--stream] [--train-sample N] [--quiet]

      --data DIR        data-set directory (DESIGN.md §4: queries.npy, targets.npy, split.json)
                        or a plain vector set (base/query[/learn/groundtruth] .npy or .fvecs).
                        Default: Benchmarks/data/debian-desc-3k, 3,000 real text embeddings
      --synthetic N     built-in deterministic synthetic cross-view data of N items (speed
                        runs); --dim sets its dimension (384)
      --methods LIST    flat (exact float search), pq (8-bit PQ), pq4 (4-bit PQ, fast scan +
                        exact re-ranking), opq / opq4 (the same behind a learned rotation),
                        ivf-pq / ivf-pq4 / ivf-opq / ivf-opq4 (the same codes in IVF lists:
                        --nlist, --nprobe); default flat,pq,pq4,opq4. With --model (a pqtrain model file):
                        flat-hybrid (the model unquantized), hcq (all its levels' codes),
                        hcq-coarse (its coarse code alone), trained-opq (OPQ of its continuous
                        coarse embeddings at each --bytes: the post-hoc baseline),
                        trained-opq4 (the same with 4-bit codes, fast scan), ivf-hcq (the
                        hcq codes in IVF lists over its coarse embeddings). With a model
                        trained with --fine: dns (the hot code, then --rerank candidates
                        re-scored with the fine stage), dns-select (the same for the fraction
                        of queries the model's selector picks: one row per --fractions value,
                        default 0.1,0.2,0.3,0.5; --selector gap: the top-1/top-2 gap baseline),
                        flat-fine (the float hybrid score over every item: the upper bound)
      --bytes LIST      code bytes per item for quantized methods (8-bit: M = bytes; 4-bit:
                        M = 2·bytes)
      --rerank R        pq4/opq4: candidates re-scored with exact float tables (default 10·k)
      --nlist N         ivf-*: coarse lists (k-means of the train split; default 4·√N)
      --nprobe LIST     ivf-*: lists probed, one row per value (e.g. 1,2,4,8,16; default 1)
      --coarse-dims LIST  ivf-*: estimate the lists' scores in the centroids' D principal
                        directions, then score the best --coarse-candidates exactly; one row
                        per value and nprobe (0: every list exactly, the default; candidates
                        default max(64, 4·nprobe))
      --coarse-candidates LIST  ivf-*: lists scored exactly after the estimate, one row each
      --residual        ivf-pq, ivf-pq4: residual lists (codes of x − c, the quantizer trained on
                        the train split's residuals to their centroids); rows carry residual=1
      --kernel K        pq4/opq4: auto (the fastest available, calibrated on first use),
                        portable, avx2 or avx512
      --latency         also time one-query searches (one thread, after a warm-up): each row
                        gains latency_p50_us and latency_p99_us, and concurrent_qps: one-query
                        searches issued by --threads threads at once
      --filter-keep F   search with an id filter (a predicate) that keeps a fraction F of the
                        items, applied inside the scan; 1 measures the cost of the hook alone
      --metric M        ip or l2 for every method; default: ip for flat, l2 for pq (on unit
                        vectors l2 ranks PQ codes better; see docs/BENCHMARKS.md)
      --database D      test: the test split's targets (default for --data); all: every item
                        (default for --synthetic, so N codes are scanned)
      --queries Q       use at most Q test queries (default: all for --data, 1000 synthetic)
      --depth R         result depth for R@k and MdR (default 1000)
      --iterations I    k-means iterations per sub-space (default 25, as FAISS)
      --kmeans-init X   kMeansPlusPlus (default) or random (FAISS's) seeding of the PQ and IVF
                        coarse k-means (random for thousands of lists: k-means++ is sequential)
      --threads T       cores to use (default: all); scan throughput is always one core
      --micro N         micro-benchmark: scan-kernel throughput on one core over N random codes
                        per --bytes value (codes/s, GB/s) and streaming memory bandwidth
      --plot FILE.svg   draw R@1 and R@10 against bytes per item, one line per method; with
                        dns-select rows also FILE-fraction.svg: R@1 against queries re-ranked
                        with nprobe rows (ivf-*) also FILE-qps.svg: QPS (log) against R@10,
                        one line per method and nlist (ann-benchmarks' picture)
      --plot-peer F.json  add a peer run's nprobe rows to FILE-qps.svg (a JSON report of pqbench
                        or Benchmarks/faiss on the same files; repeatable)
      --export-data DIR write the data set used (e.g. the synthetic one) as .npy files
      --export-embeddings DIR  with --model: write the model's coarse embeddings in its coarse
                        quantizer's (rotated) space and its codebooks as .npy files, for the
                        analyses of Benchmarks/hcq (queries.npy: the run's queries through the
                        joint heads; targets.npy: the database items; train_targets.npy,
                        val_targets.npy; codebooks.npy: M × K × D/M)
      --save-indexes DIR  save every index built to DIR/<method>-<bytes>.hpq
      --stream          scale runs (ivf-* methods only): with --data DIR, the database is every
                        row of DIR/targets.npy read through a memory mapping a chunk at a time
                        (never all its floats in memory), test queries read row by row; rows
                        gain build_peak_anon_bytes (peak anonymous memory while building, the
                        mapped input excluded); the exact top-10 for ANN recall is computed by
                        a streamed scan once and stored as DIR/exact-top10-<metric>-<Q>.npy
      --train-sample N  train coarse and PQ k-means on N rows: the first N of the train split,
                        or (--stream, N above the split) N rows spread evenly over the database
    """

    static func parse(_ args: [String]) throws -> Options {
        var o = Options()
        var i = 0
        func value(_ name: String) throws -> String {
            i += 1
            guard i < args.count else { throw UsageError("\(name) needs a value") }
            return args[i]
        }
        func int(_ name: String, min: Int = 1) throws -> Int {
            let v = try value(name)
            guard let n = Int(v), n >= min else { throw UsageError("\(name) expects an integer ≥ \(min), got '\(v)'") }
            return n
        }
        func ints(_ name: String, min: Int = 1) throws -> [Int] {
            let v = try value(name)
            let parts = v.split(separator: ",").map { Int($0.trimmingCharacters(in: .whitespaces)) }
            guard !parts.isEmpty, parts.allSatisfy({ ($0 ?? min - 1) >= min }) else {
                throw UsageError("\(name) expects a comma-separated list of integers ≥ \(min), got '\(v)'")
            }
            return parts.map { $0! }
        }
        while i < args.count {
            let a = args[i]
            switch a {
            case "--data": o.data = try value(a)
            case "--synthetic": o.synthetic = try int(a)
            case "--dim": o.dimension = try int(a)
            case "--methods":
                o.methods = try value(a).split(separator: ",").map { name in
                    let n = name.trimmingCharacters(in: .whitespaces)
                    guard let m = Method(rawValue: n) else { throw UsageError("unknown method '\(n)' (known: \(Method.names))") }
                    return m
                }
            case "--bytes": o.bytes = try ints(a)
            case "--model": o.model = try value(a)
            case "--json": o.json = try value(a)
            case "--csv": o.csv = try value(a)
            case "--plot": o.plot = try value(a)
            case "--plot-peer": o.plotPeers.append(try value(a))
            case "--micro": o.micro = try int(a)
            case "--threads": o.threads = try int(a)
            case "--k": o.k = try int(a)
            case "--metric":
                let v = try value(a)
                guard let m = Metric(name: v) else { throw UsageError("--metric expects ip or l2, got '\(v)'") }
                o.metric = m
            case "--database":
                let v = try value(a)
                guard v == "test" || v == "all" else { throw UsageError("--database expects test or all, got '\(v)'") }
                o.database = v
            case "--queries": o.queries = try int(a)
            case "--iterations": o.iterations = try int(a, min: 0)
            case "--kmeans-init":
                let v = try value(a)
                guard let i = KMeans.Initialization(rawValue: v) else {
                    throw UsageError("--kmeans-init expects kMeansPlusPlus or random, got '\(v)'")
                }
                o.kmeansInit = i
            case "--seed": o.seed = UInt64(try int(a, min: 0))
            case "--depth": o.depth = try int(a)
            case "--export-data": o.exportData = try value(a)
            case "--export-embeddings": o.exportEmbeddings = try value(a)
            case "--save-indexes": o.saveIndexes = try value(a)
            case "--quiet": o.quiet = true
            case "--rerank": o.rerank = try int(a)
            case "--nlist": o.nlist = try int(a)
            case "--nprobe": o.nprobe = try ints(a)
            case "--coarse-dims": o.coarseDims = try ints(a, min: 0)
            case "--coarse-candidates": o.coarseCandidates = try ints(a)
            case "--kernel":
                let v = try value(a)
                if v == "auto" { o.kernel = nil; break }
                guard let k = FastScanKernel(rawValue: v) else {
                    throw UsageError("--kernel expects auto, portable, avx2 or avx512, got '\(v)'")
                }
                guard k.isAvailable else {
                    throw UsageError("--kernel \(v) is not available on this processor (available: \(FastScanKernel.available.map(\.rawValue).joined(separator: ", ")))")
                }
                o.kernel = k
            case "--filter-keep":
                let v = try value(a)
                guard let f = Double(v), f > 0, f <= 1 else { throw UsageError("--filter-keep expects a fraction in (0, 1], got '\(v)'") }
                o.filterKeep = f
            case "--latency": o.latency = true
            case "--stream": o.stream = true
            case "--residual": o.residual = true
            case "--train-sample": o.trainSample = try int(a)
            case "--fractions":
                let v = try value(a)
                let parts = v.split(separator: ",").map { Double($0.trimmingCharacters(in: .whitespaces)) }
                guard !parts.isEmpty, parts.allSatisfy({ ($0 ?? -1) >= 0 && ($0 ?? 2) <= 1 }) else {
                    throw UsageError("--fractions expects fractions in [0, 1], got '\(v)'")
                }
                o.fractions = parts.map { $0! }
            case "--selector":
                let v = try value(a)
                guard v == "learned" || v == "gap" else { throw UsageError("--selector expects learned or gap, got '\(v)'") }
                o.gapSelector = v == "gap"
            case "-h", "--help": throw UsageError(nil)
            default: throw UsageError("unknown option '\(a)'")
            }
            i += 1
        }
        if o.data != nil && o.synthetic != nil { throw UsageError("--data and --synthetic exclude each other") }
        if o.coarseCandidates != nil && (o.coarseDims ?? [0]).allSatisfy({ $0 == 0 }) {
            throw UsageError("--coarse-candidates needs --coarse-dims with a value above 0 (the projected coarse step)")
        }
        if o.exportEmbeddings != nil && o.model == nil { throw UsageError("--export-embeddings needs --model FILE") }
        if o.stream && o.data == nil { throw UsageError("--stream reads the database from --data DIR/targets.npy") }
        return o
    }
}

/// A command-line mistake; `message == nil` asks for the usage text alone.
struct UsageError: Error {
    var message: String?
    init(_ message: String?) { self.message = message }
}
