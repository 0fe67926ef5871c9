/// The rows of a large vector file (`.npy` float32/float16 of shape [n, d], or `.fvecs`), read a
/// chunk at a time from a memory mapping: an index is built from a file larger than memory
/// without ever holding all of its floats (issue 12's 10M-item builds).
public struct VectorStream: Sendable {
    enum Format: Sendable {
        case npy(NPYArray.ElementType, dataStart: Int)
        case fvecs
    }

    /// The file.
    public let path: String
    /// Rows in the file.
    public let count: Int
    /// Floats per row.
    public let dimension: Int
    let file: MappedFile
    let format: Format

    /// Opens `path` (`.fvecs` by its extension, else `.npy`), checking its shape against its
    /// size; no row is read yet.
    public init(path: String) throws(DataError) {
        self.path = path
        do { file = try MappedFile(path: path) } catch { throw .cannotOpen(path: path, reason: error.reason) }
        let bytes = file.bytes
        if path.hasSuffix(".fvecs") {
            guard bytes.count >= 4 else { throw .truncated(path: path, expectedBytes: 4, foundBytes: bytes.count) }
            let d = Int(Int32(bitPattern: bytes.loadUnaligned(as: UInt32.self)))
            guard d > 0, d <= 1 << 20 else { throw .malformed(path: path, reason: "first record's dimension \(d) is not in 1...\(1 << 20)") }
            let record = 4 * (d + 1)
            guard bytes.count % record == 0 else {
                throw .truncated(path: path, expectedBytes: (bytes.count / record + 1) * record, foundBytes: bytes.count)
            }
            (count, dimension, format) = (bytes.count / record, d, .fvecs)
        } else {
            let (type, shape, dataStart) = try NPYArray.header(bytes, path: path)
            guard type == .float32 || type == .float16 else {
                throw .unsupportedType(path: path, found: type.rawValue, supported: ["<f4", "<f2"])
            }
            guard shape.count == 2, shape[1] >= 1 else { throw .shapeMismatch(path: path, expected: "[n, d] with d ≥ 1", found: "\(shape)") }
            (count, dimension, format) = (shape[0], shape[1], .npy(type, dataStart: dataStart))
        }
    }

    /// Rows `range` as a matrix (float16 widened). - Throws: a `.fvecs` record whose dimension
    /// differs from the first's.
    public func rows(_ range: Range<Int>) throws(DataError) -> Matrix {
        precondition(range.lowerBound >= 0 && range.upperBound <= count, "rows \(range) outside 0..<\(count)")
        let d = dimension, n = range.count
        var out = Matrix(rows: n, columns: d)
        let bytes = file.bytes
        switch format {
        case let .npy(type, dataStart):
            out.values.withUnsafeMutableBufferPointer { o in
                let base = bytes.baseAddress! + dataStart
                if type == .float32 {
                    UnsafeMutableRawBufferPointer(o).copyMemory(from: UnsafeRawBufferPointer(start: base + range.lowerBound * d * 4, count: n * d * 4))
                } else {
                    for i in 0..<(n * d) {
                        o[i] = Float(Float16(bitPattern: (base + (range.lowerBound * d + i) * 2).loadUnaligned(as: UInt16.self)))
                    }
                }
            }
        case .fvecs:
            let record = 4 * (d + 1)
            for (i, r) in range.enumerated() {
                let at = r * record
                let rd = Int(Int32(bitPattern: bytes.loadUnaligned(fromByteOffset: at, as: UInt32.self)))
                guard rd == d else { throw .inconsistent(path: path, reason: "record \(r) has dimension \(rd), record 0 has \(d)") }
                out.values.withUnsafeMutableBufferPointer { o in
                    UnsafeMutableRawBufferPointer(rebasing: UnsafeMutableRawBufferPointer(o)[(i * d * 4)..<((i + 1) * d * 4)])
                        .copyMemory(from: UnsafeRawBufferPointer(rebasing: bytes[(at + 4)..<(at + record)]))
                }
            }
        }
        return out
    }

    /// Calls `body` with consecutive chunks of at most `rows` rows (and their row ranges).
    public func forEachChunk(rows chunk: Int, _ body: (Range<Int>, Matrix) throws -> Void) throws {
        precondition(chunk >= 1, "chunks of at least one row")
        var start = 0
        while start < count {
            let r = start..<min(count, start + chunk)
            try body(r, try rows(r))
            start = r.upperBound
        }
    }
}

extension VectorIndex {
    /// Adds every row of `stream`, `chunk` rows at a time (ids: the row numbers plus `firstId`),
    /// so the file's floats are never all in memory; `progress(rowsDone, total)` after each chunk.
    public mutating func add(stream: VectorStream, chunk: Int = 65_536, firstId: Int64 = 0,
                             progress: (Int, Int) -> Void = { _, _ in }) throws {
        try stream.forEachChunk(rows: chunk) { range, x in
            try add(FeatureBatch(x), ids: range.map { firstId + Int64($0) })
            progress(range.upperBound, stream.count)
        }
    }
}
