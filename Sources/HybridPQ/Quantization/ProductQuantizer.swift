/// A product quantizer: vectors of dimension D are cut into M sub-vectors of d = D/M
/// components, and each sub-vector is replaced by the index of its nearest codeword in that
/// sub-space's codebook of K = 2^bits codewords (Jégou et al., 2011).
///
/// The quantizer is a value: train it, encode, decode, build lookup tables. It knows nothing of
/// ids, storage or files — indexes compose it with those. Codes are one byte per sub-space
/// (`n × M` bytes, "unpacked"); 4-bit layouts are packed by the index that needs them.
public struct ProductQuantizer: Sendable, Equatable {
    /// Dimension D of the vectors.
    public let dimension: Int
    /// Number of sub-spaces M.
    public let subspaces: Int
    /// Bits per code, 1...8; K = 2^bits.
    public let bitsPerCode: Int
    /// Codebooks, `M × K × d` floats: codeword k of sub-space m starts at `(m * K + k) * d`.
    public private(set) var codebooks: [Float]
    /// ‖c‖² of every codeword (`M × K`), kept with the codebooks: L2 tables and encoding need
    /// them on every call, and a one-query search should not recompute M·K·d products.
    private var squaredNorms: [Float]
    /// For K = 16 only (else empty): each sub-space's codebook transposed, `M × d × 16` floats,
    /// so a one-query table is d multiply-adds of 16-wide vectors (`lookupTables`).
    private(set) var transposedBooks: [Float]

    /// Components per sub-vector d = D / M.
    public var subDimension: Int { dimension / subspaces }
    /// Codewords per sub-space K.
    public var codewords: Int { 1 << bitsPerCode }
    /// Bytes of one packed code (M · bits / 8, rounded up).
    public var codeSize: Int { (subspaces * bitsPerCode + 7) / 8 }

    /// A quantizer with imported codebooks (`M × K × d` floats), e.g. learned elsewhere.
    ///
    /// - Throws: `QuantizerError` when D is not divisible by M, bits are outside 1...8, or the
    ///   codebooks have the wrong size or non-finite values.
    public init(dimension: Int, subspaces: Int, bitsPerCode: Int = 8, codebooks: [Float]) throws(QuantizerError) {
        try Self.validate(dimension: dimension, subspaces: subspaces, bitsPerCode: bitsPerCode)
        let expected = dimension * (1 << bitsPerCode)
        guard codebooks.count == expected else { throw .codebookSize(expected: expected, found: codebooks.count) }
        guard codebooks.allSatisfy({ $0.isFinite }) else { throw .invalidShape("codebooks contain NaN or infinity") }
        self.dimension = dimension
        self.subspaces = subspaces
        self.bitsPerCode = bitsPerCode
        self.codebooks = codebooks
        squaredNorms = Self.squaredNorms(codebooks, count: subspaces * (1 << bitsPerCode), subDimension: dimension / subspaces)
        transposedBooks = Self.transposed(codebooks, subspaces: subspaces, codewords: 1 << bitsPerCode,
                                          subDimension: dimension / subspaces)
    }

    /// Checks a shape without building anything.
    public static func validate(dimension: Int, subspaces: Int, bitsPerCode: Int) throws(QuantizerError) {
        guard dimension > 0, subspaces > 0 else {
            throw .invalidShape("dimension (\(dimension)) and sub-spaces (\(subspaces)) must be positive")
        }
        guard (1...8).contains(bitsPerCode) else { throw .unsupportedBits(bitsPerCode) }
        guard dimension % subspaces == 0 else { throw .dimensionNotDivisible(dimension: dimension, subspaces: subspaces) }
    }

