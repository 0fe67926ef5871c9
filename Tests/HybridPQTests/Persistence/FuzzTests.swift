import Foundation
import Testing
import HybridPQ
import LiveTestSupport

/// Deterministic fuzzing of every loader: 10,000 mutations per file kind — bit flips,
/// truncations, and structure-aware edits of counts, offsets, shapes and META values with every
/// checksum recomputed, so the structural checks (not the CRCs) are what is exercised. A loader
/// may accept a mutated file or throw; a trap ends the test process, which is the failure.
@Suite("Fuzz: every loader, 10,000 mutations per file kind", .serialized)
struct FuzzTests {
    static let mutations = 10_000

    /// Scratch space in memory when the system has it (tmpfs), else the temporary directory;
    /// removed when the test process exits (tmpfs is memory: runs must not leave files behind).
    static let scratch: String = {
        let base = FileManager.default.fileExists(atPath: "/dev/shm") ? "/dev/shm/" : NSTemporaryDirectory()
        let dir = base + "hybridpq-fuzz-\(getpid())"
        try? FileManager.default.createDirectory(atPath: dir, withIntermediateDirectories: true)
        atexit { try? FileManager.default.removeItem(atPath: FuzzTests.scratch) }
        return dir
    }()

    // MARK: - The index-file container, written independently of IndexFile

    struct Container {
        var version: UInt32, kind: UInt32
        var sections: [(tag: [UInt8], type: UInt32, payload: [UInt8])]

        static func parse(_ b: [UInt8]) -> Container? {
            guard b.count >= 64 else { return nil }
            let count = Int(u32(b, 16))
            guard count <= 1024, b.count >= 64 + count * 32 + 4 else { return nil }
            var sections: [(tag: [UInt8], type: UInt32, payload: [UInt8])] = []
            for i in 0..<count {
                let e = 64 + i * 32
                let off = Int(u64(b, e + 8)), len = Int(u64(b, e + 16))
                guard off >= 0, len >= 0, off <= b.count, len <= b.count - off else { return nil }
                sections.append((Array(b[e..<(e + 4)]), u32(b, e + 4), Array(b[off..<(off + len)])))
            }
            return Container(version: u32(b, 8), kind: u32(b, 12), sections: sections)
        }

        /// Bytes with every checksum right; `edit` may change header/table words before the CRCs.
        func bytes(edit: ((inout [UInt8], inout [UInt8]) -> Void)? = nil) -> [UInt8] {
            func align(_ x: Int) -> Int { (x + 63) / 64 * 64 }
            var table: [UInt8] = []
            var offset = align(64 + sections.count * 32 + 4), size = offset
            for s in sections {
                table += s.tag + le(s.type) + le(UInt64(offset)) + le(UInt64(s.payload.count)) + le(CRC32C.checksum(s.payload)) + le(UInt32(0))
                size = offset + s.payload.count
                offset = align(offset + s.payload.count)
            }
            var header = Array("HYBRIDPQ".utf8) + le(version) + le(kind) + le(UInt32(sections.count)) + le(UInt32(0)) + le(UInt64(size))
            header += [UInt8](repeating: 0, count: 60 - header.count)
            edit?(&header, &table)
            header += le(CRC32C.checksum(header))
            table += le(CRC32C.checksum(table))
            var out = header + table
            for (i, s) in sections.enumerated() {
                out += [UInt8](repeating: 0, count: align(out.count) - out.count)
                out += s.payload
                _ = i
            }
            return out
        }
    }

    static func u32(_ b: [UInt8], _ i: Int) -> UInt32 { (0..<4).reduce(UInt32(0)) { $0 | UInt32(b[i + $1]) << (8 * UInt32($1)) } }
    static func u64(_ b: [UInt8], _ i: Int) -> UInt64 { (0..<8).reduce(UInt64(0)) { $0 | UInt64(b[i + $1]) << (8 * UInt64($1)) } }
    static func le<T: FixedWidthInteger>(_ v: T) -> [UInt8] { withUnsafeBytes(of: v.littleEndian) { Array($0) } }

