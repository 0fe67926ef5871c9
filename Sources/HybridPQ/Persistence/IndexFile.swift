/// The HybridPQ index file, format version 1 (docs/INDEX_FORMAT.md has the full layout).
///
/// A 64-byte header (magic `HYBRIDPQ`, version, kind, section count, file size, header CRC),
/// a section table (tag, element type, offset, length, CRC-32C per section, then the table's
/// own CRC), and the sections, each starting on a 64-byte boundary so a memory-mapped file
/// can be used in place. Saving is atomic; loading validates every byte before use.
public enum IndexFile {
    /// The eight bytes every index file starts with.
    public static let magic: [UInt8] = Array("HYBRIDPQ".utf8)
    /// The format version this build writes.
    public static let version: UInt32 = 1
    /// Versions this build reads.
    public static let supportedVersions: [UInt32] = [1]
    static let headerSize = 64
    static let entrySize = 32
    static let alignment = 64

    /// Element type of a section's payload.
    public enum ElementType: UInt32, Sendable {
        case bytes = 0, float32 = 1, int64 = 2, uint8 = 3
    }

    /// One named block of the file.
    public struct Section: Sendable {
        /// Four-character tag, e.g. `CODE`.
        public var tag: String
        /// Payload type.
        public var type: ElementType
        /// Payload bytes (a pointer into a mapping when read with `mapping: true`).
        var payload: Payload

        enum Payload: Sendable {
            case bytes([UInt8])
            case floats(StoredArray<Float>)
            case int64s(StoredArray<Int64>)
            case uint8s(StoredArray<UInt8>)
        }

        /// A section of raw bytes.
        public static func bytes(_ tag: String, _ b: [UInt8]) -> Section { Section(tag: tag, type: .bytes, payload: .bytes(b)) }
        /// A section of floats.
        public static func floats(_ tag: String, _ a: StoredArray<Float>) -> Section { Section(tag: tag, type: .float32, payload: .floats(a)) }
        /// A section of 64-bit integers.
        public static func int64s(_ tag: String, _ a: StoredArray<Int64>) -> Section { Section(tag: tag, type: .int64, payload: .int64s(a)) }
        /// A section of bytes that form an array (codes).
        public static func uint8s(_ tag: String, _ a: StoredArray<UInt8>) -> Section { Section(tag: tag, type: .uint8, payload: .uint8s(a)) }

        func withBytes<R>(_ body: (UnsafeRawBufferPointer) throws -> R) rethrows -> R {
            switch payload {
            case let .bytes(b): return try b.withUnsafeBytes(body)
            case let .floats(a): return try a.withUnsafeBufferPointer { try body(UnsafeRawBufferPointer($0)) }
            case let .int64s(a): return try a.withUnsafeBufferPointer { try body(UnsafeRawBufferPointer($0)) }
            case let .uint8s(a): return try a.withUnsafeBufferPointer { try body(UnsafeRawBufferPointer($0)) }
            }
        }

        var length: Int { withBytes { $0.count } }
    }

    /// Writes `sections` under `kind` to `path` atomically.
    public static func write(kind kindCode: IndexKind, sections: [Section], to path: String) throws(IndexFileError) {
        let tableBytes = sections.count * entrySize + 4
        var offset = align(headerSize + tableBytes)
        var fileSize = offset
        var table: [UInt8] = []
        for s in sections {
            let len = s.length
            let crc = s.withBytes { CRC32C.checksum($0) }
            table += tagBytes(s.tag)
            table += le(s.type.rawValue)
            table += le(UInt64(offset))
            table += le(UInt64(len))
            table += le(crc)
            table += le(UInt32(0))
            fileSize = offset + len
            offset = align(offset + len)
        }
        table += le(CRC32C.checksum(table))
        var header = magic
        header += le(version) + le(kindCode.rawValue) + le(UInt32(sections.count)) + le(UInt32(0))
        header += le(UInt64(fileSize))
        header += [UInt8](repeating: 0, count: 60 - header.count)
        header += le(CRC32C.checksum(header))
        do {
            try AtomicFile.write(to: path) { sink in
                try sink.write(header)
                try sink.write(table)
                try sink.writeZeros(align(sink.offset) - sink.offset)
                for (i, s) in sections.enumerated() {
                    try s.withBytes { try sink.write($0) }
                    if i + 1 < sections.count { try sink.writeZeros(align(sink.offset) - sink.offset) }
                }
            }
        } catch let e as AtomicFile.WriteError {
            throw .io(path: e.path, reason: e.reason)
        } catch {
            throw .io(path: path, reason: "\(error)")
        }
    }

