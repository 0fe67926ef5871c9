#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif

/// One operation of a live index as the log keeps it.
enum LogOperation: UInt8, Sendable {
    /// Items added (ids new).
    case add = 1
    /// Items added, replacing any item with the same id.
    case upsert = 2
    /// Items removed.
    case remove = 3
}

/// A logged operation: its ids and, for adds and upserts, the items' features.
struct LogRecord: Sendable, Equatable {
    /// What the operation does.
    var operation: LogOperation
    /// The ids it adds, replaces or removes.
    var ids: [Int64]
    /// Vectors (and sequences) of added items; nil for removals.
    var items: FeatureBatch?

    static func == (a: LogRecord, b: LogRecord) -> Bool {
        a.operation == b.operation && a.ids == b.ids && a.items?.vectors == b.items?.vectors
            && a.items?.sequences == b.items?.sequences
    }
}

/// The write-ahead log of a live index: operations since its segments were last written, each a
/// checksummed record (`u32 length, u32 CRC32C, payload`) after a 16-byte header (`HPQLOG\0\0`,
/// u32 version, u32 CRC of the first 12 bytes). Records are buffered in memory as operations
/// happen and written to the file by `writePending()` (`LiveIndex.commit()`, a flush, closing, or
/// a buffer past `pendingLimit`), then made durable by `fsync` (`commit()`): after it returns, a
/// kill loses nothing. (A write system call per operation had been a third of a one-item write's
/// time on a service's busy cores; what `commit()` promises is unchanged, and nothing before it
/// was ever promised — Lucene keeps uncommitted changes in memory the same way.)
///
/// Reading stops at a torn last record — one whose bytes run to the end of the file without
/// checking out — and reports the length of the valid prefix, which the opener truncates to. A
/// record that fails its checks with more bytes after it is damage, not a torn write: a typed
/// error (Lucene's and Qdrant's WALs make the same distinction).
struct WriteAheadLog {
    static let magic: [UInt8] = Array("HPQLOG".utf8) + [0, 0]
    static let version: UInt32 = 1
    static let headerSize = 16
    /// A record larger than this is damage (a length field gone wrong), never an allocation.
    static let maximumRecord = 1 << 31

    let path: String
    private let fd: Int32
    /// Records appended and not yet written to the file.
    private var pending: [UInt8] = []
    /// Buffered bytes at which `append` writes them out (bounds the memory a long run of writes
    /// without a commit holds).
    static let pendingLimit = 1 << 20

    /// Opens (creating with a header when absent) the log at `path` for appending.
    init(path: String) throws(LiveIndexError) {
        self.path = path
        let fd = open(path, O_WRONLY | O_CREAT | O_APPEND, 0o644)
        guard fd >= 0 else { throw .io(path: path, reason: "open: \(String(cString: strerror(errno)))") }
        self.fd = fd
        var st = stat()
        guard fstat(fd, &st) == 0 else { Glibc.close(fd); throw .io(path: path, reason: "stat: \(String(cString: strerror(errno)))") }
        if st.st_size == 0 {
            var header = Self.magic + IndexFile.le(Self.version)
            header += IndexFile.le(CRC32C.checksum(header))
            do { try write(header) } catch { Glibc.close(fd); throw error }
            do { try sync() } catch { Glibc.close(fd); throw error }
        }
    }

    /// Closes the file.
    func closeFile() { _ = Glibc.close(fd) }

    /// Appends one record to the buffer (not yet in the file: see `writePending`, `sync`).
    mutating func append(_ record: LogRecord) throws(LiveIndexError) {
        let payload = Self.encode(record)
        // Out first when full: if that write fails, this record is not in the log (its
        // operation fails and is not applied) — never logged but rejected.
        if pending.count + payload.count + 8 > Self.pendingLimit { try writePending() }
        pending += IndexFile.le(UInt32(payload.count))
        pending += IndexFile.le(CRC32C.checksum(payload))
        pending += payload
    }

    /// Writes the buffered records to the file (not yet durable: see `sync`). On failure what
    /// was written leaves the buffer, so a retry continues where the file ends.
    mutating func writePending() throws(LiveIndexError) {
        guard !pending.isEmpty else { return }
        var done = 0
        defer { pending.removeFirst(done) }
        try write(pending, done: &done)
    }

