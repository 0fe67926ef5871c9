import Foundation

/// ann-benchmarks' picture: queries per second (log scale) against R@10, one line per index
/// setting swept over `nprobe` — this run's IVF rows, and the rows of peer runs on the same
/// files (`--plot-peer`: a JSON report of pqbench or of Benchmarks/faiss, same schema), so one
/// figure compares them. Higher and further right is better.
struct ThroughputPlot {
    /// One point: R@10 (0…1) and QPS.
    typealias Point = (recall: Double, qps: Double)

    var title: String
    var lines: [(name: String, points: [Point])]

    /// The lines of rows that carry an `nprobe` (one per method and nlist), in row order.
    static func lines(method: (Int) -> String, params: (Int) -> [String: String], recall10: (Int) -> Double?,
                      qps: (Int) -> Double, count: Int, prefix: String = "") -> [(name: String, points: [Point])] {
        var order: [String] = [], byName: [String: [Point]] = [:]
        for i in 0..<count {
            let p = params(i)
            guard p["nprobe"] != nil, let r = recall10(i), qps(i) > 0 else { continue }
            let name = prefix + method(i) + (p["nlist"].map { " nlist \($0)" } ?? "")
            if byName[name] == nil { order.append(name) }
            byName[name, default: []].append((r, qps(i)))
        }
        return order.map { ($0, byName[$0]!.sorted { $0.recall < $1.recall }) }
    }

    /// This run's rows.
    static func lines(_ rows: [ResultRow]) -> [(name: String, points: [Point])] {
        lines(method: { rows[$0].method }, params: { Dictionary(rows[$0].params, uniquingKeysWith: { a, _ in a }) },
              recall10: { rows[$0].recall10 }, qps: { rows[$0].searchQPS }, count: rows.count)
    }

    /// The rows of a JSON report written by pqbench or Benchmarks/faiss (`results`: method,
    /// params, recall.R@10, search_qps); `prefix` names the run in the legend.
    static func lines(json path: String, prefix: String) throws -> [(name: String, points: [Point])] {
        let data = try Data(contentsOf: URL(fileURLWithPath: path))
        guard let top = try JSONSerialization.jsonObject(with: data) as? [String: Any], let rows = top["results"] as? [[String: Any]] else {
            throw UsageError("\(path): not a pqbench/faiss JSON report (no 'results')")
        }
        func text(_ v: Any?) -> String? { v.map { "\($0)" } }
        return lines(method: { rows[$0]["method"] as? String ?? "?" },
                     params: { ((rows[$0]["params"] as? [String: Any]) ?? [:]).compactMapValues(text) },
                     recall10: { (rows[$0]["recall"] as? [String: Any])?["R@10"] as? Double },
                     qps: { rows[$0]["search_qps"] as? Double ?? 0 }, count: rows.count, prefix: prefix)
    }

    func svg() -> String {
        let width = 720.0, height = 460.0, left = 80.0, right = 250.0, top = 40.0, bottom = 60.0
        let plotW = width - left - right, plotH = height - top - bottom
        let xs = lines.flatMap { $0.points.map(\.recall) }, ys = lines.flatMap { $0.points.map(\.qps) }
        let xmin = ((xs.min() ?? 0) * 20).rounded(.down) / 20, xmax = max(((xs.max() ?? 1) * 20).rounded(.up) / 20, xmin + 0.05)
        let lmin = log10(max(1, ys.min() ?? 1)).rounded(.down), lmax = max(log10(max(1, ys.max() ?? 10)).rounded(.up), lmin + 1)
        func px(_ r: Double) -> Double { left + (r - xmin) / (xmax - xmin) * plotW }
        func py(_ q: Double) -> Double { top + (lmax - log10(max(1, q))) / (lmax - lmin) * plotH }
        var s = SVG.page(width: width, height: height, title: title, titleX: left + plotW / 2)
        var e = lmin
        while e <= lmax + 1e-9 {
            s += "<line x1=\"\(left)\" y1=\"\(py(pow(10, e)))\" x2=\"\(left + plotW)\" y2=\"\(py(pow(10, e)))\" stroke=\"#ddd\"/>\n"
            s += "<text x=\"\(left - 8)\" y=\"\(py(pow(10, e)) + 4)\" text-anchor=\"end\">\(Int(pow(10, e)))</text>\n"
            e += 1
        }
        for r in stride(from: xmin, through: xmax + 1e-9, by: 0.05) {
            s += "<line x1=\"\(px(r))\" y1=\"\(top)\" x2=\"\(px(r))\" y2=\"\(top + plotH)\" stroke=\"#ddd\"/>\n"
            s += "<text x=\"\(px(r))\" y=\"\(top + plotH + 20)\" text-anchor=\"middle\">\(String(format: "%.2f", r))</text>\n"
        }
        s += "<text x=\"\(left + plotW / 2)\" y=\"\(height - 15)\" text-anchor=\"middle\">R@10</text>\n"
        s += "<text x=\"20\" y=\"\(top + plotH / 2)\" text-anchor=\"middle\" transform=\"rotate(-90 20 \(top + plotH / 2))\">queries per second (log)</text>\n"
        for (i, line) in lines.enumerated() {
            s += SVG.line(line.points.map { (px($0.recall), py($0.qps)) }, colour: SVG.colours[i % SVG.colours.count], name: line.name,
                          legendX: left + plotW + 12, legendY: top + 16 + 20 * Double(i))
        }
        return s + "</svg>\n"
    }
}
