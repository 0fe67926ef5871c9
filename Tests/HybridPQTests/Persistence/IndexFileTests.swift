import Foundation
import Testing
import HybridPQ

@Suite("Index files")
struct IndexFileTests {
    static func pqIndex() throws -> PQIndex {
        let pq = try ProductQuantizer.train(TestData.gaussian(rows: 1000, columns: 16, seed: 41), subspaces: 4, iterations: 4)
        var index = PQIndex(quantizer: pq, metric: .innerProduct)
        try index.add(TestData.gaussian(rows: 777, columns: 16, seed: 42), ids: (0..<777).map { Int64($0) * 1_000_003 })
        return index
    }

    @Test("save and load round-trip, copied or memory-mapped, and search the same")
    func roundTrip() throws {
        let dir = TestData.temporaryDirectory()
        let index = try Self.pqIndex()
        try index.save(to: dir + "/a.hpq")
        let q = TestData.gaussian(rows: 9, columns: 16, seed: 43)
        let expected = try index.search(q, k: 6, threads: 1)
        for mapping in [false, true] {
            let back = try PQIndex.load(from: dir + "/a.hpq", mapping: mapping)
            #expect(back.quantizer == index.quantizer && back.metric == index.metric)
            #expect(back.store.onlyRun.codes.array == index.store.onlyRun.codes.array && back.store.onlyRun.ids.array == index.store.onlyRun.ids.array)
            #expect(back.store.onlyRun.codes.isMapped == mapping)
            #expect(try back.search(q, k: 6, threads: 2) == expected)
            // A mapped index can still grow: it copies itself into memory first.
            var grown = back
            try grown.add(TestData.gaussian(rows: 3, columns: 16, seed: 44), ids: nil)
            #expect(grown.count == 780 && !grown.store.onlyRun.codes.isMapped)
        }
        var flat = FlatIndex(dimension: 16, metric: .l2)
        try flat.add(TestData.gaussian(rows: 50, columns: 16, seed: 45), ids: nil)
        try flat.save(to: dir + "/f.hpq")
        let flatBack = try FlatIndex.load(from: dir + "/f.hpq", mapping: true)
        #expect(try flatBack.search(q, k: 3, threads: 1) == flat.search(q, k: 3, threads: 1))
        #expect(throws: IndexFileError.wrongKind(path: dir + "/f.hpq", expected: "pq", found: "flat")) {
            try PQIndex.load(from: dir + "/f.hpq")
        }
    }

    /// Saves an index, lets `damage` edit the bytes, and returns the load error.
    func loadError(_ damage: (inout [UInt8]) -> Void) throws -> IndexFileError {
        let dir = TestData.temporaryDirectory()
        try Self.pqIndex().save(to: dir + "/x.hpq")
        var bytes = [UInt8](try Data(contentsOf: URL(fileURLWithPath: dir + "/x.hpq")))
        damage(&bytes)
        try AtomicFile.write(bytes, to: dir + "/x.hpq")
        return try #require(throws: IndexFileError.self) { try PQIndex.load(from: dir + "/x.hpq") }
    }

    @Test("a truncated file is reported as truncated")
    func truncated() throws {
        for keep in [5, 40, 100, 3000] {
            let e = try loadError { $0.removeLast($0.count - keep) }
            guard case .truncated = e else { Issue.record("keeping \(keep) bytes gave \(e)"); continue }
        }
    }

    @Test("a flipped bit is a checksum mismatch naming the section")
    func bitFlip() throws {
        // Byte 20 is in the header; the last byte of the file is in the last section (IDS).
        var e = try loadError { $0[20] ^= 0x10 }
        guard case let .checksumMismatch(_, section, _, _) = e, section == "header" else { Issue.record("\(e)"); return }
        e = try loadError { $0[$0.count - 1] ^= 0x01 }
        guard case let .checksumMismatch(_, section2, _, _) = e, section2 == "IDS" else { Issue.record("\(e)"); return }
        e = try loadError { $0[80] ^= 0x01 }  // inside the section table
        guard case let .checksumMismatch(_, section3, _, _) = e, section3 == "section table" else { Issue.record("\(e)"); return }
    }

    @Test("a wrong version or magic is reported as such")
    func versionAndMagic() throws {
        let e = try loadError { $0[8] = 7 }
        #expect(e == .unsupportedVersion(path: e.pathForTest, found: 7, supported: [1]))
        let m = try loadError { $0[0] = UInt8(ascii: "X") }
        #expect(m == .badMagic(path: m.pathForTest))
    }

    @Test("an interrupted save leaves the previous file intact and no temporary behind")
    func interruptedSave() throws {
        let dir = TestData.temporaryDirectory()
        let path = dir + "/keep.hpq"
        let index = try Self.pqIndex()
        try index.save(to: path)
        let before = try Data(contentsOf: URL(fileURLWithPath: path))
        struct Interrupted: Error {}
        // A writer that dies half-way through, as a crash or a full disk would.
        #expect(throws: Interrupted.self) {
            try AtomicFile.write(to: path) { sink in
                try sink.write(Array(before.prefix(before.count / 2)))
                throw Interrupted()
            }
        }
        #expect(try Data(contentsOf: URL(fileURLWithPath: path)) == before)
        #expect(try FileManager.default.contentsOfDirectory(atPath: dir) == ["keep.hpq"])
        #expect(try PQIndex.load(from: path).count == index.count)
        // Saving into a directory that does not exist fails cleanly too.
        #expect(throws: IndexFileError.self) { try index.save(to: dir + "/missing/x.hpq") }
    }
}

extension IndexFileError {
    /// The path a load error names.
    var pathForTest: String {
        switch self {
        case let .io(p, _), let .badMagic(p), let .unsupportedVersion(p, _, _), let .truncated(p, _, _, _),
             let .checksumMismatch(p, _, _, _), let .missingSection(p, _), let .wrongKind(p, _, _), let .inconsistent(p, _),
             let .invalidQuantizer(p, _), let .invalidModel(p, _), let .invalidIndex(p, _):
            return p
        }
    }
}
