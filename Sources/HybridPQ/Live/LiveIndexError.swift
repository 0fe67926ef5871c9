/// Errors of a `LiveIndex`: what the caller asked for that cannot be done, and what was found
/// wrong in its directory. Nothing stored changes when one is thrown.
public enum LiveIndexError: Error, Equatable, CustomStringConvertible {
    /// `add` of an id the index already holds, or an id twice in one batch (`upsert` replaces).
    case duplicateId(Int64)
    /// `remove` of an id the index does not hold.
    case unknownId(Int64)
    /// A negative id (−1 marks empty result slots).
    case negativeId(Int64)
    /// The index could not take the batch or the search (its error).
    case index(IndexError)
    /// A segment, template or manifest file is unreadable or inconsistent (its error).
    case file(IndexFileError)
    /// The write-ahead log at `path` is damaged before its last record (not a torn tail).
    case corruptLog(path: String, offset: Int, reason: String)
    /// A log or manifest written by a newer format version than this library reads.
    case newerFormat(path: String, what: String, found: UInt32, supported: UInt32)
    /// The directory holds no live index, or already holds one (`create`).
    case directory(path: String, reason: String)
    /// A system call failed (the step and the system's reason).
    case io(path: String, reason: String)

    public var description: String {
        switch self {
        case let .duplicateId(id): return "id \(id) is already in the index (upsert replaces it)"
        case let .unknownId(id): return "id \(id) is not in the index"
        case let .negativeId(id): return "id \(id) is negative (ids must be ≥ 0)"
        case let .index(e): return "\(e)"
        case let .file(e): return "\(e)"
        case let .corruptLog(p, o, r): return "\(p): write-ahead log damaged at byte \(o): \(r)"
        case let .newerFormat(p, w, f, s): return "\(p): \(w) format version \(f) is newer than this library's (\(s)); refusing to read it"
        case let .directory(p, r): return "\(p): \(r)"
        case let .io(p, r): return "\(p): \(r)"
        }
    }
}
