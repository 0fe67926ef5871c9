import CBLAS

/// A cheaper coarse step for many lists in a high dimension (an option: `SearchParameters.
/// coarseDimensions` / `coarseCandidates`): each query's products with the centroids are first
/// estimated in the span of the centroids' `d′` principal directions (one nlist × d′ product
/// instead of nlist × D), and only the `coarseCandidates` best estimates are scored exactly
/// (D each); the nprobe best of those are probed. It trades a small chance of missing one of
/// the nprobe nearest lists (measured end to end as recall: docs/BENCHMARKS.md) for fewer
/// multiply-adds — at 4,096 lists × 384 dimensions the exact products are most of a query.
/// FAISS reaches the same end with a second index over the centroids (IVF…_HNSW); here the
/// centroids' own spectrum does it, with no structure to build or store: the principal
/// directions are found from the centroids at first use and cached with the index.
struct CoarseProjection: Sendable {
    /// Principal directions, D × d′ (column j the j-th largest-variance direction).
    let basis: [Float]
    /// The centroids' coordinates along them, minus the centroids' mean: nlist × d′, stored
    /// transposed (d′ × nlist) for the one-query sweeps and row-major for sgemm.
    let projected: [Float]
    let projectedTransposed: [Float]
    let dimensions: Int

    /// The top `dimensions` principal directions of `centroids` (eigenvectors of their
    /// covariance, by LAPACK `ssyev`), and the centroids in them.
    init(centroids: Matrix, dimensions dp: Int) throws(IndexError) {
        let n = centroids.rows, d = centroids.columns
        var centred = centroids
        var mean = [Float](repeating: 0, count: d)
        centred.values.withUnsafeMutableBufferPointer { v in
            for i in 0..<n { for j in 0..<d { mean[j] += v[i * d + j] } }
            for j in 0..<d { mean[j] /= Float(max(1, n)) }
            for i in 0..<n { for j in 0..<d { v[i * d + j] -= mean[j] } }
        }
        // Covariance (up to scale): centredᵀ · centred, D × D, symmetric (column- = row-major).
        var cov = [Float](repeating: 0, count: d * d)
        centred.values.withUnsafeBufferPointer { c in
            cov.withUnsafeMutableBufferPointer { out in
                BLAS.gemmAtB(m: d, n: d, k: n, a: c.baseAddress!, lda: d, b: c.baseAddress!, ldb: d, c: out.baseAddress!, ldc: d)
            }
        }
        var jobz = CChar(UInt8(ascii: "V")), uplo = CChar(UInt8(ascii: "U"))
        var nn = Int32(d), lda = Int32(d), info: Int32 = 0, lwork: Int32 = -1, query: Float = 0
        var w = [Float](repeating: 0, count: d)
        ssyev_(&jobz, &uplo, &nn, &cov, &lda, &w, &query, &lwork, &info)
        guard info == 0 else { throw .unsupported("coarse projection: ssyev workspace query failed (info \(info))") }
        lwork = Int32(query)
        var work = [Float](repeating: 0, count: Int(lwork))
        ssyev_(&jobz, &uplo, &nn, &cov, &lda, &w, &work, &lwork, &info)
        guard info == 0 else { throw .unsupported("coarse projection: ssyev failed (info \(info))") }
        // ssyev: ascending eigenvalues, eigenvector j in column j (column-major: cov[j*d ..< j*d+d]).
        var basis = [Float](repeating: 0, count: d * dp)
        for j in 0..<dp {
            let column = d - 1 - j
            for r in 0..<d { basis[r * dp + j] = cov[column * d + r] }
        }
        var projected = [Float](repeating: 0, count: n * dp)
        centred.values.withUnsafeBufferPointer { c in
            basis.withUnsafeBufferPointer { b in
                projected.withUnsafeMutableBufferPointer { out in
                    BLAS.gemmAB(m: n, n: dp, k: d, a: c.baseAddress!, lda: d, b: b.baseAddress!, ldb: dp, c: out.baseAddress!, ldc: dp)
                }
            }
        }
        var transposed = [Float](repeating: 0, count: n * dp)
        for i in 0..<n { for j in 0..<dp { transposed[j * n + i] = projected[i * dp + j] } }
        self.basis = basis
        self.projected = projected
        projectedTransposed = transposed
        dimensions = dp
    }
}

/// The projections an index has built, by dimension count (built at first use, shared by every
/// copy of the index: its centroids never change).
final class CoarseProjectionCache: Sendable {
    private let built = Locked<[Int: CoarseProjection]>([:])

    func projection(_ dimensions: Int, centroids: Matrix) throws(IndexError) -> CoarseProjection {
        if let p = built.withLock({ $0[dimensions] }) { return p }
        let p = try CoarseProjection(centroids: centroids, dimensions: dimensions)
        built.withLock { $0[dimensions] = p }
        return p
    }
}

extension IVFIndex {
    /// The lists the projected step scores exactly for `requested` candidates (nil: the
    /// default, max(64, 4 · nprobe)): at least nprobe, at most nlist.
    public static func coarseCandidates(_ requested: Int?, nprobe: Int, nlist: Int) -> Int {
        max(nprobe, min(nlist, requested ?? max(64, 4 * nprobe)))
    }

