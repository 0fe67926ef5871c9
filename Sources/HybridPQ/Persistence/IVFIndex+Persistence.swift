extension IVFIndex {
    /// The file kind the index is written as: `ivf` for PQ lists, `ivf-hcq` for a model's codes.
    public var fileKind: IndexKind { model == nil ? .ivf : .ivfHCQ }

    /// Saves the index to `path` atomically. Kind `ivf`: sections META, CDBK (codebooks), CENT
    /// (the `nlist` centroids), LSTS (each list's item count), CODE (every list's codes, list
    /// after list, in the lists' layout) and IDS (their ids, in the same order). Kind `ivf-hcq`
    /// (lists of a model's codes): the model's sections, its META with `index.levels`,
    /// `index.count`, `index.nlist` and `index.layout`, then CENT (in the model's coarse
    /// embedding space), LSTS, CODE and IDS as above.
    public func save(to path: String) throws(IndexFileError) {
        try IndexFile.write(kind: fileKind, sections: sections(path), to: path)
    }

    /// Loads an `ivf` or `ivf-hcq` index saved by `save(to:)`; with `mapping`, every list's codes
    /// and ids are views of one read-only memory mapping of the file (nothing copied).
    ///
    /// - Throws: a typed `IndexFileError` for a damaged file and for one whose structure does
    ///   not add up — list sizes that are negative or do not sum to META's count, a CODE section
    ///   of another size than the lists' layout needs, centroids of the wrong shape or not finite.
    public static func load(from path: String, mapping: Bool = false) throws(IndexFileError) -> IVFIndex {
        let file = try IndexFile.read(path, mapping: mapping)
        return file.kind == .ivfHCQ ? try IVFIndex(modelLists: file) : try IVFIndex(file)
    }

    func sections(_ path: String) throws(IndexFileError) -> [IndexFile.Section] {
        var codes: [UInt8] = [], ids: [Int64] = []
        codes.reserveCapacity(store.codeBytes)
        ids.reserveCapacity(count)
        for run in store.runs {
            run.codes.withUnsafeBufferPointer { codes.append(contentsOf: $0) }
            run.ids.withUnsafeBufferPointer { ids.append(contentsOf: $0) }
        }
        let lists: [IndexFile.Section] = [.floats("CENT", StoredArray(centroids.values)),
                                          .int64s("LSTS", StoredArray(store.runs.map { Int64($0.count) })),
                                          .uint8s("CODE", StoredArray(codes)), .int64s("IDS", StoredArray(ids))]
        if case let .hybrid(h) = self.lists {
            var s = h.model.sections()
            guard case let .bytes(meta) = s[0].payload, let text = String(validating: meta, as: UTF8.self) else {
                throw .inconsistent(path: path, reason: "model META is not text")
            }
            var md = Metadata(path: path, text: text)
            md.values["index.levels"] = h.levels.map(String.init).joined(separator: ",")
            md.values["index.count"] = "\(count)"
            md.values["index.nlist"] = "\(nlist)"
            md.values["index.layout"] = store.layout.fileName
            s[0] = .bytes("META", md.encoded)
            return s + lists
        }
        guard let quantizer else { throw .inconsistent(path: path, reason: "IVF lists without a quantizer") }
        // `residual` only when set: files of lists of the items are as before.
        let meta = Metadata(quantizer.metadataPairs() + [("metric", metric.rawValue), ("count", "\(count)"), ("nlist", "\(nlist)"),
                                                         ("layout", store.layout.fileName)] + (residual ? [("residual", "1")] : []))
        return [.bytes("META", meta.encoded), .floats("CDBK", StoredArray(quantizer.codebooks))] + lists
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
        let centroids = try file.centroids(nlist, pq.dimension)
        let residual = meta.values["residual"]
        guard residual == nil || residual == "1" else {
            throw .inconsistent(path: file.path, reason: "META 'residual' = '\(residual!)' is not 1")
        }
        do { try self.init(centroids: centroids, quantizer: pq, metric: metric, residual: residual != nil) } catch {
            throw .invalidIndex(path: file.path, error)
        }
        try loadLists(file, count: n, codewords: pq.codewords)
    }

    /// An `ivf-hcq` file: the model, its levels and layout checked against META, then the lists.
    init(modelLists file: IndexFile.Contents) throws(IndexFileError) {
        let path = file.path
        guard file.kind == .ivfHCQ else { throw .wrongKind(path: path, expected: IndexKind.ivfHCQ.name, found: file.kind.name) }
        let model = try HybridModel(file)
        let meta = try file.metadata()
        let n = try meta.int("index.count", in: 0...CandidateReservoir.positionLimit)
        let nlist = try meta.int("index.nlist", in: 1...CandidateReservoir.positionLimit)
        let levelText = try meta.string("index.levels")
        let centroids = try file.centroids(nlist, model.configuration.dimension)
        do { try self.init(centroids: centroids, model: model, coarseOnly: levelText == "0") } catch {
            throw .invalidIndex(path: path, error)
        }
        guard case let .hybrid(h) = lists, h.levels.map(String.init).joined(separator: ",") == levelText else {
            throw .inconsistent(path: path, reason: "META 'index.levels' = '\(levelText)' is neither 0 nor every level")
        }
        let layout = try meta.string("index.layout")
        guard layout == store.layout.fileName else {
            throw .inconsistent(path: path, reason: "META 'index.layout' = '\(layout)' does not fit \(model.configuration.bitsPerCode)-bit codes")
        }
        try loadLists(file, count: n, codewords: model.configuration.codewords)
    }

    /// LSTS, CODE and IDS as this index's lists: sizes each in range and adding up to `n`, then
    /// the code bytes their layout needs (checked arithmetic: the sizes come from the file),
    /// codes below `codewords` in a rows layout, ids ≥ 0 and distinct.
    mutating func loadLists(_ file: IndexFile.Contents, count n: Int, codewords k: Int) throws(IndexFileError) {
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
        let codes = try file.uint8s("CODE", count: codeBytes), ids = try file.ids(count: n)
        var runs: [CodeRun] = [], codeAt = 0, idAt = 0
        runs.reserveCapacity(nlist)
        for s in sizes.map(Int.init) {
            let b = store.layout.bytes(forItems: s)
            runs.append(CodeRun(codes: codes.slice(codeAt..<(codeAt + b)), ids: ids.slice(idAt..<(idAt + s))))
            codeAt += b
            idAt += s
        }
        if k < 256, case .rows = store.layout, let bad = codes.withUnsafeBufferPointer({ $0.first { Int($0) >= k } }) {
            throw .inconsistent(path: file.path, reason: "code \(bad) is outside 0..<\(k)")
        }
        let loaded: CodeStore
        do { loaded = try CodeStore(layout: store.layout, runs: runs) } catch { throw .invalidIndex(path: file.path, error) }
        replaceStore(loaded)
    }
}

extension IndexFile.Contents {
    /// CENT as `nlist` × `dimension` centroids (checked arithmetic on the size).
    func centroids(_ nlist: Int, _ dimension: Int) throws(IndexFileError) -> Matrix {
        let (cells, overflow) = nlist.multipliedReportingOverflow(by: dimension)
        guard !overflow else { throw .inconsistent(path: path, reason: "nlist \(nlist) × dimension \(dimension) overflows") }
        return Matrix(rows: nlist, columns: dimension, values: try floats("CENT", count: cells).array)
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
