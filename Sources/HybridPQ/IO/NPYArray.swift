/// An n-dimensional array read from or written to a NumPy `.npy` file (format 1.0–3.0).
///
/// The format users' Python pipelines already write. Supported element types: float32,
/// float16, uint8, int32 and int64, little-endian, C order. Anything else — Fortran order,
/// big-endian, object arrays, a header that does not parse, fewer data bytes than the shape
/// needs — is a `DataError` naming the file and the problem.
public struct NPYArray: Sendable, Equatable {
    /// The element types HybridPQ reads and writes.
    public enum ElementType: String, Sendable, CaseIterable {
        case float32 = "<f4"
        case float16 = "<f2"
        case uint8 = "|u1"
        case int32 = "<i4"
        case int64 = "<i8"

        /// Bytes per element.
        public var size: Int {
            switch self {
            case .float32, .int32: return 4
            case .float16: return 2
            case .uint8: return 1
            case .int64: return 8
            }
        }

        init?(descr: String) {
            switch descr {
            case "<f4", "=f4": self = .float32
            case "<f2", "=f2": self = .float16
            case "|u1", "<u1", "=u1", "u1", "|b1": self = .uint8
            case "<i4", "=i4": self = .int32
            case "<i8", "=i8": self = .int64
            default: return nil
            }
        }
    }

    /// Element type of `data`.
    public let elementType: ElementType
    /// Shape, outermost dimension first.
    public let shape: [Int]
    /// Raw little-endian element bytes in C order.
    public let data: [UInt8]

    /// Number of elements (product of the shape; 1 for a 0-d array).
    public var count: Int { shape.reduce(1, *) }

    /// An array over raw bytes; `data.count` must match the shape and type.
    public init(elementType: ElementType, shape: [Int], data: [UInt8]) {
        precondition(shape.allSatisfy { $0 >= 0 }, "negative dimension")
        precondition(data.count == shape.reduce(1, *) * elementType.size, "data size does not match shape")
        self.elementType = elementType
        self.shape = shape
        self.data = data
    }

    /// A float32 array with the given shape.
    public init(float32 values: [Float], shape: [Int]) {
        self.init(elementType: .float32, shape: shape, data: values.withUnsafeBytes { Array($0) })
    }

    /// A float16 array with the given shape (values rounded to half precision).
    public init(float16 values: [Float], shape: [Int]) {
        let halves = values.map { Float16($0) }
        self.init(elementType: .float16, shape: shape, data: halves.withUnsafeBytes { Array($0) })
    }

    /// A uint8 array with the given shape.
    public init(uint8 values: [UInt8], shape: [Int]) {
        self.init(elementType: .uint8, shape: shape, data: values)
    }

    /// An int64 array with the given shape.
    public init(int64 values: [Int64], shape: [Int]) {
        self.init(elementType: .int64, shape: shape, data: values.withUnsafeBytes { Array($0) })
    }

    /// An int32 array with the given shape.
    public init(int32 values: [Int32], shape: [Int]) {
        self.init(elementType: .int32, shape: shape, data: values.withUnsafeBytes { Array($0) })
    }

    /// The elements converted to `Float` (float16 widened exactly; integers converted).
    public func floats() -> [Float] {
        data.withUnsafeBytes { raw in
            switch elementType {
            case .float32: return Array(raw.bindMemory(to: Float.self))
            case .float16: return raw.bindMemory(to: Float16.self).map { Float($0) }
            case .uint8: return raw.map { Float($0) }
            case .int32: return raw.bindMemory(to: Int32.self).map { Float($0) }
            case .int64: return raw.bindMemory(to: Int64.self).map { Float($0) }
            }
        }
    }

    /// The elements converted to `Int`. Floating-point elements must be whole numbers in `Int`'s
    /// range (a mask or label of NaN, ∞ or 0.5 is an error naming the file, never a trap).
    public func integers(path: String = "<array>") throws(DataError) -> [Int] {
        func whole(_ values: [Float]) throws(DataError) -> [Int] {
            var out: [Int] = []
            out.reserveCapacity(values.count)
            for (i, v) in values.enumerated() {
                guard let x = Int(exactly: v) else { throw .malformed(path: path, reason: "element \(i) = \(v) is not an integer") }
                out.append(x)
            }
            return out
        }
        switch elementType {
        case .uint8: return data.map { Int($0) }
        case .int32: return data.withUnsafeBytes { $0.bindMemory(to: Int32.self).map { Int($0) } }
        case .int64: return data.withUnsafeBytes { $0.bindMemory(to: Int64.self).map { Int($0) } }
        case .float32, .float16: return try whole(floats())
        }
    }

