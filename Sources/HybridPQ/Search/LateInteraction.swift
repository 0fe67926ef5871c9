/// Late interaction: s_fine(q, v) = mean over q's valid tokens t of max over v's frames n of
/// ⟨x_t, f̂_n⟩, with f̂_n the decoded frame. The re-ranker decodes the candidates' frames and
/// takes all token × frame inner products in one matrix product — for a few dozen candidates
/// that is far cheaper than a lookup table per token (Tq · M · K · d products per query).
public enum LateInteraction {
    /// Fine scores of several items: `tokens` (one row per valid query token), `frames` (the items'
    /// frames, item after item), `ranges[i]` the rows of item i in `frames`. An item without
    /// frames, or a query without tokens, gets nil (it is ranked by its coarse score alone).
    public static func scores(tokens: Matrix, frames: Matrix, ranges: [Range<Int>]) -> [Float?] {
        guard tokens.rows > 0, frames.rows > 0 else { return ranges.map { _ in nil } }
        precondition(tokens.columns == frames.columns, "tokens and frames of different dimensions")
        let nt = tokens.rows, nf = frames.rows
        var dots = [Float](repeating: 0, count: nt * nf)
        tokens.values.withUnsafeBufferPointer { t in
            frames.values.withUnsafeBufferPointer { f in
                dots.withUnsafeMutableBufferPointer { c in
                    BLAS.gemmABt(m: nt, n: nf, k: tokens.columns, a: t.baseAddress!, lda: tokens.columns,
                                 b: f.baseAddress!, ldb: frames.columns, c: c.baseAddress!, ldc: nf)
                }
            }
        }
        return ranges.map { r in
            guard !r.isEmpty else { return nil }
            var total: Float = 0
            for t in 0..<nt {
                var best = -Float.infinity
                for n in r { best = max(best, dots[t * nf + n]) }
                total += best
            }
            return total / Float(nt)
        }
    }
}

/// The DnS fine stage as a `Reranker`: hybrid score = the exact coarse table score of the
/// candidate's hot code + λ · late interaction of the query's tokens with its frames in the cold
/// store. Token tables are built per query, when the query is re-ranked.
public struct LateInteractionReranker: Reranker {
    /// The queries' raw tokens, one item per query of the search (the fine model's heads are
    /// folded into the stored frames: `FineModel.foldedFrameHead`).
    public let tokens: SequenceFeatures
    /// The frames' cold store, row i = the hot store's position i.
    public let store: FrameStore
    /// λ.
    public let weight: Float
    /// The selector and the score a query needs to be re-ranked (nil: every query is).
    public let selection: (selector: QuerySelector, threshold: Float)?
    /// With a store that keeps refined coarse codes: the queries' coarse embeddings in the hot
    /// level's rotated space, and the hot level's metric (the refined coarse term is
    /// −‖q − x̂‖² for L2, ⟨q, x̂⟩ for inner product).
    public let refinedQueries: Matrix?
    public let metric: Metric
    let coarse = ExactTableReranker()

    /// A re-ranker for one search's queries; with `selection`, only the queries the selector
    /// scores at or above the threshold get the fine score (the others keep the coarse one).
    public init(tokens: SequenceFeatures, store: FrameStore, weight: Float,
                selection: (selector: QuerySelector, threshold: Float)? = nil, refinedQueries: Matrix? = nil, metric: Metric = .l2) {
        self.tokens = tokens
        self.store = store
        self.weight = weight
        self.selection = selection
        self.refinedQueries = refinedQueries
        self.metric = metric
    }

    /// The coarse term of `positions` for query `q`: from the refined codes when the store keeps
    /// them (and `refinedQueries` are given), else the hot code's exact table score.
    public func coarseScores(of positions: [Int], query q: Int, _ input: RerankInput) -> [Float] {
        guard let refiner = store.refiner, let queries = refinedQueries, q < queries.rows else { return coarse.scores(of: positions, input) }
        let m = refiner.subspaces, ds = refiner.subDimension, l2 = metric == .l2
        return store.refinedCodes.withUnsafeBufferPointer { codes in
            refiner.codebooks.withUnsafeBufferPointer { books in
                queries.values.withUnsafeBufferPointer { qv in
                    let query = qv.baseAddress! + q * queries.columns
                    return positions.map { p in
                        guard p < store.count else { return -.infinity }
                        var dot: Float = 0, dist: Float = 0
                        for sub in 0..<m {
                            let c = books.baseAddress! + (sub * 256 + Int(codes[p * m + sub])) * ds, y = query + sub * ds
                            for j in 0..<ds { let t = c[j] - y[j]; dot += c[j] * y[j]; dist += t * t }
                        }
                        return l2 ? -dist : dot
                    }
                }
            }
        }
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

    /// The query's valid tokens in the frame quantizer's space (rotated when it has a rotation).
    public func tokenVectors(query q: Int) -> Matrix {
        let rows = (0..<tokens.length).filter { tokens.mask[q * tokens.length + $0] != 0 }.map { q * tokens.length + $0 }
        return store.quantizer.rotated(tokens.values.gathering(rows: rows))
    }

    /// The decoded frames of `positions` (item after item) and each item's rows among them.
    public func frames(of positions: [Int]) -> (Matrix, [Range<Int>]) {
        let m = store.quantizer.quantizer.subspaces
        var codes: [UInt8] = [], ranges: [Range<Int>] = []
        store.withViews { c, first in
            for p in positions {
                guard p < store.count, let c else { ranges.append(0..<0); continue }
                let lo = Int(first[p]), hi = Int(first[p + 1]), start = codes.count / m
                store.appendCodes(c, first: lo, frames: hi - lo, to: &codes)
                ranges.append(start..<(start + hi - lo))
            }
        }
        // Codes come from the store, which encoded them or checked them on load: decoding cannot
        // fail; were it to, the candidates would keep their coarse scores rather than trap.
        let decoded = (try? store.quantizer.quantizer.decode(codes)) ?? Matrix(rows: 0, columns: store.quantizer.quantizer.dimension)
        return (decoded, ranges)
    }

    public func scores(of positions: [Int], _ input: RerankInput) -> [Float] {
        let q = input.batchStart + input.query
        // The selector reads the hot stage's own scores (what it was trained on); a query it
        // leaves out keeps them and touches no cold byte.
        let hot = coarse.scores(of: positions, input)
        guard selects(query: q, coarse: hot) else { return hot }
        var s = store.refiner == nil ? hot : coarseScores(of: positions, query: q, input)
        guard weight != 0 else { return s }
        let (decoded, ranges) = frames(of: positions)
        for (i, fine) in LateInteraction.scores(tokens: tokenVectors(query: q), frames: decoded, ranges: ranges).enumerated() {
            if let fine { s[i] += weight * fine }
        }
        return s
    }
}
