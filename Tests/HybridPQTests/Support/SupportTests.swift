import Foundation
import Testing
import HybridPQ

@Suite("Support: seeded generator, stored arrays, atomic files")
struct SupportTests {
    /// First outputs of xoshiro256** seeded through SplitMix64, from an independent Python
    /// implementation of both (Blackman & Vigna's reference algorithms); the sequence is part of
    /// the reproducibility promise (trained codebooks depend on it).
    @Test("SeededGenerator's sequence is fixed")
    func seededSequence() {
        var g0 = SeededGenerator(seed: 0)
        #expect((0..<4).map { _ in g0.next() } == [0x99EC_5F36_CB75_F2B4, 0xBF6E_1F78_4956_452A, 0x1A5F_849D_4933_E6E0, 0x6AA5_94F1_262D_2D2C])
        var g1 = SeededGenerator(seed: 1234)
        #expect((0..<4).map { _ in g1.next() } == [0x0BAB_45D9_A0E3_AE53, 0xD7C6_4066_0C19_433E, 0xB0DE_DAA0_D09A_6691, 0xDEC9_F41B_58EC_86EB])
    }

    @Test("StoredArray appends and edits in memory; a mapped array is copied, never written")
    func storedArray() throws {
        var a = StoredArray<Int64>([1, 2])
        a.append(contentsOf: [3])
        a.modify { $0[0] = 9 }
        #expect(a.array == [9, 2, 3] && !a.isMapped)
        let dir = TestData.temporaryDirectory()
        var index = FlatIndex(dimension: 2)
        try index.add(Matrix(rowVectors: [[1, 0], [0, 1]]), ids: [5, 6])
        try index.save(to: dir + "/f.hpq")
        let before = try Data(contentsOf: URL(fileURLWithPath: dir + "/f.hpq"))
        var mapped = try FlatIndex.load(from: dir + "/f.hpq", mapping: true)
        #expect(mapped.ids.isMapped && mapped.ids.array == [5, 6])
        try mapped.add(Matrix(rowVectors: [[1, 1]]), ids: [7])
        #expect(!mapped.ids.isMapped && mapped.ids.array == [5, 6, 7])
        #expect(try Data(contentsOf: URL(fileURLWithPath: dir + "/f.hpq")) == before)
    }

    @Test("AtomicFile replaces a file whole and leaves no temporary behind")
    func atomicFile() throws {
        let dir = TestData.temporaryDirectory(), path = dir + "/x.bin"
        try AtomicFile.write([1, 2, 3], to: path)
        try AtomicFile.write([4, 5], to: path)
        #expect(try Data(contentsOf: URL(fileURLWithPath: path)) == Data([4, 5]))
        #expect(try FileManager.default.contentsOfDirectory(atPath: dir) == ["x.bin"])
        #expect(throws: AtomicFile.WriteError.self) { try AtomicFile.write([1], to: dir + "/missing/x.bin") }
    }
}

@Suite("Hardening: stale temporaries, negative ids")
struct HardeningTests {
    @Test("a save removes temporaries a killed save left behind, not a live writer's")
    func staleTemporaries() throws {
        let dir = TestData.temporaryDirectory()
        // A pid that surely has exited: a child that ran and was reaped.
        let p = Process()
        p.executableURL = URL(fileURLWithPath: "/bin/true")
        try p.run()
        p.waitUntilExit()
        let dead = dir + "/.x.hpq.tmp-\(p.processIdentifier)-7", mine = dir + "/.x.hpq.tmp-\(getpid())-8"
        for f in [dead, mine] { _ = FileManager.default.createFile(atPath: f, contents: Data([1])) }
        var index = FlatIndex(dimension: 2)
        try index.add(Matrix(rowVectors: [[1, 0]]), ids: [4])
        try index.save(to: dir + "/x.hpq")
        #expect(!FileManager.default.fileExists(atPath: dead))
        #expect(FileManager.default.fileExists(atPath: mine))
    }

    @Test("a negative id is a typed error: −1 is what empty result slots hold")
    func negativeIds() throws {
        var index = FlatIndex(dimension: 2)
        #expect(throws: IndexError.negativeId(-1)) { try index.add(Matrix(rowVectors: [[1, 0], [0, 1]]), ids: [3, -1]) }
        #expect(index.count == 0)
    }

