#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif

/// Reading whole files into memory with errors that name the file.
enum FileBytes {
    /// The whole content of `path`.
    static func read(_ path: String) throws(DataError) -> [UInt8] {
        let fd = open(path, O_RDONLY)
        guard fd >= 0 else { throw .cannotOpen(path: path, reason: String(cString: strerror(errno))) }
        defer { close(fd) }
        var st = stat()
        guard fstat(fd, &st) == 0 else { throw .cannotOpen(path: path, reason: String(cString: strerror(errno))) }
        if (st.st_mode & S_IFMT) == S_IFDIR { throw .cannotOpen(path: path, reason: "is a directory") }
        let size = Int(st.st_size)
        var bytes = [UInt8](repeating: 0, count: size)
        var done = 0
        let failure: String? = bytes.withUnsafeMutableBytes { buf in
            while done < size {
                let r = Glibc.read(fd, buf.baseAddress! + done, size - done)
                if r < 0 { if errno == EINTR { continue }; return String(cString: strerror(errno)) }
                if r == 0 { break }
                done += r
            }
            return nil
        }
        if let failure { throw .cannotOpen(path: path, reason: failure) }
        if done < size { bytes.removeLast(size - done) }
        return bytes
    }

    /// Whether a regular file exists at `path`.
    static func exists(_ path: String) -> Bool {
        var st = stat()
        return stat(path, &st) == 0 && (st.st_mode & S_IFMT) == S_IFREG
    }
}