    /// The array as a matrix: a 2-d array directly; `[n, a, b]` as `n*a` rows of `b`.
    public func matrix(path: String = "<array>") throws(DataError) -> Matrix {
        guard shape.count >= 2 else {
            throw .shapeMismatch(path: path, expected: "2 or more dimensions", found: "\(shape)")
        }
        let cols = shape.last!
        var rows = 1
        for d in shape.dropLast() {
            let (r, overflow) = rows.multipliedReportingOverflow(by: d)
            guard !overflow else { throw .shapeMismatch(path: path, expected: "a shape whose rows fit Int", found: "\(shape)") }
            rows = r
        }
        guard rows.multipliedReportingOverflow(by: cols).partialValue == data.count / max(1, elementType.size) || cols == 0 || rows == 0 else {
            throw .shapeMismatch(path: path, expected: "\(rows) × \(cols) elements", found: "\(data.count / max(1, elementType.size))")
        }
        return Matrix(rows: rows, columns: cols, values: floats())
    }
}

extension NPYArray {
    static let magic: [UInt8] = [0x93] + Array("NUMPY".utf8)

    /// Reads and validates the `.npy` file at `path`.
    public static func read(_ path: String) throws(DataError) -> NPYArray {
        try parse(FileBytes.read(path), path: path)
    }

    /// Parses `.npy` bytes; `path` only names the source in errors.
    public static func parse(_ bytes: [UInt8], path: String) throws(DataError) -> NPYArray {
        let (type, shape, dataStart) = try bytes.withUnsafeBytes { raw in Result { () throws(DataError) in try header(raw, path: path) } }.get()
        return NPYArray(elementType: type, shape: shape, data: Array(bytes[dataStart...]))
    }

    /// The element type, shape and data offset of `.npy` bytes, with the data's size checked
    /// against the shape (every product overflow-checked): what `parse` and `VectorStream` read.
    static func header(_ bytes: UnsafeRawBufferPointer, path: String) throws(DataError) -> (ElementType, [Int], Int) {
        guard bytes.count >= 10 else {
            throw .truncated(path: path, expectedBytes: 10, foundBytes: bytes.count)
        }
        guard Array(bytes[0..<6]) == magic else {
            throw .malformed(path: path, reason: "missing \\x93NUMPY magic")
        }
        let major = bytes[6]
        let headerLength: Int
        let headerStart: Int
        switch major {
        case 1:
            headerLength = Int(bytes[8]) | Int(bytes[9]) << 8
            headerStart = 10
        case 2, 3:
            guard bytes.count >= 12 else { throw .truncated(path: path, expectedBytes: 12, foundBytes: bytes.count) }
            headerLength = Int(bytes[8]) | Int(bytes[9]) << 8 | Int(bytes[10]) << 16 | Int(bytes[11]) << 24
            headerStart = 12
        default:
            throw .malformed(path: path, reason: "unsupported format version \(major).\(bytes[7]) (expected 1.x, 2.x or 3.x)")
        }
        let dataStart = headerStart + headerLength
        guard bytes.count >= dataStart else {
            throw .truncated(path: path, expectedBytes: dataStart, foundBytes: bytes.count)
        }
        guard let header = String(validating: bytes[headerStart..<dataStart], as: UTF8.self) else {
            throw .malformed(path: path, reason: "header is not text")
        }
        let dict = try NPYHeader.parse(header, path: path)
        guard let descr = dict.descr else { throw .malformed(path: path, reason: "header has no 'descr'") }
        guard let type = ElementType(descr: descr) else {
            throw .unsupportedType(path: path, found: descr, supported: ElementType.allCases.map(\.rawValue))
        }
        guard let fortran = dict.fortranOrder else { throw .malformed(path: path, reason: "header has no 'fortran_order'") }
        guard !fortran else {
            throw .malformed(path: path, reason: "fortran_order is True; HybridPQ reads C-order arrays (use np.ascontiguousarray)")
        }
        guard let shape = dict.shape else { throw .malformed(path: path, reason: "header has no 'shape'") }
        var count = 1
        for d in shape {
            guard d >= 0 else { throw .malformed(path: path, reason: "shape \(shape) has a negative dimension") }
            let (p, overflow) = count.multipliedReportingOverflow(by: d)
            guard !overflow else { throw .malformed(path: path, reason: "shape \(shape) overflows") }
            count = p
        }
        let (need, overflow) = count.multipliedReportingOverflow(by: type.size)
        guard !overflow else { throw .malformed(path: path, reason: "shape \(shape) × \(type.size)-byte elements overflows") }
        let have = bytes.count - dataStart
        guard have >= need else {
            throw .truncated(path: path, expectedBytes: dataStart.addingReportingOverflow(need).overflow ? Int.max : dataStart + need, foundBytes: bytes.count)
        }
        guard have == need else {
            throw .malformed(path: path, reason: "\(have - need) bytes after the data that shape \(shape) does not account for")
        }
        return (type, shape, dataStart)
    }

