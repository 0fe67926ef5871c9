/// Model files (kind `hcq-model`) and the model sections shared with `hcq` index files and
/// training checkpoints. Sections: META (shape, mode, level weights, `info.*` training record),
/// one float section per parameter tensor (tags in `HybridParameters.Tensor.tag`; the joint-mode
/// query heads under the same tag with a lower-case first letter), and per level `CBnn` (codebooks)
/// and, in joint mode, `RTnn` (rotation). See docs/INDEX_FORMAT.md.
extension HybridModel {
    /// Saves the model to `path` atomically.
    public func save(to path: String) throws(IndexFileError) {
        try IndexFile.write(kind: .hcqModel, sections: sections(), to: path)
    }

    /// Loads a model saved by `save(to:)` (or the model inside an `hcq` or `ivf-hcq` index or a
    /// checkpoint).
    public static func load(from path: String) throws(IndexFileError) -> HybridModel {
        let file = try IndexFile.read(path)
        guard [.hcqModel, .hcq, .hcqCheckpoint, .ivfHCQ].contains(file.kind) else {
            throw .wrongKind(path: path, expected: "hcq-model", found: file.kind.name)
        }
        return try HybridModel(file)
    }

    /// The model's sections.
    public func sections() -> [IndexFile.Section] {
        let c = configuration
        var pairs: [(String, String)] = [
            ("model.input_dimension", "\(c.inputDimension)"), ("model.levels", "\(c.levels)"),
            ("model.ghosts", "\(c.ghosts)"), ("model.subspaces", "\(c.subspaces)"),
            ("model.subdimension", "\(c.dimension / c.subspaces)"), ("model.mode", c.mode.rawValue),
            ("model.bits", "\(c.bitsPerCode)"),
            ("model.level_weights", levelWeights.map { "\($0)" }.joined(separator: ",")),
            ("model.quantized", isQuantized ? "1" : "0"),
            ("model.quantized_query_heads", quantizedQueryParameters == nil ? "0" : "1"),
        ]
        pairs += info.map { ("info.\($0.key)", $0.value) }
        if let f = fine {
            pairs += [("fine.weight", "\(f.weight)"), ("fine.subspaces", "\(f.frameQuantizer.quantizer.subspaces)"),
                      ("fine.subdimension", "\(f.frameQuantizer.quantizer.subDimension)"),
                      ("fine.bits", "\(f.frameQuantizer.quantizer.bitsPerCode)"), ("fine.rotated", f.frameQuantizer.transform == nil ? "0" : "1")]
            if let r = f.coarseRefiner { pairs.append(("fine.refine_subspaces", "\(r.subspaces)")) }
            for (name, sel) in [("selector", f.selector), ("gap_selector", f.gapSelector)] {
                guard let sel else { continue }
                func list(_ v: [Float]) -> String { v.map { "\($0)" }.joined(separator: ",") }
                pairs += [("fine.\(name).weights", list(sel.weights)), ("fine.\(name).bias", "\(sel.bias)"),
                          ("fine.\(name).mean", list(sel.mean)), ("fine.\(name).scale", list(sel.scale)),
                          ("fine.\(name).quantiles", list(sel.quantiles))]
            }
        }
        var out: [IndexFile.Section] = [.bytes("META", Metadata(pairs).encoded)]
        if let f = fine {
            out += [.floats("FTKH", StoredArray(f.tokenHead.values)), .floats("FTFH", StoredArray(f.frameHead.values)),
                    .floats("FQCB", StoredArray(f.frameQuantizer.quantizer.codebooks))]
            if let r = f.frameQuantizer.rotation { out.append(.floats("FQRT", StoredArray(r.values))) }
            if let r = f.coarseRefiner { out.append(.floats("FRFB", StoredArray(r.codebooks))) }
        }
        for t in HybridParameters.Tensor.allCases {
            out.append(.floats(t.tag, StoredArray(parameters[t].values)))
        }
        if let q = quantizedQueryParameters {
            for t in HybridParameters.Tensor.allCases where t.isQuerySide {
                out.append(.floats(Self.quantizedTag(t), StoredArray(q[t].values)))
            }
        }
        for (l, q) in quantizers.enumerated() {
            out.append(.floats(format2("CB", l), StoredArray(q.quantizer.codebooks)))
            if let r = q.rotation { out.append(.floats(format2("RT", l), StoredArray(r.values))) }
        }
        return out
    }

