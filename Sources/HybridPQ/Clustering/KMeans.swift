/// Lloyd's k-means with k-means++ seeding, BLAS-backed assignment, empty-cluster re-seeding and
/// a spherical (unit-norm centroid, cosine) variant.
///
/// Deterministic: the same data, configuration and seed give the same centroids on every run
/// (sums are accumulated in `Double` in a fixed order; ties go to the lower centroid index).
public struct KMeans: Sendable {
    /// How the first centroids are chosen.
    public enum Initialization: String, Sendable {
        /// D²-weighted sampling (Arthur & Vassilvitskii 2007): better starts, fewer iterations.
        case kMeansPlusPlus
        /// `k` distinct points drawn uniformly (FAISS's default).
        case random
    }

    /// Settings of one k-means run.
    public struct Configuration: Sendable {
        /// Number of clusters.
        public var clusters: Int
        /// Upper bound on Lloyd iterations.
        public var maxIterations: Int = 25
        /// Stop when the objective improves by less than this fraction between iterations.
        public var tolerance: Double = 1e-5
        /// Seed of every random choice (initialisation, sub-sampling, re-seeding order).
        public var seed: UInt64 = 1234
        /// Spherical k-means: points are compared by inner product and centroids are
        /// re-normalised to unit length after every update (HCQ's codebook refit).
        public var spherical: Bool = false
        /// Initialisation strategy.
        public var initialization: Initialization = .kMeansPlusPlus
        /// Train on at most `clusters * maxPointsPerCentroid` points, sampled with `seed`
        /// (FAISS's rule: more points cost time and barely move the centroids). `nil`: all.
        public var maxPointsPerCentroid: Int? = 256
        /// Start from these centroids (`clusters × D`) instead of `initialization`: a warm start,
        /// as OPQ's alternation and HCQ's per-epoch refit use.
        public var initialCentroids: Matrix?

        /// A configuration for `clusters` clusters with defaults for the rest.
        public init(clusters: Int) { self.clusters = clusters }
    }

    /// The outcome of a run.
    public struct Result: Sendable {
        /// `clusters × D` centroids.
        public var centroids: Matrix
        /// Cluster of each training point used (after sub-sampling: of the sampled points).
        public var assignments: [Int32]
        /// Final objective: sum of squared distances (spherical: sum of 1 − cosine).
        public var objective: Double
        /// Objective after each iteration, first to last.
        public var objectiveHistory: [Double]
        /// Iterations run.
        public var iterations: Int
        /// Empty clusters that had to be re-seeded, over all iterations.
        public var reseeded: Int
    }

    /// The settings this instance runs with.
    public var configuration: Configuration

    /// A k-means runner with the given configuration.
    public init(_ configuration: Configuration) { self.configuration = configuration }

