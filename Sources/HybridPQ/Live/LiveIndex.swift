/// An index a search service can mutate while it serves: items held in immutable segments of
/// any `SegmentIndex` kind, added, replaced and removed by id while searches run, and — when it
/// lives in a directory — durable: every write goes to a write-ahead log, `commit()` makes the
/// log durable, and segments are written as checksummed index files named by an atomically
/// replaced manifest (docs/LIVE.md).
///
/// - Writes (`add`, `upsert`, `remove`) are serialized; each is all-or-nothing: it either
///   applies entirely or throws a typed error and changes nothing. Each `add`/`upsert` batch is
///   encoded into a new tail segment (outside the lock), which the `MergePolicy` merges.
/// - Reads take a `snapshot()` — O(segments), never copying codes — and search it without any
///   lock; a snapshot sees every write that returned before it and none that started after.
/// - Ids are the caller's (≥ 0, unique: `add` rejects a present id, `upsert` replaces it), or
///   assigned above every id seen when `add` gets none.
public final class LiveIndex<Base: SegmentIndex>: Sendable {
    /// Where an id lives.
    struct Location: Sendable {
        var segment: UInt64
        var row: Int
    }

    /// Everything the lock guards.
    struct State: Sendable {
        var template: Base
        /// Any change (a write, merge or flush) makes a new version: cached unions are of one.
        /// A change only marks the state; `published()` counts once per write, however many
        /// times the write touched the list (a walk of a generic list per touch was most of a
        /// one-item write).
        var segments: [LiveSegment<Base>] = [] { didSet { segmentsChanged = true } }
        var segmentsChanged = false
        var version: UInt64 = 0

        /// The snapshot of the state now (a new version if the segments changed since the last).
        mutating func published(unions: SegmentUnionCache<Base>) -> LiveSnapshot<Base> {
            if segmentsChanged { version &+= 1; segmentsChanged = false }
            return LiveSnapshot(segments: segments, version: version, unions: unions)
        }
        var locations: [Int64: Location] = [:]
        var nextSegment: UInt64 = 1
        var nextAutoId: Int64 = 0
        /// Durable mode: the directory's open log and its generation.
        var log: WriteAheadLog?
        var logGeneration: UInt64 = 0
        /// Deletions of written segments or tail items not yet in a manifest or segment file.
        var unflushedChanges = false

        /// An existing index's items as segment 1. Its ids are checked as the id map is built
        /// (one pass; a store built through the public `CodeStore` API can hold any ids): on a
        /// negative or repeated id the state is left as it was.
        mutating func adoptFirstSegment(_ index: Base) throws(LiveIndexError) {
            var map = [Int64: Location](minimumCapacity: index.count)
            var next = nextAutoId
            for row in 0..<index.count {
                let id = index.id(atRow: row)
                guard id >= 0 else { throw .negativeId(id) }
                guard map.updateValue(Location(segment: 1, row: row), forKey: id) == nil else { throw .duplicateId(id) }
                next = max(next, id + 1)
            }
            locations = map
            nextAutoId = next
            segments = [LiveSegment(number: 1, index: index, persisted: true)]
            nextSegment = 2
        }
    }

    /// The directory the index lives in (nil: memory only, nothing durable).
    public let directory: String?
    /// When segments are merged and the tail written.
    public let policy: MergePolicy
    /// Whether written segments are opened memory-mapped.
    public let mapping: Bool
    let state: Locked<State>
    /// The snapshot of the state as the last change left it, published under a lock of its own:
    /// `snapshot()` — every search — takes only this one, held for a copy of a few references,
    /// never the state's lock, which a writer holds while it logs and merges tail segments.
    let published: Locked<LiveSnapshot<Base>>
    /// The dimension of the vectors taken (the template's: it never changes).
    public let dimension: Int
    /// The union of the current segments, built by the first search of each version.
    let unions = SegmentUnionCache<Base>()

    /// A memory-only live index over `template`'s kind and trained parts (its items, if any,
    /// are not taken: start empty).
    public init(template: Base, policy: MergePolicy = MergePolicy()) {
        directory = nil
        self.policy = policy
        mapping = false
        state = Locked(State(template: template.emptied()))
        published = Locked(LiveSnapshot(segments: []))
        dimension = template.dimension
    }

