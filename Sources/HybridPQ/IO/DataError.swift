/// Errors raised while reading or writing data files (`.npy`, `.fvecs`, `.ivecs`, `split.json`)
/// and data-set directories. Every case names the file and what was expected against what was
/// found, so a user can fix the input without reading HybridPQ's source.
public enum DataError: Error, Equatable, CustomStringConvertible {
    /// The file does not exist or cannot be opened.
    case cannotOpen(path: String, reason: String)
    /// The file is not in the expected format (bad magic, unparsable header, …).
    case malformed(path: String, reason: String)
    /// The file's element type is not one HybridPQ reads here.
    case unsupportedType(path: String, found: String, supported: [String])
    /// The file holds fewer bytes than its header announces.
    case truncated(path: String, expectedBytes: Int, foundBytes: Int)
    /// The array has a shape other than the one required.
    case shapeMismatch(path: String, expected: String, found: String)
    /// Two files of one data set disagree (row counts, dimensions, split indices).
    case inconsistent(path: String, reason: String)
    /// Writing failed.
    case writeFailed(path: String, reason: String)

    public var description: String {
        switch self {
        case let .cannotOpen(path, reason): return "\(path): cannot open (\(reason))"
        case let .malformed(path, reason): return "\(path): malformed file: \(reason)"
        case let .unsupportedType(path, found, supported):
            return "\(path): unsupported element type \(found) (supported: \(supported.joined(separator: ", ")))"
        case let .truncated(path, expected, found):
            return "\(path): truncated: expected \(expected) bytes, found \(found)"
        case let .shapeMismatch(path, expected, found):
            return "\(path): wrong shape: expected \(expected), found \(found)"
        case let .inconsistent(path, reason): return "\(path): inconsistent data set: \(reason)"
        case let .writeFailed(path, reason): return "\(path): write failed: \(reason)"
        }
    }
}
