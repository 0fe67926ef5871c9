import Foundation
import Testing
import HybridPQ
import LiveTestSupport

/// Durability under SIGKILL: 100 writer processes (`live-writer`, ten per directory, each
/// continuing where the last one's directory left off) are killed at random moments while they
/// add, upsert, remove, commit, flush and compact; after each kill the directory must reopen and
/// hold exactly the operations the writer acknowledged (printed after `commit()` returned) — or
/// one more, committed but not yet acknowledged — never a half batch, never a lost commit.
@Suite("Live index: killed writers lose nothing committed", .serialized)
struct LiveCrashTests {
    /// The writer executable, built beside this test binary.
    static var writer: String {
        let exe = (try? FileManager.default.destinationOfSymbolicLink(atPath: "/proc/self/exe")) ?? CommandLine.arguments[0]
        return URL(fileURLWithPath: exe).deletingLastPathComponent().appendingPathComponent("live-writer").path
    }

    /// The live (id → vector) contents of a reopened directory.
    static func contents(_ dir: String) throws -> [Int64: [Float]] {
        let snapshot = try LiveIndex<FlatIndex>.open(directory: dir).snapshot()
        var out: [Int64: [Float]] = [:]
        for s in snapshot.segments {
            for row in 0..<s.index.count where !s.deleted.contains(row) {
                let id = s.index.id(atRow: row)
                #expect(out[id] == nil, "id \(id) live twice")
                out[id] = s.index.vectors.withUnsafeBufferPointer { Array($0[(row * LiveWriterScript.dimension)..<((row + 1) * LiveWriterScript.dimension)]) }
            }
        }
        return out
    }

    @Test("100 writers killed with SIGKILL at random moments: every directory reopens with exactly the committed operations")
    func killedWriters() throws {
        let writer = Self.writer
        try #require(FileManager.default.isExecutableFile(atPath: writer), "live-writer is built beside the tests: \(writer)")
        var rng = SeededGenerator(seed: 2026)
        var kills = 0, acknowledged = 0, inFlightSurvived = 0
        for d in 0..<10 {
            let dir = TestData.temporaryDirectory() + "/live-\(d)"
            var next = 0            // the first operation the next writer runs
            for _ in 0..<10 {
                let p = Process()
                p.executableURL = URL(fileURLWithPath: writer)
                p.arguments = [dir, "\(next)"]
                let out = Pipe()
                p.standardOutput = out
                p.standardError = FileHandle.nullDevice
                try p.run()
                usleep(UInt32(5_000 + rng.next() % 60_000))
                kill(p.processIdentifier, SIGKILL)
                p.waitUntilExit()
                kills += 1
                let printed = String(decoding: out.fileHandleForReading.readDataToEndOfFile(), as: UTF8.self)
                let last = printed.split(separator: "\n").compactMap { Int($0) }.last ?? (next - 1)
                acknowledged += max(0, last - next + 1)
                guard FileManager.default.fileExists(atPath: dir + "/MANIFEST") else {
                    // Killed before the directory was created: nothing was acknowledged.
                    #expect(last < next)
                    continue
                }
                let got = try Self.contents(dir)
                if got == LiveWriterScript.state(after: last) {
                    next = last + 1
                } else if got == LiveWriterScript.state(after: last + 1) {
                    next = last + 2
                    inFlightSurvived += 1
                } else {
                    Issue.record("directory \(d), writer from \(next): contents match neither operation \(last) nor \(last + 1)")
                    return
                }
            }
        }
        #expect(kills == 100)
        #expect(acknowledged > 100, "the writers got far enough to matter (\(acknowledged) operations acknowledged)")
        print("live crash test: \(kills) kills, \(acknowledged) operations acknowledged, \(inFlightSurvived) committed in flight")
    }
}