    /// A validated file: its kind and sections.
    public struct Contents: Sendable {
        /// Path it was read from.
        public var path: String
        /// The kind of index or model the file holds.
        public var kind: IndexKind
        /// Sections by tag.
        public var sections: [String: Section]

        /// The payload bytes of section `tag` (nil when absent): what tools and tests edit before
        /// writing a file back (the checksums are recomputed by `write`).
        public func payload(_ tag: String) -> [UInt8]? {
            sections[tag].map { s in s.withBytes { Array($0) } }
        }

        /// The section `tag`, or `missingSection`.
        func section(_ tag: String) throws(IndexFileError) -> Section {
            guard let s = sections[tag] else { throw .missingSection(path: path, section: tag) }
            return s
        }

        /// Floats of section `tag`, checking the count.
        func floats(_ tag: String, count: Int) throws(IndexFileError) -> StoredArray<Float> {
            let s = try section(tag)
            guard case let .floats(a) = s.payload else { throw .inconsistent(path: path, reason: "section \(tag) is not an array of float32") }
            guard a.count == count else {
                throw .inconsistent(path: path, reason: "section \(tag) holds \(s.length) bytes, expected \(count) float32 (\(count * 4) bytes)")
            }
            return a
        }

        /// 64-bit integers of section `tag`, checking the count.
        func int64s(_ tag: String, count: Int) throws(IndexFileError) -> StoredArray<Int64> {
            let s = try section(tag)
            guard case let .int64s(a) = s.payload else { throw .inconsistent(path: path, reason: "section \(tag) is not an array of int64") }
            guard a.count == count else {
                throw .inconsistent(path: path, reason: "section \(tag) holds \(s.length) bytes, expected \(count) int64 (\(count * 8) bytes)")
            }
            return a
        }

        /// The IDS section of an index of `count` items, checked (`IDListProblem`): every id ≥ 0
        /// and none twice (a crafted file with valid checksums would otherwise return one item
        /// under two rows).
        func ids(count: Int) throws(IndexFileError) -> StoredArray<Int64> {
            let ids = try int64s("IDS", count: count)
            switch ids.withUnsafeBufferPointer({ IDListProblem.find(in: $0) }) {
            case let .negative(id)?: throw .inconsistent(path: path, reason: "id \(id) is negative")
            case let .repeated(id)?: throw .inconsistent(path: path, reason: "id \(id) appears twice")
            case nil: return ids
            }
        }

        /// Bytes of array section `tag`, checking the count.
        func uint8s(_ tag: String, count: Int) throws(IndexFileError) -> StoredArray<UInt8> {
            let s = try section(tag)
            guard case let .uint8s(a) = s.payload else { throw .inconsistent(path: path, reason: "section \(tag) is not an array of bytes") }
            guard a.count == count else {
                throw .inconsistent(path: path, reason: "section \(tag) holds \(s.length) bytes, expected \(count)")
            }
            return a
        }

        /// The floats of section `tag`, which must hold exactly `count` of them.
        public func floatArray(_ tag: String, count: Int) throws(IndexFileError) -> [Float] {
            try floats(tag, count: count).array
        }

        /// The `META` section parsed as `key=value` lines.
        func metadata() throws(IndexFileError) -> Metadata {
            let s = try section("META")
            guard case let .bytes(b) = s.payload, let text = String(validating: b, as: UTF8.self) else {
                throw .inconsistent(path: path, reason: "META is not UTF-8 text")
            }
            return Metadata(path: path, text: text)
        }
    }

