import Foundation

/// A live index's directory: `MANIFEST`, `template.hpq` (the kind's trained parts, no items),
/// `seg-<n>.hpq` (written segments, ordinary checksummed index files) and `log-<g>.wal` (the
/// write-ahead log named by the manifest). Anything else matching those names, and stale
/// temporaries of interrupted atomic writes, is removed when the index is opened.
extension LiveIndex {
    static func segmentPath(_ dir: String, _ n: UInt64) -> String { dir + "/seg-" + String(format: "%08llu", n) + ".hpq" }
    static func logPath(_ dir: String, _ g: UInt64) -> String { dir + "/log-" + String(format: "%08llu", g) + ".wal" }
    static func templatePath(_ dir: String) -> String { dir + "/template.hpq" }

    /// Creates a live index in `directory` (made if absent; it must not hold one already) of
    /// `template`'s kind and trained parts; its items, if it has any, become the first segment
    /// (so an index built offline can be served and then mutated).
    public static func create(directory: String, template: Base, policy: MergePolicy = MergePolicy(),
                              mapping: Bool = false) throws(LiveIndexError) -> LiveIndex {
        let fm = FileManager.default
        do { try fm.createDirectory(atPath: directory, withIntermediateDirectories: true) } catch {
            throw .io(path: directory, reason: "create directory: \(error.localizedDescription)")
        }
        guard !fm.fileExists(atPath: directory + "/" + LiveManifest.fileName) else {
            throw .directory(path: directory, reason: "already holds a live index (open it instead)")
        }
        let empty = template.emptied()
        guard let kind = AnyIndex.kind(of: empty) else { throw .index(.unsupported("\(Base.self) has no index-file kind")) }
        do { try empty.save(to: templatePath(directory)) } catch { throw .file(error) }
        var state = State(template: empty)
        if template.count > 0 {
            try state.adoptFirstSegment(template)
            do { try template.save(to: segmentPath(directory, 1)) } catch { throw .file(error) }
        }
        state.logGeneration = 1
        state.log = try WriteAheadLog(path: logPath(directory, 1))
        let manifest = LiveManifest(kind: kind, logGeneration: 1, nextSegment: state.nextSegment,
                                    segments: state.segments.map { .init(number: $0.number, rows: $0.index.count, deletedRows: []) })
        do { try manifest.write(directory: directory) } catch { state.log?.closeFile(); throw .file(error) }
        state.unflushedChanges = false
        return LiveIndex(directory: directory, policy: policy, mapping: mapping, state: state)
    }

    /// Opens the live index in `directory`: the manifest's segments (their deletions applied),
    /// then the log's operations replayed; a torn last record is dropped (it was never
    /// committed). Files no manifest names are removed.
    public static func open(directory: String, policy: MergePolicy = MergePolicy(), mapping: Bool = false) throws(LiveIndexError) -> LiveIndex {
        guard FileManager.default.fileExists(atPath: directory + "/" + LiveManifest.fileName) else {
            throw .directory(path: directory, reason: "holds no live index (no MANIFEST)")
        }
        let manifest = try LiveManifest.read(directory: directory)
        let template: Base
        do { template = try Base.load(from: templatePath(directory), mapping: false) } catch { throw .file(error) }
        if let kind = AnyIndex.kind(of: template), kind != manifest.kind {
            throw .file(.wrongKind(path: directory + "/" + LiveManifest.fileName, expected: kind.name, found: manifest.kind.name))
        }
        var state = State(template: template)
        state.nextSegment = manifest.nextSegment
        for entry in manifest.segments {
            let path = segmentPath(directory, entry.number)
            let index: Base
            let file = mapping ? try SegmentFileGuard(path: path) : nil
            do { index = try Base.load(from: path, mapping: mapping) } catch { throw .file(error) }
            guard index.count == entry.rows else {
                throw .file(.inconsistent(path: path, reason: "holds \(index.count) items; the manifest says \(entry.rows)"))
            }
            var segment = LiveSegment(number: entry.number, index: index, persisted: true)
            segment.file = file
            for row in entry.deletedRows { segment.delete(row: row) }
            for row in 0..<index.count {
                let id = index.id(atRow: row)
                state.nextAutoId = max(state.nextAutoId, id + 1)
                guard !segment.deleted.contains(row) else { continue }
                guard id >= 0, state.locations[id] == nil else {
                    throw .file(.inconsistent(path: path, reason: "id \(id) is negative or held by two live rows"))
                }
                state.locations[id] = Location(segment: entry.number, row: row)
            }
            state.segments.append(segment)
        }
        // The log: every complete record, in order; a torn tail is cut off.
        let logPath = logPath(directory, manifest.logGeneration)
        state.logGeneration = manifest.logGeneration
        if FileManager.default.fileExists(atPath: logPath) {
            let (records, valid) = try WriteAheadLog.read(path: logPath)
            if valid < fileSize(logPath) { try WriteAheadLog.truncate(path: logPath, to: valid) }
            for r in records {
                try checkIds(r)
                try check(r, against: state)
                let encoded = try r.items.map { items throws(LiveIndexError) in try encode(items, ids: r.ids, template: template) }
                apply(r, encoded: encoded, to: &state, policy: policy)
            }
        }
        state.log = try WriteAheadLog(path: logPath)
        state.unflushedChanges = false
        removeStaleFiles(directory, manifest: LiveManifest(kind: manifest.kind, logGeneration: manifest.logGeneration,
                                                           nextSegment: manifest.nextSegment, segments: manifest.segments))
        return LiveIndex(directory: directory, policy: policy, mapping: mapping, state: state)
    }