    /// Values that break naive integer handling.
    static let hostileNumbers = ["0", "-1", "1", "2", "3", "7", "255", "256", "65535", "4294967295", "4294967296",
                                 "2147483648", "4611686018427387904", "9223372036854775807", "9223372036854775808",
                                 "-9223372036854775808", "18446744073709551615", "1e9", "nan", "inf", "", "x", "0x10", "1.5"]
    static let hostileWords: [UInt64] = [0, 1, 63, 64, 0x7FFF_FFFF, 0x8000_0000, 0xFFFF_FFFF, 1 << 32, 1 << 62,
                                         UInt64(Int64.max), 1 << 63, UInt64.max, UInt64.max - 63]

    /// One mutation of `original` (an index-file container): raw or structure-aware.
    static func mutate(_ original: [UInt8], _ rng: inout SeededGenerator) -> [UInt8] {
        var b = original
        let choice = rng.next() % 8
        switch choice {
        case 0:
            let i = Int(rng.next() % UInt64(b.count))
            b[i] ^= UInt8(1 << (rng.next() % 8))
            return b
        case 1:
            return Array(b.prefix(Int(rng.next() % UInt64(b.count))))
        default:
            guard var c = Container.parse(original), !c.sections.isEmpty else { return b }
            let s = Int(rng.next() % UInt64(c.sections.count))
            switch choice {
            case 2:
                // A META value (counts, shapes, kinds) replaced by a hostile one.
                guard let meta = c.sections.firstIndex(where: { $0.tag == Array("META".utf8) }) else { return c.bytes() }
                var lines = String(decoding: c.sections[meta].payload, as: UTF8.self).split(separator: "\n").map(String.init)
                guard !lines.isEmpty else { return c.bytes() }
                let l = Int(rng.next() % UInt64(lines.count))
                let key = lines[l].split(separator: "=", maxSplits: 1).first.map(String.init) ?? ""
                lines[l] = key + "=" + hostileNumbers[Int(rng.next() % UInt64(hostileNumbers.count))]
                if rng.next() % 8 == 0 { lines.remove(at: l) }
                c.sections[meta].payload = Array((lines.joined(separator: "\n") + "\n").utf8)
                return c.bytes()
            case 3:
                // An array section cut, grown or emptied.
                let n = c.sections[s].payload.count
                switch rng.next() % 3 {
                case 0: c.sections[s].payload = Array(c.sections[s].payload.prefix(Int(rng.next() % UInt64(n + 1))))
                case 1: c.sections[s].payload += [UInt8](repeating: UInt8(truncatingIfNeeded: rng.next()), count: 1 + Int(rng.next() % 64) * 4)
                default: c.sections[s].payload = []
                }
                return c.bytes()
            case 4:
                // Hostile words inside a payload (counts, offsets, codes, floats: NaN, ∞).
                guard c.sections[s].payload.count >= 8 else { return c.bytes() }
                let at = Int(rng.next() % UInt64(c.sections[s].payload.count - 7)) & ~3
                let w = hostileWords[Int(rng.next() % UInt64(hostileWords.count))]
                let bytes = rng.next() % 2 == 0 ? le(w) : le(Float.nan.bitPattern) + le(Float.infinity.bitPattern)
                for i in 0..<8 { c.sections[s].payload[at + i] = bytes[i] }
                return c.bytes()
            case 5:
                // Header words (count, declared size, version, kind) with the header CRC recomputed.
                let field = [8, 12, 16, 24][Int(rng.next() % 4)]
                let w = hostileWords[Int(rng.next() % UInt64(hostileWords.count))]
                return c.bytes { header, _ in
                    let v = field == 24 ? le(w) : le(UInt32(truncatingIfNeeded: w))
                    for i in 0..<v.count { header[field + i] = v[i] }
                }
            case 6:
                // Table entries (type, offset, length) with the table CRC recomputed.
                let field = [4, 8, 16][Int(rng.next() % 3)]
                let w = hostileWords[Int(rng.next() % UInt64(hostileWords.count))]
                return c.bytes { _, table in
                    let v = field == 4 ? le(UInt32(truncatingIfNeeded: w)) : le(w)
                    for i in 0..<v.count { table[s * 32 + field + i] = v[i] }
                }
            default:
                // Two sections' payloads swapped, or one dropped.
                if c.sections.count >= 2 && rng.next() % 2 == 0 {
                    let t = (s + 1) % c.sections.count
                    (c.sections[s].payload, c.sections[t].payload) = (c.sections[t].payload, c.sections[s].payload)
                } else {
                    c.sections.remove(at: s)
                }
                return c.bytes()
            }
        }
    }

