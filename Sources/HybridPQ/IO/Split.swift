/// The train / val / test partition of a data set's items (`split.json`).
///
/// Codebooks and models are fitted on `train`, hyper-parameters chosen on `val`, and figures
/// reported on `test`; the three must be disjoint and within the data set.
public struct Split: Sendable, Equatable {
    /// Items for fitting.
    public var train: [Int]
    /// Items for choosing hyper-parameters and checkpoints.
    public var val: [Int]
    /// Items for reporting.
    public var test: [Int]

    /// A split over explicit index lists.
    public init(train: [Int], val: [Int], test: [Int]) {
        self.train = train
        self.val = val
        self.test = test
    }

    /// Reads `split.json` and checks every index is in `0..<itemCount` and used once.
    public static func read(_ path: String, itemCount: Int) throws(DataError) -> Split {
        let bytes = try FileBytes.read(path)
        guard let text = String(validating: bytes, as: UTF8.self) else {
            throw .malformed(path: path, reason: "not UTF-8 text")
        }
        let lists = try JSONIntLists.parse(text, path: path)
        func list(_ key: String) throws(DataError) -> [Int] {
            guard let v = lists[key] else { throw .malformed(path: path, reason: "missing key \"\(key)\"") }
            return v
        }
        let split = Split(train: try list("train"), val: try list("val"), test: try list("test"))
        var seen = [Bool](repeating: false, count: itemCount)
        for (name, indices) in [("train", split.train), ("val", split.val), ("test", split.test)] {
            for i in indices {
                guard i >= 0 && i < itemCount else {
                    throw .inconsistent(path: path, reason: "\(name) index \(i) outside 0..<\(itemCount)")
                }
                guard !seen[i] else { throw .inconsistent(path: path, reason: "index \(i) appears twice") }
                seen[i] = true
            }
        }
        return split
    }

    /// The JSON text of this split.
    public func json() -> String {
        func arr(_ a: [Int]) -> String { "[" + a.map(String.init).joined(separator: ", ") + "]" }
        return "{\"train\": \(arr(train)), \"val\": \(arr(val)), \"test\": \(arr(test))}\n"
    }
}

/// A minimal parser for a JSON object whose values are arrays of integers — all `split.json`
/// holds. (Foundation's JSONSerialization would do, but the library avoids Foundation.)
enum JSONIntLists {
    static func parse(_ text: String, path: String) throws(DataError) -> [String: [Int]] {
        var out: [String: [Int]] = [:]
        let chars = Array(text.utf8)
        var i = 0
        func skipSpace() { while i < chars.count, [0x20, 0x0A, 0x0D, 0x09].contains(chars[i]) { i += 1 } }
        func expect(_ c: UInt8) throws(DataError) {
            skipSpace()
            guard i < chars.count, chars[i] == c else {
                throw .malformed(path: path, reason: "expected '\(Character(UnicodeScalar(c)))' at byte \(i)")
            }
            i += 1
        }
        try expect(UInt8(ascii: "{"))
        skipSpace()
        if i < chars.count, chars[i] == UInt8(ascii: "}") { return out }
        while true {
            try expect(UInt8(ascii: "\""))
            let start = i
            while i < chars.count, chars[i] != UInt8(ascii: "\"") { i += 1 }
            guard i < chars.count else { throw .malformed(path: path, reason: "unterminated key") }
            let key = String(decoding: chars[start..<i], as: UTF8.self)
            i += 1
            try expect(UInt8(ascii: ":"))
            try expect(UInt8(ascii: "["))
            var values: [Int] = []
            skipSpace()
            if i < chars.count, chars[i] == UInt8(ascii: "]") { i += 1 } else {
                while true {
                    skipSpace()
                    var neg = false
                    if i < chars.count, chars[i] == UInt8(ascii: "-") { neg = true; i += 1 }
                    var v = 0
                    var digits = 0
                    while i < chars.count, chars[i] >= 48, chars[i] <= 57 {
                        let (t, o1) = v.multipliedReportingOverflow(by: 10)
                        let (u, o2) = t.addingReportingOverflow(Int(chars[i] - 48))
                        guard !o1, !o2 else { throw .malformed(path: path, reason: "\"\(key)\" holds an integer beyond Int at byte \(i)") }
                        v = u; i += 1; digits += 1
                    }
                    guard digits > 0 else { throw .malformed(path: path, reason: "\"\(key)\" holds a non-integer at byte \(i)") }
                    values.append(neg ? -v : v)
                    skipSpace()
                    guard i < chars.count else { throw .malformed(path: path, reason: "unterminated list \"\(key)\"") }
                    if chars[i] == UInt8(ascii: ",") { i += 1; continue }
                    if chars[i] == UInt8(ascii: "]") { i += 1; break }
                    throw .malformed(path: path, reason: "unexpected character in \"\(key)\" at byte \(i)")
                }
            }
            out[key] = values
            skipSpace()
            guard i < chars.count else { throw .malformed(path: path, reason: "unterminated object") }
            if chars[i] == UInt8(ascii: ",") { i += 1; continue }
            if chars[i] == UInt8(ascii: "}") { break }
            throw .malformed(path: path, reason: "unexpected character at byte \(i)")
        }
        return out
    }
}
