import Dispatch
#if canImport(Glibc)
import Glibc
#endif

/// Wraps a value that is shared across worker threads under a discipline the compiler cannot
/// see: every worker writes a disjoint range of the same buffer. Used only inside the library.
@usableFromInline
struct UncheckedSendable<Value>: @unchecked Sendable {
    @usableFromInline var value: Value
    @usableFromInline init(_ value: Value) { self.value = value }
}

/// How many cores work may use.
public enum Concurrency {
    /// The number of cores this process may run on (at least 1).
    public static var availableCores: Int {
        return max(1, ProcessInfoCores.count)
    }

    /// Resolves a user-supplied thread cap: `nil` or a value below 1 means all cores.
    public static func resolve(threads: Int?) -> Int {
        guard let threads, threads >= 1 else { return availableCores }
        return threads
    }
}

enum ProcessInfoCores {
    /// Read once: `sysconf` opens and reads a file under /sys on every call, which a writer
    /// encoding one item at a time paid on every write.
    static let count: Int = {
        #if canImport(Glibc)
        return Int(sysconf(Int32(_SC_NPROCESSORS_ONLN)))
        #else
        return 1
        #endif
    }()
}

/// Splits `0..<count` into at most `threads` contiguous chunks and runs `body` on each chunk,
/// concurrently when `threads > 1`. The chunking depends only on `count` and `threads`, so a
/// body that writes disjoint outputs gives the same result for any thread count.
@inlinable
func parallelChunks(count: Int, threads: Int, minimumChunk: Int = 1,
                    _ body: @Sendable (Range<Int>) -> Void) {
    parallelChunksIndexed(count: count, threads: threads, minimumChunk: minimumChunk) { _, r in body(r) }
}

/// The number of chunks `parallelChunks` uses for these arguments.
@inlinable
func chunkCount(count: Int, threads: Int, minimumChunk: Int = 1) -> Int {
    guard count > 0 else { return 0 }
    return min(max(1, threads), max(1, count / max(1, minimumChunk)))
}

/// As `parallelChunks`, also passing each chunk's index in `0..<chunkCount(...)`.
@inlinable
func parallelChunksIndexed(count: Int, threads: Int, minimumChunk: Int = 1,
                           _ body: @Sendable (Int, Range<Int>) -> Void) {
    let chunks = chunkCount(count: count, threads: threads, minimumChunk: minimumChunk)
    guard chunks > 0 else { return }
    if chunks == 1 {
        body(0, 0..<count)
        return
    }
    DispatchQueue.concurrentPerform(iterations: chunks) { c in
        let lo = count * c / chunks
        let hi = count * (c + 1) / chunks
        body(c, lo..<hi)
    }
}
