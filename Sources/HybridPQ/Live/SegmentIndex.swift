/// An index kind a `LiveIndex` can keep in segments: besides searching and adding, it can say
/// which id each row holds, make an empty index with the same trained parts (quantizer,
/// rotation, model), gather rows of several of its kind into one (merging segments: codes are
/// copied, never re-encoded), and save and load itself as a checksummed file.
///
/// The flat, PQ (8- and 4-bit), OPQ and HCQ kinds conform, and `AnyIndex` when its parts are of
/// one kind. Lucene's and Qdrant's segments are the model: immutable once written, merged by
/// copying their live rows.
public protocol SegmentIndex: VectorIndex {
    /// The id stored at row `row` (0 ..< count).
    func id(atRow row: Int) -> Int64
    /// An index with the same trained parts and no items.
    func emptied() -> Self
    /// One index holding `rows` of each part, part after part, in the given order (ids kept).
    /// Every part must have the trained parts of the first (segments of one live index do).
    static func gathering(_ parts: [(index: Self, rows: [Int])]) throws(IndexError) -> Self
    /// Writes the index to `path` atomically.
    func save(to path: String) throws(IndexFileError)
    /// Reads an index written by `save` (`mapping`: codes stay in a read-only mapping).
    static func load(from path: String, mapping: Bool) throws(IndexFileError) -> Self
    /// Several indexes of one kind and trained parts as one (`SegmentUnion`): their code stores'
    /// runs side by side, each part's `deleted` rows skipped inside the scan; nil where the kind
    /// cannot (the live index then searches part by part).
    static func union(_ parts: [(index: Self, deleted: DeletionBitmap)]) throws(IndexError) -> SegmentUnion<Self>?
}

extension SegmentIndex {
    /// By default a kind cannot: its segments are searched one by one.
    public static func union(_ parts: [(index: Self, deleted: DeletionBitmap)]) throws(IndexError) -> SegmentUnion<Self>? { nil }
}

/// The pieces of a search of several code stores as one: their runs in order, and the positions
/// to skip (each part's deleted rows, found by the part's first position).
func combinedStore(_ stores: [(store: CodeStore, deleted: DeletionBitmap)]) throws(IndexError) -> (CodeStore, PositionSet?)? {
    guard let layout = stores.first?.store.layout else { return nil }
    var runs: [CodeRun] = [], parts: [(start: Int, deleted: DeletionBitmap)] = []
    var at = 0
    for (store, deleted) in stores where store.count > 0 {
        guard store.layout == layout else { return nil }
        runs += store.runs.filter { $0.count > 0 }
        parts.append((at, deleted))
        at += store.count
    }
    guard !runs.isEmpty else { return nil }
    let combined = try CodeStore(layout: layout, runs: runs)
    guard parts.contains(where: { $0.deleted.deletedCount > 0 }) else { return (combined, nil) }
    return (combined, PositionSet(count: at, parts: parts))
}

extension CodeStore {
    /// A store of this layout holding `rows` of each part's store, part after part (ids kept).
    static func gathering(_ parts: [(store: CodeStore, rows: [Int])], layout: CodeLayout) throws(IndexError) -> CodeStore {
        var out = CodeStore(layout: layout)
        let m = layout.subspaces
        for (store, rows) in parts where !rows.isEmpty {
            guard store.layout == layout else {
                throw .inconsistentStore(reason: "cannot merge a \(store.layout) store into a \(layout) one")
            }
            var codes = [UInt8](repeating: 0, count: rows.count * m), ids = [Int64](repeating: 0, count: rows.count)
            store.withRuns { runs in
                for (i, p) in rows.enumerated() {
                    let (run, row) = runs.locate(p)
                    ids[i] = run.ids![row]
                    codes.withUnsafeMutableBufferPointer { layout.unpack(run.codes!, row: row, into: $0.baseAddress! + i * m) }
                }
            }
            try out.append(codes: codes, ids: ids)
        }
        return out
    }

    /// The id at `position`.
    func id(atRow position: Int) -> Int64 { withRuns { $0.id(at: position) } }
}

