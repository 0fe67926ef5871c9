import Foundation

/// Renders results as the human table, the DESIGN.md §5 JSON and CSV.
struct Report {
    var dataset: String
    var databaseCount: Int
    var queryCount: Int
    var dimension: Int
    var protocolName: String
    var threads: Int
    var rows: [ResultRow]
    /// Method/size pairs asked for and not built.
    var skipped: [SkippedRow] = []

    func table() -> String {
        let header = ["method", "params", "B/item", "index MiB", "R@1", "±SE", "R@5", "R@10", "MdR", "ANN@10",
                      "train s", "QPS", "scan/core"]
        var lines = [header]
        for r in rows {
            let se = r.recall1.map { String(format: "%.2f", 100 * ($0 * (1 - $0) / Double(max(1, r.queries))).squareRoot()) } ?? "-"
            lines.append([
                r.method, r.params.map { "\($0.0)=\($0.1)" }.joined(separator: " "), "\(r.bytesPerItem)",
                String(format: "%.2f", Double(r.indexBytes) / 1_048_576),
                pct(r.recall1), se, pct(r.recall5), pct(r.recall10),
                r.medianRank.map { String(format: "%g", $0) } ?? "-", pct(r.annRecall10),
                String(format: "%.2f", r.trainSeconds), String(format: "%.0f", r.searchQPS), sci(r.scanPerCore),
            ])
        }
        let widths = (0..<header.count).map { c in lines.map { $0[c].count }.max()! }
        var out = "\(dataset): database \(databaseCount) (\(protocolName)), queries \(queryCount), dim \(dimension), threads \(threads); recall in %\n"
        for (i, l) in lines.enumerated() {
            out += zip(l, widths).enumerated().map { c, p in
                c < 2 ? p.0.padding(toLength: p.1, withPad: " ", startingAt: 0)
                      : String(repeating: " ", count: p.1 - p.0.count) + p.0
            }.joined(separator: "  ") + "\n"
            if i == 0 { out += widths.map { String(repeating: "-", count: $0) }.joined(separator: "  ") + "\n" }
        }
        for k in skipped { out += "not built: \(k.method)\(k.bytes.map { " at \($0) B" } ?? ""): \(k.reason)\n" }
        return out
    }

    func json() -> String {
        var s = "{\n  \"dataset\": {\"name\": \(q(dataset)), \"database\": \(databaseCount), \"queries\": \(queryCount), \"dim\": \(dimension), \"protocol\": \(q(protocolName)), \"threads\": \(threads)},\n  \"results\": [\n"
        s += rows.map { r in
            let params = r.params.map { p in "\(q(p.0)): " + (Int(p.1) != nil || Double(p.1)?.isFinite == true ? p.1 : q(p.1)) }
                .joined(separator: ", ")
            return """
                {
                  "method": \(q(r.method)),
                  "params": {\(params)},
                  "bytes_per_item": \(r.bytesPerItem),
                  "cold_bytes_per_item": \(num(r.coldBytesPerItem)),
                  "index_bytes": \(r.indexBytes),
                  "recall": {"R@1": \(num(r.recall1)), "R@5": \(num(r.recall5)), "R@10": \(num(r.recall10)), "MdR": \(num(r.medianRank)), "R@1_se": \(num(r.recall1.map { ($0 * (1 - $0) / Double(max(1, r.queries))).squareRoot() }))},
                  "ann_recall_at_10": \(num(r.annRecall10)),
                  "train_seconds": \(num(r.trainSeconds)),
                  "add_seconds": \(num(r.addSeconds)),
                  "search_qps": \(num(r.searchQPS)),
                  "latency_p50_us": \(num(r.latencyP50)),
                  "latency_p99_us": \(num(r.latencyP99)),
                  "concurrent_qps": \(num(r.concurrentQPS)),
                  "build_peak_anon_bytes": \(r.buildPeakAnonBytes.map(String.init) ?? "null"),
                  "scan_codes_per_second_per_core": \(num(r.scanPerCore))
                }
            """
        }.joined(separator: ",\n")
        s += "\n  ],\n  \"skipped\": ["
        s += skipped.map { k in
            "\n    {\"method\": \(q(k.method)), \"bytes\": \(k.bytes.map(String.init) ?? "null"), \"reason\": \(q(k.reason))}"
        }.joined(separator: ",")
        return s + (skipped.isEmpty ? "]\n}\n" : "\n  ]\n}\n")
    }

    func csv() -> String {
        var s = "method,params,bytes_per_item,index_bytes,R@1,R@5,R@10,MdR,ann_recall_at_10,train_seconds,search_qps,scan_codes_per_second_per_core\n"
        for r in rows {
            s += [r.method, r.params.map { "\($0.0)=\($0.1)" }.joined(separator: " "), "\(r.bytesPerItem)", "\(r.indexBytes)",
                  num(r.recall1), num(r.recall5), num(r.recall10), num(r.medianRank), num(r.annRecall10),
                  num(r.trainSeconds), num(r.searchQPS), num(r.scanPerCore)].joined(separator: ",") + "\n"
        }
        return s
    }

    private func pct(_ v: Double?) -> String { v.map { String(format: "%.2f", 100 * $0) } ?? "-" }
    private func sci(_ v: Double) -> String { String(format: "%.3g", v) }
    private func num(_ v: Double?) -> String {
        guard let v, v.isFinite else { return "null" }
        return v == v.rounded() && abs(v) < 1e15 ? String(format: "%.1f", v) : String(format: "%.6g", v)
    }
    private func q(_ s: String) -> String { jsonString(s) }
}

/// `s` as a JSON string literal (quotes and backslashes escaped).
func jsonString(_ s: String) -> String {
    "\"" + s.replacingOccurrences(of: "\\", with: "\\\\").replacingOccurrences(of: "\"", with: "\\\"") + "\""
}
