extension PQIndex {
    /// Saves the index to `path` atomically (kind `pq`: sections META, CDBK, CODE, IDS).
    public func save(to path: String) throws(IndexFileError) {
        try IndexFile.write(kind: .pq, sections: sections(), to: path)
    }

    /// Loads a `pq` index saved by `save(to:)`; with `mapping`, codes and ids stay in a
    /// read-only memory mapping of the file.
    public static func load(from path: String, mapping: Bool = false) throws(IndexFileError) -> PQIndex {
        try PQIndex(IndexFile.read(path, mapping: mapping), kind: .pq)
    }

    func sections() -> [IndexFile.Section] {
        let meta = Metadata(quantizer.metadataPairs() + [("metric", metric.rawValue), ("count", "\(count)")])
        return [.bytes("META", meta.encoded), .floats("CDBK", StoredArray(quantizer.codebooks)),
                .uint8s("CODE", store.onlyRun.codes), .int64s("IDS", store.onlyRun.ids)]
    }

    init(_ file: IndexFile.Contents, kind: IndexKind) throws(IndexFileError) {
        guard file.kind == kind else { throw .wrongKind(path: file.path, expected: kind.name, found: file.kind.name) }
        let meta = try file.metadata()
        let pq = try ProductQuantizer(file, meta: meta, allowedBits: 1...8)
        let n = try meta.int("count", in: 0...CandidateReservoir.positionLimit)
        self.init(quantizer: pq, metric: try meta.metric())
        store = try file.store(layout: store.layout, count: n)
        let k = pq.codewords
        if k < 256, let bad = store.onlyRun.codes.withUnsafeBufferPointer({ $0.first { Int($0) >= k } }) {
            throw .inconsistent(path: file.path, reason: "code \(bad) is outside 0..<\(k)")
        }
    }
}
