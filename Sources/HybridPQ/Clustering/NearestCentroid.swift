/// Nearest-centroid search for many points at once, the inner step of k-means and of PQ
/// encoding: all inner products through one BLAS call per block, then an arg-min per row on all
/// cores. Points may be a strided view (a sub-space of wider vectors), so encoding never copies.
enum NearestCentroid {
    /// Rows per BLAS block: bounds the scratch matrix to about 16 MiB.
    static func blockRows(centroids k: Int) -> Int { max(64, (1 << 22) / max(k, 1)) }

    /// For each of `count` points (row `i` at `points + i * stride`, `dim` components) writes the
    /// index of the nearest of `k` centroids (`centroids`, row-major `k × dim`) to `labels[i]` and,
    /// when `distances` is given, the squared distance (spherical: 1 − cosine) clamped at 0.
    /// Ties go to the lower centroid index.
    static func assign(points: UnsafePointer<Float>, count: Int, dim: Int, stride: Int,
                       centroids: UnsafePointer<Float>, k: Int, centroidSquaredNorms cnorm: UnsafePointer<Float>,
                       spherical: Bool, threads: Int,
                       labels: UnsafeMutablePointer<Int32>, distances: UnsafeMutablePointer<Float>?) {
        guard count > 0, k > 0 else { return }
        let block = min(count, blockRows(centroids: k))
        let scratch = UnsafeMutablePointer<Float>.allocate(capacity: block * k)
        defer { scratch.deallocate() }
        let shared = UncheckedSendable((points, scratch, cnorm, labels, distances))
        var start = 0
        while start < count {
            let m = min(block, count - start)
            BLAS.gemmABt(m: m, n: k, k: dim, a: points + start * stride, lda: stride,
                         b: centroids, ldb: dim, c: scratch, ldc: k)
            let s0 = start
            parallelChunks(count: m, threads: threads, minimumChunk: 256) { range in
                let (points, scratch, cnorm, labels, distances) = shared.value
                for i in range {
                    let row = scratch + i * k
                    var best = 0
                    if spherical {
                        var bestValue = row[0]
                        for j in 1..<k where row[j] > bestValue { bestValue = row[j]; best = j }
                        distances?[s0 + i] = max(0, 1 - bestValue)
                    } else {
                        var bestValue = cnorm[0] - 2 * row[0]
                        for j in 1..<k {
                            let v = cnorm[j] - 2 * row[j]
                            if v < bestValue { bestValue = v; best = j }
                        }
                        if let distances {
                            let p = points + (s0 + i) * stride
                            var xn: Float = 0
                            for j in 0..<dim { xn += p[j] * p[j] }
                            distances[s0 + i] = max(0, xn + bestValue)
                        }
                    }
                    labels[s0 + i] = Int32(best)
                }
            }
            start += m
        }
    }
}
