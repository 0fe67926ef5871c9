/// A deterministic synthetic cross-view data set with planted structure, for tests, examples and
/// speed runs when no real data is at hand.
///
/// Each item i has a latent vector z_i drawn around one of a set of topic centres; the target is
/// a noisy view of z_i, the query another, noisier view, so query i ↔ target i is a real (not
/// guaranteed) match and recall means something. Dimensions have a decaying spectrum, so
/// sub-spaces carry unequal variance as real embeddings do. Optional fine-grained features:
/// 2…F frames per target and 3…T tokens per query, each a noisy view of z_i, zero-padded and
/// masked. All vectors are unit-norm. The same arguments give the same bytes on every platform.
public enum SyntheticDataSet {
    /// Settings of the generator.
    public struct Configuration: Sendable {
        /// Items N.
        public var count: Int
        /// Dimension D.
        public var dimension: Int = 384
        /// Seed.
        public var seed: UInt64 = 42
        /// Whether to generate frames and query tokens (about (F + T)·D floats per item more).
        public var fineFeatures: Bool = false
        /// Frames per target, padding included.
        public var frames: Int = 8
        /// Tokens per query, padding included.
        public var tokens: Int = 12
        /// Noise of the target view relative to the latent.
        public var targetNoise: Float = 0.45
        /// Noise of the query view.
        public var queryNoise: Float = 0.7

        /// Defaults for `count` items.
        public init(count: Int) { self.count = count }
    }

    /// Generates the data set; the split is train 20 % (at most 50,000), val 5 % (at most 5,000),
    /// test the rest, in item order.
    public static func generate(_ c: Configuration) -> CrossViewDataSet {
        let n = c.count, d = c.dimension
        precondition(n >= 1 && d >= 1, "synthetic data needs at least one item and one dimension")
        var rng = SeededGenerator(seed: c.seed)
        let topics = max(8, min(4096, n / 64))
        let spectrum = (0..<d).map { j in Float(_exp(-1.5 * Double(j) / Double(d))) }
        var centres = [Float](repeating: 0, count: topics * d)
        centres.withUnsafeMutableBufferPointer { rng.fillGaussian($0) }
        var latent = [Float](repeating: 0, count: n * d)
        var targets = [Float](repeating: 0, count: n * d)
        var queries = [Float](repeating: 0, count: n * d)
        var topicOf = [Int](repeating: 0, count: n)
        for i in 0..<n { topicOf[i] = Int(rng.next() % UInt64(topics)) }
        latent.withUnsafeMutableBufferPointer { rng.fillGaussian($0, scale: 0.8) }
        targets.withUnsafeMutableBufferPointer { rng.fillGaussian($0, scale: c.targetNoise) }
        queries.withUnsafeMutableBufferPointer { rng.fillGaussian($0, scale: c.queryNoise) }
        for i in 0..<n {
            let t = topicOf[i] * d
            for j in 0..<d {
                let z = (centres[t + j] + latent[i * d + j]) * spectrum[j]
                latent[i * d + j] = z
                targets[i * d + j] = z + targets[i * d + j] * spectrum[j]
                queries[i * d + j] = z + queries[i * d + j] * spectrum[j]
            }
        }
        var tokens: SequenceFeatures?
        var frames: SequenceFeatures?
        if c.fineFeatures {
            frames = views(of: latent, n: n, d: d, length: c.frames, minimum: 2, noise: 0.9, spectrum: spectrum, rng: &rng)
            tokens = views(of: queries, n: n, d: d, length: c.tokens, minimum: 3, noise: 0.9, spectrum: spectrum, rng: &rng)
        }
        let train = min(50_000, max(1, n / 5)), val = min(5_000, n / 20)
        let split = Split(train: Array(0..<train), val: Array(train..<(train + val)), test: Array((train + val)..<n))
        return CrossViewDataSet(name: "synthetic-\(n)", queries: Matrix(rows: n, columns: d, values: queries).rowNormalized(),
                                targets: Matrix(rows: n, columns: d, values: targets).rowNormalized(),
                                queryTokens: tokens, frames: frames, split: split)
    }

    static func views(of base: [Float], n: Int, d: Int, length: Int, minimum: Int, noise: Float,
                      spectrum: [Float], rng: inout SeededGenerator) -> SequenceFeatures {
        var values = Matrix(rows: n * length, columns: d)
        var mask = [UInt8](repeating: 0, count: n * length)
        var e = [Float](repeating: 0, count: d)
        for i in 0..<n {
            let real = min(length, minimum + Int(rng.next() % UInt64(max(1, length - minimum + 1))))
            for t in 0..<real {
                e.withUnsafeMutableBufferPointer { rng.fillGaussian($0, scale: noise) }
                var norm: Float = 0
                for j in 0..<d { let v = base[i * d + j] + e[j] * spectrum[j]; e[j] = v; norm += v * v }
                let inv = norm > 0 ? 1 / norm.squareRoot() : 0
                for j in 0..<d { values.values[(i * length + t) * d + j] = e[j] * inv }
                mask[i * length + t] = 1
            }
        }
        return SequenceFeatures(count: n, length: length, values: values, mask: mask)
    }
}

#if canImport(Glibc)
import Glibc
func _exp(_ x: Double) -> Double { Glibc.exp(x) }
#else
import Darwin
func _exp(_ x: Double) -> Double { Darwin.exp(x) }
#endif
