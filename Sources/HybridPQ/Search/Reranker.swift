/// What a re-ranking stage sees of one query: its row in the batch's float tables and raw
/// views of the store the candidates came from.
public struct RerankInput {
    /// The query's row in `tables`.
    public let query: Int
    /// The row of the batch's first query in the whole search (`batchStart + query` is the
    /// query's row in the caller's query batch).
    public let batchStart: Int
    /// The batch's float lookup tables (the first stage may have scanned quantized ones).
    public let tables: LookupTables
    /// Layout of the store's codes.
    public let layout: CodeLayout
    /// The store's runs (positions index them in order).
    public let runs: [CodeRunView]
}

/// The second stage of a search: re-scores the first stage's candidates (store positions) with
/// a finer score — exact float tables over the same codes, stored floats, per-frame codes.
/// Larger is better, as everywhere; the searcher keeps the best `k` by (score, id).
public protocol Reranker: Sendable {
    /// The scores of `positions` for `input.query`, in the same order.
    func scores(of positions: [Int], _ input: RerankInput) -> [Float]
}

/// Re-scores candidates with the exact float tables over their own codes: what makes a 4-bit
/// fast scan, which chose candidates by quantized tables, lose no recall to the quantization.
public struct ExactTableReranker: Reranker {
    /// A re-ranker over the store's own codes.
    public init() {}

    public func scores(of positions: [Int], _ input: RerankInput) -> [Float] {
        let kw = input.tables.codewords, m = input.tables.subspaces, runs = input.runs
        // Each candidate's codes as (first byte, byte stride, shift, mask): one loop for both layouts.
        let (stride, mask): (Int, UInt8)
        switch input.layout {
        case .rows: (stride, mask) = (1, 0xFF)
        case .fastScan: (stride, mask) = (FastScanLayout.bytesPerSubspace, 0x0F)
        }
        @inline(__always) func codes(_ p: Int) -> (UnsafePointer<UInt8>, UInt8) {
            let (run, row) = runs.locate(p)
            switch input.layout {
            case .rows: return (run.codes! + row * m, 0)
            case let .fastScan(layout):
                let (offset, shift) = layout.address(item: row)
                return (run.codes! + offset, shift)
            }
        }
        var out = [Float](repeating: 0, count: positions.count)
        input.tables.values.withUnsafeBufferPointer { lb in
            let lut = lb.baseAddress! + input.query * input.tables.stride
            // Four candidates at a time: four independent chains of float adds instead of one
            // (each candidate's sum still runs over m in order, so the scores are bit-identical).
            var i = 0
            while i + 4 <= positions.count {
                let (c0, h0) = codes(positions[i]), (c1, h1) = codes(positions[i + 1])
                let (c2, h2) = codes(positions[i + 2]), (c3, h3) = codes(positions[i + 3])
                var s0: Float = 0, s1: Float = 0, s2: Float = 0, s3: Float = 0
                for sub in 0..<m {
                    let t = lut + sub * kw, o = sub * stride
                    s0 += t[Int((c0[o] >> h0) & mask)]
                    s1 += t[Int((c1[o] >> h1) & mask)]
                    s2 += t[Int((c2[o] >> h2) & mask)]
                    s3 += t[Int((c3[o] >> h3) & mask)]
                }
                out[i] = s0; out[i + 1] = s1; out[i + 2] = s2; out[i + 3] = s3
                i += 4
            }
            while i < positions.count {
                let (c, h) = codes(positions[i])
                var s: Float = 0
                for sub in 0..<m { s += lut[sub * kw + Int((c[sub * stride] >> h) & mask)] }
                out[i] = s
                i += 1
            }
        }
        return out
    }
}
