import CBLAS

/// Orthogonal matrices: random rotations and the orthogonal Procrustes solution, through
/// LAPACK's SVD (OpenBLAS ships LAPACK).
public enum Orthogonal {
    /// Errors from LAPACK.
    public struct LAPACKError: Error, CustomStringConvertible, Equatable {
        /// The routine and its `info` result.
        public var routine: String
        public var info: Int32
        public var description: String { "LAPACK \(routine) failed with info = \(info)" }
    }

    /// The orthogonal R minimising ‖A·R − B‖ (Frobenius) for `n × d` matrices A and B:
    /// with Aᵀ·B = U·Σ·Vᵀ, R = U·Vᵀ (Schönemann 1966).
    public static func procrustes(_ a: Matrix, _ b: Matrix) throws(LAPACKError) -> Matrix {
        precondition(a.rows == b.rows && a.columns == b.columns, "Procrustes needs matrices of one shape")
        let d = a.columns
        var m = Matrix(rows: d, columns: d)    // Aᵀ·B, row-major
        a.values.withUnsafeBufferPointer { ap in
            b.values.withUnsafeBufferPointer { bp in
                m.values.withUnsafeMutableBufferPointer { mp in
                    BLAS.gemmAtB(m: d, n: d, k: a.rows, a: ap.baseAddress!, lda: d, b: bp.baseAddress!, ldb: d,
                                 c: mp.baseAddress!, ldc: d)
                }
            }
        }
        return try polar(m)
    }

    /// The orthogonal factor U·Vᵀ of a square matrix M = U·Σ·Vᵀ (the rotation nearest to M).
    public static func polar(_ m: Matrix) throws(LAPACKError) -> Matrix {
        precondition(m.rows == m.columns, "polar factor of a square matrix")
        let d = m.rows
        // LAPACK is column-major: the row-major buffer of M is Mᵀ = V·Σ·Uᵀ to it, so LAPACK's
        // "U" is our V and its "Vᵀ" is our Uᵀ. Then U·Vᵀ = (U_L·Vᵀ_L)ᵀ: the column-major product
        // U_L·Vᵀ_L read row-major.
        var a = m.values
        var s = [Float](repeating: 0, count: d)
        var u = [Float](repeating: 0, count: d * d)
        var vt = [Float](repeating: 0, count: d * d)
        var n = Int32(d), lwork: Int32 = -1, info: Int32 = 0
        var query: Float = 0
        var jobu = Int8(UInt8(ascii: "A")), jobvt = Int8(UInt8(ascii: "A"))
        sgesvd_(&jobu, &jobvt, &n, &n, &a, &n, &s, &u, &n, &vt, &n, &query, &lwork, &info)
        guard info == 0 else { throw LAPACKError(routine: "sgesvd (workspace query)", info: info) }
        lwork = Int32(query)
        var work = [Float](repeating: 0, count: Int(lwork))
        sgesvd_(&jobu, &jobvt, &n, &n, &a, &n, &s, &u, &n, &vt, &n, &work, &lwork, &info)
        guard info == 0 else { throw LAPACKError(routine: "sgesvd", info: info) }
        var r = [Float](repeating: 0, count: d * d)
        cblas_sgemm(CblasColMajor, CblasNoTrans, CblasNoTrans, n, n, n, 1, u, n, vt, n, 0, &r, n)
        return Matrix(rows: d, columns: d, values: r)
    }

    /// A uniformly random d × d rotation (the polar factor of a Gaussian matrix), seeded.
    public static func random(_ d: Int, seed: UInt64) throws(LAPACKError) -> Matrix {
        var rng = SeededGenerator(seed: seed)
        var g = Matrix(rows: d, columns: d)
        g.values.withUnsafeMutableBufferPointer { rng.fillGaussian($0) }
        return try polar(g)
    }

    /// max |(RᵀR − I)_ij|: how far `r` is from orthogonal.
    public static func orthogonalityError(_ r: Matrix) -> Float {
        let p = r.transposed().multiplied(r)
        var worst: Float = 0
        for i in 0..<r.columns { for j in 0..<r.columns { worst = max(worst, abs(p[i, j] - (i == j ? 1 : 0))) } }
        return worst
    }
}