    /// Makes every write so far durable (the log's buffered records written, then fsync); then,
    /// when the tail has grown past `policy.flushItems`, writes it as a segment (`flush`).
    ///
    /// The fsync runs outside the index's lock (on a duplicate of the log's descriptor): it can
    /// take milliseconds, and `snapshot()` — every search — would wait that long for the lock.
    public func commit() throws(LiveIndexError) {
        let (tail, log) = try state.withLock { (s: inout State) throws(LiveIndexError) -> (Int, (fd: Int32, path: String)?) in
            try s.log?.writePending()
            let fd = try s.log.map { l throws(LiveIndexError) in (try l.duplicateDescriptor(), l.path) }
            return (s.segments.filter { !$0.persisted }.reduce(0) { $0 + $1.index.count }, fd)
        }
        if let log {
            defer { close(log.fd) }
            guard fsync(log.fd) == 0 else { throw .io(path: log.path, reason: "fsync: \(String(cString: strerror(errno)))") }
        }
        if tail >= policy.flushItems { try flush() }
    }

    /// Writes the tail as one segment file, merges written segments as the policy says, records
    /// every deletion in a new manifest and starts a new, empty log. A crash at any point leaves
    /// the old manifest and log or the new ones, both complete.
    public func flush() throws(LiveIndexError) {
        try changing { (s: inout State) throws(LiveIndexError) in try flush(&s, compactAll: false) }
    }

    /// Merges every segment into one without deleted rows (and, in a directory, flushes).
    public func compact() throws(LiveIndexError) {
        try changing { (s: inout State) throws(LiveIndexError) in
            if directory == nil {
                let all = s.segments.map { $0.number }
                // One segment without deleted rows is compact already (as the directory's rule).
                let clean = all.count == 1 && s.segments[0].deleted.deletedCount == 0
                if !all.isEmpty && !clean { do throws(IndexError) { try Self.merge(all, in: &s, persisted: false) } catch { throw .index(error) } }
            } else {
                try flush(&s, compactAll: true)
            }
        }
    }

    func flush(_ s: inout State, compactAll: Bool) throws(LiveIndexError) {
        // 0. The old log complete in the file: it stays the record until the switch below.
        try s.log?.writePending()
        // 1. The tail as one segment (memory).
        let tail = s.segments.filter { !$0.persisted }.map { $0.number }
        if tail.count > 1 { do { try Self.merge(tail, in: &s, persisted: false) } catch { throw .index(error) } }
        // 2. Merges of written segments (or of everything).
        var groups = compactAll ? [s.segments.map { $0.number }] : policy.writtenMerges(s.segments)
        if compactAll && s.segments.count == 1 && s.segments[0].deleted.deletedCount == 0 { groups = [] }
        var obsolete: [UInt64] = []
        for g in groups where !g.isEmpty {
            let wasWritten = g.filter { n in s.segments.contains { $0.number == n && $0.persisted } }
            do { try Self.merge(g, in: &s, persisted: false) } catch { throw .index(error) }
            obsolete += wasWritten
        }
        guard let directory else { return }
        // 3. New segment files (atomic writes; not yet named by any manifest).
        for i in s.segments.indices where !s.segments[i].persisted {
            do { try s.segments[i].index.save(to: Self.segmentPath(directory, s.segments[i].number)) } catch { throw .file(error) }
            s.segments[i].persisted = true
        }
        // 4. A new, empty log, then the manifest that names it: the switch point.
        let next = s.logGeneration + 1
        let newLog = try WriteAheadLog(path: Self.logPath(directory, next))
        guard let kind = AnyIndex.kind(of: s.template) else { throw .index(.unsupported("\(Base.self) has no index-file kind")) }
        let manifest = LiveManifest(kind: kind, logGeneration: next, nextSegment: s.nextSegment,
                                    segments: s.segments.map { .init(number: $0.number, rows: $0.index.count, deletedRows: $0.deleted.deletedRows) })
        do { try manifest.write(directory: directory) } catch { newLog.closeFile(); throw .file(error) }
        // 5. The old log and merged-away segments are now unreferenced.
        s.log?.closeFile()
        unlink(Self.logPath(directory, s.logGeneration))
        for n in obsolete { unlink(Self.segmentPath(directory, n)) }
        s.log = newLog
        s.logGeneration = next
        s.unflushedChanges = false
    }

    static func fileSize(_ path: String) -> Int {
        ((try? FileManager.default.attributesOfItem(atPath: path))?[.size] as? NSNumber)?.intValue ?? 0
    }

    /// Removes segment files and logs the manifest does not name, and temporaries of atomic
    /// writes a crash left behind.
    static func removeStaleFiles(_ directory: String, manifest: LiveManifest) {
        let keep = Set(manifest.segments.map { segmentPath(directory, $0.number) } + [logPath(directory, manifest.logGeneration)])
        guard let names = try? FileManager.default.contentsOfDirectory(atPath: directory) else { return }
        for name in names {
            let path = directory + "/" + name
            let ours = (name.hasPrefix("seg-") && name.hasSuffix(".hpq")) || (name.hasPrefix("log-") && name.hasSuffix(".wal"))
            let temporary = name.hasPrefix(".") && name.contains(".tmp-")
            if (ours && !keep.contains(path)) || temporary { unlink(path) }
        }
    }
}

extension AnyIndex {
    /// The file kind an index value is written as, for the concrete index types.
    static func kind(of index: some VectorIndex) -> IndexKind? {
        switch index {
        case is FlatIndex: return .flat
        case is PQIndex: return .pq
        case is PQ4Index: return .pq4
        case is OPQIndex: return .opq
        case is OPQ4Index: return .opq4
        case is HybridIndex: return .hcq
        case is TwoStageIndex: return .dns
        case let i as IVFIndex: return i.fileKind
        case is IVFOPQIndex: return .ivfOPQ
        case let a as AnyIndex: return a.kind
        default: return nil
        }
    }
}
