// pqserve: a live HybridPQ index as a subprocess any language can drive. Opens (or creates) an
// index directory and answers one JSON object per line on stdin with one JSON object per line
// on stdout (docs/EMBEDDING.md has the protocol).
import Foundation
import HybridPQ

let usage = """
usage: pqserve --dir DIR [--create-from INDEX_FILE] [--mapping] [--threads T]

  --dir DIR                a live index directory (docs/EMBEDDING.md)
  --create-from FILE       create DIR from an index file (any kind pqbench or the library wrote):
                           its trained parts, and its items as the first segment
  --mapping                open written segments memory-mapped
  --threads T              cores per search (default 1)

Requests, one JSON object per line (responses likewise, {"ok": false, "error": …} on failure):
  {"op": "search", "vectors": [[…], …], "k": 10, "allow": [ids] | "deny": [ids], "nprobe": 8, "rerank": 100}
                           (nprobe: lists probed by an IVF index; rerank: candidates re-ranked; both optional;
                            IVF also "coarse_dims": d, "coarse_candidates": c — the projected coarse step)
  {"op": "add", "vectors": [[…], …], "ids": [ids]}        (ids optional: assigned)
  {"op": "upsert", "vectors": [[…], …], "ids": [ids]}
  {"op": "remove", "ids": [ids]}
  {"op": "commit"}   {"op": "flush"}   {"op": "compact"}   {"op": "stats"}
End of input commits.
"""

func fail(_ message: String) -> Never {
    FileHandle.standardError.write(Data("pqserve: \(message)\n".utf8))
    exit(2)
}

var options: [String: String] = [:]
var mapping = false
var it = CommandLine.arguments.dropFirst().makeIterator()
while let a = it.next() {
    switch a {
    case "--mapping": mapping = true
    case "--dir", "--create-from", "--threads":
        guard let v = it.next() else { fail("\(a) needs a value") }
        options[a] = v
    case "-h", "--help": print(usage); exit(0)
    default: fail("unknown argument \(a)\n\(usage)")
    }
}
guard let dir = options["--dir"] else { fail("--dir is required\n\(usage)") }
guard let threads = Int(options["--threads"] ?? "1"), threads >= 1 else { fail("--threads expects an integer ≥ 1") }

let index: LiveIndex<AnyIndex>
do {
    if let source = options["--create-from"] {
        index = try LiveIndex.create(directory: dir, template: AnyIndex.load(from: source), mapping: mapping)
    } else {
        index = try LiveIndex<AnyIndex>.open(directory: dir, mapping: mapping)
    }
} catch {
    fail("\(error)")
}

/// A request's vectors as a matrix of the index's dimension.
func matrix(_ value: Any?, dimension: Int) throws -> Matrix {
    guard let rows = value as? [[Any]], !rows.isEmpty else { throw Request.bad("'vectors' must be a non-empty array of arrays of numbers") }
    var values: [Float] = []
    values.reserveCapacity(rows.count * dimension)
    for (i, row) in rows.enumerated() {
        guard row.count == dimension else { throw Request.bad("vector \(i) has \(row.count) numbers; the index has dimension \(dimension)") }
        for x in row {
            guard let n = x as? NSNumber else { throw Request.bad("vector \(i) holds a non-number") }
            values.append(n.floatValue)
        }
    }
    return Matrix(rows: rows.count, columns: dimension, values: values)
}

func ids(_ value: Any?) throws -> [Int64] {
    guard let list = value as? [Any] else { throw Request.bad("'ids' must be an array of integers") }
    return try list.map { x in
        guard let n = x as? NSNumber, let v = Int64(exactly: n.doubleValue) else { throw Request.bad("ids must be integers") }
        return v
    }
}

enum Request: Error { case bad(String) }

/// A JSON number that is an integer (named `name` in the error otherwise).
func integer(_ v: Any, _ name: String) throws -> Int {
    guard let n = v as? NSNumber, let i = Int(exactly: n.doubleValue), Double(i) == n.doubleValue, abs(n.doubleValue) < 1e15 else {
        throw Request.bad("\"\(name)\" must be an integer")
    }
    return i
}

func handle(_ line: String, dimension: Int) -> [String: Any] {
    do {
        guard let data = line.data(using: .utf8), let req = try JSONSerialization.jsonObject(with: data) as? [String: Any],
              let op = req["op"] as? String else { throw Request.bad("a request is a JSON object with an \"op\"") }
        switch op {
        case "search":
            let q = try matrix(req["vectors"], dimension: dimension)
            var p = SearchParameters(k: (req["k"] as? NSNumber)?.intValue ?? 10, threads: threads)
            if let n = req["nprobe"] { p.nprobe = try integer(n, "nprobe") }
            if let r = req["rerank"] { p.rerank = try integer(r, "rerank") }
            if let c = req["coarse_dims"] { p.coarseDimensions = try integer(c, "coarse_dims") }
            if let c = req["coarse_candidates"] { p.coarseCandidates = try integer(c, "coarse_candidates") }
            if req["allow"] != nil { p.filter = IDFilter.allow(Set(try ids(req["allow"]))) }
            if req["deny"] != nil { p.filter = IDFilter.deny(Set(try ids(req["deny"]))) }
            let r = try index.search(FeatureBatch(q), parameters: p)
            return ["ok": true, "ids": (0..<r.queries).map { r.ids(ofQuery: $0).filter { $0 >= 0 } },
                    "scores": (0..<r.queries).map { q in zip(r.scores(ofQuery: q), r.ids(ofQuery: q)).filter { $0.1 >= 0 }.map { Double($0.0) } }]
        case "add":
            let given = req["ids"] == nil ? nil : try ids(req["ids"])
            return ["ok": true, "ids": try index.add(FeatureBatch(try matrix(req["vectors"], dimension: dimension)), ids: given)]
        case "upsert":
            try index.upsert(FeatureBatch(try matrix(req["vectors"], dimension: dimension)), ids: try ids(req["ids"]))
            return ["ok": true]
        case "remove":
            try index.remove(ids: try ids(req["ids"]))
            return ["ok": true]
        case "commit": try index.commit(); return ["ok": true]
        case "flush": try index.flush(); return ["ok": true]
        case "compact": try index.compact(); return ["ok": true]
        case "stats":
            let s = index.snapshot()
            return ["ok": true, "count": s.count, "segments": s.segments.count, "dimension": dimension,
                    "kind": s.segments.first.map { "\($0.index.kind.name)" } ?? "empty"]
        default: throw Request.bad("unknown op '\(op)' (search, add, upsert, remove, commit, flush, compact, stats)")
        }
    } catch let Request.bad(message) {
        return ["ok": false, "error": message]
    } catch {
        return ["ok": false, "error": "\(error)"]
    }
}

let dimension = index.dimension
while let line = readLine(strippingNewline: true) {
    guard !line.trimmingCharacters(in: .whitespaces).isEmpty else { continue }
    let response = handle(line, dimension: dimension)
    let data = (try? JSONSerialization.data(withJSONObject: response)) ?? Data("{\"ok\":false,\"error\":\"unencodable response\"}".utf8)
    FileHandle.standardOutput.write(data + Data("\n".utf8))
}
// End of input closes the index as a Lucene writer closes: committed (the log buffers records
// until a commit, and a process that exits does not release its globals).
do { try index.commit() } catch { fail("commit at end of input: \(error)") }
