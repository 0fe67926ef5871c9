/// The manifest of a live index directory (file `MANIFEST`, an index-file container of kind
/// `live-manifest`, so every section is checksummed): which segment files are live, each
/// segment's deleted rows, and which write-ahead log holds the operations since. Replaced
/// atomically (write beside, fsync, rename, fsync the directory): a reader sees the old manifest
/// or the new one.
///
/// META `live.version` (1), `live.kind` (the segments' index kind), `live.log` (the log's
/// generation), `live.next_segment`; `SEGS` int64 triples (segment number, rows, deleted rows);
/// `TOMB` int64, every segment's deleted rows in segment order, ascending within each.
struct LiveManifest: Equatable {
    static let version = 1
    static let fileName = "MANIFEST"

    struct Entry: Equatable {
        var number: UInt64
        var rows: Int
        var deletedRows: [Int]
    }

    var kind: IndexKind
    var logGeneration: UInt64
    var nextSegment: UInt64
    var segments: [Entry]

    func write(directory: String) throws(IndexFileError) {
        let meta = Metadata([("live.version", "\(Self.version)"), ("live.kind", kind.name), ("live.log", "\(logGeneration)"),
                             ("live.next_segment", "\(nextSegment)")])
        let segs = segments.flatMap { [Int64(bitPattern: $0.number), Int64($0.rows), Int64($0.deletedRows.count)] }
        let tomb = segments.flatMap { $0.deletedRows.map(Int64.init) }
        try IndexFile.write(kind: .liveManifest, sections: [.bytes("META", meta.encoded), .int64s("SEGS", StoredArray(segs)),
                                                            .int64s("TOMB", StoredArray(tomb))],
                            to: directory + "/" + Self.fileName)
    }

    /// Reads and checks the manifest of `directory`: every count from the file is range-checked
    /// before it sizes anything.
    static func read(directory: String) throws(LiveIndexError) -> LiveManifest {
        let path = directory + "/" + fileName
        do {
            let file = try IndexFile.read(path)
            guard file.kind == .liveManifest else { throw IndexFileError.wrongKind(path: path, expected: "live-manifest", found: file.kind.name) }
            let meta = try file.metadata()
            let versionText = try meta.string("live.version")
            guard let version = UInt32(versionText) else {
                throw IndexFileError.inconsistent(path: path, reason: "META 'live.version' = '\(versionText)' is not a version")
            }
            guard version <= UInt32(Self.version) else {
                throw LiveIndexError.newerFormat(path: path, what: "manifest", found: version, supported: UInt32(Self.version))
            }
            let kindName = try meta.string("live.kind")
            guard let kind = IndexKind(name: kindName), kind.isIndex else {
                throw IndexFileError.inconsistent(path: path, reason: "META 'live.kind' = '\(kindName)' is not an index kind")
            }
            let log = try meta.int("live.log"), next = try meta.int("live.next_segment")
            guard let segsSection = file.sections["SEGS"], let tombSection = file.sections["TOMB"] else {
                throw IndexFileError.missingSection(path: path, section: file.sections["SEGS"] == nil ? "SEGS" : "TOMB")
            }
            guard segsSection.length % 24 == 0, tombSection.length % 8 == 0 else {
                throw IndexFileError.inconsistent(path: path, reason: "SEGS or TOMB is not a whole number of entries")
            }
            let segs = try file.int64s("SEGS", count: segsSection.length / 8).array
            let tomb = try file.int64s("TOMB", count: tombSection.length / 8).array
            var entries: [Entry] = [], at = 0
            for i in stride(from: 0, to: segs.count, by: 3) {
                let (number, rows, deleted) = (segs[i], segs[i + 1], segs[i + 2])
                guard number >= 0, number < next, rows >= 0, rows <= Int64(UInt32.max), deleted >= 0, deleted <= rows,
                      deleted <= Int64(tomb.count - at) else {
                    throw IndexFileError.inconsistent(path: path, reason: "segment entry \(i / 3) (\(number), \(rows) rows, \(deleted) deleted) is out of range")
                }
                let rowsDeleted = tomb[at..<(at + Int(deleted))].map(Int.init)
                at += Int(deleted)
                guard rowsDeleted.allSatisfy({ $0 >= 0 && $0 < rows }), zip(rowsDeleted, rowsDeleted.dropFirst()).allSatisfy({ $0 < $1 }) else {
                    throw IndexFileError.inconsistent(path: path, reason: "segment \(number)'s deleted rows are not ascending rows below \(rows)")
                }
                guard !entries.contains(where: { $0.number == UInt64(number) }) else {
                    throw IndexFileError.inconsistent(path: path, reason: "segment \(number) is listed twice")
                }
                entries.append(Entry(number: UInt64(number), rows: Int(rows), deletedRows: rowsDeleted))
            }
            guard at == tomb.count else { throw IndexFileError.inconsistent(path: path, reason: "TOMB holds \(tomb.count - at) rows no segment claims") }
            return LiveManifest(kind: kind, logGeneration: UInt64(log), nextSegment: UInt64(next), segments: entries)
        } catch let e as LiveIndexError {
            throw e
        } catch let e as IndexFileError {
            throw .file(e)
        } catch {
            throw .io(path: path, reason: "\(error)")
        }
    }
}