    /// Runs `mutations` mutations of the file at `path` through `load`, restoring it after.
    static func fuzz(_ path: String, seed: UInt64, mutate: (([UInt8], inout SeededGenerator) -> [UInt8])? = nil,
                     load: (String) throws -> Void) throws -> (accepted: Int, rejected: Int) {
        let original = Array(try Data(contentsOf: URL(fileURLWithPath: path)))
        var rng = SeededGenerator(seed: seed)
        var accepted = 0, rejected = 0
        for _ in 0..<mutations {
            let bytes = (mutate ?? Self.mutate)(original, &rng)
            try Data(bytes).write(to: URL(fileURLWithPath: path))
            do { try load(path); accepted += 1 } catch { rejected += 1 }
        }
        try Data(original).write(to: URL(fileURLWithPath: path))
        return (accepted, rejected)
    }

    // MARK: - The files

    static func indexFiles() throws -> [(String, String)] {
        let d = 16
        let x = TestData.gaussian(rows: 300, columns: d, seed: 940)
        let pq8 = try ProductQuantizer.train(x, subspaces: 4, bitsPerCode: 8, iterations: 2, seed: 1)
        let pq4 = try ProductQuantizer.train(x, subspaces: 8, bitsPerCode: 4, iterations: 2, seed: 1)
        var flat = FlatIndex(dimension: d, metric: .l2); try flat.add(x)
        var pq = PQIndex(quantizer: pq8); try pq.add(x)
        var fs = try PQ4Index(quantizer: pq4); try fs.add(x)
        let rotation = try Orthogonal.random(d, seed: 3)
        var opq = try OPQIndex(rotation: rotation, base: PQIndex(quantizer: pq8)); try opq.add(x)
        var opq4 = try OPQ4Index(rotation: rotation, base: PQ4Index(quantizer: pq4)); try opq4.add(x)
        let model = try ModelFixtures.model(mode: .joint, levels: 0, dimension: d)
        let data = ModelFixtures.data(count: 30, dimension: d, seed: 941)
        var hcq = try HybridIndex(model: model); try hcq.add(targets: data.targets, frames: data.frames)
        var fine = try TwoStageIndexTests.fine(weight: 0.5)
        fine.coarseRefiner = pq8
        var dns = try TwoStageIndex(model: model, fine: fine); try dns.add(FeatureBatch(data.targets, sequences: data.frames), ids: nil)
        let centroids = try IVFIndex.trainCentroids(x, lists: 6)
        var ivf = try IVFIndex(centroids: centroids, quantizer: pq8); try ivf.add(x)
        var ivf4 = try IVFIndex(centroids: centroids, quantizer: pq4); try ivf4.add(x)
        var ivfResidual = try IVFIndex(centroids: centroids, quantizer: pq4, residual: true); try ivfResidual.add(x)
        var ivfOPQ4 = try IVFOPQIndex(rotation: rotation, base: IVFIndex(centroids: centroids, quantizer: pq4)); try ivfOPQ4.add(x)
        let coarse = try model.targetEmbeddings(data.targets, frames: data.frames)[0]
        var ivfHCQ = try IVFIndex(centroids: IVFIndex.trainCentroids(coarse, lists: 4), model: model)
        try ivfHCQ.add(FeatureBatch(data.targets, sequences: data.frames), ids: nil)
        var out: [(String, String)] = []
        func save(_ name: String, _ body: (String) throws -> Void) throws { let p = scratch + "/" + name; try body(p); out.append((name, p)) }
        try save("flat.hpq") { try flat.save(to: $0) }
        try save("pq.hpq") { try pq.save(to: $0) }
        try save("pq4.hpq") { try fs.save(to: $0) }
        try save("opq.hpq") { try opq.save(to: $0) }
        try save("opq4.hpq") { try opq4.save(to: $0) }
        try save("hcq.hpq") { try hcq.save(to: $0) }
        try save("dns.hpq") { try dns.save(to: $0) }
        try save("ivf-pq.hpq") { try ivf.save(to: $0) }
        try save("ivf-pq4.hpq") { try ivf4.save(to: $0) }
        try save("ivf-residual-pq4.hpq") { try ivfResidual.save(to: $0) }
        try save("ivf-opq4.hpq") { try ivfOPQ4.save(to: $0) }
        try save("ivf-hcq.hpq") { try ivfHCQ.save(to: $0) }
        var m = model
        m.fine = fine
        try save("model.hpqm") { try m.save(to: $0) }
        return out
    }

