/// Asymmetric-distance (ADC) lookup tables for a batch of queries: for query q, sub-space m and
/// codeword k, the score contribution `⟨q_m, c_{m,k}⟩` (inner product) or `−‖q_m − c_{m,k}‖²`
/// (L2). The score of a code is the sum of its M entries; for L2 that sum is exactly the negated
/// squared distance to the decoded vector, so ranking by it is ranking by distance.
public struct LookupTables: Sendable {
    /// Queries in the batch.
    public let queries: Int
    /// Sub-spaces M.
    public let subspaces: Int
    /// Codewords per sub-space K.
    public let codewords: Int
    /// `queries × M × K` values; table of query q starts at `q * M * K`.
    public var values: [Float]

    /// Floats per query.
    public var stride: Int { subspaces * codewords }

    /// Tables over explicit values.
    public init(queries: Int, subspaces: Int, codewords: Int, values: [Float]) {
        precondition(values.count == queries * subspaces * codewords, "lookup table size mismatch")
        self.queries = queries
        self.subspaces = subspaces
        self.codewords = codewords
        self.values = values
    }

    /// The `M × K` table of query `q`.
    public func table(_ q: Int) -> ArraySlice<Float> { values[(q * stride)..<((q + 1) * stride)] }
}

extension ProductQuantizer {
    /// Batches of at most this many queries of a 4-bit quantizer (K = 16) get their tables from
    /// plain loops rather than BLAS. Measured one-query p50 on
    /// debian-desc: pq4 16 / 32 B 26.6 / 35.2 µs with loops against 28.2 / 38.2 with BLAS; for
    /// 8-bit codes (K = 256) BLAS was as fast or faster (52.6 vs 55.9 µs at 16 B), so it keeps them.
    static let directTableQueries = 2

    /// Lookup tables for every row of `queries` under `metric`, one BLAS product per sub-space
    /// (queries are read in place through a strided view; no copies).
    ///
    /// - Throws: `QuantizerError.dimensionMismatch` for queries of another dimension.
    public func lookupTables(_ queries: Matrix, metric: Metric) throws(QuantizerError) -> LookupTables {
        guard queries.columns == dimension else { throw .dimensionMismatch(expected: dimension, found: queries.columns) }
        let nq = queries.rows, m = subspaces, k = codewords, d = subDimension
        var values = [Float](repeating: 0, count: nq * m * k)
        guard nq > 0 else { return LookupTables(queries: 0, subspaces: m, codewords: k, values: values) }
        let alpha: Float = metric == .l2 ? 2 : 1
        queries.values.withUnsafeBufferPointer { q in
            codebooks.withUnsafeBufferPointer { books in
                values.withUnsafeMutableBufferPointer { out in
                    if nq <= Self.directTableQueries && k == 16 {
                        // One query of a 4-bit quantizer: M tiny products (1 × d by d × 16), where
                        // BLAS's per-call cost dominates a one-query search. Sixteen codewords at
                        // once over the transposed codebooks instead (`sixteenDots`).
                        transposedBooks.withUnsafeBufferPointer { tb in
                            let transposed = UnsafeRawPointer(tb.baseAddress!)
                            for i in 0..<nq {
                                for s in 0..<m {
                                    let dot = Self.sixteenDots(q.baseAddress! + i * dimension + s * d, subspace: s,
                                                               subDimension: d, transposedBooks: transposed)
                                    UnsafeMutableRawPointer(out.baseAddress! + i * m * k + s * k)
                                        .storeBytes(of: alpha * dot, as: SIMD16<Float>.self)
                                }
                            }
                        }
                        return
                    }
                    for s in 0..<m {
                        BLAS.gemmABt(m: nq, n: k, k: d, alpha: alpha, a: q.baseAddress! + s * d, lda: dimension,
                                     b: books.baseAddress! + s * k * d, ldb: d,
                                     c: out.baseAddress! + s * k, ldc: m * k)
                    }
                }
            }
        }
        if metric == .l2 {
            // −‖q_m − c‖² = 2⟨q_m, c⟩ − ‖c‖² − ‖q_m‖²
            codewordSquaredNorms().withUnsafeBufferPointer { cn in
                queries.values.withUnsafeBufferPointer { q in
                    values.withUnsafeMutableBufferPointer { out in
                        for i in 0..<nq {
                            for s in 0..<m {
                                var qn: Float = 0
                                for j in 0..<d { let v = q[i * dimension + s * d + j]; qn += v * v }
                                let base = i * m * k + s * k
                                for c in 0..<k { out[base + c] -= cn[s * k + c] + qn }
                            }
                        }
                    }
                }
            }
        }
        return LookupTables(queries: nq, subspaces: m, codewords: k, values: values)
    }
}
