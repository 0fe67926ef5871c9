import Foundation

/// A one-line progress report with an ETA on stderr, for steps longer than a few seconds.
/// Silent for the first second (short steps print nothing), then rewrites one line.
final class Progress {
    let label: String
    let enabled: Bool
    let start = Clock.now()
    var printed = false
    var finished = false

    init(_ label: String, enabled: Bool) {
        self.label = label
        self.enabled = enabled
    }

    func update(_ done: Int, _ total: Int) {
        guard enabled, total > 0 else { return }
        let elapsed = Clock.now() - start
        guard elapsed > 1 || printed else { return }
        let eta = done > 0 ? elapsed / Double(done) * Double(total - done) : 0
        let line = String(format: "\rpqbench: %@ %d/%d, %.0f s elapsed, ETA %.0f s   ", label, done, total, elapsed, eta)
        FileHandle.standardError.write(Data(line.utf8))
        printed = true
        if done == total { FileHandle.standardError.write(Data("\n".utf8)); finished = true }
    }

    /// Ends the line of a step that stopped before its total (k-means converging early).
    func finish() {
        if printed && !finished { FileHandle.standardError.write(Data("\n".utf8)); finished = true }
    }
}