    @Test("index and model files: typed errors only, never a trap", arguments: ["flat.hpq", "pq.hpq", "pq4.hpq", "opq.hpq", "opq4.hpq", "hcq.hpq", "dns.hpq",
                                                                                  "ivf-pq.hpq", "ivf-pq4.hpq", "ivf-residual-pq4.hpq", "ivf-opq4.hpq", "ivf-hcq.hpq", "model.hpqm"])
    func indexFile(name: String) throws {
        let files = try Self.indexFiles()
        let path = files.first { $0.0 == name }!.1
        let queries = TestData.gaussian(rows: 2, columns: 16, seed: 942)
        let r = try Self.fuzz(path, seed: UInt64(name.utf8.reduce(0) { $0 &* 31 &+ UInt64($1) })) { p in
            if name.hasPrefix("ivf-opq") || name.hasPrefix("ivf-hcq") {
                let index = try AnyIndex.load(from: p, mapping: true)
                let seqs = ModelFixtures.data(count: 2, dimension: 16).queryTokens
                _ = try index.search(FeatureBatch(queries, sequences: seqs), parameters: SearchParameters(k: 3, nprobe: 2))
            } else if name.hasPrefix("ivf") {
                let index = try IVFIndex.load(from: p, mapping: name.hasSuffix("pq4.hpq"))
                _ = try index.search(FeatureBatch(queries), parameters: SearchParameters(k: 3, nprobe: 2))
            } else if name.hasSuffix(".hpqm") {
                let model = try HybridModel.load(from: p)
                _ = try model.targetEmbeddings(ModelFixtures.data(count: 3, dimension: 16).targets, frames: ModelFixtures.data(count: 3, dimension: 16).frames)
            } else {
                // A file that loads must also search without trapping.
                let index = try AnyIndex.load(from: p, mapping: name.hasPrefix("pq"))
                let seqs = ModelFixtures.data(count: 2, dimension: 16).queryTokens
                _ = try index.search(FeatureBatch(queries, sequences: seqs), parameters: SearchParameters(k: 3))
            }
        }
        #expect(r.accepted + r.rejected == Self.mutations)
        #expect(r.rejected > Self.mutations / 2, "\(name): most mutations must be caught (\(r.rejected) rejected)")
    }

    /// Ids a crafted file can carry with every checksum right: each loader refuses an id twice
    /// (through the ascending check, the range bitmap and the set) and a negative id, naming
    /// it; distinct ids out of order still load.
    @Test("crafted IDS sections: an id twice or below 0 is a typed error naming it; distinct ids in any order load",
          arguments: ["flat.hpq", "pq.hpq", "pq4.hpq", "opq4.hpq", "hcq.hpq", "dns.hpq", "ivf-pq.hpq", "ivf-residual-pq4.hpq"])
    func craftedIds(name: String) throws {
        let path = try Self.indexFiles().first { $0.0 == name }!.1
        let original = try Container.parse(Array(Data(contentsOf: URL(fileURLWithPath: path))))!
        let at = original.sections.firstIndex { $0.tag == Array("IDS ".utf8) || $0.tag == Array("IDS\0".utf8) }!
        let n = original.sections[at].payload.count / 8
        func load(_ ids: [Int64]) throws {
            var c = original
            c.sections[at].payload = ids.flatMap { Self.le($0) }
            let p = path + ".ids"
            try Data(c.bytes()).write(to: URL(fileURLWithPath: p))
            _ = try AnyIndex.load(from: p)
        }
        let stored = (0..<n).map { i in Int64(bitPattern: Self.u64(original.sections[at].payload, i * 8)) }
        try load(stored)
        try load(stored.reversed())                                   // distinct, out of order: loads
        var twice = stored; twice[n - 1] = twice[0]                   // in range: the bitmap finds it
        // Ids 0 … Int64.max, one twice: too wide for the bitmap (and the range's width overflows).
        var wide = stored.reversed() as [Int64]
        let twoOthers = wide.indices.filter { wide[$0] != 0 }.prefix(2)
        for i in twoOthers { wide[i] = .max }
        var negative = stored; negative[n / 2] = -1
        for (ids, reason) in [(twice, "id \(stored[0]) appears twice"), (wide, "id \(Int64.max) appears twice"),
                              (negative, "id -1 is negative")] {
            #expect(throws: IndexFileError.inconsistent(path: path + ".ids", reason: reason)) { try load(ids) }
        }
    }