    /// Trains one k-means per sub-space on the rows of `data`.
    ///
    /// - Parameters:
    ///   - iterations: Lloyd iterations per sub-space (FAISS uses 25).
    ///   - seed: seed of every sub-space's k-means (sub-space m uses `seed + m`).
    ///   - progress: called after each sub-space with (sub-spaces done, M), for progress reports.
    ///   - initialization: how each sub-space's k-means is seeded (ignored with `warmStart`).
    ///   - warmStart: continue from this quantizer's codebooks (same shape) instead of seeding.
    public static func train(_ data: Matrix, subspaces: Int, bitsPerCode: Int = 8, iterations: Int = 25,
                             seed: UInt64 = 1234, warmStart: ProductQuantizer? = nil,
                             initialization: KMeans.Initialization = .kMeansPlusPlus,
                             progress: ((_ done: Int, _ total: Int) -> Void)? = nil) throws(QuantizerError) -> ProductQuantizer {
        try validate(dimension: data.columns, subspaces: subspaces, bitsPerCode: bitsPerCode)
        if let w = warmStart, w.dimension != data.columns || w.subspaces != subspaces || w.bitsPerCode != bitsPerCode {
            throw .invalidShape("warm start quantizer has another shape")
        }
        let d = data.columns / subspaces, k = 1 << bitsPerCode
        var books = [Float](repeating: 0, count: data.columns * k)
        for m in 0..<subspaces {
            var config = KMeans.Configuration(clusters: k)
            config.maxIterations = iterations
            config.initialization = initialization
            config.seed = seed &+ UInt64(m)
            config.initialCentroids = warmStart?.codebook(m)
            let sub = data.slicing(columns: (m * d)..<((m + 1) * d))
            let result: KMeans.Result
            do { result = try KMeans(config).fit(sub) } catch { throw .training(error) }
            books.replaceSubrange((m * k * d)..<((m + 1) * k * d), with: result.centroids.values)
            progress?(m + 1, subspaces)
        }
        return try ProductQuantizer(dimension: data.columns, subspaces: subspaces, bitsPerCode: bitsPerCode,
                                    codebooks: books)
    }

    /// The codebook of sub-space `m` as a `K × d` matrix.
    public func codebook(_ m: Int) -> Matrix {
        let size = codewords * subDimension
        return Matrix(rows: codewords, columns: subDimension, values: Array(codebooks[(m * size)..<((m + 1) * size)]))
    }

    /// Replaces the codebook of sub-space `m` (a `K × d` matrix).
    public mutating func setCodebook(_ m: Int, _ book: Matrix) throws(QuantizerError) {
        guard book.rows == codewords, book.columns == subDimension else {
            throw .codebookSize(expected: codewords * subDimension, found: book.values.count)
        }
        let size = codewords * subDimension
        codebooks.replaceSubrange((m * size)..<((m + 1) * size), with: book.values)
        let norms = Self.squaredNorms(book.values, count: codewords, subDimension: subDimension)
        squaredNorms.replaceSubrange((m * codewords)..<((m + 1) * codewords), with: norms)
        transposedBooks = Self.transposed(codebooks, subspaces: subspaces, codewords: codewords, subDimension: subDimension)
    }

    /// Squared norms of every codeword, `M × K` (used by L2 lookup tables and encoding).
    public func codewordSquaredNorms() -> [Float] { squaredNorms }

    /// `books` (`M × K × d`) as `M × d × K` when K = 16; empty otherwise.
    static func transposed(_ books: [Float], subspaces: Int, codewords k: Int, subDimension d: Int) -> [Float] {
        guard k == 16 else { return [] }
        var out = [Float](repeating: 0, count: books.count)
        for m in 0..<subspaces {
            for c in 0..<k {
                for j in 0..<d { out[(m * d + j) * k + c] = books[(m * k + c) * d + j] }
            }
        }
        return out
    }

    /// ‖c‖² of `count` consecutive codewords of `d` floats.
    static func squaredNorms(_ books: [Float], count: Int, subDimension d: Int) -> [Float] {
        var out = [Float](repeating: 0, count: count)
        for i in 0..<count {
            var s: Float = 0
            for j in 0..<d { s += books[i * d + j] * books[i * d + j] }
            out[i] = s
        }
        return out
    }
}
