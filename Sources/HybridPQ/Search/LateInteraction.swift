/// Late interaction over codes: s_fine(q, v) = mean over q's valid tokens t of max over v's
/// frames n of ⟨x_t, f̂_n⟩, with f̂_n the decoded frame — computed as a lookup: each token's
/// inner-product table over the frame quantizer (`LookupTables`, one row per valid token),
/// summed over a frame's codes.
public enum LateInteraction {
    /// The fine score of one item from its frame codes (`frames` frames of `subspaces` bytes at
    /// `codes`) against `tables` (one row per valid query token); nil when there is no valid
    /// token or no frame (the item is then scored by its coarse code alone).
    public static func score(tables: LookupTables, codes: UnsafePointer<UInt8>?, frames: Int) -> Float? {
        let m = tables.subspaces, kw = tables.codewords
        guard tables.queries > 0, frames > 0, let codes else { return nil }
        return tables.values.withUnsafeBufferPointer { lb in
            var total: Float = 0
            for t in 0..<tables.queries {
                let lut = lb.baseAddress! + t * tables.stride
                var best = -Float.infinity
                for n in 0..<frames {
                    let c = codes + n * m
                    var s: Float = 0
                    for sub in 0..<m { s += lut[sub * kw + Int(c[sub])] }
                    best = max(best, s)
                }
                total += best
            }
            return total / Float(tables.queries)
        }
    }
}

/// The DnS fine stage as a `Reranker`: hybrid score = the exact coarse table score of the
/// candidate's hot code + λ · late interaction of the query's tokens with its frames in the cold
/// store. Token tables are built per query, when the query is re-ranked.
public struct LateInteractionReranker: Reranker {
    /// The queries' token embeddings (after the fine head), one item per query of the search.
    public let tokens: SequenceFeatures
    /// The frames' cold store, row i = the hot store's position i.
    public let store: FrameStore
    /// λ.
    public let weight: Float
    /// The selector and the score a query needs to be re-ranked (nil: every query is).
    public let selection: (selector: QuerySelector, threshold: Float)?
    let coarse = ExactTableReranker()

    /// A re-ranker for one search's queries; with `selection`, only the queries the selector
    /// scores at or above the threshold get the fine score (the others keep the coarse one).
    public init(tokens: SequenceFeatures, store: FrameStore, weight: Float,
                selection: (selector: QuerySelector, threshold: Float)? = nil) {
        self.tokens = tokens
        self.store = store
        self.weight = weight
        self.selection = selection
    }

    /// Valid tokens of query `q`.
    public func tokenCount(query q: Int) -> Int {
        (0..<tokens.length).reduce(0) { $0 + (tokens.mask[q * tokens.length + $1] != 0 ? 1 : 0) }
    }

    /// Whether query `q`, whose candidates score `coarse`, goes to the fine stage.
    func selects(query q: Int, coarse: [Float]) -> Bool {
        guard let selection, !coarse.isEmpty else { return true }
        let top = Array(coarse.sorted(by: >).prefix(10))
        return selection.selector.score(QuerySelector.features(topScores: top, tokens: tokenCount(query: q))) >= selection.threshold
    }

    /// The query's token tables over the frame quantizer (valid tokens only).
    public func tables(query q: Int) throws(ModelError) -> LookupTables {
        let rows = (0..<tokens.length).filter { tokens.mask[q * tokens.length + $0] != 0 }.map { q * tokens.length + $0 }
        return try store.quantizer.lookupTables(tokens.values.gathering(rows: rows))
    }

    public func scores(of positions: [Int], _ input: RerankInput) -> [Float] {
        var s = coarse.scores(of: positions, input)
        let q = input.batchStart + input.query
        guard weight != 0, selects(query: q, coarse: s), let t = try? tables(query: q), t.queries > 0 else { return s }
        let m = store.bytesPerFrame
        store.withViews { codes, first in
            for (i, p) in positions.enumerated() where p < store.count {
                let lo = Int(first[p]), hi = Int(first[p + 1])
                if let fine = LateInteraction.score(tables: t, codes: codes.map { $0 + lo * m }, frames: hi - lo) {
                    s[i] += weight * fine
                }
            }
        }
        return s
    }
}
