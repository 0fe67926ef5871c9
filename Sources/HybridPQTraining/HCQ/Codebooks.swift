import HybridPQ

/// Codebook fitting and the quantized forward/backward of both modes.
public enum Codebooks {
    /// HCQ's refit: per sub-space, spherical k-means (K = 256, ≤ `iterations` rounds, warm
    /// started from `previous`, stopping early when a round improves the objective by < 0.1 %)
    /// on the sub-vectors of `embeddings` (a seeded sample of ≤ 32 per centroid); centroids are unit vectors
    /// scaled to 1/√M, the norm of an HCQ level embedding's sub-vectors.
    public static func refitSpherical(_ embeddings: Matrix, subspaces m: Int, previous: ProductQuantizer?,
                                      iterations: Int, seed: UInt64) throws -> ProductQuantizer {
        let d = embeddings.columns / m
        let scale = 1 / Float(m).squareRoot()
        var books = [Float](repeating: 0, count: m * 256 * d)
        for s in 0..<m {
            var config = KMeans.Configuration(clusters: 256)
            config.spherical = true
            config.maxIterations = iterations
            // Warm-started refits converge in a few rounds: stop once a round gains < 0.1 %.
            // At most 32 points per centroid (a seeded sample): the refit is most of an epoch.
            config.tolerance = 1e-3
            config.maxPointsPerCentroid = 32
            config.seed = seed &+ UInt64(s)
            if let previous { config.initialCentroids = previous.codebook(s) }
            let result = try KMeans(config).fit(embeddings.slicing(columns: (s * d)..<((s + 1) * d)))
            for i in 0..<(256 * d) { books[s * 256 * d + i] = result.centroids.values[i] * scale }
        }
        return try ProductQuantizer(dimension: embeddings.columns, subspaces: m, bitsPerCode: 8, codebooks: books)
    }

    /// The straight-through quantized embedding ẑ: each sub-vector replaced by its codeword
    /// (forward); the backward pass hands ẑ's gradient to the embedding unchanged.
    public static func straightThrough(_ e: Matrix, _ q: LevelQuantizer) throws -> Matrix {
        try q.quantizer.decode(q.encode(e))
    }

    /// Joint mode's start: OPQ (rotation + 8-bit PQ, `iterations` rounds) of the target level
    /// embeddings.
    public static func opqStart(_ embeddings: Matrix, subspaces m: Int, bitsPerCode bits: Int = 8, iterations: Int,
                                seed: UInt64) throws -> LevelQuantizer {
        var config = OPQ.Configuration(subspaces: m, bitsPerCode: bits)
        config.iterations = iterations
        config.seed = seed
        let opq = try OPQ.train(embeddings, config)
        return try LevelQuantizer(rotation: opq.rotation, quantizer: opq.quantizer, metric: .l2)
    }

    /// Codebooks as a (M·K) × d matrix (the optimizer's view).
    public static func matrix(_ q: ProductQuantizer) -> Matrix {
        Matrix(rows: q.subspaces * q.codewords, columns: q.subDimension, values: q.codebooks)
    }

    /// Joint mode's asymmetric score of rotated queries Q (B × D) against reconstructions X̂
    /// (N × D): s_ij = ⟨q_i, x̂_j⟩ − ½‖x̂_j‖², half the L2 lookup-table score −‖q − x̂‖² up to a
    /// per-query constant (same ranking, same softmax).
    public static func jointScores(_ q: Matrix, _ xhat: Matrix) -> Matrix {
        var s = q.multipliedTransposed(xhat)
        let norms = xhat.rowSquaredNorms()
        for i in 0..<s.rows { for j in 0..<s.columns { s.values[i * s.columns + j] -= 0.5 * norms[j] } }
        return s
    }

    /// Gradients of `jointScores` given dS: dQ = dS X̂ and dX̂_j = Σ_i dS_ij (q_i − x̂_j).
    public static func jointScoreGradients(_ dS: Matrix, _ q: Matrix, _ xhat: Matrix) -> (dQ: Matrix, dX: Matrix) {
        var dX = dS.transposed().multiplied(q)
        for j in 0..<xhat.rows {
            var col: Float = 0
            for i in 0..<dS.rows { col += dS.values[i * dS.columns + j] }
            for c in 0..<xhat.columns { dX.values[j * xhat.columns + c] -= col * xhat.values[j * xhat.columns + c] }
        }
        return (dS.multiplied(xhat), dX)
    }

    /// Scatters reconstruction gradients to codewords: dC[m, code_jm] += dX̂_j restricted to
    /// sub-space m (the codes are fixed, so x̂ is a selection of codewords).
    public static func scatter(_ dX: Matrix, codes: [UInt8], subspaces m: Int, into dC: inout Matrix) {
        let d = dX.columns / m, kw = dC.rows / m
        for j in 0..<dX.rows {
            for s in 0..<m {
                let k = Int(codes[j * m + s])
                let dst = (s * kw + k) * d, src = j * dX.columns + s * d
                for c in 0..<d { dC.values[dst + c] += dX.values[src + c] }
            }
        }
    }
}
