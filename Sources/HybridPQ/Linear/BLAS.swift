import CBLAS

/// Thin, shape-checked wrappers over the OpenBLAS routines HybridPQ uses.
///
/// Everything is row-major. Callers pass `Matrix` values or raw pointers with explicit sizes;
/// the wrappers only translate to CBLAS argument order.
public enum BLAS {
    /// `C = alpha * A * Bᵀ + beta * C` for row-major `A` (m×k), `B` (n×k), `C` (m×n).
    ///
    /// The workhorse of HybridPQ: all-pairs inner products between a batch of vectors and a set
    /// of centroids or database vectors.
    @inlinable
    public static func gemmABt(m: Int, n: Int, k: Int, alpha: Float = 1,
                               a: UnsafePointer<Float>, lda: Int,
                               b: UnsafePointer<Float>, ldb: Int,
                               beta: Float = 0,
                               c: UnsafeMutablePointer<Float>, ldc: Int) {
        guard m > 0, n > 0 else { return }
        cblas_sgemm(CblasRowMajor, CblasNoTrans, CblasTrans, Int32(m), Int32(n), Int32(k),
                    alpha, a, Int32(lda), b, Int32(ldb), beta, c, Int32(ldc))
    }

    /// `C = alpha * A * B + beta * C` for row-major `A` (m×k), `B` (k×n), `C` (m×n).
    @inlinable
    public static func gemmAB(m: Int, n: Int, k: Int, alpha: Float = 1,
                              a: UnsafePointer<Float>, lda: Int,
                              b: UnsafePointer<Float>, ldb: Int,
                              beta: Float = 0,
                              c: UnsafeMutablePointer<Float>, ldc: Int) {
        guard m > 0, n > 0 else { return }
        cblas_sgemm(CblasRowMajor, CblasNoTrans, CblasNoTrans, Int32(m), Int32(n), Int32(k),
                    alpha, a, Int32(lda), b, Int32(ldb), beta, c, Int32(ldc))
    }

    /// `C = alpha * Aᵀ * B + beta * C` for row-major `A` (k×m), `B` (k×n), `C` (m×n).
    @inlinable
    public static func gemmAtB(m: Int, n: Int, k: Int, alpha: Float = 1,
                               a: UnsafePointer<Float>, lda: Int,
                               b: UnsafePointer<Float>, ldb: Int,
                               beta: Float = 0,
                               c: UnsafeMutablePointer<Float>, ldc: Int) {
        guard m > 0, n > 0 else { return }
        cblas_sgemm(CblasRowMajor, CblasTrans, CblasNoTrans, Int32(m), Int32(n), Int32(k),
                    alpha, a, Int32(lda), b, Int32(ldb), beta, c, Int32(ldc))
    }

    /// The number of threads OpenBLAS uses for one call.
    public static var threads: Int {
        get { Int(openblas_get_num_threads()) }
        set { openblas_set_num_threads(Int32(max(1, newValue))) }
    }
}

extension Matrix {
    /// `self * otherᵀ`: all inner products between the rows of `self` and the rows of `other`.
    public func multipliedTransposed(_ other: Matrix) -> Matrix {
        precondition(columns == other.columns, "inner dimensions differ: \(columns) vs \(other.columns)")
        var out = Matrix(rows: rows, columns: other.rows)
        guard rows > 0, other.rows > 0, columns > 0 else { return out }
        values.withUnsafeBufferPointer { a in
            other.values.withUnsafeBufferPointer { b in
                out.values.withUnsafeMutableBufferPointer { c in
                    BLAS.gemmABt(m: rows, n: other.rows, k: columns, a: a.baseAddress!, lda: columns,
                                 b: b.baseAddress!, ldb: columns, c: c.baseAddress!, ldc: other.rows)
                }
            }
        }
        return out
    }

    /// `self * other` (ordinary matrix product).
    public func multiplied(_ other: Matrix) -> Matrix {
        precondition(columns == other.rows, "inner dimensions differ: \(columns) vs \(other.rows)")
        var out = Matrix(rows: rows, columns: other.columns)
        guard rows > 0, other.columns > 0, columns > 0 else { return out }
        values.withUnsafeBufferPointer { a in
            other.values.withUnsafeBufferPointer { b in
                out.values.withUnsafeMutableBufferPointer { c in
                    BLAS.gemmAB(m: rows, n: other.columns, k: columns, a: a.baseAddress!, lda: columns,
                                b: b.baseAddress!, ldb: other.columns, c: c.baseAddress!, ldc: other.columns)
                }
            }
        }
        return out
    }
}