/// The code kinds: an index is its trained parts plus a `CodeStore`, so the segment operations
/// are store operations (one implementation for all of them).
protocol CodeStoreBacked: SegmentIndex {
    var store: CodeStore { get set }
}

extension CodeStoreBacked {
    func storeId(atRow row: Int) -> Int64 { store.id(atRow: row) }

    func withEmptyStore() -> Self { var e = self; e.store = CodeStore(layout: store.layout); return e }

    static func gatherStores(_ parts: [(index: Self, rows: [Int])]) throws(IndexError) -> Self {
        guard var out = parts.first?.index.withEmptyStore() else { throw .unsupported("gathering needs at least one part") }
        out.store = try CodeStore.gathering(parts.map { ($0.index.store, $0.rows) }, layout: out.store.layout)
        return out
    }

    static func unionOfStores(_ parts: [(index: Self, deleted: DeletionBitmap)]) throws(IndexError) -> SegmentUnion<Self>? {
        guard var one = parts.first?.index, let (store, excluded) = try combinedStore(parts.map { ($0.index.store, $0.deleted) }) else { return nil }
        one.store = store
        return SegmentUnion(index: one, excluded: excluded)
    }
}

extension PQIndex: CodeStoreBacked {
    public func id(atRow row: Int) -> Int64 { storeId(atRow: row) }
    public func emptied() -> PQIndex { withEmptyStore() }
    public static func gathering(_ parts: [(index: PQIndex, rows: [Int])]) throws(IndexError) -> PQIndex { try gatherStores(parts) }
    public static func union(_ parts: [(index: PQIndex, deleted: DeletionBitmap)]) throws(IndexError) -> SegmentUnion<PQIndex>? {
        try unionOfStores(parts)
    }
}

extension PQ4Index: CodeStoreBacked {
    public func id(atRow row: Int) -> Int64 { storeId(atRow: row) }
    public func emptied() -> PQ4Index { withEmptyStore() }
    public static func gathering(_ parts: [(index: PQ4Index, rows: [Int])]) throws(IndexError) -> PQ4Index { try gatherStores(parts) }
    public static func union(_ parts: [(index: PQ4Index, deleted: DeletionBitmap)]) throws(IndexError) -> SegmentUnion<PQ4Index>? {
        try unionOfStores(parts)
    }
}

extension HybridIndex: CodeStoreBacked {
    public func id(atRow row: Int) -> Int64 { storeId(atRow: row) }
    public func emptied() -> HybridIndex { withEmptyStore() }
    public static func gathering(_ parts: [(index: HybridIndex, rows: [Int])]) throws(IndexError) -> HybridIndex { try gatherStores(parts) }
    public static func union(_ parts: [(index: HybridIndex, deleted: DeletionBitmap)]) throws(IndexError) -> SegmentUnion<HybridIndex>? {
        try unionOfStores(parts)
    }
}

extension FlatIndex: SegmentIndex {
    public func id(atRow row: Int) -> Int64 { ids.withUnsafeBufferPointer { $0[row] } }
    public func emptied() -> FlatIndex { FlatIndex(dimension: dimension, metric: metric) }
    public static func gathering(_ parts: [(index: FlatIndex, rows: [Int])]) throws(IndexError) -> FlatIndex {
        guard let first = parts.first?.index else { throw .unsupported("gathering needs at least one part") }
        var out = first.emptied()
        for (index, rows) in parts where !rows.isEmpty {
            guard index.dimension == first.dimension, index.metric == first.metric else {
                throw .dimensionMismatch(expected: first.dimension, found: index.dimension)
            }
            let d = index.dimension
            var values = [Float](repeating: 0, count: rows.count * d)
            index.vectors.withUnsafeBufferPointer { v in
                for (i, r) in rows.enumerated() { for j in 0..<d { values[i * d + j] = v[r * d + j] } }
            }
            try out.add(Matrix(rows: rows.count, columns: d, values: values), ids: index.ids.withUnsafeBufferPointer { p in rows.map { p[$0] } })
        }
        return out
    }
}

