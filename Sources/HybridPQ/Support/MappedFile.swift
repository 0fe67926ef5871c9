#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif

/// A whole file mapped read-only into memory; unmapped when the last reference goes away.
///
/// Immutable after creation and never written through, hence safe to share across threads.
public final class MappedFile: @unchecked Sendable {
    /// Path it was mapped from.
    public let path: String
    /// Start of the mapping (nil for an empty file).
    public let base: UnsafeRawPointer?
    /// Length in bytes.
    public let size: Int

    /// Maps `path` read-only. Throws the system's reason on failure.
    public init(path: String) throws(AtomicFile.WriteError) {
        self.path = path
        let fd = open(path, O_RDONLY)
        guard fd >= 0 else { throw AtomicFile.WriteError(path: path, reason: "open: \(String(cString: strerror(errno)))") }
        defer { close(fd) }
        var st = stat()
        guard fstat(fd, &st) == 0 else {
            throw AtomicFile.WriteError(path: path, reason: "stat: \(String(cString: strerror(errno)))")
        }
        size = Int(st.st_size)
        if size == 0 { base = nil; return }
        let p = mmap(nil, size, PROT_READ, MAP_PRIVATE, fd, 0)
        guard let p, p != MAP_FAILED else {
            throw AtomicFile.WriteError(path: path, reason: "mmap: \(String(cString: strerror(errno)))")
        }
        base = UnsafeRawPointer(p)
    }

    /// The mapped bytes.
    public var bytes: UnsafeRawBufferPointer { UnsafeRawBufferPointer(start: base, count: size) }

    deinit {
        if let base { munmap(UnsafeMutableRawPointer(mutating: base), size) }
    }
}

/// An array of plain values held either in memory or in a read-only file mapping.
///
/// Indexes keep codes, ids and vectors in it so a loaded index can serve searches straight from
/// the page cache. It is a value: mutating a mapped array first copies it into memory
/// (copy-on-write), so the file is never modified.
public struct StoredArray<Element: BitwiseCopyable & Sendable>: Sendable {
    @usableFromInline enum Storage: Sendable {
        case owned([Element])
        case mapped(MappedFile, offset: Int, count: Int)
    }
    @usableFromInline var storage: Storage

    /// An in-memory array.
    public init(_ values: [Element] = []) { storage = .owned(values) }

    /// A view of `count` elements at byte `offset` of `file` (which must be suitably aligned).
    init(file: MappedFile, offset: Int, count: Int) {
        precondition(offset % MemoryLayout<Element>.alignment == 0, "misaligned mapped section")
        storage = .mapped(file, offset: offset, count: count)
    }

    /// Number of elements.
    public var count: Int {
        switch storage {
        case let .owned(a): return a.count
        case let .mapped(_, _, n): return n
        }
    }

    /// Whether the elements live in a file mapping.
    public var isMapped: Bool { if case .mapped = storage { return true } else { return false } }

    /// Calls `body` with the elements.
    @inlinable
    public func withUnsafeBufferPointer<R>(_ body: (UnsafeBufferPointer<Element>) throws -> R) rethrows -> R {
        switch storage {
        case let .owned(a): return try a.withUnsafeBufferPointer(body)
        case let .mapped(file, offset, n):
            let p = file.base.map { ($0 + offset).assumingMemoryBound(to: Element.self) }
            return try body(UnsafeBufferPointer(start: n == 0 ? nil : p, count: n))
        }
    }

    /// The elements as an in-memory array (a copy when mapped).
    public var array: [Element] {
        switch storage {
        case let .owned(a): return a
        case .mapped: return withUnsafeBufferPointer { Array($0) }
        }
    }

    /// Elements `range` as an array of their own: a view of the same mapping when mapped (no
    /// copy), else a copy of those elements.
    public func slice(_ range: Range<Int>) -> StoredArray {
        precondition(range.lowerBound >= 0 && range.upperBound <= count, "slice out of range")
        switch storage {
        case let .owned(a): return StoredArray(Array(a[range]))
        case let .mapped(file, offset, _):
            var s = StoredArray()
            s.storage = .mapped(file, offset: offset + range.lowerBound * MemoryLayout<Element>.stride, count: range.count)
            return s
        }
    }

    /// Appends `values`, copying a mapped array into memory first.
    public mutating func append(contentsOf values: [Element]) {
        modify { $0.append(contentsOf: values) }
    }

    /// Edits the elements in place as an array, copying a mapped array into memory first (an
    /// owned array is not copied: the storage gives up its reference during the edit).
    public mutating func modify(_ body: (inout [Element]) -> Void) {
        var a = array
        storage = .owned([])
        body(&a)
        storage = .owned(a)
    }
}