    /// A memory-only live index serving `index`'s items (its first segment) and taking more of
    /// its kind. - Throws: `.negativeId` / `.duplicateId` when its ids cannot be served by id.
    public convenience init(serving index: Base, policy: MergePolicy = MergePolicy()) throws(LiveIndexError) {
        self.init(template: index, policy: policy)
        try changing { (s: inout State) throws(LiveIndexError) in if index.count > 0 { try s.adoptFirstSegment(index) } }
    }

    init(directory: String, policy: MergePolicy, mapping: Bool, state: State) {
        self.directory = directory
        self.policy = policy
        self.mapping = mapping
        self.state = Locked(state)
        published = Locked(LiveSnapshot(segments: []))
        dimension = state.template.dimension
        changing { _ in }
    }

    deinit {
        // Buffered records reach the file (not the disk: only `commit()` promises that).
        state.withLock { try? $0.log?.writePending(); $0.log?.closeFile() }
    }

    // MARK: - Reading

    /// The segments as of now, to search without holding anything.
    public func snapshot() -> LiveSnapshot<Base> {
        published.withLock { $0 }
    }

    /// Runs `body` on the state under its lock, then publishes the snapshot of the state it
    /// leaves (still under the state's lock, so snapshots are published in version order).
    @discardableResult
    func changing<R, E: Error>(_ body: (inout State) throws(E) -> R) throws(E) -> R {
        try state.withLock { (s: inout State) throws(E) -> R in
            defer {
                let now = s.published(unions: unions)
                published.withLock { $0 = now }
            }
            return try body(&s)
        }
    }

    /// Searches a fresh snapshot (`snapshot().search`).
    public func search(_ queries: FeatureBatch, parameters: SearchParameters) throws(LiveIndexError) -> SearchResults {
        // Checked here too: an empty index has no segment whose search would check them.
        let d = dimension
        guard queries.vectors.columns == d else { throw .index(.dimensionMismatch(expected: d, found: queries.vectors.columns)) }
        if let bad = queries.vectors.values.firstIndex(where: { !$0.isFinite }) { throw .index(.nonFinite(row: bad / max(1, d))) }
        do { return try snapshot().search(queries, parameters: parameters) } catch { throw .index(error) }
    }

    /// Items visible now.
    public var count: Int { state.withLock { $0.locations.count } }

    /// Segments now (written and tail).
    public var segmentCount: Int { state.withLock { $0.segments.count } }

    /// Whether `id` is in the index.
    public func contains(_ id: Int64) -> Bool { state.withLock { $0.locations[id] != nil } }

    // MARK: - Writing

    /// Adds items; `ids` nil assigns ids above every id seen. Returns the items' ids.
    /// - Throws: `.duplicateId` for an id present or repeated, `.negativeId`, `.index` for a
    ///   batch the index kind rejects (dimension, NaN, missing frames); nothing changes then.
    @discardableResult
    public func add(_ items: FeatureBatch, ids: [Int64]? = nil) throws(LiveIndexError) -> [Int64] {
        let resolved: [Int64]
        if let ids {
            resolved = ids
        } else {
            let first = state.withLock { s in defer { s.nextAutoId += Int64(items.count) }; return s.nextAutoId }
            resolved = (0..<items.count).map { first + Int64($0) }
        }
        try write(LogRecord(operation: .add, ids: resolved, items: items))
        return resolved
    }

    /// Adds items, replacing the items that have their ids (one atomic step: a snapshot sees
    /// the old items or the new ones).
    public func upsert(_ items: FeatureBatch, ids: [Int64]) throws(LiveIndexError) {
        try write(LogRecord(operation: .upsert, ids: ids, items: items))
    }

    /// Removes items by id. - Throws: `.unknownId` for an id not present (nothing removed then).
    public func remove(ids: [Int64]) throws(LiveIndexError) {
        try write(LogRecord(operation: .remove, ids: ids, items: nil))
    }

    /// Validates, encodes (outside the lock) and applies one operation, logging it first.
    ///
    /// Specialized for the kinds services run: a client module calls this class's generic
    /// entry points, whose bodies would otherwise run unspecialized — metadata lookups and
    /// value-witness copies of every segment in each loop were ~40 % of a one-item write
    /// (23 → 13.5 µs per operation with these; `docs/BENCHMARKS.md`, soak). The generic
    /// entry dispatches to them by type at run time; other kinds take the generic body.
    @_specialize(where Base == PQ4Index)
    @_specialize(where Base == PQIndex)
    @_specialize(where Base == AnyIndex)
    func write(_ record: LogRecord) throws(LiveIndexError) {
        try Self.checkIds(record)
        let encoded = try record.items.map { items throws(LiveIndexError) in try Self.encode(items, ids: record.ids, template: templateCopy()) }
        try changing { (s: inout State) throws(LiveIndexError) in
            try Self.check(record, against: s)
            try s.log?.append(record)
            Self.apply(record, encoded: encoded, to: &s, policy: policy)
        }
    }

