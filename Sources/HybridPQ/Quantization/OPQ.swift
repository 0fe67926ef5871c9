/// Optimized product quantization (Ge et al., 2013, non-parametric): a learned rotation R
/// applied before PQ so sub-spaces carry balanced, less correlated variance.
///
/// Alternates, for `iterations` rounds: train PQ on X·R (warm-started from the previous round's
/// codebooks, `pqIterations` Lloyd steps; the first round `firstPQIterations`), reconstruct
/// Y = decode(encode(X·R)), and set R to the orthogonal Procrustes solution of X·R ≈ Y via SVD.
/// R starts as a seeded random rotation (as FAISS's OPQMatrix), then a final PQ with
/// `finalPQIterations` Lloyd steps is fitted on X·R. Defaults follow FAISS (OPQMatrix: 50 rounds,
/// 4 PQ iterations, 40 for the first round) except `iterations` = 20: on debian-desc the
/// reconstruction error stops improving after ~15 rounds.
public struct OPQ: Sendable, Equatable {
    /// The rotation; vectors are encoded as `x · rotation`.
    public var transform: Rotation
    /// The product quantizer of rotated vectors.
    public var quantizer: ProductQuantizer

    /// The rotation's D × D matrix.
    public var rotation: Matrix { transform.matrix }

    /// A rotation and quantizer from their parts (e.g. loaded from a file).
    public init(rotation: Matrix, quantizer: ProductQuantizer) throws(QuantizerError) {
        guard rotation.rows == quantizer.dimension, rotation.columns == quantizer.dimension else {
            throw .invalidRotation("rotation is \(rotation.rows)×\(rotation.columns), quantizer dimension \(quantizer.dimension)")
        }
        transform = try Rotation(rotation)
        self.quantizer = quantizer
    }

    /// Settings of OPQ training.
    public struct Configuration: Sendable {
        public var subspaces: Int
        public var bitsPerCode: Int = 8
        public var iterations: Int = 20
        public var pqIterations: Int = 4
        public var firstPQIterations: Int = 40
        public var finalPQIterations: Int = 25
        public var seed: UInt64 = 1234
        /// Settings for `subspaces` sub-spaces; defaults for the rest.
        public init(subspaces: Int, bitsPerCode: Int = 8) {
            self.subspaces = subspaces
            self.bitsPerCode = bitsPerCode
        }
    }

    /// Trains the rotation and the quantizer on the rows of `data`; `progress` gets
    /// (rounds done, rounds in all) after each round.
    public static func train(_ data: Matrix, _ c: Configuration,
                             progress: ((_ done: Int, _ total: Int) -> Void)? = nil) throws(QuantizerError) -> OPQ {
        try ProductQuantizer.validate(dimension: data.columns, subspaces: c.subspaces, bitsPerCode: c.bitsPerCode)
        var r: Matrix
        do { r = try Orthogonal.random(data.columns, seed: c.seed) } catch { throw .linearAlgebra(error) }
        var pq: ProductQuantizer?
        for round in 0..<c.iterations {
            let xr = data.multiplied(r)
            pq = try ProductQuantizer.train(xr, subspaces: c.subspaces, bitsPerCode: c.bitsPerCode,
                                            iterations: round == 0 ? c.firstPQIterations : c.pqIterations,
                                            seed: c.seed &+ 1, warmStart: pq)
            let y = try pq!.decode(pq!.encode(xr))
            do { r = try Orthogonal.procrustes(data, y) } catch { throw .linearAlgebra(error) }
            progress?(round + 1, c.iterations + 1)
        }
        let final = try ProductQuantizer.train(data.multiplied(r), subspaces: c.subspaces, bitsPerCode: c.bitsPerCode,
                                               iterations: c.finalPQIterations, seed: c.seed &+ 1, warmStart: pq)
        progress?(c.iterations + 1, c.iterations + 1)
        return try OPQ(rotation: r, quantizer: final)
    }

    /// Rotates rows: `x · rotation`.
    public func rotate(_ x: Matrix) throws(QuantizerError) -> Matrix {
        guard x.columns == transform.dimension else { throw .dimensionMismatch(expected: transform.dimension, found: x.columns) }
        return transform.apply(x)
    }

    /// Mean squared reconstruction error in the original space (rotation preserves norms).
    public func reconstructionError(_ x: Matrix) throws(QuantizerError) -> Double {
        try quantizer.reconstructionError(rotate(x))
    }
}