    @Test("a live index directory: mutated manifests and logs give typed errors only")
    func liveDirectory() throws {
        let dir = Self.scratch + "/live"
        try? FileManager.default.removeItem(atPath: dir)
        let pq = PQIndex(quantizer: try ProductQuantizer.train(TestData.gaussian(rows: 300, columns: 8, seed: 943), subspaces: 2, iterations: 2, seed: 1))
        do {
            let index = try LiveIndex.create(directory: dir, template: pq)
            for j in 0..<6 {
                switch LiveWriterScript.operation(j) {
                case let .add(ids, x): try index.add(FeatureBatch(x), ids: ids)
                case let .upsert(ids, x): try index.upsert(FeatureBatch(x), ids: ids)
                case let .remove(ids): try index.remove(ids: ids)
                }
                if j == 2 { try index.flush() }
            }
            try index.commit()
        }
        let log = try LiveDirectoryTests.logFile(dir)
        let open: (String) throws -> Void = { _ in _ = try LiveIndex<PQIndex>.open(directory: dir) }
        let manifest = try Self.fuzz(dir + "/MANIFEST", seed: 1, load: open)
        // The log: raw flips and cuts, and records whose length, counts and dimension are hostile
        // with the record's checksum recomputed.
        let logResult = try Self.fuzz(log, seed: 2, mutate: { original, rng in
            var b = original
            switch rng.next() % 3 {
            case 0: b[Int(rng.next() % UInt64(b.count))] ^= UInt8(1 << (rng.next() % 8)); return b
            case 1: return Array(b.prefix(Int(rng.next() % UInt64(b.count))))
            default:
                // Walk to a record, then overwrite a word of its payload and re-checksum it.
                var at = 16, starts: [Int] = []
                while at + 8 <= b.count { starts.append(at); at += 8 + Int(Self.u32(b, at)) }
                guard let r = starts.randomElement(using: &rng) else { return b }
                let len = Int(Self.u32(b, r))
                let field = [0, 4, 8][Int(rng.next() % 3)]
                guard field + 4 <= len else { return b }
                let w = UInt32(truncatingIfNeeded: Self.hostileWords[Int(rng.next() % UInt64(Self.hostileWords.count))])
                let v = Self.le(w)
                for i in 0..<4 { b[r + 8 + field + i] = v[i] }
                let crc = Self.le(CRC32C.checksum(Array(b[(r + 8)..<(r + 8 + len)])))
                for i in 0..<4 { b[r + 4 + i] = crc[i] }
                return b
            }
        }, load: open)
        #expect(manifest.rejected > 0 && logResult.rejected > 0)
    }

