/// A small, fast, seedable pseudo-random generator (xoshiro256**), seeded through SplitMix64.
///
/// Training and synthetic data must be reproducible for a given seed on every platform, which
/// `SystemRandomNumberGenerator` cannot offer. The sequence for a seed is part of HybridPQ's
/// reproducibility promise: changing it changes trained codebooks.
public struct SeededGenerator: RandomNumberGenerator, Sendable {
    private var s0: UInt64
    private var s1: UInt64
    private var s2: UInt64
    private var s3: UInt64

    /// Creates a generator whose whole sequence is determined by `seed`.
    public init(seed: UInt64) {
        var x = seed
        func splitMix(_ x: inout UInt64) -> UInt64 {
            x &+= 0x9E37_79B9_7F4A_7C15
            var z = x
            z = (z ^ (z >> 30)) &* 0xBF58_476D_1CE4_E5B9
            z = (z ^ (z >> 27)) &* 0x94D0_49BB_1331_11EB
            return z ^ (z >> 31)
        }
        s0 = splitMix(&x)
        s1 = splitMix(&x)
        s2 = splitMix(&x)
        s3 = splitMix(&x)
    }

    /// The next 64 random bits.
    public mutating func next() -> UInt64 {
        let result = rotl(s1 &* 5, 7) &* 9
        let t = s1 << 17
        s2 ^= s0
        s3 ^= s1
        s1 ^= s2
        s0 ^= s3
        s2 ^= t
        s3 = rotl(s3, 45)
        return result
    }

    func rotl(_ x: UInt64, _ k: UInt64) -> UInt64 { (x << k) | (x >> (64 - k)) }

    /// A uniform Float in [0, 1) with 24 random bits.
    public mutating func nextUnitFloat() -> Float {
        Float(next() >> 40) * (1.0 / 16_777_216.0)
    }

    /// A uniform Double in [0, 1) with 53 random bits.
    public mutating func nextUnitDouble() -> Double {
        Double(next() >> 11) * (1.0 / 9_007_199_254_740_992.0)
    }

    /// A standard normal sample (Box–Muller; one of the pair is discarded to stay stateless).
    public mutating func nextGaussian() -> Float {
        let u1 = max(nextUnitDouble(), 1e-300)
        let u2 = nextUnitDouble()
        return Float((-2 * _log(u1)).squareRoot() * _cos(2 * Double.pi * u2))
    }

    /// Fills `buffer` with standard normal samples, using both values of each Box–Muller pair.
    public mutating func fillGaussian(_ buffer: UnsafeMutableBufferPointer<Float>, scale: Float = 1) {
        var i = 0
        let n = buffer.count
        while i < n {
            let u1 = max(nextUnitDouble(), 1e-300)
            let u2 = nextUnitDouble()
            let r = (-2 * _log(u1)).squareRoot()
            let a = 2 * Double.pi * u2
            buffer[i] = Float(r * _cos(a)) * scale
            if i + 1 < n { buffer[i + 1] = Float(r * _sin(a)) * scale }
            i += 2
        }
    }
}

#if canImport(Glibc)
import Glibc
func _log(_ x: Double) -> Double { Glibc.log(x) }
func _cos(_ x: Double) -> Double { Glibc.cos(x) }
func _sin(_ x: Double) -> Double { Glibc.sin(x) }
#else
import Darwin
func _log(_ x: Double) -> Double { Darwin.log(x) }
func _cos(_ x: Double) -> Double { Darwin.cos(x) }
func _sin(_ x: Double) -> Double { Darwin.sin(x) }
#endif
