extension PQ4Index {
    /// Saves the index to `path` atomically (kind `pq4`: sections META, CDBK, CODE in the
    /// fast-scan block layout, IDS).
    public func save(to path: String) throws(IndexFileError) {
        try IndexFile.write(kind: .pq4, sections: sections(), to: path)
    }

    /// Loads a `pq4` index saved by `save(to:)`; with `mapping`, codes and ids stay in a
    /// read-only memory mapping of the file.
    public static func load(from path: String, mapping: Bool = false) throws(IndexFileError) -> PQ4Index {
        try PQ4Index(IndexFile.read(path, mapping: mapping), kind: .pq4)
    }

    func sections() -> [IndexFile.Section] {
        let meta = Metadata(quantizer.metadataPairs() + [("metric", metric.rawValue), ("count", "\(count)"),
                                                         ("layout", "blocks32")])
        return [.bytes("META", meta.encoded), .floats("CDBK", StoredArray(quantizer.codebooks)),
                .uint8s("CODE", store.onlyRun.codes), .int64s("IDS", store.onlyRun.ids)]
    }

    init(_ file: IndexFile.Contents, kind: IndexKind) throws(IndexFileError) {
        guard file.kind == kind else { throw .wrongKind(path: file.path, expected: kind.name, found: file.kind.name) }
        let meta = try file.metadata()
        guard try meta.string("layout") == "blocks32" else {
            throw .inconsistent(path: file.path, reason: "META 'layout' is not blocks32")
        }
        let pq = try ProductQuantizer(file, meta: meta, allowedBits: 4...4)
        let n = try meta.int("count", in: 0...CandidateReservoir.positionLimit)
        let metric = try meta.metric()
        do { try self.init(quantizer: pq, metric: metric) } catch {
            throw .invalidIndex(path: file.path, error)
        }
        store = try file.store(layout: store.layout, count: n)
    }
}