    @Test(".npy, .fvecs and split.json readers: typed errors only")
    func dataFiles() throws {
        var rng = SeededGenerator(seed: 5)
        // .npy: header shapes and dtypes hostile, bytes flipped, cut.
        let npy = NPYArray(float32: (0..<24).map(Float.init), shape: [4, 6]).encoded()
        var npyRejected = 0
        for _ in 0..<Self.mutations {
            var b = npy
            switch rng.next() % 3 {
            case 0: b[Int(rng.next() % UInt64(b.count))] ^= UInt8(1 << (rng.next() % 8))
            case 1: b = Array(b.prefix(Int(rng.next() % UInt64(b.count))))
            default:
                var header = String(decoding: b[10..<min(b.count, 10 + Int(b[8]) + Int(b[9]) * 256)], as: UTF8.self)
                let n = Self.hostileNumbers[Int(rng.next() % UInt64(Self.hostileNumbers.count))]
                header = header.replacingOccurrences(of: rng.next() % 2 == 0 ? "4," : "6)", with: rng.next() % 2 == 0 ? "\(n)," : "\(n))")
                if rng.next() % 4 == 0 { header = header.replacingOccurrences(of: "<f4", with: ["<f8", "|b1", "<i8", ">f4", "<U4"][Int(rng.next() % 5)]) }
                let body = Array(header.utf8)
                b = Array(b[0..<8]) + Self.le(UInt16(body.count)) + body + Array(b[min(b.count, 10 + Int(b[8]) + Int(b[9]) * 256)...])
            }
            do {
                let a = try NPYArray.parse(b, path: "fuzz.npy")
                _ = try a.integers(path: "fuzz.npy")
                _ = try a.matrix(path: "fuzz.npy")
            } catch { npyRejected += 1 }
        }
        #expect(npyRejected > 0)
        // Float masks or labels holding NaN, ∞ or fractions are errors, not traps.
        for bad in [Float.nan, .infinity, 0.5, 1e30] {
            #expect(throws: DataError.self) { try NPYArray(float32: [1, 0, bad], shape: [3]).integers(path: "mask.npy") }
        }
        // The streaming reader over the same mutations of a file on disk (.npy and .fvecs below).
        let streamPath = Self.scratch + "/s.npy"
        try Data(npy).write(to: URL(fileURLWithPath: streamPath))
        let streamed = try Self.fuzz(streamPath, seed: 9, mutate: { original, rng in
            var b = original
            if rng.next() % 2 == 0 { b[Int(rng.next() % UInt64(b.count))] ^= UInt8(1 << (rng.next() % 8)) } else { b = Array(b.prefix(Int(rng.next() % UInt64(b.count)))) }
            return b
        }, load: { p in let s = try VectorStream(path: p); _ = try s.rows(0..<s.count) })
        #expect(streamed.rejected > 0)
        // .fvecs: dimension words hostile, flipped, cut.
        let fvecsPath = Self.scratch + "/x.fvecs"
        try Data(VecsFile.encode(TestData.gaussian(rows: 5, columns: 4, seed: 6))).write(to: URL(fileURLWithPath: fvecsPath))
        let fvecs = try Self.fuzz(fvecsPath, seed: 7, mutate: { original, rng in
            var b = original
            switch rng.next() % 3 {
            case 0: b[Int(rng.next() % UInt64(b.count))] ^= UInt8(1 << (rng.next() % 8))
            case 1: b = Array(b.prefix(Int(rng.next() % UInt64(b.count))))
            default:
                let at = 20 * Int(rng.next() % 5)
                let v = Self.le(UInt32(truncatingIfNeeded: Self.hostileWords[Int(rng.next() % UInt64(Self.hostileWords.count))]))
                for i in 0..<4 { b[at + i] = v[i] }
            }
            return b
        }, load: { p in
            _ = try VecsFile.readFloats(p)
            let s = try VectorStream(path: p)
            _ = try s.rows(0..<s.count)
        })
        #expect(fvecs.rejected > 0)
        // split.json: numbers hostile, structure broken.
        let splitPath = Self.scratch + "/split.json"
        let json = Split(train: [0, 1, 2, 3], val: [4, 5], test: [6, 7]).json()
        try json.write(toFile: splitPath, atomically: false, encoding: .utf8)
        let split = try Self.fuzz(splitPath, seed: 8, mutate: { original, rng in
            var text = String(decoding: original, as: UTF8.self)
            switch rng.next() % 3 {
            case 0:
                let digits = ["0", "1", "2", "3", "4", "5", "6", "7"]
                text = text.replacingOccurrences(of: digits[Int(rng.next() % 8)],
                                                 with: Self.hostileNumbers[Int(rng.next() % UInt64(Self.hostileNumbers.count))])
            case 1: text = String(text.prefix(Int(rng.next() % UInt64(text.count + 1))))
            default:
                let garbage = ["null", "{}", "[[1]]", "\"a\"", "true", "-0", "1e400", "[]"]
                text = text.replacingOccurrences(of: ["[0", "[4", "[6", "]"][Int(rng.next() % 4)], with: garbage[Int(rng.next() % 8)])
            }
            return Array(text.utf8)
        }, load: { _ = try Split.read($0, itemCount: 8) })
        #expect(split.rejected > 0)
    }
}
