import Foundation
import Testing
import HybridPQ

/// A live index in a directory: reopening gives back exactly what was written, through the log
/// and through segment files and manifests; torn and damaged logs, newer formats and stale files.
@Suite("Live index: write-ahead log, manifest, reopening")
struct LiveDirectoryTests {
    static let d = LiveIndexTests.d

    static func all(_ index: LiveIndex<PQIndex>, _ q: FeatureBatch) throws -> SearchResults {
        try index.search(q, parameters: SearchParameters(k: 1000))
    }

    @Test("reopening replays the log, then the manifest's segments after a flush, with deletions; stale files go")
    func reopen() throws {
        let dir = TestData.temporaryDirectory() + "/live"
        let pq = PQIndex(quantizer: try LiveIndexTests.quantizer())
        var live: [Int64: [Float]] = [:]
        let q = FeatureBatch(TestData.gaussian(rows: 5, columns: Self.d, seed: 910))
        do {
            let index = try LiveIndex.create(directory: dir, template: pq, policy: MergePolicy(maxSegments: 2, maxDeletedFraction: 0.3, flushItems: 1 << 30))
            #expect(throws: LiveIndexError.directory(path: dir, reason: "already holds a live index (open it instead)")) {
                try LiveIndex.create(directory: dir, template: pq)
            }
            try LiveIndexTests.churn(index, live: &live, steps: 40, seed: 11)
            try index.commit()
            let want = try Self.all(index, q)
            // Log only: nothing flushed yet.
            let reopened = try LiveIndex<PQIndex>.open(directory: dir)
            #expect(reopened.count == live.count)
            #expect(try Self.all(reopened, q) == want)
        }
        do {
            // Flushes: segments written, merged by the policy, deletions in the manifest.
            let index = try LiveIndex<PQIndex>.open(directory: dir, policy: MergePolicy(maxSegments: 2, maxDeletedFraction: 0.3, flushItems: 1 << 30))
            for round in 0..<4 {
                try index.flush()
                try LiveIndexTests.churn(index, live: &live, steps: 15, seed: 20 + UInt64(round))
                try index.commit()
            }
            try index.flush()
            let files = try FileManager.default.contentsOfDirectory(atPath: dir)
            #expect(files.filter { $0.hasPrefix("seg-") }.count <= 3)
            #expect(files.filter { $0.hasSuffix(".wal") }.count == 1)
            // Junk a crash could leave: an unreferenced segment, an old log, an atomic-write temporary.
            for junk in ["seg-99999999.hpq", "log-00000001.wal", ".MANIFEST.tmp-1-2"] {
                _ = FileManager.default.createFile(atPath: dir + "/" + junk, contents: Data([1, 2, 3]))
            }
            let want = try Self.all(index, q)
            let reopened = try LiveIndex<PQIndex>.open(directory: dir, mapping: true)
            #expect(try Self.all(reopened, q) == want)
            #expect(reopened.count == live.count)
            let after = try FileManager.default.contentsOfDirectory(atPath: dir)
            #expect(!after.contains("seg-99999999.hpq") && !after.contains("log-00000001.wal") && !after.contains(".MANIFEST.tmp-1-2"))
            let reference = try LiveIndexTests.reference(pq, live)
            #expect(try reopened.search(q, parameters: SearchParameters(k: 9)).ids == reference.search(q, parameters: SearchParameters(k: 9)).ids)
            try reopened.compact()
            #expect(reopened.segmentCount == 1)
            #expect(try LiveIndex<PQIndex>.open(directory: dir).search(q, parameters: SearchParameters(k: 9)).ids
                    == reference.search(q, parameters: SearchParameters(k: 9)).ids)
        }
    }

    /// A segment file cut short under a mapped live index: searches report it (reading the
    /// mapping past the file's new end would kill the process with SIGBUS), snapshots taken
    /// before too; the copied (unmapped) index of the same directory is not affected.
    @Test("a mapped segment file truncated under a live index is a typed error, not a crash")
    func truncatedMapping() throws {
        let dir = TestData.temporaryDirectory() + "/live"
        let pq4 = try PQ4Index(quantizer: try ProductQuantizer.train(TestData.gaussian(rows: 600, columns: Self.d, seed: 905),
                                                                      subspaces: 8, bitsPerCode: 4, iterations: 4, seed: 3))
        let q = FeatureBatch(TestData.gaussian(rows: 2, columns: Self.d, seed: 911))
        do {
            let index = try LiveIndex.create(directory: dir, template: pq4)
            try index.add(FeatureBatch(TestData.gaussian(rows: 5_000, columns: Self.d, seed: 912)), ids: (0..<5_000).map(Int64.init))
            try index.commit()
            try index.flush()
        }
        let copied = try LiveIndex<PQ4Index>.open(directory: dir)
        let mapped = try LiveIndex<PQ4Index>.open(directory: dir, mapping: true)
        let held = mapped.snapshot()
        let want = try copied.search(q, parameters: SearchParameters(k: 5))
        #expect(try mapped.search(q, parameters: SearchParameters(k: 5)) == want)
        let segment = dir + "/" + (try FileManager.default.contentsOfDirectory(atPath: dir).first { $0.hasPrefix("seg-") }!)
        let size = Int(try FileManager.default.attributesOfItem(atPath: segment)[.size] as! UInt64)
        #expect(truncate(segment, off_t(size / 3)) == 0)
        let expected = IndexError.mappedFileChanged(path: segment, expected: size, found: size / 3)
        #expect(throws: LiveIndexError.index(expected)) { try mapped.search(q, parameters: SearchParameters(k: 5)) }
        #expect(throws: expected) { try held.search(q, parameters: SearchParameters(k: 5)) }
        #expect(try copied.search(q, parameters: SearchParameters(k: 5)) == want)
    }

    static func logFile(_ dir: String) throws -> String {
        dir + "/" + (try FileManager.default.contentsOfDirectory(atPath: dir).first { $0.hasSuffix(".wal") }!)
    }

    /// A new live pq index in `dir`.
    static func created(_ dir: String) throws -> LiveIndex<PQIndex> {
        try LiveIndex.create(directory: dir, template: PQIndex(quantizer: try LiveIndexTests.quantizer()))
    }

    static func size(_ path: String) throws -> Int {
        Int(try FileManager.default.attributesOfItem(atPath: path)[.size] as! UInt64)
    }

    /// Records wait in memory until `commit()` writes (and syncs) them, closing the index writes
    /// them, or the buffer passes its limit.
    @Test("log records are written on commit, closing, or a full buffer — and then reopen")
    func bufferedLog() throws {
        let (dir, x) = (TestData.temporaryDirectory() + "/live", TestData.gaussian(rows: 2_000, columns: Self.d, seed: 913))
        do {
            let index = try Self.created(dir)
            let log = try Self.logFile(dir), empty = try Self.size(log)
            try index.add(FeatureBatch(x.slicing(rows: 0..<5)), ids: (0..<5).map(Int64.init))
            try index.remove(ids: [3])
            #expect(try Self.size(log) == empty)
            try index.commit()
            #expect(try Self.size(log) > empty)
            #expect(try LiveIndex<PQIndex>.open(directory: dir).count == 4)
            // Past the buffer's limit (1 MiB): written without a commit, whole records only.
            let before = try Self.size(log)
            var id: Int64 = 100
            for _ in 0..<10 {
                try index.add(FeatureBatch(x), ids: (0..<2_000).map { id + Int64($0) })
                id += 2_000
            }
            let written = try Self.size(log)
            #expect(written > before)
            #expect(written - before < 10 * 2_000 * (8 + 4 * Self.d))
            #expect(try LiveIndex<PQIndex>.open(directory: dir).count < 4 + 20_000)
            try index.add(FeatureBatch(x.slicing(rows: 5..<7)), ids: [50, 51])
        }
        // Closed without a commit: the buffered records reached the file.
        let reopened = try LiveIndex<PQIndex>.open(directory: dir)
        #expect(reopened.count == 4 + 20_000 + 2)
        #expect(reopened.contains(51) && !reopened.contains(3))
    }

    @Test("a torn last record is dropped; damage before the end is a typed error; a newer log or manifest is refused by name")
    func tornAndDamagedLogs() throws {
        let (dir, x) = (TestData.temporaryDirectory() + "/live", TestData.gaussian(rows: 6, columns: Self.d, seed: 911))
        do {
            let index = try Self.created(dir)
            try index.add(FeatureBatch(x.slicing(rows: 0..<3)), ids: [1, 2, 3])
            try index.add(FeatureBatch(x.slicing(rows: 3..<6)), ids: [4, 5, 6])
            try index.commit()
        }
        let log = try Self.logFile(dir)
        let full = try Data(contentsOf: URL(fileURLWithPath: log))
        let recordSize = (full.count - 16) / 2
        // Every cut inside the second record: the first survives, the second is gone, and the
        // log is truncated so the next record follows the first.
        for cut in [1, 7, 8, recordSize / 2, recordSize - 1] {
            try full.prefix(full.count - cut).write(to: URL(fileURLWithPath: log))
            let index = try LiveIndex<PQIndex>.open(directory: dir)
            #expect(index.count == 3 && index.contains(3) && !index.contains(4), "cut \(cut)")
            #expect(try Data(contentsOf: URL(fileURLWithPath: log)).count == 16 + recordSize)
        }
        // A flipped byte in the first record, with the second after it: damage, not a torn tail.
        var damaged = full
        damaged[16 + 20] ^= 0x40
        try damaged.write(to: URL(fileURLWithPath: log))
        #expect { try LiveIndex<PQIndex>.open(directory: dir) } throws: { e in
            if case let .corruptLog(p, o, _) = e as? LiveIndexError { return p == log && o == 16 } else { return false }
        }
        // A log from a newer version (header checksum recomputed).
        var newer = full
        newer[8] = 2
        let crc = CRC32C.checksum(Array(newer.prefix(12)))
        for i in 0..<4 { newer[12 + i] = UInt8((crc >> (8 * UInt32(i))) & 0xFF) }
        try newer.write(to: URL(fileURLWithPath: log))
        #expect(throws: LiveIndexError.newerFormat(path: log, what: "write-ahead log", found: 2, supported: 1)) {
            try LiveIndex<PQIndex>.open(directory: dir)
        }
        try full.write(to: URL(fileURLWithPath: log))
        // A manifest from a newer version.
        let manifest = dir + "/MANIFEST"
        let contents = try IndexFile.read(manifest)
        var meta = String(decoding: contents.payload("META")!, as: UTF8.self)
        meta = meta.replacingOccurrences(of: "live.version=1", with: "live.version=3")
        try IndexFile.write(kind: .liveManifest, sections: contents.sections.values.map { $0.tag == "META" ? .bytes("META", Array(meta.utf8)) : $0 },
                            to: manifest)
        #expect(throws: LiveIndexError.newerFormat(path: manifest, what: "manifest", found: 3, supported: 1)) {
            try LiveIndex<PQIndex>.open(directory: dir)
        }
    }

    @Test("opening a directory without an index, or of another kind, is a typed error")
    func wrongDirectory() throws {
        let dir = TestData.temporaryDirectory()
        #expect(throws: LiveIndexError.directory(path: dir, reason: "holds no live index (no MANIFEST)")) { try LiveIndex<PQIndex>.open(directory: dir) }
        _ = try LiveIndex.create(directory: dir + "/flat", template: FlatIndex(dimension: Self.d))
        #expect { try LiveIndex<PQIndex>.open(directory: dir + "/flat") } throws: { e in
            if case .file(.wrongKind) = e as? LiveIndexError { return true } else { return false }
        }
    }
}