    /// Every plain index kind (flat, pq, pq4, opq through the rotated wrapper, IVF) rejects an
    /// id it holds or one repeated within a batch, in both of `add`'s paths (ids ascending above
    /// the stored ones: no set built; any other order: a set and a pass over the stored ids),
    /// and stores nothing of the rejected batch; automatic ids continue above every stored id.
    @Test("duplicate ids are typed errors in every plain index kind; nothing is stored")
    func duplicateIds() throws {
        let x = TestData.gaussian(rows: 400, columns: 8, seed: 31)
        let pq8 = try ProductQuantizer.train(x, subspaces: 4, iterations: 2, seed: 1)
        let pq4 = try ProductQuantizer.train(x, subspaces: 4, bitsPerCode: 4, iterations: 2, seed: 1)
        let kinds: [AnyIndex] = [.flat(FlatIndex(dimension: 8)), .pq(PQIndex(quantizer: pq8)), .pq4(try PQ4Index(quantizer: pq4)),
                                 .opq(try OPQIndex(rotation: Matrix.identity(8), base: PQIndex(quantizer: pq8)))]
        var ivf = try IVFIndex(centroids: try IVFIndex.trainCentroids(x, lists: 4), quantizer: pq8)
        for var index in kinds {
            try index.add(x.slicing(rows: 0..<3), ids: [10, 20, 30])
            let two = x.slicing(rows: 3..<5)
            #expect(throws: IndexError.duplicateId(20)) { try index.add(two, ids: [40, 20]) }       // stored, batch unordered
            #expect(throws: IndexError.duplicateId(30)) { try index.add(two, ids: [25, 30]) }       // stored, batch ascending
            #expect(throws: IndexError.duplicateId(50)) { try index.add(two, ids: [50, 50]) }       // repeated in the batch
            #expect(index.count == 3, "\(index.kind.name)")
            try index.add(two, ids: [35, 5])                                                        // below the largest: fine
            try index.add(two, ids: [31, 32])
            #expect(index.automaticIdStart == 36, "\(index.kind.name)")
            try index.add(FeatureBatch(x.slicing(rows: 0..<1)), ids: nil)
            #expect(index.count == 8 && index.automaticIdStart == 37, "\(index.kind.name)")
        }
        try ivf.add(x.slicing(rows: 0..<3), ids: [10, 20, 30])
        #expect(throws: IndexError.duplicateId(10)) { try ivf.add(x.slicing(rows: 3..<4), ids: [10]) }
        #expect(ivf.count == 3)
    }
}

extension HardeningTests {
    /// Rewrites `path` with one META value replaced (checksums recomputed by `IndexFile.write`).
    static func editMeta(_ path: String, _ key: String, to value: String) throws {
        let c = try IndexFile.read(path)
        var meta = String(decoding: c.payload("META")!, as: UTF8.self)
        let old = meta.split(separator: "\n").first { $0.hasPrefix(key + "=") }!
        meta = meta.replacingOccurrences(of: String(old), with: key + "=" + value)
        try IndexFile.write(kind: c.kind, sections: c.sections.values.map { $0.tag == "META" ? .bytes("META", Array(meta.utf8)) : $0 }, to: path)
    }

    @Test("an edited sub-space count no longer reinterprets codebooks: pq files, models, fine stages")
    func editedSubspaces() throws {
        let dir = TestData.temporaryDirectory()
        let pq = PQIndex(quantizer: try ProductQuantizer.train(TestData.gaussian(rows: 300, columns: 8, seed: 1), subspaces: 4, iterations: 2, seed: 1))
        try pq.save(to: dir + "/pq.hpq")                          // empty: no codes to give the shape away
        try Self.editMeta(dir + "/pq.hpq", "subspaces", to: "2")
        #expect { try PQIndex.load(from: dir + "/pq.hpq") } throws: { e in
            if case .inconsistent = e as? IndexFileError { return true } else { return false }
        }
        var model = try ModelFixtures.model(mode: .joint, levels: 0, dimension: 16)
        model.fine = try TwoStageIndexTests.fine()
        for key in ["model.subspaces", "fine.subspaces"] {
            try model.save(to: dir + "/m.hpqm")
            try Self.editMeta(dir + "/m.hpqm", key, to: "8")
            #expect(throws: IndexFileError.self) { try HybridModel.load(from: dir + "/m.hpqm") }
        }
    }
}

extension HardeningTests {
    @Test("automatic ids start above every id stored, also after a reload: they never collide with chosen ones")
    func automaticIds() throws {
        let x = TestData.gaussian(rows: 300, columns: 8, seed: 11)
        let q8 = try ProductQuantizer.train(x, subspaces: 2, iterations: 2, seed: 1)
        let q4 = try ProductQuantizer.train(x, subspaces: 4, bitsPerCode: 4, iterations: 2, seed: 1)
        let dir = TestData.temporaryDirectory()
        func check<I: VectorIndex>(_ index: I, reload: (String) throws -> I, save: (I, String) throws -> Void) throws {
            var i = index
            try i.add(x.slicing(rows: 0..<2), ids: [40, 7])
            try i.add(x.slicing(rows: 2..<4), ids: nil)
            try save(i, dir + "/a.hpq")
            var back = try reload(dir + "/a.hpq")
            try back.add(x.slicing(rows: 4..<5), ids: nil)
            let r = try back.search(x.slicing(rows: 0..<5), parameters: SearchParameters(k: 5))
            #expect(Set(r.ids) == [40, 7, 41, 42, 43], "\(I.self)")
        }
        try check(FlatIndex(dimension: 8), reload: { try FlatIndex.load(from: $0) }, save: { try $0.save(to: $1) })
        try check(PQIndex(quantizer: q8), reload: { try PQIndex.load(from: $0) }, save: { try $0.save(to: $1) })
        try check(try PQ4Index(quantizer: q4), reload: { try PQ4Index.load(from: $0) }, save: { try $0.save(to: $1) })
    }
}
