#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif

/// A segment file a live index serves from a memory mapping, held open to watch its size.
///
/// A mapped file cut short by another process makes every read past its new end fault
/// (SIGBUS: the process dies). The kernel offers no way to forbid truncation of an ordinary
/// file, so a live index checks instead: every search first compares each mapped segment's size
/// with the size it was mapped at (one `fstat` per mapped segment, well under a microsecond) and
/// reports a shrunken file as a typed error. A truncation in the microseconds between that check
/// and the scan's reads still faults: the index directory must not be writable by processes
/// that do not own the index (docs/EMBEDDING.md).
final class SegmentFileGuard: Sendable {
    /// The segment file.
    let path: String
    /// Its size when it was opened (the mapping's length).
    let size: Int
    private let fd: Int32

    /// Opens `path` to watch it (before it is mapped, so both see the same file).
    init(path: String) throws(LiveIndexError) {
        let fd = open(path, O_RDONLY | O_CLOEXEC)
        guard fd >= 0 else { throw .io(path: path, reason: "open: \(String(cString: strerror(errno)))") }
        var st = stat()
        guard fstat(fd, &st) == 0 else {
            close(fd)
            throw .io(path: path, reason: "stat: \(String(cString: strerror(errno)))")
        }
        self.path = path
        self.fd = fd
        size = Int(st.st_size)
    }

    deinit { close(fd) }

    /// Throws when the file is now shorter than when it was mapped.
    func check() throws(IndexError) {
        var st = stat()
        guard fstat(fd, &st) == 0 else { throw .mappedFileChanged(path: path, expected: size, found: -1) }
        if Int(st.st_size) < size { throw .mappedFileChanged(path: path, expected: size, found: Int(st.st_size)) }
    }
}
