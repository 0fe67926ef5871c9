import Foundation
import HybridPQ

/// The exact top-10 of each query over a streamed database (`--stream`): a flat scan a chunk at
/// a time, the chunks' top-10s merged. Computed once per data directory, metric and query count
/// and stored beside the data (DIR/exact-top10-<metric>-<Q>.npy, int64 ids, Q × 10) so later runs
/// and peers read the same truth.
enum StreamedExact {
    static func top10(_ stream: VectorStream, queries: Matrix, metric: Metric, directory: String, threads: Int,
                      log: (String) -> Void) throws -> SearchResults {
        let k = 10
        let path = directory + "/exact-top10-\(metric.rawValue)-\(queries.rows).npy"
        var out = SearchResults(queries: queries.rows, k: k)
        if FileExists.regular(path) {
            let a = try NPYArray.read(path)
            guard a.shape == [queries.rows, k] else {
                throw DataError.shapeMismatch(path: path, expected: "[\(queries.rows), \(k)]", found: "\(a.shape)")
            }
            out.ids = try a.integers(path: path).map { Int64($0) }
            log("exact top-10 read from \(path)")
            return out
        }
        var best = [TopK](repeating: TopK(k: k), count: queries.rows)
        let progress = Progress("exact top-10 (streamed flat scan): rows", enabled: true)
        try stream.forEachChunk(rows: 262_144) { range, x in
            var flat = FlatIndex(dimension: stream.dimension, metric: metric)
            try flat.add(x, ids: range.map { Int64($0) })
            let r = try flat.search(queries, k: k, threads: threads)
            for q in 0..<queries.rows {
                for j in 0..<k where r.ids[q * k + j] >= 0 { best[q].offer(score: r.scores[q * k + j], id: r.ids[q * k + j]) }
            }
            progress.update(range.upperBound, stream.count)
        }
        for q in 0..<queries.rows {
            for (j, e) in best[q].sorted().enumerated() { out.ids[q * k + j] = e.id; out.scores[q * k + j] = e.score }
        }
        try NPYArray(int64: out.ids, shape: [queries.rows, k]).write(to: path)
        log("exact top-10 stored in \(path)")
        return out
    }
}