/// OPQ kinds: the segment operations of their base (saving and loading are per concrete kind,
/// so the rotated kinds join live indexes through `AnyIndex`).
extension RotatedIndex where Base: SegmentIndex {
    func id(atRow row: Int) -> Int64 { base.id(atRow: row) }
    func emptied() -> RotatedIndex { var e = self; e.base = base.emptied(); return e }
    static func gathering(_ parts: [(index: RotatedIndex, rows: [Int])]) throws(IndexError) -> RotatedIndex {
        guard var out = parts.first?.index else { throw .unsupported("gathering needs at least one part") }
        out.base = try Base.gathering(parts.map { ($0.index.base, $0.rows) })
        return out
    }
    static func union(_ parts: [(index: RotatedIndex, deleted: DeletionBitmap)]) throws(IndexError) -> SegmentUnion<RotatedIndex>? {
        guard let first = parts.first?.index, let u = try Base.union(parts.map { ($0.index.base, $0.deleted) }) else { return nil }
        return u.wrapped { base in var one = first; one.base = base; return one }
    }
}

extension AnyIndex: SegmentIndex {
    public func id(atRow row: Int) -> Int64 {
        switch self {
        case let .flat(i): return i.id(atRow: row)
        case let .pq(i): return i.id(atRow: row)
        case let .pq4(i): return i.id(atRow: row)
        case let .opq(i): return i.id(atRow: row)
        case let .opq4(i): return i.id(atRow: row)
        case let .hybrid(i): return i.id(atRow: row)
        case let .twoStage(i): return i.hot.id(atRow: row)
        case let .ivf(i): return i.id(atRow: row)
        case let .ivfOPQ(i): return i.id(atRow: row)
        }
    }

    public func emptied() -> AnyIndex {
        switch self {
        case let .flat(i): return .flat(i.emptied())
        case let .pq(i): return .pq(i.emptied())
        case let .pq4(i): return .pq4(i.emptied())
        case let .opq(i): return .opq(i.emptied())
        case let .opq4(i): return .opq4(i.emptied())
        case let .hybrid(i): return .hybrid(i.emptied())
        case let .twoStage(i):
            // Frames are per item: an empty two-stage index keeps the model and its fine stage.
            return (try? TwoStageIndex(model: i.hot.model, fine: i.fine)).map(AnyIndex.twoStage) ?? self
        case let .ivf(i): return .ivf(i.emptied())
        case let .ivfOPQ(i): return .ivfOPQ(i.emptied())
        }
    }

    public static func union(_ parts: [(index: AnyIndex, deleted: DeletionBitmap)]) throws(IndexError) -> SegmentUnion<AnyIndex>? {
        guard let first = parts.first?.index else { return nil }
        func all<T>(_ cast: (AnyIndex) -> T?) -> [(index: T, deleted: DeletionBitmap)]? {
            var out: [(index: T, deleted: DeletionBitmap)] = []
            for p in parts { guard let i = cast(p.index) else { return nil }; out.append((i, p.deleted)) }
            return out
        }
        switch first {
        case .pq: return try all { if case let .pq(i) = $0 { return i } else { return nil } }.flatMap { parts throws(IndexError) in try PQIndex.union(parts)?.wrapped(AnyIndex.pq) }
        case .pq4: return try all { if case let .pq4(i) = $0 { return i } else { return nil } }.flatMap { parts throws(IndexError) in try PQ4Index.union(parts)?.wrapped(AnyIndex.pq4) }
        case .opq: return try all { if case let .opq(i) = $0 { return i } else { return nil } }.flatMap { parts throws(IndexError) in try OPQIndex.union(parts)?.wrapped(AnyIndex.opq) }
        case .opq4: return try all { if case let .opq4(i) = $0 { return i } else { return nil } }.flatMap { parts throws(IndexError) in try OPQ4Index.union(parts)?.wrapped(AnyIndex.opq4) }
        case .hybrid: return try all { if case let .hybrid(i) = $0 { return i } else { return nil } }.flatMap { parts throws(IndexError) in try HybridIndex.union(parts)?.wrapped(AnyIndex.hybrid) }
        case .flat, .twoStage, .ivf, .ivfOPQ: return nil
        }
    }

