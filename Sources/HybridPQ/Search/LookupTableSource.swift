/// Where a searcher gets the float lookup tables of a batch of queries: a quantizer (plain and
/// rotated indexes), or a model's weighted levels side by side (the hybrid index).
public protocol LookupTableSource: Sendable {
    /// The queries as the source takes them (vectors, or a model's level embeddings).
    associatedtype Queries
    /// Queries in `queries`.
    func count(of queries: Queries) -> Int
    /// The tables of the queries in `rows`, M × K per query over the store's sub-spaces.
    func tables(_ queries: Queries, rows: Range<Int>) throws(IndexError) -> LookupTables
}

/// The tables of one product quantizer under a metric.
public struct QuantizerTables: LookupTableSource {
    /// The quantizer whose codebooks the tables score.
    public let quantizer: ProductQuantizer
    /// Inner product or L2.
    public let metric: Metric

    /// Tables of `quantizer` under `metric`.
    public init(quantizer: ProductQuantizer, metric: Metric) {
        self.quantizer = quantizer
        self.metric = metric
    }

    public func count(of queries: Matrix) -> Int { queries.rows }

    public func tables(_ queries: Matrix, rows: Range<Int>) throws(IndexError) -> LookupTables {
        do { return try quantizer.lookupTables(queries.slicing(rows: rows), metric: metric) } catch { throw .quantizer(error) }
    }
}
