import Foundation
import Testing
import HybridPQ

@Suite("VectorStream: large files a chunk at a time")
struct VectorStreamTests {
    @Test("chunks of .npy (float32, float16) and .fvecs equal the whole file; add(stream:) equals add of the matrix")
    func chunksEqualTheWhole() throws {
        let dir = TestData.temporaryDirectory()
        let x = TestData.gaussian(rows: 103, columns: 6, seed: 950)
        try NPYArray(float32: x.values, shape: [103, 6]).write(to: dir + "/a.npy")
        try NPYArray(float16: x.values, shape: [103, 6]).write(to: dir + "/h.npy")
        try Data(VecsFile.encode(x)).write(to: URL(fileURLWithPath: dir + "/a.fvecs"))
        for name in ["a.npy", "h.npy", "a.fvecs"] {
            let stream = try VectorStream(path: dir + "/" + name)
            #expect(stream.count == 103 && stream.dimension == 6)
            let whole = try NPYArray.read(dir + "/a.npy").matrix()
            var rows: [Float] = [], seen = 0
            try stream.forEachChunk(rows: 10) { r, m in
                #expect(r.lowerBound == seen && m.rows == r.count)
                seen = r.upperBound
                rows += m.values
            }
            let tolerance: Float = name == "h.npy" ? 1e-2 : 0
            #expect(zip(rows, whole.values).allSatisfy { abs($0 - $1) <= tolerance * max(1, abs($1)) }, "\(name)")
        }
        var streamed = FlatIndex(dimension: 6), direct = FlatIndex(dimension: 6)
        var calls = 0
        try streamed.add(stream: try VectorStream(path: dir + "/a.npy"), chunk: 25, firstId: 1000) { done, total in
            calls += 1
            #expect(total == 103 && done <= total)
        }
        try direct.add(x, ids: (0..<103).map { 1000 + Int64($0) })
        #expect(calls == 5)
        let q = x.slicing(rows: 0..<4)
        #expect(try streamed.search(q, k: 5) == direct.search(q, k: 5))
    }

    @Test("bad files are typed errors: wrong type or shape, cut files, inconsistent records")
    func badFiles() throws {
        let dir = TestData.temporaryDirectory()
        try NPYArray(int64: [1, 2, 3, 4], shape: [2, 2]).write(to: dir + "/i.npy")
        #expect(throws: DataError.self) { try VectorStream(path: dir + "/i.npy") }
        try NPYArray(float32: [1, 2, 3], shape: [3]).write(to: dir + "/v.npy")
        #expect(throws: DataError.self) { try VectorStream(path: dir + "/v.npy") }
        let good = NPYArray(float32: [Float](repeating: 1, count: 12), shape: [3, 4]).encoded()
        try Data(good.dropLast(5)).write(to: URL(fileURLWithPath: dir + "/cut.npy"))
        #expect(throws: DataError.self) { try VectorStream(path: dir + "/cut.npy") }
        var fv = VecsFile.encode(TestData.gaussian(rows: 3, columns: 4, seed: 1))
        fv[20] = 9                                   // record 1 claims dimension 9
        try Data(fv).write(to: URL(fileURLWithPath: dir + "/bad.fvecs"))
        let s = try VectorStream(path: dir + "/bad.fvecs")
        #expect(throws: DataError.self) { try s.rows(0..<3) }
        #expect(throws: DataError.self) { try VectorStream(path: dir + "/missing.npy") }
    }
}
