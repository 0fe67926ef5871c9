#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif

/// Atomic replacement of a file: write a temporary file beside it, `fsync`, `rename` over the
/// target, then `fsync` the directory. Readers see either the old file or the new one, never a
/// mixture, and a crash or error mid-write leaves the previous file as it was.
public enum AtomicFile {
    /// Errors from the file system, naming the path and the system's reason.
    public struct WriteError: Error, CustomStringConvertible, Equatable {
        /// The file being written.
        public var path: String
        /// What failed (the step and `strerror`).
        public var reason: String
        public var description: String { "\(path): \(reason)" }
    }

    /// A sequential writer into the temporary file.
    public struct Sink {
        fileprivate let fd: Int32
        fileprivate let path: String
        /// Bytes written so far.
        public private(set) var offset: Int = 0

        /// Appends `bytes`.
        public mutating func write(_ bytes: UnsafeRawBufferPointer) throws {
            var done = 0
            while done < bytes.count {
                let r = Glibc.write(fd, bytes.baseAddress! + done, bytes.count - done)
                if r < 0 {
                    if errno == EINTR { continue }
                    throw WriteError(path: path, reason: "write: \(String(cString: strerror(errno)))")
                }
                done += r
            }
            offset += bytes.count
        }

        /// Appends the bytes of `array`.
        public mutating func write<T: BitwiseCopyable>(_ array: [T]) throws {
            try array.withUnsafeBytes { raw in try write(raw) }
        }

        /// Appends `count` zero bytes (padding).
        public mutating func writeZeros(_ count: Int) throws {
            guard count > 0 else { return }
            try write([UInt8](repeating: 0, count: count))
        }
    }

    /// Removes temporaries of earlier writes of `base` whose process is gone (a save killed
    /// mid-write leaves `.<base>.tmp-<pid>-<n>`; a live writer's own temporary is kept).
    static func removeStaleTemporaries(of base: String, in dir: String) {
        guard let d = opendir(dir) else { return }
        defer { closedir(d) }
        let prefix = "." + base + ".tmp-"
        while let entry = readdir(d) {
            let name = withUnsafeBytes(of: entry.pointee.d_name) { raw in
                String(decoding: raw.prefix { $0 != 0 }, as: UTF8.self)
            }
            guard name.hasPrefix(prefix), let pid = Int32(name.dropFirst(prefix.count).split(separator: "-").first ?? "") else { continue }
            if pid != getpid(), kill(pid, 0) == -1, errno == ESRCH { unlink(dir + "/" + name) }
        }
    }

    /// Writes a new version of `path` through `body`; replaces the old file only if `body`
    /// returns normally and every byte reached the disk.
    public static func write(to path: String, _ body: (inout Sink) throws -> Void) throws {
        let dir = directory(of: path)
        let base = path.split(separator: "/").last.map(String.init) ?? path
        removeStaleTemporaries(of: base, in: dir)
        let tmp = dir + "/." + base + ".tmp-\(getpid())-\(UInt32.random(in: 0...UInt32.max))"
        let fd = open(tmp, O_WRONLY | O_CREAT | O_EXCL, 0o644)
        guard fd >= 0 else {
            throw WriteError(path: path, reason: "create \(tmp): \(String(cString: strerror(errno)))")
        }
        var sink = Sink(fd: fd, path: path)
        do {
            try body(&sink)
            guard fsync(fd) == 0 else {
                throw WriteError(path: path, reason: "fsync: \(String(cString: strerror(errno)))")
            }
        } catch {
            close(fd)
            unlink(tmp)
            throw error
        }
        close(fd)
        guard rename(tmp, path) == 0 else {
            let reason = String(cString: strerror(errno))
            unlink(tmp)
            throw WriteError(path: path, reason: "rename: \(reason)")
        }
        let dfd = open(dir, O_RDONLY)
        if dfd >= 0 { _ = fsync(dfd); close(dfd) }
    }

    /// Writes `bytes` to `path` atomically.
    public static func write(_ bytes: [UInt8], to path: String) throws {
        try write(to: path) { sink in try sink.write(bytes) }
    }

    static func directory(of path: String) -> String {
        guard let slash = path.lastIndex(of: "/") else { return "." }
        let d = String(path[..<slash])
        return d.isEmpty ? "/" : d
    }
}
