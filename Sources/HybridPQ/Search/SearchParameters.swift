/// The settings of one search call, taken by every index through `VectorIndex.search`.
///
/// A value, passed per call and never stored in an index, so concurrent searches with different
/// settings cannot disturb each other (the FAISS issue #2204 pattern of mutating `nprobe` on a
/// shared index is impossible here).
///
/// **Threads default to 1.** A search service runs many one-query searches at once, one per
/// request thread; if each fanned out over every core they would contend for the same cores and
/// every request would wait on the slowest. Batch jobs (pqbench, offline evaluation) set
/// `threads` to the cores they may use (`Concurrency.availableCores`).
public struct SearchParameters: Sendable {
    /// Results per query (≥ 1).
    public var k: Int
    /// Cores one call may use (≥ 1).
    public var threads: Int
    /// Candidates handed from the first stage (the code scan) to the re-ranking stage, where the
    /// index has one (4-bit fast scan: exact float tables). `nil`: `10 · k`. Values below `k`
    /// are raised to `k`.
    public var rerank: Int?
    /// The fast-scan kernel (`nil`: `FastScanKernel.best`, the calibrated fastest one).
    public var kernel: FastScanKernel?
    /// Inverted lists probed, for partitioned (IVF) indexes; others ignore it.
    public var nprobe: Int?
    /// For IVF indexes: score the lists first in the span of the centroids' `coarseDimensions`
    /// principal directions, then exactly for the `coarseCandidates` best (`nil`: every list
    /// exactly, the default). Fewer multiply-adds per query at many lists in a high dimension,
    /// at a small risk of missing one of the nprobe nearest lists (`IVFIndex`'s projected coarse
    /// step).
    public var coarseDimensions: Int?
    /// Lists scored exactly after the projected estimate (`nil`: max(64, 4 · nprobe); at least
    /// nprobe are).
    public var coarseCandidates: Int?
    /// Items a search may return (`nil`: all). Applied inside the scan: a filtered item never
    /// takes a result slot, so `k` results come back whenever `k` accepted items exist.
    public var filter: IDFilter?
    /// For two-stage indexes: the fraction of queries the model's selector sends to the fine
    /// stage (`nil`: every query); the others keep the hot stage's order.
    public var fineFraction: Double?
    /// Store positions the scan must skip (a live index's deleted rows when its segments are
    /// searched as the runs of one store); the engine's own seam, not public API.
    var excludedPositions: PositionSet?
    /// The runs each query scans, by run index (a partitioned index's probed lists; row q is
    /// query q of the call); nil: every run. The engine's own seam, like `excludedPositions`.
    var probedRuns: [[Int]]?
    /// The query of the call that `probedRuns[0]` is (a batch's probes renumbered into the
    /// runs it sees start at the batch's first query).
    var probedRunsStart = 0

    /// Parameters for `k` results on `threads` cores (default: one).
    public init(k: Int = 10, threads: Int = 1, rerank: Int? = nil, kernel: FastScanKernel? = nil,
                nprobe: Int? = nil, filter: IDFilter? = nil) {
        self.k = k
        self.threads = threads
        self.rerank = rerank
        self.kernel = kernel
        self.nprobe = nprobe
        self.filter = filter
    }

    /// Default re-ranking depth for `k` results: `10 · k` (saturating).
    public static func defaultRerank(k: Int) -> Int {
        let (d, overflow) = k.multipliedReportingOverflow(by: 10)
        return overflow ? Int.max : d
    }

    /// The candidates the first stage keeps: `max(k, rerank ?? 10 · k)`.
    public var rerankDepth: Int { max(k, rerank ?? Self.defaultRerank(k: k)) }

    /// These parameters for an index of `items` items: `k` capped at the item count (at least 1),
    /// so an absurd `k` (Int.max) sizes nothing; results then have `min(k, items)` columns.
    public func capped(items: Int) -> SearchParameters {
        var p = self
        p.k = min(k, max(1, items))
        if let r = rerank { p.rerank = min(r, max(p.k, items)) }
        return p
    }

    /// The kernel to run (`kernel`, or the calibrated best).
    public var resolvedKernel: FastScanKernel { kernel ?? .best }

    /// Checks the settings that every index reads.
    public func validate() throws(IndexError) {
        guard k >= 1 else { throw .invalidK(k) }
        guard threads >= 1 else { throw .invalidParameter(name: "threads", value: threads, reason: "must be ≥ 1") }
        if let rerank, rerank < 1 { throw .invalidParameter(name: "rerank", value: rerank, reason: "must be ≥ 1") }
        if let nprobe, nprobe < 1 { throw .invalidParameter(name: "nprobe", value: nprobe, reason: "must be ≥ 1") }
        if let kernel, !kernel.isAvailable { throw .kernelUnavailable(kernel.rawValue) }
        if let f = fineFraction, !(f >= 0 && f <= 1) {
            // The value is reported in percent (NaN and huge values as −1: no Int traps here).
            let percent = f.isFinite && abs(f) < 1e15 ? Int((f * 100).rounded(.towardZero)) : -1
            throw .invalidParameter(name: "fineFraction", value: percent, reason: "must be a fraction in [0, 1]")
        }
    }
}
