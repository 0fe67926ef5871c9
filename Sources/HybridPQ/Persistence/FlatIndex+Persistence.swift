extension FlatIndex {
    /// Saves the index to `path` atomically (kind `flat`: sections META, VECS, NORM, IDS).
    public func save(to path: String) throws(IndexFileError) {
        let meta = Metadata([("dimension", "\(dimension)"), ("metric", metric.rawValue), ("count", "\(count)")])
        try IndexFile.write(kind: .flat, sections: [
            .bytes("META", meta.encoded), .floats("VECS", vectors), .floats("NORM", squaredNorms), .int64s("IDS", ids),
        ], to: path)
    }

    /// Loads a `flat` index saved by `save(to:)`; with `mapping`, vectors stay in a read-only
    /// memory mapping of the file.
    public static func load(from path: String, mapping: Bool = false) throws(IndexFileError) -> FlatIndex {
        try FlatIndex(IndexFile.read(path, mapping: mapping))
    }

    init(_ file: IndexFile.Contents) throws(IndexFileError) {
        guard file.kind == .flat else { throw .wrongKind(path: file.path, expected: "flat", found: file.kind.name) }
        let meta = try file.metadata()
        let d = try meta.int("dimension", in: 1...(1 << 24))
        let n = try meta.int("count", in: 0...CandidateReservoir.positionLimit)   // n · d < 2⁵⁶: no overflow
        self.init(dimension: d, metric: try meta.metric())
        vectors = try file.floats("VECS", count: n * d)
        squaredNorms = try file.floats("NORM", count: n)
        ids = try file.ids(count: n)
        largestId = ids.withUnsafeBufferPointer { $0.max() ?? -1 }
        // A crafted file can carry valid checksums over NaN vectors or norms that disagree with
        // them (every score would be silently wrong): both are checked, O(n·d) like the checksums.
        let bad: Int? = vectors.withUnsafeBufferPointer { v in
            squaredNorms.withUnsafeBufferPointer { norms in
                (0..<n).first { i in
                    var s: Float = 0
                    for j in 0..<d { let x = v[i * d + j]; guard x.isFinite else { return true }; s += x * x }
                    return !norms[i].isFinite || abs(norms[i] - s) > 1e-3 * max(1, s)
                }
            }
        }
        if let bad { throw .inconsistent(path: file.path, reason: "vector \(bad) is not finite or disagrees with its stored norm") }
    }
}