    func templateCopy() -> Base { state.withLock { $0.template } }

    /// Ids non-negative and distinct within the record.
    static func checkIds(_ r: LogRecord) throws(LiveIndexError) {
        if let items = r.items, items.count != r.ids.count {
            throw .index(.idCountMismatch(vectors: items.count, ids: r.ids.count))
        }
        var seen = Set<Int64>(minimumCapacity: r.ids.count)
        for id in r.ids {
            guard id >= 0 else { throw .negativeId(id) }
            guard seen.insert(id).inserted else { throw r.operation == .remove ? .unknownId(id) : .duplicateId(id) }
        }
    }

    /// A tail segment's index for a batch.
    static func encode(_ items: FeatureBatch, ids: [Int64], template: Base) throws(LiveIndexError) -> Base {
        var index = template.emptied()
        do { try index.add(items, ids: ids) } catch { throw .index(error) }
        return index
    }

    /// The checks that need the current state (under the lock).
    static func check(_ r: LogRecord, against s: State) throws(LiveIndexError) {
        switch r.operation {
        case .add: if let id = r.ids.first(where: { s.locations[$0] != nil }) { throw .duplicateId(id) }
        case .remove: if let id = r.ids.first(where: { s.locations[$0] == nil }) { throw .unknownId(id) }
        case .upsert: break
        }
    }

    /// Applies a checked operation (also how the log is replayed).
    @_specialize(where Base == PQ4Index)
    @_specialize(where Base == PQIndex)
    @_specialize(where Base == AnyIndex)
    static func apply(_ r: LogRecord, encoded: Base?, to s: inout State, policy: MergePolicy) {
        if r.operation != .add {
            for id in r.ids {
                guard let at = s.locations.removeValue(forKey: id),
                      let i = s.segments.firstIndex(where: { $0.number == at.segment }) else { continue }
                s.segments[i].delete(row: at.row)
            }
        }
        if let index = encoded, index.count > 0 {
            let number = s.nextSegment
            s.nextSegment += 1
            for row in 0..<index.count { s.locations[index.id(atRow: row)] = Location(segment: number, row: row) }
            if let top = r.ids.max() { s.nextAutoId = max(s.nextAutoId, top + 1) }
            s.segments.append(LiveSegment(number: number, index: index, persisted: false))
            while let pair = policy.tailMerge(s.segments) {
                // A merge that fails (parts of different trained parts) leaves the tail as it is.
                guard (try? merge(pair, in: &s, persisted: false)) != nil else { break }
            }
        }
        s.unflushedChanges = true
    }

    /// Merges segments `numbers` (in list order) into one new segment of their live rows, in
    /// place of the first; their ids move with them.
    @discardableResult
    @_specialize(where Base == PQ4Index)
    @_specialize(where Base == PQIndex)
    @_specialize(where Base == AnyIndex)
    static func merge(_ numbers: [UInt64], in s: inout State, persisted: Bool) throws(IndexError) -> LiveSegment<Base> {
        // Positions of the parts, in the order named (one pass over the list).
        var positions = [Int](repeating: -1, count: numbers.count)
        for (i, segment) in s.segments.enumerated() {
            if let j = numbers.firstIndex(of: segment.number) { positions[j] = i }
        }
        let found = positions.filter { $0 >= 0 }
        let merged = try Base.gathering(found.map { (s.segments[$0].index, s.segments[$0].liveRows) })
        let number = s.nextSegment
        s.nextSegment += 1
        for row in 0..<merged.count { s.locations[merged.id(atRow: row)] = Location(segment: number, row: row) }
        let segment = LiveSegment(number: number, index: merged, persisted: persisted)
        // The new segment takes the first part's place; the others leave the list.
        var kept: [LiveSegment<Base>] = []
        kept.reserveCapacity(s.segments.count - found.count + 1)
        for (i, old) in s.segments.enumerated() {
            if i == positions[0] { kept.append(segment) } else if !found.contains(i) { kept.append(old) }
        }
        if positions[0] < 0 { kept.append(segment) }
        s.segments = kept
        return segment
    }
}
