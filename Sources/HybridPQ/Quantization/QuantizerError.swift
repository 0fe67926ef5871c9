/// Errors of the quantization layer: shapes and settings that cannot form a quantizer.
public enum QuantizerError: Error, Equatable, CustomStringConvertible {
    /// The dimension is not a multiple of the number of sub-spaces.
    case dimensionNotDivisible(dimension: Int, subspaces: Int)
    /// Bits per code outside 1...8.
    case unsupportedBits(Int)
    /// Non-positive dimension or sub-space count.
    case invalidShape(String)
    /// Input vectors of another dimension than the quantizer's.
    case dimensionMismatch(expected: Int, found: Int)
    /// Imported codebooks of the wrong size.
    case codebookSize(expected: Int, found: Int)
    /// A code byte outside 0..<K.
    case codeOutOfRange(code: Int, codewords: Int)
    /// Training failed in k-means.
    case training(ClusteringError)
    /// A rotation that is not square of the quantizer's dimension, or not orthogonal.
    case invalidRotation(String)
    /// LAPACK failed while fitting a rotation (its error).
    case linearAlgebra(Orthogonal.LAPACKError)

    public var description: String {
        switch self {
        case let .dimensionNotDivisible(d, m):
            return "dimension \(d) is not divisible by \(m) sub-spaces (choose M among the divisors of \(d))"
        case let .unsupportedBits(b): return "unsupported bits per code \(b) (expected 1...8)"
        case let .invalidShape(s): return "invalid quantizer shape: \(s)"
        case let .dimensionMismatch(e, f): return "vectors have dimension \(f), the quantizer expects \(e)"
        case let .codebookSize(e, f): return "codebooks hold \(f) floats, expected M·K·d = \(e)"
        case let .codeOutOfRange(c, k): return "code \(c) is outside 0..<\(k)"
        case let .training(e): return "quantizer training failed: \(e)"
        case let .invalidRotation(s): return "invalid rotation: \(s)"
        case let .linearAlgebra(e): return "rotation fitting failed: \(e)"
        }
    }
}
