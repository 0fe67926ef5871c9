import HybridPQ
import Testing

/// Finite-difference checks of hand-written gradients.
///
/// Everything runs in Float (BLAS is single precision), so the documented tolerance is a
/// relative error below 1e-2 between the analytic gradient and central differences with step
/// h = 1e-2 over sampled coordinates (Float rounding of a loss of order 1 is ~1e-7, i.e. ~1e-5
/// in a difference quotient; the h² truncation term is ~1e-4). Real mistakes (a missing term,
/// a wrong sign, a transposed product) give errors of order 1.
enum GradientCheck {
    static let step: Float = 1e-2
    static let tolerance = 1e-2

    /// Relative error ‖g − fd‖ / max(‖g‖, ‖fd‖, 1e-6) over up to `samples` coordinates of `x`,
    /// where fd is the central difference of `loss` when coordinate i of `x` moves.
    static func relativeError(_ x: Matrix, analytic: Matrix, samples: Int = 24, seed: UInt64 = 7,
                              loss: (Matrix) -> Double) -> Double {
        var rng = SeededGenerator(seed: seed)
        let n = x.values.count
        let picks = n <= samples ? Array(0..<n) : (0..<samples).map { _ in Int(rng.next() % UInt64(n)) }
        var num = 0.0, a2 = 0.0, f2 = 0.0
        for i in picks {
            var plus = x, minus = x
            plus.values[i] += step
            minus.values[i] -= step
            let fd = (loss(plus) - loss(minus)) / (2 * Double(step))
            let g = Double(analytic.values[i])
            num += (g - fd) * (g - fd)
            a2 += g * g
            f2 += fd * fd
        }
        return num.squareRoot() / max(a2.squareRoot(), f2.squareRoot(), 1e-6)
    }

    /// Σ R ⊙ y in Double: a scalar loss whose gradient with respect to y is R.
    static func project(_ y: Matrix, _ r: Matrix) -> Double {
        zip(y.values, r.values).reduce(0.0) { $0 + Double($1.0) * Double($1.1) }
    }

    static func gaussian(_ rows: Int, _ columns: Int, seed: UInt64, scale: Float = 1) -> Matrix {
        var rng = SeededGenerator(seed: seed)
        var m = Matrix(rows: rows, columns: columns)
        m.values.withUnsafeMutableBufferPointer { rng.fillGaussian($0, scale: scale) }
        return m
    }
}

#if canImport(Glibc)
import Glibc
func _exp(_ x: Double) -> Double { Glibc.exp(x) }
func _log(_ x: Double) -> Double { Glibc.log(x) }
#else
import Darwin
func _exp(_ x: Double) -> Double { Darwin.exp(x) }
func _log(_ x: Double) -> Double { Darwin.log(x) }
#endif
