/// An orthogonal D × D rotation applied to vectors before they are quantized (OPQ's learned
/// rotation): the one query and item transform of the engine, used by the rotated indexes, the
/// model's levels and pqbench alike. Rows are rotated as `x · matrix`; inner products and
/// distances are unchanged, so scores keep their meaning.
public struct Rotation: Sendable, Equatable {
    /// The D × D orthogonal matrix.
    public let matrix: Matrix
    /// Largest ‖RᵀR − I‖ (max entry) accepted: float32 round-off of a Procrustes solution is
    /// far below it; anything above is not a rotation and would change scores.
    public static let tolerance: Float = 1e-3

    /// A rotation from a matrix, checked to be square, finite and orthogonal.
    ///
    /// - Throws: `QuantizerError.invalidRotation` naming what is wrong.
    public init(_ matrix: Matrix) throws(QuantizerError) {
        guard matrix.rows == matrix.columns, matrix.rows > 0 else {
            throw .invalidRotation("rotation is \(matrix.rows)×\(matrix.columns), not square")
        }
        guard matrix.values.allSatisfy(\.isFinite) else { throw .invalidRotation("rotation holds NaN or infinity") }
        guard Orthogonal.orthogonalityError(matrix) < Self.tolerance else { throw .invalidRotation("not orthogonal (RᵀR ≠ I)") }
        self.matrix = matrix
    }

    /// Dimension D.
    public var dimension: Int { matrix.rows }

    /// Bytes the matrix occupies.
    public var memoryBytes: Int { matrix.values.count * MemoryLayout<Float>.size }

    /// Rotated rows, `x · matrix` (x must have D columns).
    public func apply(_ x: Matrix) -> Matrix {
        precondition(x.columns == dimension, "rotation of \(dimension) columns applied to \(x.columns)")
        return x.multiplied(matrix)
    }
}