    /// Reads and validates `path`. With `mapping`, array sections stay in a read-only memory
    /// mapping of the file instead of being copied (the pages are still read once to verify
    /// checksums unless `verifyChecksums` is false).
    public static func read(_ path: String, mapping: Bool = false, verifyChecksums: Bool = true)
        throws(IndexFileError) -> Contents {
        let file: MappedFile
        do { file = try MappedFile(path: path) } catch { throw .io(path: path, reason: error.reason) }
        let bytes = file.bytes
        let size = bytes.count
        guard size >= magic.count, Array(bytes[0..<magic.count]) == magic else {
            if size < magic.count, Array(bytes) == Array(magic.prefix(size)) {
                throw .truncated(path: path, section: "header", expectedBytes: headerSize, foundBytes: size)
            }
            throw .badMagic(path: path)
        }
        guard size >= 12 else { throw .truncated(path: path, section: "header", expectedBytes: headerSize, foundBytes: size) }
        let ver = u32(bytes, 8)
        guard supportedVersions.contains(ver) else {
            throw .unsupportedVersion(path: path, found: ver, supported: supportedVersions)
        }
        guard size >= headerSize else {
            throw .truncated(path: path, section: "header", expectedBytes: headerSize, foundBytes: size)
        }
        let storedHeaderCRC = u32(bytes, 60)
        let headerCRC = CRC32C.checksum(UnsafeRawBufferPointer(rebasing: bytes[0..<60]))
        guard storedHeaderCRC == headerCRC else {
            throw .checksumMismatch(path: path, section: "header", stored: storedHeaderCRC, computed: headerCRC)
        }
        let kindRaw = u32(bytes, 12)
        let count = Int(u32(bytes, 16))
        // Every integer from the file is range-checked before it is used (no conversion or sum
        // can trap on a crafted header with a recomputed checksum).
        guard let declaredSize = Int(exactly: u64(bytes, 24)) else {
            throw .inconsistent(path: path, reason: "header declares \(u64(bytes, 24)) bytes")
        }
        guard size >= declaredSize else {
            throw .truncated(path: path, section: "file", expectedBytes: declaredSize, foundBytes: size)
        }
        guard size == declaredSize else {
            throw .inconsistent(path: path, reason: "file has \(size) bytes, header declares \(declaredSize)")
        }
        guard let kind = IndexKind(rawValue: kindRaw) else {
            throw .wrongKind(path: path, expected: IndexKind.allCases.map(\.name).joined(separator: "|"), found: "code \(kindRaw)")
        }
        let tableEnd = headerSize + count * entrySize + 4
        guard count <= 1024, tableEnd <= size else {
            throw .truncated(path: path, section: "section table", expectedBytes: tableEnd, foundBytes: size)
        }
        let storedTableCRC = u32(bytes, tableEnd - 4)
        let tableCRC = CRC32C.checksum(UnsafeRawBufferPointer(rebasing: bytes[headerSize..<(tableEnd - 4)]))
        guard storedTableCRC == tableCRC else {
            throw .checksumMismatch(path: path, section: "section table", stored: storedTableCRC, computed: tableCRC)
        }
        var sections: [String: Section] = [:]
        var covered = [(tableEnd, tableEnd)]   // byte ranges not covered by a checksum must be zero
        for i in 0..<count {
            let e = headerSize + i * entrySize
            let tag = String(decoding: bytes[e..<(e + 4)], as: UTF8.self).trimmingCharacters(in: " ")
            guard let type = ElementType(rawValue: u32(bytes, e + 4)) else {
                throw .inconsistent(path: path, reason: "section \(tag) has unknown element type \(u32(bytes, e + 4))")
            }
            let rawOffset = u64(bytes, e + 8), rawLength = u64(bytes, e + 16)
            let crc = u32(bytes, e + 24)
            guard let offset = Int(exactly: rawOffset), offset % alignment == 0, offset >= tableEnd, offset <= size else {
                throw .inconsistent(path: path, reason: "section \(tag) has invalid offset \(rawOffset)")
            }
            guard let length = Int(exactly: rawLength), length <= size - offset else {
                throw .truncated(path: path, section: tag, expectedBytes: rawLength > UInt64(Int.max) ? Int.max : offset &+ Int(rawLength),
                                 foundBytes: size)
            }
            covered.append((offset, offset + length))
            let region = UnsafeRawBufferPointer(rebasing: bytes[offset..<(offset + length)])
            if verifyChecksums {
                let computed = CRC32C.checksum(region)
                guard computed == crc else {
                    throw .checksumMismatch(path: path, section: tag, stored: crc, computed: computed)
                }
            }
            let payload: Section.Payload
            switch type {
            case .bytes: payload = .bytes(Array(region))
            case .float32: payload = .floats(try array(file, region, offset, length, mapping, path, tag))
            case .int64: payload = .int64s(try array(file, region, offset, length, mapping, path, tag))
            case .uint8: payload = .uint8s(try array(file, region, offset, length, mapping, path, tag))
            }
            guard sections[tag] == nil else { throw .inconsistent(path: path, reason: "section \(tag) appears twice") }
            sections[tag] = Section(tag: tag, type: type, payload: payload)
        }
        // Alignment padding is outside every checksum: it must be zero, and the file must end
        // where the last section does, so no byte of the file escapes validation.
        covered.sort { $0.0 < $1.0 }
        var end = covered[0].1
        for (lo, hi) in covered.dropFirst() {
            guard lo >= end else { throw .inconsistent(path: path, reason: "sections overlap at byte \(lo)") }
            if bytes[end..<lo].contains(where: { $0 != 0 }) {
                throw .inconsistent(path: path, reason: "non-zero padding before byte \(lo): the file is corrupt")
            }
            end = hi
        }
        guard end == size else { throw .inconsistent(path: path, reason: "\(size - end) bytes after the last section") }
        return Contents(path: path, kind: kind, sections: sections)
    }

