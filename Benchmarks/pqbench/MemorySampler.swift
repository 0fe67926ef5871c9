import Foundation

/// The peak anonymous memory (heap, not file mappings) of this process while a step runs,
/// sampled from /proc/self/status every 10 ms: a streamed build's figure without the pages of
/// the memory-mapped input, which the kernel counts in the resident set but can drop at will.
/// nil where /proc is not there.
enum MemorySampler {
    /// Runs `body` and returns its result with the peak `RssAnon` seen (bytes).
    static func peakAnonymous<T>(_ body: () throws -> T) rethrows -> (T, Int?) {
        guard let first = anonymousBytes() else { return (try body(), nil) }
        let peak = Peak(first)
        let thread = Thread {
            while !peak.stopped {
                if let b = anonymousBytes() { peak.offer(b) }
                usleep(10_000)
            }
        }
        thread.start()
        defer { peak.stop() }
        let value = try body()
        if let b = anonymousBytes() { peak.offer(b) }
        return (value, peak.value)
    }

    /// `RssAnon` of /proc/self/status in bytes.
    static func anonymousBytes() -> Int? {
        guard let text = try? String(contentsOfFile: "/proc/self/status", encoding: .utf8) else { return nil }
        for line in text.split(separator: "\n") where line.hasPrefix("RssAnon:") {
            let kb = line.split(separator: " ").compactMap { Int($0) }.first
            return kb.map { $0 * 1024 }
        }
        return nil
    }

    private final class Peak: @unchecked Sendable {
        private let lock = NSLock()
        private var best: Int
        private var done = false
        init(_ v: Int) { best = v }
        var value: Int { lock.lock(); defer { lock.unlock() }; return best }
        var stopped: Bool { lock.lock(); defer { lock.unlock() }; return done }
        func offer(_ v: Int) { lock.lock(); best = max(best, v); lock.unlock() }
        func stop() { lock.lock(); done = true; lock.unlock() }
    }
}
