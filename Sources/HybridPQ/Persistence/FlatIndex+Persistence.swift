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
        let n = try meta.int("count")
        self.init(dimension: d, metric: try meta.metric())
        vectors = try file.floats("VECS", count: n * d)
        squaredNorms = try file.floats("NORM", count: n)
        ids = try file.int64s("IDS", count: n)
    }
}
