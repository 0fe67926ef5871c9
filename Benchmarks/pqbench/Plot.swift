import Foundation

/// An SVG chart of recall against bytes per item: one colour per method, R@10 solid with
/// circles, R@1 dashed with squares, log₂-scale x axis, labelled axes, a legend.
struct RecallPlot {
    var title: String
    var rows: [ResultRow]

    func svg() -> String {
        let width = 760.0, height = 480.0
        let left = 70.0, right = 190.0, top = 40.0, bottom = 60.0
        let plotW = width - left - right, plotH = height - top - bottom
        let points = rows.filter { $0.recall1 != nil && $0.recall10 != nil }
        let xs = points.map { log2(Double($0.bytesPerItem)) }
        let xmin = (xs.min() ?? 0).rounded(.down), xmax = max((xs.max() ?? 1).rounded(.up), xmin + 1)
        let ys = points.flatMap { [$0.recall1!, $0.recall10!] }
        let ymin = max(0, ((ys.min() ?? 0) * 10).rounded(.down) / 10), ymax = 1.0
        func px(_ b: Int) -> Double { left + (log2(Double(b)) - xmin) / (xmax - xmin) * plotW }
        func py(_ r: Double) -> Double { top + (ymax - r) / max(ymax - ymin, 0.01) * plotH }
        let colours = SVG.colours
        var s = SVG.page(width: width, height: height, title: title, titleX: left + plotW / 2)
        // Grid and axes.
        var tick = ymin
        while tick <= ymax + 1e-9 {
            let y = py(tick)
            s += "<line x1=\"\(left)\" y1=\"\(y)\" x2=\"\(left + plotW)\" y2=\"\(y)\" stroke=\"#ddd\"/>\n"
            s += "<text x=\"\(left - 8)\" y=\"\(y + 4)\" text-anchor=\"end\">\(Int((tick * 100).rounded()))</text>\n"
            tick += 0.1
        }
        var e = xmin
        while e <= xmax + 1e-9 {
            let x = left + (e - xmin) / (xmax - xmin) * plotW
            s += "<line x1=\"\(x)\" y1=\"\(top)\" x2=\"\(x)\" y2=\"\(top + plotH)\" stroke=\"#ddd\"/>\n"
            s += "<text x=\"\(x)\" y=\"\(top + plotH + 20)\" text-anchor=\"middle\">\(Int(pow(2, e)))</text>\n"
            e += 1
        }
        s += "<rect x=\"\(left)\" y=\"\(top)\" width=\"\(plotW)\" height=\"\(plotH)\" fill=\"none\" stroke=\"black\"/>\n"
        s += "<text x=\"\(left + plotW / 2)\" y=\"\(height - 15)\" text-anchor=\"middle\">bytes per item (log scale)</text>\n"
        s += "<text transform=\"translate(20 \(top + plotH / 2)) rotate(-90)\" text-anchor=\"middle\">recall (%)</text>\n"
        // One colour per method; R@10 solid + circles, R@1 dashed + squares.
        var methods: [String] = []
        for r in points where !methods.contains(r.method) { methods.append(r.method) }
        for (i, method) in methods.enumerated() {
            let colour = colours[i % colours.count]
            let series = points.filter { $0.method == method }.sorted { $0.bytesPerItem < $1.bytesPerItem }
            for (metric, dash) in [(\ResultRow.recall10, ""), (\ResultRow.recall1, " stroke-dasharray=\"6 4\"")] {
                let path = series.map { "\(px($0.bytesPerItem)),\(py($0[keyPath: metric]!))" }.joined(separator: " ")
                s += "<polyline points=\"\(path)\" fill=\"none\" stroke=\"\(colour)\" stroke-width=\"2\"\(dash)/>\n"
                for r in series {
                    let x = px(r.bytesPerItem), y = py(r[keyPath: metric]!)
                    s += dash.isEmpty
                        ? "<circle cx=\"\(x)\" cy=\"\(y)\" r=\"4\" fill=\"\(colour)\"/>\n"
                        : "<rect x=\"\(x - 3.5)\" y=\"\(y - 3.5)\" width=\"7\" height=\"7\" fill=\"\(colour)\"/>\n"
                }
            }
            let ly = top + 10 + Double(i) * 22
            s += "<line x1=\"\(left + plotW + 15)\" y1=\"\(ly)\" x2=\"\(left + plotW + 45)\" y2=\"\(ly)\" stroke=\"\(colour)\" stroke-width=\"3\"/>\n"
            s += "<text x=\"\(left + plotW + 52)\" y=\"\(ly + 4)\">\(escape(method))</text>\n"
        }
        let ly = top + 20 + Double(methods.count) * 22
        s += "<line x1=\"\(left + plotW + 15)\" y1=\"\(ly)\" x2=\"\(left + plotW + 45)\" y2=\"\(ly)\" stroke=\"black\" stroke-width=\"2\"/>\n"
        s += "<text x=\"\(left + plotW + 52)\" y=\"\(ly + 4)\">R@10</text>\n"
        s += "<line x1=\"\(left + plotW + 15)\" y1=\"\(ly + 22)\" x2=\"\(left + plotW + 45)\" y2=\"\(ly + 22)\" stroke=\"black\" stroke-width=\"2\" stroke-dasharray=\"6 4\"/>\n"
        s += "<text x=\"\(left + plotW + 52)\" y=\"\(ly + 26)\">R@1</text>\n"
        return s + "</svg>\n"
    }

    private func escape(_ t: String) -> String { SVG.escape(t) }
}
