import Foundation

/// DnS's figure: R@1 against the fraction of queries re-ranked by the fine stage — the hot code
/// alone at 0, `dns-select` rows in between (one line per selector), `dns` at 1.
struct FractionPlot {
    var title: String
    var rows: [ResultRow]

    /// The (fraction, R@1) points of each line: "hot code + <selector> selector".
    var lines: [(name: String, points: [(Double, Double)])] {
        let hot = rows.first { $0.method == "hcq" }?.recall1
        let all = rows.first { $0.method == "dns" }?.recall1
        var byName: [String: [(Double, Double)]] = [:]
        for r in rows where r.method == "dns-select" {
            guard let f = r.params.first(where: { $0.0 == "rerank_fraction" }).flatMap({ Double($0.1) }), let r1 = r.recall1 else { continue }
            let sel = r.params.first { $0.0 == "selector" }?.1 ?? "learned"
            byName["\(sel) selector", default: []].append((f, r1))
        }
        return byName.keys.sorted().map { name in
            var p = byName[name]!
            if let hot { p.append((0, hot)) }
            if let all { p.append((1, all)) }
            return (name, p.sorted { $0.0 < $1.0 })
        }
    }

    func svg() -> String {
        let width = 640.0, height = 420.0, left = 70.0, right = 170.0, top = 40.0, bottom = 60.0
        let plotW = width - left - right, plotH = height - top - bottom
        let ys = lines.flatMap { $0.points.map(\.1) }
        let ymin = ((ys.min() ?? 0) * 20).rounded(.down) / 20, ymax = max(((ys.max() ?? 1) * 20).rounded(.up) / 20, ymin + 0.05)
        func px(_ f: Double) -> Double { left + f * plotW }
        func py(_ r: Double) -> Double { top + (ymax - r) / (ymax - ymin) * plotH }
        var s = SVG.page(width: width, height: height, title: title, titleX: left + plotW / 2)
        var t = ymin
        while t <= ymax + 1e-9 {
            s += "<line x1=\"\(left)\" y1=\"\(py(t))\" x2=\"\(left + plotW)\" y2=\"\(py(t))\" stroke=\"#ddd\"/>\n"
            s += "<text x=\"\(left - 8)\" y=\"\(py(t) + 4)\" text-anchor=\"end\">\(String(format: "%.0f", t * 100))</text>\n"
            t += 0.05
        }
        for f in stride(from: 0.0, through: 1.0001, by: 0.1) {
            s += "<line x1=\"\(px(f))\" y1=\"\(top)\" x2=\"\(px(f))\" y2=\"\(top + plotH)\" stroke=\"#ddd\"/>\n"
            s += "<text x=\"\(px(f))\" y=\"\(top + plotH + 20)\" text-anchor=\"middle\">\(Int((f * 100).rounded()))</text>\n"
        }
        s += "<text x=\"\(left + plotW / 2)\" y=\"\(height - 15)\" text-anchor=\"middle\">queries re-ranked by the fine stage (%)</text>\n"
        s += "<text x=\"18\" y=\"\(top + plotH / 2)\" text-anchor=\"middle\" transform=\"rotate(-90 18 \(top + plotH / 2))\">R@1 (%)</text>\n"
        for (i, line) in lines.enumerated() {
            s += SVG.line(line.points.map { (px($0.0), py($0.1)) }, colour: SVG.colours[i % SVG.colours.count], name: line.name,
                          legendX: left + plotW + 12, legendY: top + 16 + 20 * Double(i))
        }
        return s + "</svg>\n"
    }
}