    /// Parts of one kind gathered (two-stage ones with their cold frame stores).
    public static func gathering(_ parts: [(index: AnyIndex, rows: [Int])]) throws(IndexError) -> AnyIndex {
        guard let first = parts.first?.index else { throw .unsupported("gathering needs at least one part") }
        func all<T>(_ cast: (AnyIndex) -> T?) throws(IndexError) -> [(index: T, rows: [Int])] {
            var out: [(index: T, rows: [Int])] = []
            for p in parts {
                guard let i = cast(p.index) else { throw .unsupported("cannot merge a \(p.index.kind.name) segment into a \(first.kind.name) one") }
                out.append((i, p.rows))
            }
            return out
        }
        switch first {
        case .flat: return .flat(try FlatIndex.gathering(all { if case let .flat(i) = $0 { return i } else { return nil } }))
        case .pq: return .pq(try PQIndex.gathering(all { if case let .pq(i) = $0 { return i } else { return nil } }))
        case .pq4: return .pq4(try PQ4Index.gathering(all { if case let .pq4(i) = $0 { return i } else { return nil } }))
        case .opq: return .opq(try OPQIndex.gathering(all { if case let .opq(i) = $0 { return i } else { return nil } }))
        case .opq4: return .opq4(try OPQ4Index.gathering(all { if case let .opq4(i) = $0 { return i } else { return nil } }))
        case .hybrid: return .hybrid(try HybridIndex.gathering(all { if case let .hybrid(i) = $0 { return i } else { return nil } }))
        case .twoStage: return .twoStage(try TwoStageIndex.gathering(all { if case let .twoStage(i) = $0 { return i } else { return nil } }))
        case .ivf: return .ivf(try IVFIndex.gathering(all { if case let .ivf(i) = $0 { return i } else { return nil } }))
        case .ivfOPQ: return .ivfOPQ(try IVFOPQIndex.gathering(all { if case let .ivfOPQ(i) = $0 { return i } else { return nil } }))
        }
    }
}

/// IVF segments: rows are store positions (list after list); gathering keeps every item in its
/// list (codes copied, never re-encoded). Searched segment by segment, each with its deletions
/// as a deny filter (their lists differ per segment, so they are not one store's runs).
extension IVFIndex: SegmentIndex {
    public func id(atRow row: Int) -> Int64 { store.id(atRow: row) }

    public func emptied() -> IVFIndex {
        var e = self
        e.replaceStore(CodeStore(layout: store.layout, emptyRuns: nlist))
        return e
    }

    public static func gathering(_ parts: [(index: IVFIndex, rows: [Int])]) throws(IndexError) -> IVFIndex {
        guard let first = parts.first?.index else { throw .unsupported("gathering needs at least one part") }
        var out = first.emptied()
        let m = first.store.layout.subspaces
        var codes = [[UInt8]](repeating: [], count: first.nlist), ids = [[Int64]](repeating: [], count: first.nlist)
        for (index, rows) in parts where !rows.isEmpty {
            guard index.nlist == first.nlist, index.centroids.values == first.centroids.values, index.quantizer == first.quantizer,
                  index.residual == first.residual,
                  index.model == first.model, index.store.layout == first.store.layout else {
                throw .inconsistentStore(reason: "cannot merge IVF indexes of different centroids or quantizers")
            }
            index.store.withRuns { runs in
                var code = [UInt8](repeating: 0, count: m)
                var list = 0
                // Positions ascending walk the lists in order (run l is list l).
                for p in rows.sorted() {
                    while p >= runs[list].offset + runs[list].count { list += 1 }
                    let run = runs[list], row = p - run.offset
                    code.withUnsafeMutableBufferPointer { index.store.layout.unpack(run.codes!, row: row, into: $0.baseAddress!) }
                    codes[list] += code
                    ids[list].append(run.ids![row])
                }
            }
        }
        var s = out.store
        try s.append(toRuns: (0..<first.nlist).filter { !ids[$0].isEmpty }.map { ($0, codes[$0], ids[$0]) })
        out.replaceStore(s)
        return out
    }
}
