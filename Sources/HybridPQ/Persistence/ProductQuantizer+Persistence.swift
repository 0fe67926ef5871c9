extension ProductQuantizer {
    /// The `META` pairs that describe this quantizer (dimension, subspaces, bits).
    func metadataPairs() -> [(String, String)] {
        [("dimension", "\(dimension)"), ("subspaces", "\(subspaces)"), ("bits", "\(bitsPerCode)")]
    }

    /// The quantizer stored in a file's `META` and `CDBK` sections, with `bits` in `allowedBits`.
    init(_ file: IndexFile.Contents, meta: Metadata, allowedBits: ClosedRange<Int>) throws(IndexFileError) {
        let d = try meta.int("dimension", in: 1...(1 << 24))
        let m = try meta.int("subspaces", in: 1...d)
        let bits = try meta.int("bits", in: allowedBits)
        let books = try file.floats("CDBK", count: d * (1 << bits)).array
        do { try self.init(dimension: d, subspaces: m, bitsPerCode: bits, codebooks: books) } catch {
            throw .invalidQuantizer(path: file.path, error)
        }
    }
}
