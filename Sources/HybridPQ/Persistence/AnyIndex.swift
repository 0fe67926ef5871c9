/// Any index kind behind one type: what a service gets when it opens an index file without
/// knowing its kind (`AnyIndex.load`), searched and extended through `VectorIndex` like any
/// other index.
public enum AnyIndex: VectorIndex {
    case flat(FlatIndex)
    case pq(PQIndex)
    case pq4(PQ4Index)
    case opq(OPQIndex)
    case opq4(OPQ4Index)
    case hybrid(HybridIndex)
    case twoStage(TwoStageIndex)
    case ivf(IVFIndex)
    case ivfOPQ(IVFOPQIndex)

    /// Opens the index file at `path`, whatever its kind; with `mapping`, codes, ids and
    /// vectors stay in a read-only memory mapping of the file.
    ///
    /// - Throws: `IndexFileError` naming the problem; `.wrongKind` for a model file or a
    ///   training checkpoint (they are not indexes).
    public static func load(from path: String, mapping: Bool = false) throws(IndexFileError) -> AnyIndex {
        let file = try IndexFile.read(path, mapping: mapping)
        switch file.kind {
        case .flat: return .flat(try FlatIndex(file))
        case .pq: return .pq(try PQIndex(file, kind: .pq))
        case .pq4: return .pq4(try PQ4Index(file, kind: .pq4))
        case .opq: return .opq(try OPQIndex(file))
        case .opq4: return .opq4(try OPQ4Index(file))
        case .hcq: return .hybrid(try HybridIndex(file))
        case .dns: return .twoStage(try TwoStageIndex(file))
        case .ivf: return .ivf(try IVFIndex(file))
        case .ivfHCQ: return .ivf(try IVFIndex(modelLists: file))
        case .ivfOPQ: return .ivfOPQ(try IVFOPQIndex(file))
        case .hcqModel, .hcqCheckpoint, .liveManifest:
            throw .wrongKind(path: path, expected: IndexKind.allCases.filter(\.isIndex).map(\.name).joined(separator: "|"),
                             found: file.kind.name)
        }
    }

    /// The kind written in the file header for this index.
    public var kind: IndexKind {
        switch self {
        case .flat: return .flat
        case .pq: return .pq
        case .pq4: return .pq4
        case .opq: return .opq
        case .opq4: return .opq4
        case .hybrid: return .hcq
        case .twoStage: return .dns
        case let .ivf(i): return i.fileKind
        case .ivfOPQ: return .ivfOPQ
        }
    }

    /// The index inside.
    public var base: any VectorIndex {
        switch self {
        case let .flat(i): return i
        case let .pq(i): return i
        case let .pq4(i): return i
        case let .opq(i): return i
        case let .opq4(i): return i
        case let .hybrid(i): return i
        case let .twoStage(i): return i
        case let .ivf(i): return i
        case let .ivfOPQ(i): return i
        }
    }

    /// Saves the index to `path` atomically, as its own kind.
    public func save(to path: String) throws(IndexFileError) {
        switch self {
        case let .flat(i): try i.save(to: path)
        case let .pq(i): try i.save(to: path)
        case let .pq4(i): try i.save(to: path)
        case let .opq(i): try i.save(to: path)
        case let .opq4(i): try i.save(to: path)
        case let .hybrid(i): try i.save(to: path)
        case let .twoStage(i): try i.save(to: path)
        case let .ivf(i): try i.save(to: path)
        case let .ivfOPQ(i): try i.save(to: path)
        }
    }

    public var dimension: Int { base.dimension }
    public var count: Int { base.count }
    public var automaticIdStart: Int64 { base.automaticIdStart }
    public func firstStoredId(in set: Set<Int64>) -> Int64? { base.firstStoredId(in: set) }
    public var metric: Metric { base.metric }
    public var bytesPerItem: Int { base.bytesPerItem }
    public var memoryBytes: Int { base.memoryBytes }

    public mutating func add(_ items: FeatureBatch, ids: [Int64]?) throws(IndexError) {
        switch self {
        case var .flat(i): try i.add(items, ids: ids); self = .flat(i)
        case var .pq(i): try i.add(items, ids: ids); self = .pq(i)
        case var .pq4(i): try i.add(items, ids: ids); self = .pq4(i)
        case var .opq(i): try i.add(items, ids: ids); self = .opq(i)
        case var .opq4(i): try i.add(items, ids: ids); self = .opq4(i)
        case var .hybrid(i): try i.add(items, ids: ids); self = .hybrid(i)
        case var .twoStage(i): try i.add(items, ids: ids); self = .twoStage(i)
        case var .ivf(i): try i.add(items, ids: ids); self = .ivf(i)
        case var .ivfOPQ(i): try i.add(items, ids: ids); self = .ivfOPQ(i)
        }
    }

    public func search(_ queries: FeatureBatch, parameters: SearchParameters) throws(IndexError) -> SearchResults {
        try base.search(queries, parameters: parameters)
    }
}
