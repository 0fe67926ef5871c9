extension IVFIndex {
    /// Saves the index to `path` atomically (kind `ivf`: sections META, CDBK (codebooks), CENT
    /// (the `nlist` centroids), LSTS (each list's item count), CODE (every list's codes, list
    /// after list, in the lists' layout) and IDS (their ids, in the same order)).
    /// - Throws: `.invalidIndex` (`.unsupported`) for lists of a model's codes: their file
    ///   kind is not built yet.
    public func save(to path: String) throws(IndexFileError) {
        try IndexFile.write(kind: .ivf, sections: sections(path), to: path)
    }

    /// Loads an `ivf` index saved by `save(to:)`; with `mapping`, every list's codes and ids are
    /// views of one read-only memory mapping of the file (nothing copied).
    ///
    /// - Throws: a typed `IndexFileError` for a damaged file and for one whose structure does
    ///   not add up — list sizes that are negative or do not sum to META's count, a CODE section
    ///   of another size than the lists' layout needs, centroids of the wrong shape or not finite.
    public static func load(from path: String, mapping: Bool = false) throws(IndexFileError) -> IVFIndex {
        try IVFIndex(IndexFile.read(path, mapping: mapping))
    }

    func sections(_ path: String) throws(IndexFileError) -> [IndexFile.Section] {
        guard let quantizer else {
            throw .invalidIndex(path: path, .unsupported("IVF lists of a model's codes cannot be saved yet (no file kind)"))
        }
        let fastScan: Bool
        if case .fastScan = store.layout { fastScan = true } else { fastScan = false }
        let meta = Metadata(quantizer.metadataPairs() + [("metric", metric.rawValue), ("count", "\(count)"), ("nlist", "\(nlist)"),
                                                         ("layout", fastScan ? "blocks32" : "rows")])
        var codes: [UInt8] = [], ids: [Int64] = []
        codes.reserveCapacity(store.codeBytes)
        ids.reserveCapacity(count)
        for run in store.runs {
            run.codes.withUnsafeBufferPointer { codes.append(contentsOf: $0) }
            run.ids.withUnsafeBufferPointer { ids.append(contentsOf: $0) }
        }
        return [.bytes("META", meta.encoded), .floats("CDBK", StoredArray(quantizer.codebooks)),
                .floats("CENT", StoredArray(centroids.values)), .int64s("LSTS", StoredArray(store.runs.map { Int64($0.count) })),
                .uint8s("CODE", StoredArray(codes)), .int64s("IDS", StoredArray(ids))]
    }

    init(_ file: IndexFile.Contents, kind: IndexKind = .ivf) throws(IndexFileError) {
        guard file.kind == kind else { throw .wrongKind(path: file.path, expected: kind.name, found: file.kind.name) }
        let meta = try file.metadata()
        let layoutName = try meta.string("layout")
        guard layoutName == "rows" || layoutName == "blocks32" else {
            throw .inconsistent(path: file.path, reason: "META 'layout' is \(layoutName), expected rows or blocks32")
        }
        let pq = try ProductQuantizer(file, meta: meta, allowedBits: layoutName == "blocks32" ? 4...4 : 1...8)
        let n = try meta.int("count", in: 0...CandidateReservoir.positionLimit)
        let nlist = try meta.int("nlist", in: 1...CandidateReservoir.positionLimit)
        let metric = try meta.metric()
        let (cells, overflow) = nlist.multipliedReportingOverflow(by: pq.dimension)
        guard !overflow else {
            throw .inconsistent(path: file.path, reason: "META nlist \(nlist) × dimension \(pq.dimension) overflows")
        }
        let centroids = Matrix(rows: nlist, columns: pq.dimension, values: try file.floats("CENT", count: cells).array)
        do { try self.init(centroids: centroids, quantizer: pq, metric: metric) } catch {
            throw .invalidIndex(path: file.path, error)
        }
        // The lists: sizes that are each in range and add up to the count, then the code bytes
        // their layout needs (checked arithmetic: the sizes come from the file).
        let sizes = try file.int64s("LSTS", count: nlist).array
        var total = 0, codeBytes = 0
        for (l, s) in sizes.enumerated() {
            guard s >= 0, s <= Int64(n) else {
                throw .inconsistent(path: file.path, reason: "list \(l) holds \(s) items; META count is \(n)")
            }
            total += Int(s)                  // ≤ nlist · n < 2⁶³: both are at most 2³²
            guard total <= n else { throw .inconsistent(path: file.path, reason: "list sizes add up to more than META count \(n)") }
            codeBytes += store.layout.bytes(forItems: Int(s))
        }
        guard total == n else { throw .inconsistent(path: file.path, reason: "list sizes add up to \(total); META count is \(n)") }
        let codes = try file.uint8s("CODE", count: codeBytes), ids = try file.int64s("IDS", count: n)
        var runs: [CodeRun] = [], codeAt = 0, idAt = 0
        runs.reserveCapacity(nlist)
        for s in sizes.map(Int.init) {
            let b = store.layout.bytes(forItems: s)
            runs.append(CodeRun(codes: codes.slice(codeAt..<(codeAt + b)), ids: ids.slice(idAt..<(idAt + s))))
            codeAt += b
            idAt += s
        }
        let k = pq.codewords
        if k < 256, case .rows = store.layout, let bad = codes.withUnsafeBufferPointer({ $0.first { Int($0) >= k } }) {
            throw .inconsistent(path: file.path, reason: "code \(bad) is outside 0..<\(k)")
        }
        if let bad = ids.withUnsafeBufferPointer({ $0.first { $0 < 0 } }) {
            throw .inconsistent(path: file.path, reason: "id \(bad) is negative")
        }
        let loaded: CodeStore
        do { loaded = try CodeStore(layout: store.layout, runs: runs) } catch { throw .invalidIndex(path: file.path, error) }
        replaceStore(loaded)
    }
}

extension RotatedIndex where Base == IVFIndex {
    /// Saves the index to `path` atomically (kind `ivf-opq`: the `ivf` sections, centroids in
    /// the rotated space, plus ROTN, the D × D rotation).
    public func save(to path: String) throws(IndexFileError) {
        try IndexFile.write(kind: .ivfOPQ, sections: base.sections(path) + [.floats("ROTN", StoredArray(rotation.values))], to: path)
    }

    /// Loads an `ivf-opq` index saved by `save(to:)` (`mapping`: lists stay in the file's mapping).
    public static func load(from path: String, mapping: Bool = false) throws(IndexFileError) -> IVFOPQIndex {
        try IVFOPQIndex(IndexFile.read(path, mapping: mapping))
    }

    init(_ file: IndexFile.Contents) throws(IndexFileError) {
        let base = try IVFIndex(file, kind: .ivfOPQ)
        try self.init(rotation: file.rotation(base.dimension), base: base, path: file.path)
    }
}