    static func quantizedTag(_ t: HybridParameters.Tensor) -> String { t.tag.prefix(1).lowercased() + t.tag.dropFirst() }

    /// The model in a file's sections (an `hcq-model`, `hcq` or `hcq-checkpoint` file).
    public init(_ file: IndexFile.Contents) throws(IndexFileError) {
        let meta = try file.metadata()
        let din = try meta.int("model.input_dimension", in: 1...(1 << 20))
        let levels = try meta.int("model.levels", in: 0...99)
        let ghosts = try meta.int("model.ghosts", in: 0...1024)
        let m = try meta.int("model.subspaces", in: 1...din)
        if meta.values["model.subdimension"] != nil {     // absent in files written before it existed
            let sd = try meta.int("model.subdimension", in: 1...din)
            guard sd * m == din else {
                throw .inconsistent(path: file.path, reason: "META model.subspaces = \(m) and model.subdimension = \(sd) do not make dimension \(din)")
            }
        }
        let modeName = try meta.string("model.mode")
        guard let mode = Mode(rawValue: modeName) else {
            throw .inconsistent(path: file.path, reason: "META 'model.mode' = '\(modeName)' is not hcq or joint")
        }
        // Files written before 4-bit models existed have no `model.bits`: 8-bit codes.
        let bits = meta.values["model.bits"] == nil ? 8 : try meta.int("model.bits", in: 4...8)
        let c = Configuration(inputDimension: din, levels: levels, ghosts: ghosts, subspaces: m, mode: mode, bitsPerCode: bits)
        do { try c.validate() } catch { throw .invalidModel(path: file.path, error) }
        let weightText = try meta.string("model.level_weights")
        let weights = weightText.split(separator: ",").compactMap { Float($0) }
        guard weights.count == c.levelCount else {
            throw .inconsistent(path: file.path, reason: "META 'model.level_weights' = '\(weightText)' does not give \(c.levelCount) numbers")
        }
        func tensors(_ tag: (HybridParameters.Tensor) -> String, only: (HybridParameters.Tensor) -> Bool,
                     fallback: HybridParameters?) throws(IndexFileError) -> HybridParameters {
            var out: [Matrix] = []
            for t in HybridParameters.Tensor.allCases {
                let (r, k) = t.shape(c)
                if only(t) && t == .frameScorer && file.sections[tag(t)] == nil {
                    out.append(Matrix(rows: r, columns: k))     // files from before AFA: the plain mean
                } else if only(t) {
                    out.append(Matrix(rows: r, columns: k, values: try file.floats(tag(t), count: r * k).array))
                } else {
                    out.append(fallback![t])
                }
            }
            return HybridParameters(tensors: out)
        }
        let p = try tensors({ $0.tag }, only: { _ in true }, fallback: nil)
        var qp: HybridParameters?
        if try meta.int("model.quantized_query_heads", in: 0...1) == 1 {
            qp = try tensors(Self.quantizedTag, only: { $0.isQuerySide }, fallback: p)
        }
        var quantizers: [LevelQuantizer] = []
        if try meta.int("model.quantized", in: 0...1) == 1 {
            let d = c.dimension
            for l in 0..<c.levelCount {
                let books = try file.floats(format2("CB", l), count: d * c.codewords).array
                var rotation: Matrix?
                if mode == .joint {
                    rotation = Matrix(rows: d, columns: d, values: try file.floats(format2("RT", l), count: d * d).array)
                }
                let pq: ProductQuantizer
                do { pq = try ProductQuantizer(dimension: d, subspaces: m, bitsPerCode: bits, codebooks: books) } catch {
                    throw .invalidQuantizer(path: file.path, error)
                }
                do {
                    quantizers.append(try LevelQuantizer(rotation: rotation, quantizer: pq, metric: mode == .joint ? .l2 : .innerProduct))
                } catch {
                    throw .invalidModel(path: file.path, error)
                }
            }
        }
        do {
            try self.init(configuration: c, parameters: p, quantizedQueryParameters: qp, quantizers: quantizers, levelWeights: weights)
        } catch {
            throw .invalidModel(path: file.path, error)
        }
        for (k, v) in meta.values where k.hasPrefix("info.") { info[String(k.dropFirst(5))] = v }
        if meta.values["fine.weight"] != nil { fine = try Self.fineModel(file, meta: meta, inputDimension: din) }
    }