    static func array<T: BitwiseCopyable & Sendable>(_ file: MappedFile, _ region: UnsafeRawBufferPointer, _ offset: Int,
                                                    _ length: Int, _ mapping: Bool, _ path: String,
                                                    _ tag: String) throws(IndexFileError) -> StoredArray<T> {
        let size = MemoryLayout<T>.stride
        guard length % size == 0 else {
            throw .inconsistent(path: path, reason: "section \(tag) length \(length) is not a multiple of \(size)")
        }
        if mapping { return StoredArray(file: file, offset: offset, count: length / size) }
        return StoredArray(Array(region.bindMemory(to: T.self)))
    }

    static func align(_ x: Int) -> Int { (x + alignment - 1) / alignment * alignment }
    static func tagBytes(_ tag: String) -> [UInt8] {
        let b = Array(tag.utf8.prefix(4))
        return b + [UInt8](repeating: 0x20, count: 4 - b.count)
    }
    static func le<T: FixedWidthInteger>(_ v: T) -> [UInt8] { withUnsafeBytes(of: v.littleEndian) { Array($0) } }
    static func u32(_ b: UnsafeRawBufferPointer, _ at: Int) -> UInt32 { UInt32(littleEndian: b.loadUnaligned(fromByteOffset: at, as: UInt32.self)) }
    static func u64(_ b: UnsafeRawBufferPointer, _ at: Int) -> UInt64 { UInt64(littleEndian: b.loadUnaligned(fromByteOffset: at, as: UInt64.self)) }
}

/// What an index file holds, as written in its header (the raw values are the format's codes:
/// append only). `AnyIndex.load` opens any index kind by it.
public enum IndexKind: UInt32, CaseIterable, Sendable, CustomStringConvertible {
    case flat = 1, pq = 2, pq4 = 3, opq = 4, opq4 = 5, hcqModel = 6, hcq = 7, hcqCheckpoint = 8, dns = 9, liveManifest = 10, ivf = 11, ivfOPQ = 12, ivfHCQ = 13

    /// The kind's name in documents and messages.
    public var name: String {
        switch self {
        case .flat: return "flat"
        case .pq: return "pq"
        case .pq4: return "pq4"
        case .opq: return "opq"
        case .opq4: return "opq4"
        case .hcqModel: return "hcq-model"
        case .hcq: return "hcq"
        case .hcqCheckpoint: return "hcq-checkpoint"
        case .dns: return "dns"
        case .liveManifest: return "live-manifest"
        case .ivf: return "ivf"
        case .ivfOPQ: return "ivf-opq"
        case .ivfHCQ: return "ivf-hcq"
        }
    }

    /// The kind named `name`, if any.
    public init?(name: String) {
        guard let c = Self.allCases.first(where: { $0.name == name }) else { return nil }
        self = c
    }

    public var description: String { name }

    /// Whether the file is a searchable index (not a model or a training checkpoint).
    public var isIndex: Bool { self != .hcqModel && self != .hcqCheckpoint && self != .liveManifest }
}

/// `key=value` metadata lines of the `META` section.
struct Metadata {
    let path: String
    var values: [String: String] = [:]

    init(path: String, text: String) {
        self.path = path
        for line in text.split(separator: "\n") {
            guard let eq = line.firstIndex(of: "=") else { continue }
            values[String(line[..<eq])] = String(line[line.index(after: eq)...])
        }
    }

    init(_ pairs: [(String, String)]) {
        path = ""
        for (k, v) in pairs { values[k] = v }
    }

    var encoded: [UInt8] { Array(values.keys.sorted().map { "\($0)=\(values[$0]!)\n" }.joined().utf8) }

    func string(_ key: String) throws(IndexFileError) -> String {
        guard let v = values[key] else { throw .inconsistent(path: path, reason: "META lacks '\(key)'") }
        return v
    }

    func int(_ key: String, in range: ClosedRange<Int> = 0...Int.max) throws(IndexFileError) -> Int {
        let s = try string(key)
        guard let v = Int(s), range.contains(v) else {
            throw .inconsistent(path: path, reason: "META '\(key)' = '\(s)' is not an integer in \(range)")
        }
        return v
    }

    func metric() throws(IndexFileError) -> Metric {
        let s = try string("metric")
        guard let m = Metric(rawValue: s) else { throw .inconsistent(path: path, reason: "META 'metric' = '\(s)' is not ip or l2") }
        return m
    }
}