    /// Writes the buffered records and makes every appended record durable.
    mutating func sync() throws(LiveIndexError) {
        try writePending()
        guard fsync(fd) == 0 else { throw .io(path: path, reason: "fsync: \(String(cString: strerror(errno)))") }
    }

    /// A second descriptor of the log (`dup`), to `fsync` without holding the index's lock: a
    /// flush may close and unlink the log meanwhile; the duplicate keeps the file open, and its
    /// `fsync` still makes every record appended before it durable.
    func duplicateDescriptor() throws(LiveIndexError) -> Int32 {
        let d = dup(fd)
        guard d >= 0 else { throw .io(path: path, reason: "dup: \(String(cString: strerror(errno)))") }
        return d
    }

    private func write(_ bytes: [UInt8]) throws(LiveIndexError) {
        var done = 0
        try write(bytes, done: &done)
    }

    /// Writes `bytes` from `done` on, counting in `done` what reached the file (also on failure).
    private func write(_ bytes: [UInt8], done: inout Int) throws(LiveIndexError) {
        while done < bytes.count {
            let r = bytes.withUnsafeBytes { Glibc.write(fd, $0.baseAddress! + done, bytes.count - done) }
            if r < 0 {
                if errno == EINTR { continue }
                throw .io(path: path, reason: "write: \(String(cString: strerror(errno)))")
            }
            done += r
        }
    }

    // MARK: - Reading

    /// The records of the log at `path` and the length of its valid prefix (shorter than the
    /// file when the last record is torn).
    static func read(path: String) throws(LiveIndexError) -> (records: [LogRecord], validLength: Int) {
        let file: MappedFile
        do { file = try MappedFile(path: path) } catch { throw .io(path: path, reason: error.reason) }
        let bytes = file.bytes
        // A header cut short is a log torn at creation: nothing was ever committed to it.
        guard bytes.count >= headerSize else { return ([], 0) }
        guard Array(bytes[0..<8]) == magic else { throw .corruptLog(path: path, offset: 0, reason: "bad magic") }
        let version = u32(bytes, 8)
        guard CRC32C.checksum(UnsafeRawBufferPointer(rebasing: bytes[0..<12])) == u32(bytes, 12) else {
            throw .corruptLog(path: path, offset: 0, reason: "header checksum")
        }
        guard version <= Self.version else { throw .newerFormat(path: path, what: "write-ahead log", found: version, supported: Self.version) }
        var records: [LogRecord] = [], at = headerSize
        while at < bytes.count {
            // Torn: the record's header or payload runs past the end of the file.
            guard bytes.count - at >= 8 else { return (records, at) }
            let length = Int(u32(bytes, at)), crc = u32(bytes, at + 4)
            guard length <= bytes.count - at - 8 else {
                if length > maximumRecord { throw .corruptLog(path: path, offset: at, reason: "record length \(length)") }
                return (records, at)
            }
            let payload = UnsafeRawBufferPointer(rebasing: bytes[(at + 8)..<(at + 8 + length)])
            let last = at + 8 + length == bytes.count
            guard CRC32C.checksum(payload) == crc else {
                if last { return (records, at) }
                throw .corruptLog(path: path, offset: at, reason: "record checksum")
            }
            do { records.append(try decode(payload)) } catch {
                throw .corruptLog(path: path, offset: at, reason: error.description)
            }
            at += 8 + length
        }
        return (records, at)
    }

    /// Cuts the log at `path` to `length` bytes (dropping a torn record) and makes it durable.
    static func truncate(path: String, to length: Int) throws(LiveIndexError) {
        let fd = open(path, O_WRONLY)
        guard fd >= 0 else { throw .io(path: path, reason: "open: \(String(cString: strerror(errno)))") }
        defer { _ = Glibc.close(fd) }
        guard ftruncate(fd, off_t(length)) == 0, fsync(fd) == 0 else {
            throw .io(path: path, reason: "truncate: \(String(cString: strerror(errno)))")
        }
    }

    // MARK: - Records

