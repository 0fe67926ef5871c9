extension ProductQuantizer {
    /// The `META` pairs that describe this quantizer (dimension, subspaces, bits).
    func metadataPairs() -> [(String, String)] {
        // `subdimension` is redundant on purpose: an edited `subspaces` alone would otherwise
        // reinterpret the same codebook floats as another shape without any check failing.
        [("dimension", "\(dimension)"), ("subspaces", "\(subspaces)"), ("subdimension", "\(subDimension)"), ("bits", "\(bitsPerCode)")]
    }

    /// The quantizer stored in a file's `META` and `CDBK` sections, with `bits` in `allowedBits`.
    init(_ file: IndexFile.Contents, meta: Metadata, allowedBits: ClosedRange<Int>) throws(IndexFileError) {
        let d = try meta.int("dimension", in: 1...(1 << 24))
        let m = try meta.int("subspaces", in: 1...d)
        if meta.values["subdimension"] != nil {     // absent in files written before it existed
            let sd = try meta.int("subdimension", in: 1...d)
            guard sd * m == d else {
                throw .inconsistent(path: file.path, reason: "META subspaces = \(m) and subdimension = \(sd) do not make dimension \(d)")
            }
        }
        let bits = try meta.int("bits", in: allowedBits)
        let books = try file.floats("CDBK", count: d * (1 << bits)).array
        do { try self.init(dimension: d, subspaces: m, bitsPerCode: bits, codebooks: books) } catch {
            throw .invalidQuantizer(path: file.path, error)
        }
    }
}