    /// Clusters the rows of `data`; `progress(iteration, maxIterations)` after each Lloyd
    /// iteration (large runs, such as an IVF coarse quantizer, take minutes).
    ///
    /// - Throws: `ClusteringError.tooFewPoints` when there are fewer rows than clusters,
    ///   `.invalidConfiguration` for non-positive counts, `.nonFinite` for NaN/∞ input.
    public func fit(_ data: Matrix, progress: (Int, Int) -> Void = { _, _ in }) throws(ClusteringError) -> Result {
        let k = configuration.clusters
        guard k >= 1, configuration.maxIterations >= 0 else {
            throw .invalidConfiguration("clusters must be ≥ 1 and maxIterations ≥ 0 (got \(k), \(configuration.maxIterations))")
        }
        guard data.rows >= k else { throw .tooFewPoints(points: data.rows, clusters: k) }
        guard data.values.allSatisfy({ $0.isFinite }) else { throw .nonFinite }
        var rng = SeededGenerator(seed: configuration.seed)
        var points = data
        if let cap = configuration.maxPointsPerCentroid, data.rows > cap * k {
            points = data.gathering(rows: Self.sample(count: cap * k, from: data.rows, using: &rng))
        }
        if configuration.spherical { points = points.rowNormalized() }
        var centroids: Matrix
        if let start = configuration.initialCentroids {
            guard start.rows == k, start.columns == data.columns else {
                throw .invalidConfiguration("initial centroids are \(start.rows)×\(start.columns), expected \(k)×\(data.columns)")
            }
            centroids = configuration.spherical ? start.rowNormalized() : start
        } else {
            centroids = initialCentroids(points, using: &rng)
        }
        var history: [Double] = []
        var assignment = Self.assign(points, to: centroids, spherical: configuration.spherical)
        var reseeded = 0
        var iterations = 0
        for _ in 0..<configuration.maxIterations {
            iterations += 1
            reseeded += update(&centroids, points: points, assignment: assignment)
            assignment = Self.assign(points, to: centroids, spherical: configuration.spherical)
            let obj = assignment.objective
            let prev = history.last ?? assignment.objective
            history.append(obj)
            progress(iterations, configuration.maxIterations)
            if history.count > 1, prev - obj <= configuration.tolerance * max(prev, 1e-30) { break }
        }
        return Result(centroids: centroids, assignments: assignment.labels, objective: assignment.objective,
                      objectiveHistory: history, iterations: iterations, reseeded: reseeded)
    }

    /// Nearest centroid of every row, with the distance to it.
    public struct Assignment: Sendable {
        /// Index of the nearest centroid (lowest index on ties).
        public var labels: [Int32]
        /// Squared L2 distance to it (spherical: 1 − cosine), clamped at 0.
        public var distances: [Float]
        /// Sum of `distances` in Double.
        public var objective: Double { distances.reduce(0.0) { $0 + Double($1) } }
    }

    /// Assigns each row of `points` to its nearest centroid; all-pairs products through BLAS in
    /// blocks so memory stays bounded.
    public static func assign(_ points: Matrix, to centroids: Matrix, spherical: Bool = false,
                              threads: Int? = nil) -> Assignment {
        nearest(points, to: centroids, spherical: spherical, threads: threads, distances: true)
    }

    /// The nearest centroid of each row of `points` (`assign`'s labels, without computing the
    /// distances: what adding to an inverted file needs).
    public static func labels(_ points: Matrix, to centroids: Matrix, spherical: Bool = false,
                              threads: Int? = nil) -> [Int32] {
        nearest(points, to: centroids, spherical: spherical, threads: threads, distances: false).labels
    }

    private static func nearest(_ points: Matrix, to centroids: Matrix, spherical: Bool, threads: Int?,
                                distances: Bool) -> Assignment {
        let n = points.rows, k = centroids.rows, d = points.columns
        precondition(centroids.columns == d, "centroid dimension \(centroids.columns) ≠ point dimension \(d)")
        var labels = [Int32](repeating: 0, count: n)
        var dists = [Float](repeating: 0, count: distances ? n : 0)
        guard n > 0, k > 0, d > 0 else { return Assignment(labels: labels, distances: dists) }
        let cnorm = centroids.rowSquaredNorms()
        points.values.withUnsafeBufferPointer { x in
            centroids.values.withUnsafeBufferPointer { c in
                labels.withUnsafeMutableBufferPointer { l in
                    dists.withUnsafeMutableBufferPointer { dd in
                        NearestCentroid.assign(points: x.baseAddress!, count: n, dim: d, stride: d,
                                               centroids: c.baseAddress!, k: k, centroidSquaredNorms: cnorm,
                                               spherical: spherical, threads: Concurrency.resolve(threads: threads),
                                               labels: l.baseAddress!, distances: distances ? dd.baseAddress! : nil)
                    }
                }
            }
        }
        return Assignment(labels: labels, distances: dists)
    }

    // MARK: - Steps

    func initialCentroids(_ points: Matrix, using rng: inout SeededGenerator) -> Matrix {
        let k = configuration.clusters
        switch configuration.initialization {
        case .random:
            return points.gathering(rows: Self.sample(count: k, from: points.rows, using: &rng))
        case .kMeansPlusPlus:
            return kMeansPlusPlus(points, k: k, using: &rng)
        }
    }

