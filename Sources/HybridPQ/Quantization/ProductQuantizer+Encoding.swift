extension ProductQuantizer {
    /// Encodes the rows of `vectors`: `rows × M` bytes, byte m of row i the index of the
    /// codeword of sub-space m nearest (L2) to sub-vector m of row i.
    ///
    /// - Throws: `QuantizerError.dimensionMismatch` for vectors of another dimension.
    public func encode(_ vectors: Matrix, threads: Int? = nil) throws(QuantizerError) -> [UInt8] {
        guard vectors.columns == dimension else { throw .dimensionMismatch(expected: dimension, found: vectors.columns) }
        let n = vectors.rows, m = subspaces, k = codewords, d = subDimension
        var codes = [UInt8](repeating: 0, count: n * m)
        guard n > 0 else { return codes }
        let norms = codewordSquaredNorms()
        if n <= Self.directTableQueries && k == 16 {
            // A live index's one-item writes: M tiny products, where BLAS's per-call cost is most
            // of the encoding (the lookup tables' rule, and the same sixteen-lane sums).
            encodeDirect(vectors, norms: norms, into: &codes)
            return codes
        }
        var labels = [Int32](repeating: 0, count: n)
        let threadCount = Concurrency.resolve(threads: threads)
        vectors.values.withUnsafeBufferPointer { x in
            codebooks.withUnsafeBufferPointer { books in
                norms.withUnsafeBufferPointer { cn in
                    for s in 0..<m {
                        labels.withUnsafeMutableBufferPointer { l in
                            NearestCentroid.assign(points: x.baseAddress! + s * d, count: n, dim: d, stride: dimension,
                                                   centroids: books.baseAddress! + s * k * d, k: k,
                                                   centroidSquaredNorms: cn.baseAddress! + s * k,
                                                   spherical: false, threads: threadCount,
                                                   labels: l.baseAddress!, distances: nil)
                        }
                        for i in 0..<n { codes[i * m + s] = UInt8(truncatingIfNeeded: labels[i]) }
                    }
                }
            }
        }
        return codes
    }

    /// Codes of a few vectors of a 4-bit quantizer without BLAS: per sub-space, sixteen products
    /// at once over the transposed codebooks, then the nearest by ‖c‖² − 2⟨x, c⟩ (ties to the
    /// lower codeword, as the batch path).
    private func encodeDirect(_ vectors: Matrix, norms: [Float], into codes: inout [UInt8]) {
        let n = vectors.rows, m = subspaces, d = subDimension
        vectors.values.withUnsafeBufferPointer { x in
            transposedBooks.withUnsafeBufferPointer { tb in
                norms.withUnsafeBufferPointer { cn in
                    let transposed = UnsafeRawPointer(tb.baseAddress!)
                    for i in 0..<n {
                        for s in 0..<m {
                            let dot = Self.sixteenDots(x.baseAddress! + i * dimension + s * d, subspace: s, subDimension: d,
                                                       transposedBooks: transposed)
                            var best = 0, bestValue = cn[s * 16] - 2 * dot[0]
                            for j in 1..<16 {
                                let v = cn[s * 16 + j] - 2 * dot[j]
                                if v < bestValue { bestValue = v; best = j }
                            }
                            codes[i * m + s] = UInt8(best)
                        }
                    }
                }
            }
        }
    }

    /// ⟨x_s, c⟩ for the sixteen codewords c of sub-space `s` of a 4-bit quantizer (`xs`: the
    /// sub-vector's d values; `transposedBooks`: `transposedBooks`' storage): each lane sums its
    /// d products in order, exactly as a scalar loop would.
    @inline(__always)
    static func sixteenDots(_ xs: UnsafePointer<Float>, subspace s: Int, subDimension d: Int,
                            transposedBooks books: UnsafeRawPointer) -> SIMD16<Float> {
        var dot = SIMD16<Float>()
        for j in 0..<d {
            dot += SIMD16(repeating: xs[j]) * books.loadUnaligned(fromByteOffset: (s * d + j) * 64, as: SIMD16<Float>.self)
        }
        return dot
    }

    /// Reconstructs vectors from `n × M` codes: each sub-vector is its codeword.
    ///
    /// - Throws: `QuantizerError.codeOutOfRange` for a byte ≥ K (possible when bits < 8), or
    ///   `.invalidShape` when `codes.count` is not a multiple of M.
    public func decode(_ codes: [UInt8]) throws(QuantizerError) -> Matrix {
        let m = subspaces, d = subDimension, k = codewords
        guard codes.count % m == 0 else {
            throw .invalidShape("\(codes.count) code bytes is not a multiple of M = \(m)")
        }
        let n = codes.count / m
        if k < 256, let bad = codes.first(where: { Int($0) >= k }) { throw .codeOutOfRange(code: Int(bad), codewords: k) }
        var out = Matrix(rows: n, columns: dimension)
        let dim = dimension
        // Pointers, not subscripts: this runs for every re-ranked candidate's frames.
        out.values.withUnsafeMutableBufferPointer { o in
            codebooks.withUnsafeBufferPointer { b in
                codes.withUnsafeBufferPointer { c in
                    for i in 0..<n {
                        for s in 0..<m {
                            (o.baseAddress! + i * dim + s * d).update(from: b.baseAddress! + (s * k + Int(c[i * m + s])) * d, count: d)
                        }
                    }
                }
            }
        }
        return out
    }

    /// Mean squared reconstruction error ‖x − decode(encode(x))‖² over the rows of `vectors`.
    public func reconstructionError(_ vectors: Matrix) throws(QuantizerError) -> Double {
        let rec = try decode(encode(vectors))
        var total = 0.0
        for i in 0..<vectors.values.count {
            let t = Double(vectors.values[i] - rec.values[i])
            total += t * t
        }
        return vectors.rows == 0 ? 0 : total / Double(vectors.rows)
    }
}
