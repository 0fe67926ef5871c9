import Foundation
import Testing
import HybridPQ

@Suite("NPY files")
struct NPYArrayTests {
    @Test("every supported type round-trips through a file")
    func roundTrip() throws {
        let dir = TestData.temporaryDirectory()
        let arrays: [NPYArray] = [
            NPYArray(float32: [1.5, -2, 3.25, 0, 7, 8], shape: [2, 3]),
            NPYArray(float16: [0.5, -1, 2, 65504], shape: [4]),
            NPYArray(uint8: [0, 1, 255, 7, 9, 10, 11, 12], shape: [2, 2, 2]),
            NPYArray(int32: [-1, 2, Int32.max], shape: [3, 1]),
            NPYArray(int64: [Int64.min, 0, Int64.max], shape: [3]),
            NPYArray(float32: [], shape: [0, 5]),
        ]
        for (i, a) in arrays.enumerated() {
            let path = dir + "/a\(i).npy"
            try a.write(to: path)
            let b = try NPYArray.read(path)
            #expect(b == a)
            // Data starts on a 64-byte boundary, as NumPy writes it.
            #expect((a.encoded().count - a.data.count) % 64 == 0)
        }
        #expect(NPYArray(float16: [0.5, -1, 2, 65504], shape: [4]).floats() == [0.5, -1, 2, 65504])
    }

    /// A `.npy` file with the given header text, as NumPy lays it out.
    static func file(major: UInt8 = 1, header: String, data: [UInt8]) -> [UInt8] {
        var h = header
        let pre = major == 1 ? 10 : 12
        while (pre + h.utf8.count + 1) % 64 != 0 { h += " " }
        h += "\n"
        var out: [UInt8] = [0x93] + Array("NUMPY".utf8) + [major, 0]
        let n = h.utf8.count
        out += major == 1 ? [UInt8(n & 255), UInt8(n >> 8)] : [UInt8(n & 255), UInt8(n >> 8), 0, 0]
        return out + Array(h.utf8) + data
    }

    @Test("a header written by NumPy parses (version 1.0 and 2.0)")
    func numpyHeaders() throws {

        let floats: [Float] = [1, 2, 3, 4]
        let bytes = floats.withUnsafeBytes { Array($0) }
        let a = try NPYArray.parse(Self.file(major: 1, header: "{'descr': '<f4', 'fortran_order': False, 'shape': (2, 2), }", data: bytes), path: "x")
        #expect(a.shape == [2, 2] && a.floats() == floats)
        let b = try NPYArray.parse(Self.file(major: 2, header: "{'descr': '<f4', 'fortran_order': False, 'shape': (4,), }", data: bytes), path: "x")
        #expect(b.shape == [4])
        let scalar = try NPYArray.parse(Self.file(major: 1, header: "{'descr': '<f4', 'fortran_order': False, 'shape': (), }", data: Array(bytes[0..<4])), path: "x")
        #expect(scalar.shape == [] && scalar.count == 1)
    }

    @Test("malformed files give typed errors naming the file")
    func malformed() throws {
        let good = NPYArray(float32: [1, 2, 3, 4], shape: [2, 2]).encoded()
        func expectError(_ bytes: [UInt8], _ check: (DataError) -> Bool) {
            do {
                _ = try NPYArray.parse(bytes, path: "/data/x.npy")
                Issue.record("expected an error")
            } catch {
                #expect(check(error), "unexpected error \(error)")
                #expect(error.description.contains("/data/x.npy"))
            }
        }
        var badMagic = good; badMagic[1] = UInt8(ascii: "X")
        expectError(badMagic) { if case .malformed = $0 { return true }; return false }
        expectError(Array(good.prefix(good.count - 3))) { if case .truncated = $0 { return true }; return false }
        expectError(Array(good.prefix(5))) { if case .truncated = $0 { return true }; return false }
        expectError(good + [0]) { if case .malformed = $0 { return true }; return false }
        let data = [Float](repeating: 1, count: 4).withUnsafeBytes { Array($0) }
        func header(_ descr: String, _ fortran: String, _ shape: String) -> [UInt8] {
            Self.file(header: "{'descr': '\(descr)', 'fortran_order': \(fortran), 'shape': \(shape), }", data: data)
        }
        expectError(header("<f8", "False", "(2,)")) {
            if case let .unsupportedType(_, found, _) = $0 { return found == "<f8" }; return false
        }
        expectError(header(">f4", "False", "(4,)")) { if case .unsupportedType = $0 { return true }; return false }
        expectError(header("<f4", "True", "(2, 2)")) { if case .malformed = $0 { return true }; return false }
        expectError(header("<f4", "False", "(2, x)")) { if case .malformed = $0 { return true }; return false }
        expectError(header("<f4", "False", "(3, 2)")) { if case .truncated = $0 { return true }; return false }
        expectError(Self.file(header: "{'fortran_order': False, 'shape': (4,), }", data: data)) {
            if case .malformed = $0 { return true }; return false
        }
        var badVersion = good; badVersion[6] = 9
        expectError(badVersion) { if case .malformed = $0 { return true }; return false }
    }

    @Test("a missing file is a cannotOpen error")
    func missing() {
        let e = #expect(throws: DataError.self) { try NPYArray.read("/nonexistent/q.npy") }
        guard case let .cannotOpen(path, _)? = e else { Issue.record("got \(String(describing: e))"); return }
        #expect(path == "/nonexistent/q.npy")
    }
}

@Suite("fvecs and ivecs files")
struct VecsFileTests {
    @Test("round trip and validation")
    func roundTrip() throws {
        let m = TestData.gaussian(rows: 5, columns: 7, seed: 1)
        let dir = TestData.temporaryDirectory()
        try AtomicFile.write(VecsFile.encode(m), to: dir + "/a.fvecs")
        #expect(try VecsFile.readFloats(dir + "/a.fvecs") == m)
        let rows = [[1, 2, 3], [4, 5, 6]]
        try AtomicFile.write(VecsFile.encode(integers: rows), to: dir + "/g.ivecs")
        #expect(try VecsFile.readIntegers(dir + "/g.ivecs").rows == rows)
        var bytes = VecsFile.encode(m)
        try AtomicFile.write(Array(bytes.dropLast(2)), to: dir + "/t.fvecs")
        let cut = #expect(throws: DataError.self) { try VecsFile.readFloats(dir + "/t.fvecs") }
        guard case let .truncated(path, _, _)? = cut else { Issue.record("got \(String(describing: cut))"); return }
        #expect(path == dir + "/t.fvecs")
        bytes[4 * 8] = 9 // second record's dimension
        try AtomicFile.write(bytes, to: dir + "/i.fvecs")
        let mixed = #expect(throws: DataError.self) { try VecsFile.readFloats(dir + "/i.fvecs") }
        #expect(mixed.map { "\($0)" }?.hasPrefix(dir + "/i.fvecs") == true, "names the file: \(String(describing: mixed))")
    }
}