    /// `nearestLists` through the projection: estimated scores of every list in d′ dimensions,
    /// the `coarseCandidates(candidates, …)` best scored exactly, the `n` best of those (best
    /// first, ties to the lower list).
    func nearestListsProjected(_ x: Matrix, count n: Int, dimensions dp: Int, candidates: Int?,
                               innerProduct: Bool, threads: Int) throws(IndexError) -> [[Int]] {
        let pr = try projections.projection(dp, centroids: centroids)
        let k = nlist, d = x.columns, c = Self.coarseCandidates(candidates, nprobe: n, nlist: k)
        var out = [[Int]](repeating: [], count: x.rows)
        guard x.rows > 0 else { return out }
        // The queries in the projected space: x · basis (rows × d′).
        var y = [Float](repeating: 0, count: x.rows * dp)
        x.values.withUnsafeBufferPointer { xv in
            pr.basis.withUnsafeBufferPointer { b in
                y.withUnsafeMutableBufferPointer { yo in
                    if x.rows <= Self.directCoarseQueries {
                        // An sgemm of one row would repack the whole basis on every call.
                        for i in 0..<x.rows {
                            Self.sweep(query: xv.baseAddress! + i * d, dimensions: d, transposed: b.baseAddress!, lists: dp,
                                       into: yo.baseAddress! + i * dp)
                        }
                    } else {
                        BLAS.gemmAB(m: x.rows, n: dp, k: d, a: xv.baseAddress!, lda: d, b: b.baseAddress!, ldb: dp,
                                    c: yo.baseAddress!, ldc: dp)
                    }
                }
            }
        }
        let estimate = Matrix(rows: x.rows, columns: dp, values: y)
        // Estimated products: the centred centroids' ⟨y, c′⟩ (the mean's product is the same for
        // every list; the part of ⟨x, c⟩ outside the span is what the estimate leaves out).
        let shortlists = estimatedLists(estimate, count: c, projection: pr, innerProduct: innerProduct, threads: threads)
        out.withUnsafeMutableBufferPointer { ob in
            x.values.withUnsafeBufferPointer { xv in
                centroids.values.withUnsafeBufferPointer { cv in
                    centroidNorms.withUnsafeBufferPointer { norms in
                        let shared = UncheckedSendable((ob.baseAddress!, xv.baseAddress!, cv.baseAddress!, norms.baseAddress!))
                        parallelChunks(count: x.rows, threads: threads, minimumChunk: 64) { range in
                            let (out, xs, cs, norms) = shared.value
                            var exact = [Float](repeating: 0, count: c)
                            for i in range {
                                let list = shortlists[i]
                                for (j, l) in list.enumerated() { exact[j] = Self.dot(xs + i * d, cs + l * d, d) }
                                let best = exact.withUnsafeBufferPointer { e in
                                    innerProduct ? Self.select(n, count: list.count) { e[$0] }
                                        : Self.select(n, count: list.count) { 2 * e[$0] - norms[list[$0]] }
                                }
                                // `select` breaks ties by position in the shortlist: order them by list.
                                out[i] = Self.byList(best.map { list[$0] }, scores: best.map { exact[$0] })
                            }
                        }
                    }
                }
            }
        }
        return out
    }

    /// Each row's `c` best lists by estimated score (`2⟨y, c′⟩ − ‖c‖²`, or `⟨y, c′⟩`), ascending
    /// list order within equal scores.
    private func estimatedLists(_ y: Matrix, count c: Int, projection pr: CoarseProjection, innerProduct: Bool,
                                threads: Int) -> [[Int]] {
        let norms = innerProduct ? nil : centroidNorms
        if y.rows <= Self.directCoarseQueries {
            return Self.bestBySweeps(y, transposed: pr.projectedTransposed, lists: nlist, count: c, norms: norms)
        }
        return Self.bestInBlocks(y, against: pr.projected, lists: nlist, count: c, norms: norms, threads: threads)
    }

    /// `lists` sorted by descending score, ties to the lower list (the exact path's order).
    static func byList(_ lists: [Int], scores: [Float]) -> [Int] {
        zip(lists, scores).sorted { $0.1 != $1.1 ? $0.1 > $1.1 : $0.0 < $1.0 }.map(\.0)
    }

    /// ⟨a, b⟩ over `d` components (16 lanes, then the rest).
    static func dot(_ a: UnsafePointer<Float>, _ b: UnsafePointer<Float>, _ d: Int) -> Float {
        var acc = SIMD16<Float>(repeating: 0)
        var j = 0
        let ra = UnsafeRawPointer(a), rb = UnsafeRawPointer(b)
        while j + 16 <= d {
            acc += ra.loadUnaligned(fromByteOffset: j * 4, as: SIMD16<Float>.self) * rb.loadUnaligned(fromByteOffset: j * 4, as: SIMD16<Float>.self)
            j += 16
        }
        var s = acc.sum()
        while j < d { s += a[j] * b[j]; j += 1 }
        return s
    }
}
