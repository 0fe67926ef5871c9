/// A dense row-major matrix of `Float`: `rows` vectors of `columns` components each.
///
/// The one container HybridPQ passes vectors around in: training sets, query batches,
/// codebooks (one matrix per sub-space) and rotations. Storage is a single contiguous array
/// so it can go straight to BLAS.
public struct Matrix: Sendable, Equatable {
    /// Number of rows (vectors).
    public let rows: Int
    /// Number of columns (dimension of each vector).
    public let columns: Int
    /// Row-major storage, `rows * columns` values.
    public var values: [Float]

    /// A matrix of zeros.
    public init(rows: Int, columns: Int) {
        precondition(rows >= 0 && columns >= 0, "matrix shape must be non-negative")
        self.rows = rows
        self.columns = columns
        self.values = [Float](repeating: 0, count: rows * columns)
    }

    /// A matrix over existing row-major values; `values.count` must equal `rows * columns`.
    public init(rows: Int, columns: Int, values: [Float]) {
        precondition(values.count == rows * columns,
                     "Matrix(\(rows)x\(columns)) needs \(rows * columns) values, got \(values.count)")
        self.rows = rows
        self.columns = columns
        self.values = values
    }

    /// A matrix whose rows are `rows` (all of the same length).
    public init(rowVectors: [[Float]]) {
        let columns = rowVectors.first?.count ?? 0
        precondition(rowVectors.allSatisfy { $0.count == columns }, "rows of different lengths")
        self.init(rows: rowVectors.count, columns: columns, values: rowVectors.flatMap { $0 })
    }

    /// The identity matrix of size `n`.
    public static func identity(_ n: Int) -> Matrix {
        var m = Matrix(rows: n, columns: n)
        for i in 0..<n { m.values[i * n + i] = 1 }
        return m
    }

    /// Element at row `r`, column `c`.
    @inlinable
    public subscript(r: Int, c: Int) -> Float {
        get { values[r * columns + c] }
        set { values[r * columns + c] = newValue }
    }

    /// A copy of row `r`.
    public func row(_ r: Int) -> [Float] {
        Array(values[(r * columns)..<((r + 1) * columns)])
    }

    /// The rows at `indices`, in that order.
    public func gathering(rows indices: [Int]) -> Matrix {
        var out = [Float](repeating: 0, count: indices.count * columns)
        values.withUnsafeBufferPointer { src in
            out.withUnsafeMutableBufferPointer { dst in
                for (i, r) in indices.enumerated() {
                    precondition(r >= 0 && r < rows, "row index \(r) out of range 0..<\(rows)")
                    let s = UnsafeMutableBufferPointer(rebasing: dst[(i * columns)..<((i + 1) * columns)])
                    _ = s.initialize(from: src[(r * columns)..<((r + 1) * columns)])
                }
            }
        }
        return Matrix(rows: indices.count, columns: columns, values: out)
    }

    /// Rows `range` as a new matrix.
    public func slicing(rows range: Range<Int>) -> Matrix {
        Matrix(rows: range.count, columns: columns,
               values: Array(values[(range.lowerBound * columns)..<(range.upperBound * columns)]))
    }

    /// Columns `range` of every row as a new matrix (a sub-space of each vector).
    public func slicing(columns range: Range<Int>) -> Matrix {
        var out = Matrix(rows: rows, columns: range.count)
        let w = range.count
        values.withUnsafeBufferPointer { src in
            out.values.withUnsafeMutableBufferPointer { dst in
                for r in 0..<rows {
                    for j in 0..<w { dst[r * w + j] = src[r * columns + range.lowerBound + j] }
                }
            }
        }
        return out
    }

    /// The transpose.
    public func transposed() -> Matrix {
        var out = Matrix(rows: columns, columns: rows)
        for r in 0..<rows { for c in 0..<columns { out.values[c * rows + r] = values[r * columns + c] } }
        return out
    }

    /// Squared L2 norm of each row.
    public func rowSquaredNorms() -> [Float] {
        var out = [Float](repeating: 0, count: rows)
        values.withUnsafeBufferPointer { v in
            for r in 0..<rows {
                var s: Float = 0
                let base = r * columns
                for c in 0..<columns { s += v[base + c] * v[base + c] }
                out[r] = s
            }
        }
        return out
    }

    /// Each row scaled to unit L2 norm; all-zero rows stay zero.
    public func rowNormalized() -> Matrix {
        var out = self
        let norms = rowSquaredNorms()
        out.values.withUnsafeMutableBufferPointer { v in
            for r in 0..<rows where norms[r] > 0 {
                let inv = 1 / norms[r].squareRoot()
                for c in 0..<columns { v[r * columns + c] *= inv }
            }
        }
        return out
    }
}