    /// Payload: u8 operation, u8 has-sequences, u16 0, u32 count, u32 dimension, count × i64 ids,
    /// count × dimension f32 vectors; with sequences u32 length, u32 width, count × length u8
    /// mask, count × length × width f32 values.
    static func encode(_ r: LogRecord) -> [UInt8] {
        var out: [UInt8] = [r.operation.rawValue, r.items?.sequences == nil ? 0 : 1, 0, 0]
        out += IndexFile.le(UInt32(r.ids.count)) + IndexFile.le(UInt32(r.items?.vectors.columns ?? 0))
        r.ids.withUnsafeBytes { out += $0 }
        if let items = r.items {
            items.vectors.values.withUnsafeBytes { out += $0 }
            if let s = items.sequences {
                out += IndexFile.le(UInt32(s.length)) + IndexFile.le(UInt32(s.values.columns))
                out += s.mask
                s.values.values.withUnsafeBytes { out += $0 }
            }
        }
        return out
    }

    /// A record from its payload; every count is checked against the bytes there are.
    static func decode(_ p: UnsafeRawBufferPointer) throws(DecodeError) -> LogRecord {
        var reader = Reader(bytes: p)
        guard let op = LogOperation(rawValue: try reader.u8()) else { throw DecodeError("unknown operation") }
        let hasSequences = try reader.u8()
        _ = try reader.u8(); _ = try reader.u8()
        let n = Int(try reader.u32()), d = Int(try reader.u32())
        let ids: [Int64] = try reader.array(count: n)
        guard op != .remove else {
            guard hasSequences == 0, d == 0, reader.remaining == 0 else { throw DecodeError("a removal carries features") }
            return LogRecord(operation: op, ids: ids, items: nil)
        }
        guard d >= 1 else { throw DecodeError("dimension 0") }
        let (nd, o1) = n.multipliedReportingOverflow(by: d)
        guard !o1 else { throw DecodeError("\(n) × \(d) overflows") }
        let vectors = Matrix(rows: n, columns: d, values: try reader.array(count: nd))
        var sequences: SequenceFeatures?
        if hasSequences == 1 {
            let length = Int(try reader.u32()), width = Int(try reader.u32())
            let (cells, o2) = n.multipliedReportingOverflow(by: length)
            let (values, o3) = cells.multipliedReportingOverflow(by: width)
            guard !o2, !o3, width >= 1 else { throw DecodeError("sequence shape \(n) × \(length) × \(width)") }
            let mask: [UInt8] = try reader.array(count: cells)
            let v: [Float] = try reader.array(count: values)
            sequences = SequenceFeatures(count: n, length: length, values: Matrix(rows: cells, columns: width, values: v), mask: mask)
        } else if hasSequences != 0 {
            throw DecodeError("bad sequence flag \(hasSequences)")
        }
        guard reader.remaining == 0 else { throw DecodeError("\(reader.remaining) trailing bytes") }
        return LogRecord(operation: op, ids: ids, items: FeatureBatch(vectors, sequences: sequences))
    }

    struct DecodeError: Error, CustomStringConvertible {
        let description: String
        init(_ s: String) { description = s }
    }

    /// Little-endian reads with bounds checks.
    struct Reader {
        let bytes: UnsafeRawBufferPointer
        var at = 0
        var remaining: Int { bytes.count - at }
        mutating func u8() throws(DecodeError) -> UInt8 {
            guard remaining >= 1 else { throw DecodeError("truncated") }
            defer { at += 1 }
            return bytes[at]
        }
        mutating func u32() throws(DecodeError) -> UInt32 {
            guard remaining >= 4 else { throw DecodeError("truncated") }
            defer { at += 4 }
            return WriteAheadLog.u32(bytes, at)
        }
        mutating func array<T: BitwiseCopyable>(count: Int) throws(DecodeError) -> [T] {
            let (size, o) = count.multipliedReportingOverflow(by: MemoryLayout<T>.size)
            guard count >= 0, !o, size <= remaining else { throw DecodeError("\(count) elements do not fit the record") }
            let out = [T](unsafeUninitializedCapacity: count) { buf, n in
                UnsafeMutableRawBufferPointer(buf).copyMemory(from: UnsafeRawBufferPointer(rebasing: bytes[at..<(at + size)]))
                n = count
            }
            at += size
            return out
        }
    }

    /// The index file's little-endian reader (one definition for every format).
    static func u32(_ b: UnsafeRawBufferPointer, _ at: Int) -> UInt32 { IndexFile.u32(b, at) }
}
