/// The `.fvecs` / `.ivecs` formats of the classic ANN benchmarks (SIFT1M, GIST1M): each vector
/// is a little-endian Int32 dimension followed by that many float32 (or int32) components.
public enum VecsFile {
    /// Reads an `.fvecs` file as a matrix; every record must have the same dimension.
    public static func readFloats(_ path: String) throws(DataError) -> Matrix {
        let (dim, rows, values) = try parse(FileBytes.read(path), path: path)
        return Matrix(rows: rows, columns: dim, values: values.map { Float(bitPattern: $0) })
    }

    /// Reads an `.ivecs` file (e.g. ground-truth neighbour ids) as rows of integers.
    public static func readIntegers(_ path: String) throws(DataError) -> (dimension: Int, rows: [[Int]]) {
        let (dim, rows, values) = try parse(FileBytes.read(path), path: path)
        return (dim, (0..<rows).map { r in (0..<dim).map { Int(Int32(bitPattern: values[r * dim + $0])) } })
    }

    /// Encodes a matrix as `.fvecs` bytes.
    public static func encode(_ m: Matrix) -> [UInt8] {
        var out: [UInt8] = []
        out.reserveCapacity(m.rows * (4 + 4 * m.columns))
        for r in 0..<m.rows {
            withUnsafeBytes(of: Int32(m.columns).littleEndian) { out += $0 }
            m.values[(r * m.columns)..<((r + 1) * m.columns)].withUnsafeBytes { out += $0 }
        }
        return out
    }

    /// Encodes integer rows (all of one length) as `.ivecs` bytes.
    public static func encode(integers rows: [[Int]]) -> [UInt8] {
        var out: [UInt8] = []
        for row in rows {
            withUnsafeBytes(of: Int32(row.count).littleEndian) { out += $0 }
            for v in row { withUnsafeBytes(of: Int32(v).littleEndian) { out += $0 } }
        }
        return out
    }

    private static func parse(_ bytes: [UInt8], path: String) throws(DataError) -> (Int, Int, [UInt32]) {
        guard !bytes.isEmpty else { return (0, 0, []) }
        func word(_ i: Int) -> UInt32 {
            UInt32(bytes[i]) | UInt32(bytes[i + 1]) << 8 | UInt32(bytes[i + 2]) << 16 | UInt32(bytes[i + 3]) << 24
        }
        guard bytes.count >= 4 else { throw .truncated(path: path, expectedBytes: 4, foundBytes: bytes.count) }
        let dim = Int(Int32(bitPattern: word(0)))
        guard dim > 0, dim <= 1 << 20 else {
            throw .malformed(path: path, reason: "first record's dimension \(dim) is not in 1...\(1 << 20)")
        }
        let record = 4 * (dim + 1)
        guard bytes.count % record == 0 else {
            throw .truncated(path: path, expectedBytes: (bytes.count / record + 1) * record, foundBytes: bytes.count)
        }
        let rows = bytes.count / record
        var values = [UInt32](repeating: 0, count: rows * dim)
        for r in 0..<rows {
            let d = Int(Int32(bitPattern: word(r * record)))
            guard d == dim else {
                throw .inconsistent(path: path, reason: "record \(r) has dimension \(d), record 0 has \(dim)")
            }
            for j in 0..<dim { values[r * dim + j] = word(r * record + 4 + 4 * j) }
        }
        return (dim, rows, values)
    }
}
