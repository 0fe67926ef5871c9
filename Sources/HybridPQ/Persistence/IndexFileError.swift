/// Errors from saving or loading an index file. Each case names the file and, where it
/// applies, the section and what was expected against what was found.
public enum IndexFileError: Error, Equatable, CustomStringConvertible {
    /// The file could not be opened, mapped or written.
    case io(path: String, reason: String)
    /// The first eight bytes are not `HYBRIDPQ`: not an index file.
    case badMagic(path: String)
    /// A format version this build does not read.
    case unsupportedVersion(path: String, found: UInt32, supported: [UInt32])
    /// The file ends before a structure or section does.
    case truncated(path: String, section: String, expectedBytes: Int, foundBytes: Int)
    /// A checksum does not match the bytes it covers (corruption).
    case checksumMismatch(path: String, section: String, stored: UInt32, computed: UInt32)
    /// A required section is absent.
    case missingSection(path: String, section: String)
    /// The index kind is unknown, or not the kind asked for.
    case wrongKind(path: String, expected: String, found: String)
    /// Sections or metadata disagree with each other (sizes, shapes, values).
    case inconsistent(path: String, reason: String)
    /// The stored quantizer or rotation is invalid (its own error).
    case invalidQuantizer(path: String, QuantizerError)
    /// The stored model is invalid (its own error).
    case invalidModel(path: String, ModelError)
    /// The stored parts do not form a valid index (its own error).
    case invalidIndex(path: String, IndexError)

    public var description: String {
        switch self {
        case let .io(p, r): return "\(p): \(r)"
        case let .badMagic(p): return "\(p): not a HybridPQ index file (bad magic)"
        case let .unsupportedVersion(p, f, s):
            return "\(p): unsupported format version \(f) (this build reads \(s.map(String.init).joined(separator: ", ")))"
        case let .truncated(p, s, e, f): return "\(p): truncated in \(s): expected \(e) bytes, found \(f)"
        case let .checksumMismatch(p, s, st, c):
            return "\(p): checksum mismatch in \(s) (stored \(hex(st)), computed \(hex(c))): the file is corrupt"
        case let .missingSection(p, s): return "\(p): missing section \(s)"
        case let .wrongKind(p, e, f): return "\(p): index kind is \(f), expected \(e)"
        case let .inconsistent(p, r): return "\(p): inconsistent index file: \(r)"
        case let .invalidQuantizer(p, e): return "\(p): invalid quantizer: \(e)"
        case let .invalidModel(p, e): return "\(p): invalid model: \(e)"
        case let .invalidIndex(p, e): return "\(p): invalid index: \(e)"
        }
    }
}

private func hex(_ v: UInt32) -> String {
    let s = String(v, radix: 16)
    return "0x" + String(repeating: "0", count: max(0, 8 - s.count)) + s
}