    func kMeansPlusPlus(_ points: Matrix, k: Int, using rng: inout SeededGenerator) -> Matrix {
        let n = points.rows, d = points.columns
        var chosen = [Int(rng.next() % UInt64(n))]
        var minDist = [Float](repeating: .infinity, count: n)
        points.values.withUnsafeBufferPointer { x in
            for _ in 1..<max(k, 1) {
                let c = chosen.last! * d
                var total = 0.0
                for i in 0..<n {
                    var s: Float = 0
                    let r = i * d
                    for j in 0..<d { let t = x[r + j] - x[c + j]; s += t * t }
                    if s < minDist[i] { minDist[i] = s }
                    total += Double(minDist[i])
                }
                var next: Int
                if total > 0 {
                    var target = rng.nextUnitDouble() * total
                    next = n - 1
                    for i in 0..<n {
                        target -= Double(minDist[i])
                        if target < 0 && minDist[i] > 0 { next = i; break }
                    }
                } else {
                    next = Int(rng.next() % UInt64(n)) // all points coincide with a centroid
                }
                chosen.append(next)
            }
        }
        var m = points.gathering(rows: chosen)
        if configuration.spherical { m = m.rowNormalized() }
        return m
    }

    /// Moves each centroid to the mean of its points; re-seeds empty clusters on the points
    /// farthest from their centroids. Returns how many clusters were re-seeded.
    func update(_ centroids: inout Matrix, points: Matrix, assignment: Assignment) -> Int {
        let k = centroids.rows, d = points.columns, n = points.rows
        var sums = [Double](repeating: 0, count: k * d)
        var counts = [Int](repeating: 0, count: k)
        points.values.withUnsafeBufferPointer { x in
            for i in 0..<n {
                let c = Int(assignment.labels[i])
                counts[c] += 1
                for j in 0..<d { sums[c * d + j] += Double(x[i * d + j]) }
            }
        }
        var empty: [Int] = []
        for c in 0..<k {
            if counts[c] == 0 { empty.append(c); continue }
            let inv = 1 / Double(counts[c])
            for j in 0..<d { centroids.values[c * d + j] = Float(sums[c * d + j] * inv) }
        }
        if !empty.isEmpty {
            // Farthest points first (ties by index): each becomes the centroid of one empty cluster.
            let order = (0..<n).sorted {
                assignment.distances[$0] != assignment.distances[$1]
                    ? assignment.distances[$0] > assignment.distances[$1] : $0 < $1
            }
            for (slot, c) in empty.enumerated() where slot < n {
                let p = order[slot]
                for j in 0..<d { centroids.values[c * d + j] = points.values[p * d + j] }
            }
        }
        if configuration.spherical { centroids = centroids.rowNormalized() }
        return empty.count
    }

    /// `count` distinct indices from `0..<n` (partial Fisher–Yates), in draw order.
    static func sample(count: Int, from n: Int, using rng: inout SeededGenerator) -> [Int] {
        var perm = Array(0..<n)
        for i in 0..<min(count, n) {
            let j = i + Int(rng.next() % UInt64(n - i))
            perm.swapAt(i, j)
        }
        return Array(perm[0..<min(count, n)])
    }
}

/// Errors of the clustering layer.
public enum ClusteringError: Error, Equatable, CustomStringConvertible {
    /// Fewer training points than clusters.
    case tooFewPoints(points: Int, clusters: Int)
    /// A setting is out of range.
    case invalidConfiguration(String)
    /// The training data holds NaN or infinity.
    case nonFinite

    public var description: String {
        switch self {
        case let .tooFewPoints(p, c): return "k-means needs at least as many points as clusters: \(p) points, \(c) clusters"
        case let .invalidConfiguration(s): return "invalid k-means configuration: \(s)"
        case .nonFinite: return "k-means training data contains NaN or infinity"
        }
    }
}
