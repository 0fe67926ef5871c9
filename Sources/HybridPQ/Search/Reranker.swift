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
        return input.tables.values.withUnsafeBufferPointer { lb in
            let lut = lb.baseAddress! + input.query * input.tables.stride
            return positions.map { p in
                let (run, row) = runs.locate(p)
                let codes = run.codes!
                var s: Float = 0
                switch input.layout {
                case .rows:
                    let c = codes + row * m
                    for sub in 0..<m { s += lut[sub * kw + Int(c[sub])] }
                case let .fastScan(layout):
                    let (offset, shift) = layout.address(item: row), half = FastScanLayout.bytesPerSubspace
                    for sub in 0..<m { s += lut[sub * kw + Int((codes[offset + sub * half] >> shift) & 0x0F)] }
                }
                return s
            }
        }
    }
}