    /// The fine stage's sections: META `fine.*`, token and frame heads, frame codebooks and rotation.
    static func fineModel(_ file: IndexFile.Contents, meta: Metadata, inputDimension din: Int) throws(IndexFileError) -> FineModel {
        let text = try meta.string("fine.weight")
        guard let weight = Float(text) else { throw .inconsistent(path: file.path, reason: "META 'fine.weight' = '\(text)' is not a number") }
        let m = try meta.int("fine.subspaces", in: 1...din), bits = try meta.int("fine.bits", in: 1...8)
        let rotated = try meta.int("fine.rotated", in: 0...1) == 1
        if meta.values["fine.subdimension"] != nil {
            let sd = try meta.int("fine.subdimension", in: 1...din)
            guard sd * m == din else {
                throw .inconsistent(path: file.path, reason: "META fine.subspaces = \(m) and fine.subdimension = \(sd) do not make dimension \(din)")
            }
        }
        let d = din
        let token = Matrix(rows: din, columns: d, values: try file.floats("FTKH", count: din * d).array)
        let frame = Matrix(rows: din, columns: d, values: try file.floats("FTFH", count: din * d).array)
        let books = try file.floats("FQCB", count: d * (1 << bits)).array
        let rotation = rotated ? Matrix(rows: d, columns: d, values: try file.floats("FQRT", count: d * d).array) : nil
        let pq: ProductQuantizer
        do { pq = try ProductQuantizer(dimension: d, subspaces: m, bitsPerCode: bits, codebooks: books) } catch {
            throw .invalidQuantizer(path: file.path, error)
        }
        var fine: FineModel
        do {
            let lq = try LevelQuantizer(rotation: rotation, quantizer: pq, metric: .innerProduct)
            fine = try FineModel(tokenHead: token, frameHead: frame, weight: weight, frameQuantizer: lq)
        } catch { throw .invalidModel(path: file.path, error) }
        if meta.values["fine.refine_subspaces"] != nil {
            let mr = try meta.int("fine.refine_subspaces", in: 1...din)
            let books = try file.floats("FRFB", count: d * 256).array
            do { fine.coarseRefiner = try ProductQuantizer(dimension: d, subspaces: mr, bitsPerCode: 8, codebooks: books) } catch {
                throw .invalidQuantizer(path: file.path, error)
            }
        }
        fine.selector = try selector("selector", file, meta)
        fine.gapSelector = try selector("gap_selector", file, meta)
        return fine
    }

    /// A selector stored under META `fine.<name>.*`, if any.
    static func selector(_ name: String, _ file: IndexFile.Contents, _ meta: Metadata) throws(IndexFileError) -> QuerySelector? {
        let key = "fine.\(name)."
        guard meta.values[key + "bias"] != nil else { return nil }
        func list(_ k: String) throws(IndexFileError) -> [Float] {
            let text = try meta.string(key + k)
            let v = text.split(separator: ",").map { Float($0) }
            guard v.allSatisfy({ $0 != nil }) else { throw .inconsistent(path: file.path, reason: "META '\(key + k)' = '\(text)' is not a list of numbers") }
            return v.map { $0! }
        }
        let biasText = try meta.string(key + "bias")
        guard let bias = Float(biasText) else { throw .inconsistent(path: file.path, reason: "META '\(key)bias' = '\(biasText)' is not a number") }
        let (w, m, sc, qs) = (try list("weights"), try list("mean"), try list("scale"), try list("quantiles"))
        do { return try QuerySelector(weights: w, bias: bias, mean: m, scale: sc, quantiles: qs) } catch {
            throw .invalidModel(path: file.path, error)
        }
    }
}