    /// The `.npy` (version 1.0) encoding of this array; the header is padded so data starts
    /// on a 64-byte boundary, as NumPy does.
    public func encoded() -> [UInt8] {
        let shapeText: String
        switch shape.count {
        case 0: shapeText = "()"
        case 1: shapeText = "(\(shape[0]),)"
        default: shapeText = "(" + shape.map(String.init).joined(separator: ", ") + ")"
        }
        var header = "{'descr': '\(elementType.rawValue)', 'fortran_order': False, 'shape': \(shapeText), }"
        let total = 10 + header.utf8.count + 1
        header += String(repeating: " ", count: (64 - total % 64) % 64) + "\n"
        var out = NPYArray.magic + [1, 0]
        let len = header.utf8.count
        out += [UInt8(len & 0xFF), UInt8(len >> 8)]
        out += Array(header.utf8)
        out += data
        return out
    }

    /// Writes this array to `path` atomically.
    public func write(to path: String) throws {
        try AtomicFile.write(encoded(), to: path)
    }
}

/// The three keys of a `.npy` header dictionary (a Python literal).
struct NPYHeader {
    var descr: String?
    var fortranOrder: Bool?
    var shape: [Int]?

    static func parse(_ text: String, path: String) throws(DataError) -> NPYHeader {
        var h = NPYHeader()
        let s = text.trimmingCharacters(in: " \n\t\0")
        guard s.hasPrefix("{"), s.hasSuffix("}") else {
            throw .malformed(path: path, reason: "header is not a dictionary: \(s.prefix(80))")
        }
        // descr: quoted string after 'descr':
        if let v = value(after: "'descr'", in: s) {
            guard let q0 = v.first, q0 == "'" || q0 == "\"",
                  let end = v.dropFirst().firstIndex(of: q0) else {
                throw .malformed(path: path, reason: "descr is not a string (structured dtypes are not supported)")
            }
            h.descr = String(v[v.index(after: v.startIndex)..<end])
        }
        if let v = value(after: "'fortran_order'", in: s) {
            if v.hasPrefix("False") { h.fortranOrder = false }
            else if v.hasPrefix("True") { h.fortranOrder = true }
            else { throw .malformed(path: path, reason: "fortran_order is neither True nor False") }
        }
        if let v = value(after: "'shape'", in: s) {
            guard v.hasPrefix("("), let close = v.firstIndex(of: ")") else {
                throw .malformed(path: path, reason: "shape is not a tuple")
            }
            let inner = v[v.index(after: v.startIndex)..<close]
            var dims: [Int] = []
            for part in inner.split(separator: ",") {
                let t = part.trimmingCharacters(in: " L")
                if t.isEmpty { continue }
                guard let d = Int(t), d >= 0 else {
                    throw .malformed(path: path, reason: "shape entry '\(t)' is not a non-negative integer")
                }
                dims.append(d)
            }
            h.shape = dims
        }
        return h
    }

    private static func value(after key: String, in s: String) -> Substring? {
        let chars = Array(s), keyChars = Array(key)
        guard chars.count >= keyChars.count,
              let at = (0...(chars.count - keyChars.count)).first(where: { Array(chars[$0..<($0 + keyChars.count)]) == keyChars })
        else { return nil }
        var rest = Substring(String(chars[(at + keyChars.count)...])).drop(while: { $0 == " " })
        guard rest.first == ":" else { return nil }
        rest = rest.dropFirst().drop(while: { $0 == " " })
        return rest
    }
}

extension StringProtocol {
    func trimmingCharacters(in set: String) -> String {
        let chars = Set(set)
        var sub = self[...]
        while let f = sub.first, chars.contains(f) { sub = sub.dropFirst() }
        while let l = sub.last, chars.contains(l) { sub = sub.dropLast() }
        return String(sub)
    }
}
