import Testing
import HybridPQ

@Suite("k-means")
struct KMeansTests {
    /// Points scattered tightly around `k` well-separated planted centres.
    static func planted(k: Int, perCluster: Int, dim: Int, seed: UInt64) -> (Matrix, Matrix) {
        var rng = SeededGenerator(seed: seed)
        var centres = Matrix(rows: k, columns: dim)
        centres.values.withUnsafeMutableBufferPointer { rng.fillGaussian($0, scale: 10) }
        var points = Matrix(rows: k * perCluster, columns: dim)
        for c in 0..<k {
            for p in 0..<perCluster {
                for j in 0..<dim {
                    points[c * perCluster + p, j] = centres[c, j] + 0.1 * rng.nextGaussian()
                }
            }
        }
        return (points, centres)
    }

    @Test("the same seed gives the same centroids; another seed starts elsewhere")
    func determinism() throws {
        let data = TestData.gaussian(rows: 2000, columns: 8, seed: 11)
        var config = KMeans.Configuration(clusters: 32)
        config.seed = 5
        let a = try KMeans(config).fit(data), b = try KMeans(config).fit(data)
        #expect(a.centroids == b.centroids && a.assignments == b.assignments)
        config.seed = 6
        let c = try KMeans(config).fit(data)
        #expect(c.centroids != a.centroids)
        for init_ in [KMeans.Initialization.random, .kMeansPlusPlus] {
            config.initialization = init_
            config.spherical = true
            #expect(try KMeans(config).fit(data).centroids == KMeans(config).fit(data).centroids)
        }
    }

    @Test("assignments equal a brute-force nearest-centroid search")
    func assignmentMatchesBruteForce() throws {
        let data = TestData.gaussian(rows: 700, columns: 12, seed: 2)
        let result = try KMeans(KMeans.Configuration(clusters: 20)).fit(data)
        let assignment = KMeans.assign(data, to: result.centroids)
        for i in 0..<data.rows {
            var best = 0, bestDistance = Double.infinity
            for c in 0..<20 {
                var s = 0.0
                for j in 0..<12 { let t = Double(data[i, j]) - Double(result.centroids[c, j]); s += t * t }
                if s < bestDistance { bestDistance = s; best = c }
            }
            // Float BLAS distances may flip only genuine near-ties.
            if Int(assignment.labels[i]) != best {
                var s = 0.0
                let other = Int(assignment.labels[i])
                for j in 0..<12 { let t = Double(data[i, j]) - Double(result.centroids[other, j]); s += t * t }
                #expect(abs(s - bestDistance) < 1e-4 * max(1, bestDistance))
            }
            #expect(abs(Double(assignment.distances[i]) - bestDistance) < 1e-3 * max(1, bestDistance))
        }
        #expect(assignment.labels == result.assignments)
        #expect(KMeans.labels(data, to: result.centroids) == assignment.labels)      // labels only: the same
    }

    @Test("planted clusters are recovered and the objective never increases")
    func quality() throws {
        let (points, centres) = Self.planted(k: 10, perCluster: 50, dim: 6, seed: 9)
        let result = try KMeans(KMeans.Configuration(clusters: 10)).fit(points)
        // Every planted centre has a centroid within the noise level.
        for c in 0..<10 {
            let nearest = (0..<10).map { r in
                (0..<6).reduce(Float(0)) { $0 + pow2(result.centroids[r, $1] - centres[c, $1]) }
            }.min()!
            #expect(nearest < 0.05)
        }
        for (a, b) in zip(result.objectiveHistory, result.objectiveHistory.dropFirst()) {
            #expect(b <= a * (1 + 1e-6))
        }
        // The objective is close to the planted noise: n · d · σ² = 500 · 6 · 0.01.
        #expect(result.objective <= 500 * 6 * 0.01 * 1.5)
    }

    @Test("empty clusters are re-seeded")
    func emptyClusters() throws {
        // 40 copies of 4 distinct points, 8 clusters with random init: duplicates of the same
        // point become initial centroids, and all but one of them end up empty.
        var rows: [[Float]] = []
        for i in 0..<160 { rows.append([Float(i % 4) * 10, Float(i % 4 == 1 ? 5 : 0)]) }
        var config = KMeans.Configuration(clusters: 8)
        config.initialization = .random
        config.maxIterations = 5
        let result = try KMeans(config).fit(Matrix(rowVectors: rows))
        #expect(result.reseeded > 0)
        #expect(result.objective < 1e-6) // every distinct point still gets its own cluster
    }

    @Test("spherical k-means keeps unit-norm centroids")
    func spherical() throws {
        var config = KMeans.Configuration(clusters: 16)
        config.spherical = true
        let result = try KMeans(config).fit(TestData.gaussian(rows: 500, columns: 10, seed: 4))
        for n in result.centroids.rowSquaredNorms() { #expect(abs(n - 1) < 1e-5) }
    }

    @Test("bad input is a typed error")
    func errors() {
        #expect(throws: ClusteringError.tooFewPoints(points: 5, clusters: 8)) {
            try KMeans(KMeans.Configuration(clusters: 8)).fit(TestData.gaussian(rows: 5, columns: 3, seed: 1))
        }
        var bad = TestData.gaussian(rows: 50, columns: 3, seed: 1)
        bad[3, 1] = .nan
        #expect(throws: ClusteringError.nonFinite) { try KMeans(KMeans.Configuration(clusters: 4)).fit(bad) }
    }
}

private func pow2(_ x: Float) -> Float { x * x }