/// `prefix` followed by `n` in two digits (section tags CB00, RT07, …).
func format2(_ prefix: String, _ n: Int) -> String { prefix + (n < 10 ? "0\(n)" : "\(n % 100)") }

extension HybridIndex {
    /// Saves the index to `path` atomically (kind `hcq`: the model's sections, META keys
    /// `index.levels`, `index.count` and `index.layout`, CODE and IDS).
    public func save(to path: String) throws(IndexFileError) {
        try IndexFile.write(kind: .hcq, sections: sections(model: model, extra: [:], path: path), to: path)
    }

    /// The file's sections: `model`'s (which may carry more than this index's own, e.g. a fine
    /// stage), META `index.*` (+ `extra`), CODE and IDS.
    func sections(model: HybridModel, extra: [String: String], path: String) throws(IndexFileError) -> [IndexFile.Section] {
        var s = model.sections()
        guard case let .bytes(meta) = s[0].payload, let text = String(validating: meta, as: UTF8.self) else {
            throw .inconsistent(path: path, reason: "model META is not text")
        }
        var md = Metadata(path: path, text: text)
        md.values["index.levels"] = levels.map(String.init).joined(separator: ",")
        md.values["index.count"] = "\(count)"
        md.values["index.layout"] = store.layout.fileName
        for (k, v) in extra { md.values[k] = v }
        s[0] = .bytes("META", md.encoded)
        let run = store.onlyRun
        return s + [.uint8s("CODE", run.codes), .int64s("IDS", run.ids)]
    }

    /// Loads an `hcq` index; with `mapping`, codes and ids stay in a read-only mapping.
    public static func load(from path: String, mapping: Bool = false) throws(IndexFileError) -> HybridIndex {
        try HybridIndex(IndexFile.read(path, mapping: mapping))
    }

    init(_ file: IndexFile.Contents, kind: IndexKind = .hcq) throws(IndexFileError) {
        let path = file.path
        guard file.kind == kind else { throw .wrongKind(path: path, expected: kind.name, found: file.kind.name) }
        let model = try HybridModel(file)
        let meta = try file.metadata()
        let n = try meta.int("index.count", in: 0...CandidateReservoir.positionLimit)
        let levelText = try meta.string("index.levels")
        do { self = try HybridIndex(model: model, coarseOnly: levelText == "0") } catch {
            throw .invalidIndex(path: path, error)
        }
        guard levels.map(String.init).joined(separator: ",") == levelText else {
            throw .inconsistent(path: path, reason: "META 'index.levels' = '\(levelText)' is neither 0 nor every level")
        }
        let layout = try meta.string("index.layout")
        guard layout == store.layout.fileName else {
            throw .inconsistent(path: path, reason: "META 'index.layout' = '\(layout)' does not fit \(model.configuration.bitsPerCode)-bit codes")
        }
        store = try file.store(layout: store.layout, count: n)
    }
}

extension CodeLayout {
    /// The layout's name in index files (META `layout` / `index.layout`).
    var fileName: String {
        switch self {
        case .rows: return "rows"
        case .fastScan: return "blocks32"
        }
    }
}

extension IndexFile.Contents {
    /// The CODE and IDS sections as a one-run store of `count` items in `layout`.
    func store(layout: CodeLayout, count n: Int) throws(IndexFileError) -> CodeStore {
        let run = CodeRun(codes: try uint8s("CODE", count: layout.bytes(forItems: n)), ids: try ids(count: n))
        do { return try CodeStore(layout: layout, runs: [run]) } catch { throw .invalidIndex(path: path, error) }
    }
}
