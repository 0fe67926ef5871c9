import Testing
import HybridPQ

/// The IVF index against references over the same codes: all lists probed = the flat code
/// index; fewer = the flat code index over the items of the probed lists only.
@Suite("IVF: coarse lists as runs of one store")
struct IVFIndexTests {
    static let d = 16

    @Test("nprobe = nlist equals the flat index; fewer lists equal it over their items; filters apply", arguments: [8, 4])
    func probes(bits: Int) throws {
        let train = TestData.gaussian(rows: 800, columns: Self.d, seed: 960)
        let pq = try ProductQuantizer.train(train, subspaces: bits == 4 ? 8 : 4, bitsPerCode: bits, iterations: 3, seed: 1)
        let centroids = try IVFIndex.trainCentroids(train, lists: 6)
        var ivf = try IVFIndex(centroids: centroids, quantizer: pq)
        let x = TestData.gaussian(rows: 400, columns: Self.d, seed: 961)
        let ids = (0..<400).map { Int64(3 * $0 + 1) }
        try ivf.add(x.slicing(rows: 0..<150), ids: Array(ids[0..<150]))
        try ivf.add(x.slicing(rows: 150..<400), ids: Array(ids[150..<400]))
        #expect(ivf.count == 400 && ivf.listSizes.reduce(0, +) == 400 && ivf.listSizes.filter { $0 > 0 }.count > 1)
        func flat(_ rows: [Int]) throws -> AnyIndex {
            var f: AnyIndex = bits == 4 ? .pq4(try PQ4Index(quantizer: pq)) : .pq(PQIndex(quantizer: pq))
            try f.add(x.gathering(rows: rows), ids: rows.map { ids[$0] })
            return f
        }
        let q = TestData.gaussian(rows: 7, columns: Self.d, seed: 962)
        let p = SearchParameters(k: 10, rerank: 400)
        var all = p
        all.nprobe = 6
        #expect(try ivf.search(q, parameters: all).ids == flat(Array(0..<400)).search(q, parameters: p).ids)
        // nprobe 2: each query's results are the flat index's over the items of its two nearest lists.
        var two = p
        two.nprobe = 2
        let r = try ivf.search(q, parameters: two)
        let list = ivf_assign(centroids, x)
        for qi in 0..<7 {
            let near = ivf_assign2(centroids, q.row(qi))
            let rows = (0..<400).filter { near.contains(list[$0]) }
            let want = try flat(rows).search(q.slicing(rows: qi..<(qi + 1)), parameters: SearchParameters(k: min(10, rows.count), rerank: 400))
            #expect(Array(r.ids(ofQuery: qi).prefix(want.k)) == want.ids(ofQuery: 0), "query \(qi)")
        }
        var filtered = all
        filtered.filter = .allow(Set(ids.filter { $0 % 2 == 0 }))
        #expect(try ivf.search(q, parameters: filtered).ids.allSatisfy { $0 == -1 || $0 % 2 == 0 })
        // One probed list with a filter: the flat index over that list's allowed items (a probed
        // search sees only its lists' views, which need not start at store position 0).
        var oneList = p
        oneList.nprobe = 1
        oneList.filter = .allow(Set(ids.filter { $0 % 2 == 0 }))
        for qi in 0..<7 {
            // One query at a time: its search sees the one view of its list.
            let fr = try ivf.search(q.slicing(rows: qi..<(qi + 1)), parameters: oneList)
            let near = ivf_order(centroids, q.row(qi))[0]
            let rows = (0..<400).filter { list[$0] == near && ids[$0] % 2 == 0 }
            guard !rows.isEmpty else { continue }
            let want = try flat(rows).search(q.slicing(rows: qi..<(qi + 1)), parameters: SearchParameters(k: min(10, rows.count), rerank: 400))
            #expect(Array(fr.ids(ofQuery: 0).prefix(want.k)) == want.ids(ofQuery: 0), "filtered, query \(qi)")
        }
    }

    /// The projected coarse step, against a second implementation: principal directions of the
    /// centroids by power iteration with deflation (in Double), each list's estimate
    /// 2⟨Pᵀx, Pᵀ(c − μ)⟩ − ‖c‖², the best `candidates` of those scored exactly, the best probed.
    @Test("the projected coarse step probes the lists a second implementation picks; all directions and candidates equal the exact step", arguments: [Metric.l2, .innerProduct])
    func projectedCoarse(metric: Metric) throws {
        let train = TestData.gaussian(rows: 900, columns: Self.d, seed: 970)
        let pq = try ProductQuantizer.train(train, subspaces: 8, bitsPerCode: 4, iterations: 3, seed: 1)
        let nlist = 12
        let centroids = try IVFIndex.trainCentroids(train, lists: nlist)
        var ivf = try IVFIndex(centroids: centroids, quantizer: pq, metric: metric)
        let x = TestData.gaussian(rows: 500, columns: Self.d, seed: 971)
        try ivf.add(x)
        let q = TestData.gaussian(rows: 9, columns: Self.d, seed: 972)
        let list = ivf_assign(centroids, x)
        // Every direction, every list a candidate: the exact step's lists, one query and a batch.
        for probe in [1, 3] {
            var exact = SearchParameters(k: 10, rerank: 500)
            exact.nprobe = probe
            var full = exact
            full.coarseDimensions = Self.d
            full.coarseCandidates = nlist
            #expect(try ivf.search(q, parameters: full).ids == ivf.search(q, parameters: exact).ids, "batch, nprobe \(probe)")
            for qi in 0..<3 {
                let one = q.slicing(rows: qi..<(qi + 1))
                #expect(try ivf.search(one, parameters: full).ids == ivf.search(one, parameters: exact).ids, "query \(qi), nprobe \(probe)")
            }
        }
        // Many lists probed (more than the sorted buffer keeps: a heap) and many candidates:
        // each query's results are the flat index's over the items of its reference lists.
        var wide = try IVFIndex(centroids: IVFIndex.trainCentroids(train, lists: 40), quantizer: pq, metric: metric)
        try wide.add(x)
        let wideList = ivf_assign(wide.centroids, x)
        for dims in [nil, Self.d] as [Int?] {
            var many = SearchParameters(k: 10, rerank: 500)
            many.nprobe = 17
            many.coarseDimensions = dims
            many.coarseCandidates = dims == nil ? nil : 40
            let r = try wide.search(q, parameters: many)
            for qi in 0..<q.rows {
                let near = metric == .l2 ? Array(ivf_order(wide.centroids, q.row(qi)).prefix(17))
                    : Array((0..<40).sorted { a, b in
                        let (sa, sb) = (zip(wide.centroids.row(a), q.row(qi)).reduce(0.0) { $0 + Double($1.0) * Double($1.1) },
                                        zip(wide.centroids.row(b), q.row(qi)).reduce(0.0) { $0 + Double($1.0) * Double($1.1) })
                        return sa != sb ? sa > sb : a < b
                    }.prefix(17))
                let rows = (0..<x.rows).filter { near.contains(wideList[$0]) }
                var flat = try PQ4Index(quantizer: pq, metric: metric)
                try flat.add(x.gathering(rows: rows), ids: rows.map(Int64.init))
                let want = try flat.search(q.slicing(rows: qi..<(qi + 1)), parameters: SearchParameters(k: 10, rerank: 500))
                #expect(r.ids(ofQuery: qi) == want.ids(ofQuery: 0), "17 of 40 lists, coarse dimensions \(String(describing: dims)), query \(qi)")
            }
        }
        // Three directions, four candidates, one list probed: the reference's list.
        let dp = 3, candidates = 4
        let basis = ivf_principalDirections(centroids, count: dp)
        let mean = (0..<Self.d).map { j in (0..<nlist).reduce(0.0) { $0 + Double(centroids[$1, j]) } / Double(nlist) }
        func dot(_ a: [Double], _ b: [Double]) -> Double { zip(a, b).reduce(0) { $0 + $1.0 * $1.1 } }
        var p = SearchParameters(k: 10, rerank: 500)
        p.nprobe = 1
        p.coarseDimensions = dp
        p.coarseCandidates = candidates
        let batch = try ivf.search(q, parameters: p)
        var differs = 0
        for qi in 0..<q.rows {
            let v = q.row(qi).map(Double.init)
            let y = basis.map { dot($0, v) }
            func score(_ l: Int, _ inner: Double) -> Double {
                metric == .innerProduct ? inner : 2 * inner - centroids.row(l).reduce(0) { $0 + Double($1) * Double($1) }
            }
            let estimate = (0..<nlist).map { l -> Double in
                let c = (0..<Self.d).map { Double(centroids[l, $0]) - mean[$0] }
                return score(l, dot(y, basis.map { dot($0, c) }))
            }
            let short = (0..<nlist).sorted { estimate[$0] != estimate[$1] ? estimate[$0] > estimate[$1] : $0 < $1 }.prefix(candidates)
            let best = short.max { a, b in
                let (sa, sb) = (score(a, dot(v, centroids.row(a).map(Double.init))), score(b, dot(v, centroids.row(b).map(Double.init))))
                return sa != sb ? sa < sb : a > b
            }!
            if best != ivf_order(centroids, q.row(qi))[0] { differs += 1 }
            let rows = (0..<x.rows).filter { list[$0] == best }
            var flat = try PQ4Index(quantizer: pq, metric: metric)
            try flat.add(x.gathering(rows: rows), ids: rows.map(Int64.init))
            let one = q.slicing(rows: qi..<(qi + 1))
            let want = try flat.search(one, parameters: SearchParameters(k: min(10, rows.count), rerank: 500))
            #expect(Array(batch.ids(ofQuery: qi).prefix(want.k)) == want.ids(ofQuery: 0), "batch, query \(qi)")
            #expect(Array(try ivf.search(one, parameters: p).ids(ofQuery: 0).prefix(want.k)) == want.ids(ofQuery: 0), "alone, query \(qi)")
        }
        if metric == .l2 { #expect(differs > 0, "three of sixteen directions should miss some query's nearest list (else the test shows nothing)") }
        // Bad settings are typed errors naming them.
        for (dims, cand, name) in [(0, 4, "coarseDimensions"), (Self.d + 1, 4, "coarseDimensions"), (3, 0, "coarseCandidates")] {
            var bad = p
            bad.coarseDimensions = dims
            bad.coarseCandidates = cand
            #expect { try ivf.search(q, parameters: bad) } throws: { e in
                if case let .invalidParameter(n, _, _) = e as? IndexError { return n == name } else { return false }
            }
        }
    }

    /// Residual lists against brute force over the reconstructions c_l + decode(code of x − c_l):
    /// with every probed list re-ranked in full, each query's results are the best k of the
    /// reconstructions in its probed lists (scores equal to the reference's, nothing better
    /// missed), L2 and inner product, 8- and 4-bit codes, one query and a batch; the file keeps
    /// the flag; segments of residual and plain lists do not merge.
    @Test("residual lists: results are the best reconstructions c + r̂ of the probed lists", arguments: [8, 4])
    func residualLists(bits: Int) throws {
        for metric in [Metric.l2, .innerProduct] {
            let x = TestData.gaussian(rows: 500, columns: Self.d, seed: 980)
            let nlist = 6
            let centroids = try IVFIndex.trainCentroids(x, lists: nlist)
            let list = ivf_assign(centroids, x)
            var residuals = x
            for i in 0..<x.rows { for j in 0..<Self.d { residuals[i, j] -= centroids[list[i], j] } }
            let pq = try ProductQuantizer.train(residuals, subspaces: bits == 4 ? 8 : 4, bitsPerCode: bits, iterations: 3, seed: 1)
            var ivf = try IVFIndex(centroids: centroids, quantizer: pq, metric: metric, residual: true)
            #expect(ivf.residual)
            try ivf.add(x.slicing(rows: 0..<200))
            try ivf.add(x.slicing(rows: 200..<500), ids: (200..<500).map(Int64.init))
            let decoded = try pq.decode(pq.encode(residuals))
            let q = TestData.gaussian(rows: 5, columns: Self.d, seed: 981)
            func score(_ qi: Int, _ i: Int) -> Double {
                let v = q.row(qi), r = decoded.row(i), c = centroids.row(list[i])
                if metric == .innerProduct { return (0..<Self.d).reduce(0.0) { $0 + Double(v[$1]) * (Double(c[$1]) + Double(r[$1])) } }
                return -(0..<Self.d).reduce(0.0) { s, j in let t = Double(v[j]) - Double(c[j]) - Double(r[j]); return s + t * t }
            }
            for probe in [1, 2, nlist] {
                // Re-ranking depth shared by a query's lists: enough for every list in full.
                var p = SearchParameters(k: 7, rerank: 500 * nlist)
                p.nprobe = probe
                let batch = try ivf.search(q, parameters: p)
                for qi in 0..<q.rows {
                    let near: [Int]
                    if metric == .l2 {
                        near = Array(ivf_order(centroids, q.row(qi)).prefix(probe))
                    } else {
                        let ip = (0..<nlist).map { l in zip(centroids.row(l), q.row(qi)).reduce(0.0) { $0 + Double($1.0) * Double($1.1) } }
                        near = Array((0..<nlist).sorted { ip[$0] != ip[$1] ? ip[$0] > ip[$1] : $0 < $1 }.prefix(probe))
                    }
                    let want = (0..<x.rows).filter { near.contains(list[$0]) }.map { score(qi, $0) }.sorted(by: >)
                    let alone = try ivf.search(q.slicing(rows: qi..<(qi + 1)), parameters: p)
                    for r in [(batch, qi), (alone, 0)] {
                        let ids = r.0.ids(ofQuery: r.1), got = r.0.scores(ofQuery: r.1)
                        #expect(Set(ids).count == ids.count && ids.allSatisfy { $0 >= 0 && near.contains(list[Int($0)]) },
                                "query \(qi), nprobe \(probe): distinct ids of the probed lists")
                        for (j, id) in ids.enumerated() {
                            #expect(abs(Double(got[j]) - score(qi, Int(id))) < 1e-3, "score of \(id) is its reconstruction's")
                        }
                        #expect(Double(got[ids.count - 1]) >= want[ids.count - 1] - 1e-3, "nothing better missed (query \(qi), nprobe \(probe))")
                    }
                }
            }
            // The file keeps the flag and the results.
            let path = TestData.temporaryDirectory() + "/residual.hpq"
            try ivf.save(to: path)
            let loaded = try IVFIndex.load(from: path)
            var p = SearchParameters(k: 7, rerank: 500)
            p.nprobe = 2
            let before = try ivf.search(q, parameters: p).ids, after = try loaded.search(q, parameters: p).ids
            #expect(loaded.residual && before == after)
            // Plain and residual lists hold different codes: they do not merge.
            var plain = try IVFIndex(centroids: centroids, quantizer: pq, metric: metric)
            try plain.add(x.slicing(rows: 0..<10), ids: (1000..<1010).map(Int64.init))
            #expect(throws: IndexError.self) { try IVFIndex.gathering([(ivf, [0, 1]), (plain, [0])]) }
        }
    }

    /// A single query over lists holding more than two database chunks is split across cores;
    /// the probed lists' views lie anywhere in the store, and the split must cover exactly them.
    @Test("one query over large probed lists on two cores equals one core and the flat index over them")
    func splitProbes() throws {
        let train = TestData.gaussian(rows: 2_000, columns: 8, seed: 969)
        let pq = try ProductQuantizer.train(train, subspaces: 4, bitsPerCode: 4, iterations: 2, seed: 1)
        let centroids = try IVFIndex.trainCentroids(train, lists: 4)
        var ivf = try IVFIndex(centroids: centroids, quantizer: pq)
        let x = TestData.gaussian(rows: 160_000, columns: 8, seed: 970)
        try ivf.add(x)
        // Queries at the last two centroids: their two nearest lists are not lists 0 and 1, so
        // the probed views leave gaps in the store's positions.
        let q = centroids.gathering(rows: [3, 2])
        let lists = ivf_assign(centroids, x)
        var gaps = 0
        for qi in 0..<2 {
            let near = Array(ivf_order(centroids, q.row(qi)).prefix(2))
            if Set(near) != [0, 1] { gaps += 1 }
            let rows = (0..<x.rows).filter { near.contains(lists[$0]) }
            try #require(rows.count > 2 * 32_768)
            var flat = try PQ4Index(quantizer: pq)
            try flat.add(x.gathering(rows: rows), ids: rows.map(Int64.init))
            let one = q.slicing(rows: qi..<(qi + 1))
            let want = try flat.search(one, parameters: SearchParameters(k: 10, rerank: 100))
            var p = SearchParameters(k: 10, threads: 2, rerank: 100)
            p.nprobe = 2
            let two = try ivf.search(one, parameters: p)
            p.threads = 1
            let single = try ivf.search(one, parameters: p)
            #expect(two.ids == want.ids && single.ids == want.ids, "query \(qi)")
        }
        #expect(gaps > 0)
    }

    @Test("bad nprobe and nlist are typed errors; empty lists are normal")
    func badInput() throws {
        let train = TestData.gaussian(rows: 300, columns: Self.d, seed: 963)
        let pq = try ProductQuantizer.train(train, subspaces: 4, iterations: 2, seed: 1)
        #expect(throws: IndexError.self) { try IVFIndex.trainCentroids(train, lists: 301) }
        var ivf = try IVFIndex(centroids: IVFIndex.trainCentroids(train, lists: 20), quantizer: pq)
        try ivf.add(train.slicing(rows: 0..<3))
        #expect(ivf.listSizes.filter { $0 == 0 }.count >= 17)
        for bad in [0, 21] {
            var p = SearchParameters(k: 2)
            p.nprobe = bad
            #expect { try ivf.search(train.slicing(rows: 0..<1), parameters: p) } throws: { e in
                if case let .invalidParameter(name, value, _) = e as? IndexError { return name == "nprobe" && value == bad } else { return false }
            }
        }
        var p = SearchParameters(k: 5)
        p.nprobe = 20
        #expect(try ivf.search(train.slicing(rows: 0..<2), parameters: p).k == 3)
    }

    /// The `ivf` file: every list (empty ones included) comes back with its ids, copied or as
    /// views of one mapping, and searches the same; edited structure — list sizes that do not
    /// add up or go negative, a CODE section of another size, an nlist that disagrees with the
    /// centroids — is a typed error naming the problem (checksums recomputed, so the structural
    /// checks are what is tested).
    @Test("the ivf file round-trips (copied and mapped); list sizes that do not add up are typed errors", arguments: [8, 4])
    func file(bits: Int) throws {
        let train = TestData.gaussian(rows: 600, columns: Self.d, seed: 964)
        let pq = try ProductQuantizer.train(train, subspaces: bits == 4 ? 8 : 4, bitsPerCode: bits, iterations: 3, seed: 1)
        var ivf = try IVFIndex(centroids: IVFIndex.trainCentroids(train, lists: 12), quantizer: pq)
        try ivf.add(train.slicing(rows: 0..<5), ids: [40, 10, 30, 20, 0])      // most lists stay empty
        try ivf.add(train.slicing(rows: 5..<400))
        let path = TestData.temporaryDirectory() + "/i.hpq"
        try ivf.save(to: path)
        var p = SearchParameters(k: 7, rerank: 50)
        p.nprobe = 3
        let q = TestData.gaussian(rows: 5, columns: Self.d, seed: 965)
        let want = try ivf.search(q, parameters: p)
        for mapping in [false, true] {
            let back = try IVFIndex.load(from: path, mapping: mapping)
            #expect(back.listSizes == ivf.listSizes && back.nlist == 12 && back.count == 400)
            #expect(try back.search(q, parameters: p) == want, "mapping \(mapping)")
        }
        let any = try AnyIndex.load(from: path, mapping: true)
        let anyResults = try any.search(FeatureBatch(q), parameters: p)
        #expect(any.kind == .ivf && anyResults == want)
        // Structural edits with valid checksums.
        let c = try IndexFile.read(path)
        func edited(_ section: IndexFile.Section) throws -> String {
            let out = TestData.temporaryDirectory() + "/e.hpq"
            try IndexFile.write(kind: c.kind, sections: c.sections.values.map { $0.tag == section.tag ? section : $0 }, to: out)
            return out
        }
        func sizes(_ v: [Int64]) -> IndexFile.Section { .int64s("LSTS", StoredArray(v)) }
        var s = ivf.listSizes.map(Int64.init)
        let big = s.firstIndex { $0 > 1 }!
        s[big] -= 1; s[(big + 1) % 12] += 2                                     // one too many
        #expect { try IVFIndex.load(from: try edited(sizes(s))) } throws: { e in
            if case let .inconsistent(_, reason) = e as? IndexFileError { return reason.contains("add up") } else { return false }
        }
        s = ivf.listSizes.map(Int64.init)
        s[big] -= 1                                                              // one too few
        #expect { try IVFIndex.load(from: try edited(sizes(s))) } throws: { e in
            if case let .inconsistent(_, reason) = e as? IndexFileError { return reason.contains("add up to 399") } else { return false }
        }
        s = ivf.listSizes.map(Int64.init)
        s[big] = -s[big]; s[(big + 1) % 12] += 2 * Int64(ivf.listSizes[big])   // sums right, one negative
        #expect { try IVFIndex.load(from: try edited(sizes(s))) } throws: { e in
            if case let .inconsistent(_, reason) = e as? IndexFileError { return reason.contains("list \(big)") } else { return false }
        }
        s = ivf.listSizes.map(Int64.init)
        s[big] -= 1; s[(big + 1) % 12] += 1           // adds up; 4-bit: CODE fits only if no list changes its block count
        if bits == 4, (ivf.listSizes[big] % 32 == 1) != (ivf.listSizes[(big + 1) % 12] % 32 == 0) {
            #expect(throws: IndexFileError.self) { try IVFIndex.load(from: try edited(sizes(s))) }
        }
        #expect(throws: IndexFileError.self) { try IVFIndex.load(from: try edited(.uint8s("CODE", StoredArray(Array(c.payload("CODE")!.dropLast()))))) }
        #expect(throws: IndexFileError.self) { try IVFIndex.load(from: try edited(sizes(Array(s.dropLast())))) }
    }
}

extension IVFIndexTests {
    /// OPQ + IVF is the IVF index of rotated vectors: the same lists and results as an IVF
    /// index fed x·R and queried with q·R, and its `ivf-opq` file round-trips (copied, mapped,
    /// through `AnyIndex`); a file missing its rotation is a typed error.
    @Test("ivf-opq equals IVF over rotated vectors; its file round-trips", arguments: [8, 4])
    func rotated(bits: Int) throws {
        let train = TestData.gaussian(rows: 600, columns: Self.d, seed: 966)
        let rotation = try Orthogonal.random(Self.d, seed: 5)
        let rotatedTrain = train.multiplied(rotation)
        let pq = try ProductQuantizer.train(rotatedTrain, subspaces: bits == 4 ? 8 : 4, bitsPerCode: bits, iterations: 3, seed: 1)
        let centroids = try IVFIndex.trainCentroids(rotatedTrain, lists: 8)
        var opq = try IVFOPQIndex(rotation: rotation, base: IVFIndex(centroids: centroids, quantizer: pq))
        var plain = try IVFIndex(centroids: centroids, quantizer: pq)
        let x = TestData.gaussian(rows: 300, columns: Self.d, seed: 967)
        try opq.add(x)
        try plain.add(x.multiplied(rotation))
        #expect(opq.base.listSizes == plain.listSizes && opq.count == 300)
        let q = TestData.gaussian(rows: 6, columns: Self.d, seed: 968)
        var p = SearchParameters(k: 8, rerank: 60)
        p.nprobe = 3
        let want = try plain.search(q.multiplied(rotation), parameters: p)
        #expect(try opq.search(q, parameters: p).ids == want.ids)
        let path = TestData.temporaryDirectory() + "/o.hpq"
        try opq.save(to: path)
        for mapping in [false, true] {
            let back = try IVFOPQIndex.load(from: path, mapping: mapping)
            #expect(try back.search(q, parameters: p).ids == want.ids, "mapping \(mapping)")
        }
        let any = try AnyIndex.load(from: path, mapping: true)
        let anyResults = try any.search(FeatureBatch(q), parameters: p)
        #expect(any.kind == .ivfOPQ && anyResults.ids == want.ids)
        let c = try IndexFile.read(path)
        let cut = TestData.temporaryDirectory() + "/cut.hpq"
        try IndexFile.write(kind: c.kind, sections: c.sections.values.filter { $0.tag != "ROTN" }, to: cut)
        #expect { try IVFOPQIndex.load(from: cut) } throws: { e in
            if case let .missingSection(_, s) = e as? IndexFileError { return s == "ROTN" } else { return false }
        }
        #expect(throws: IndexFileError.self) { try IVFIndex.load(from: path) }     // an ivf-opq file is not a plain ivf one
    }
}

extension IVFIndexTests {
    /// A model's codes in IVF lists (pqbench ivf-hcq): all lists probed equals the model's
    /// `HybridIndex`; two lists equal it over the items of the query's two nearest lists, the
    /// lists found independently from the coarse embeddings (L2 cells for items; probing by L2
    /// for a joint-mode model, by inner product for an HCQ-mode one).
    @Test("a model's codes in IVF lists: probed lists equal HybridIndex over their items", arguments: [HybridModel.Mode.joint, .hcq])
    func modelLists(mode: HybridModel.Mode) throws {
        let data = ModelFixtures.data(count: 240)
        let model = try ModelFixtures.model(mode: mode, levels: 1)
        let e = try model.targetEmbeddings(data.targets, frames: data.frames)[0]
        // Centroids of unequal norms, so probing by inner product and by L2 pick different lists.
        var centroids = try IVFIndex.trainCentroids(e, lists: 5)
        for r in 0..<5 { for j in 0..<16 { centroids[r, j] *= 0.4 + 0.5 * Float(r) } }
        var ivf = try IVFIndex(centroids: centroids, model: model)
        let ids = (0..<240).map { Int64(7 * $0 + 2) }
        try ivf.add(FeatureBatch(data.targets, sequences: data.frames), ids: ids)
        #expect(ivf.count == 240 && ivf.dimension == 16 && ivf.bytesPerItem == 8 && ivf.listSizes.filter { $0 > 0 }.count > 1)
        func flat(_ rows: [Int]) throws -> HybridIndex {
            var h = try HybridIndex(model: model)
            try h.add(targets: data.targets.gathering(rows: rows), frames: data.frames!.gathering(items: rows), ids: rows.map { ids[$0] })
            return h
        }
        let queries = FeatureBatch(data.queries.slicing(rows: 0..<9), sequences: data.queryTokens!.gathering(items: Array(0..<9)))
        var all = SearchParameters(k: 6)
        all.nprobe = 5
        #expect(try ivf.search(queries, parameters: all).ids == flat(Array(0..<240)).search(queries, parameters: SearchParameters(k: 6)).ids)
        var two = SearchParameters(k: 6)
        two.nprobe = 2
        let r = try ivf.search(queries, parameters: two)
        let lists = ivf_assign(centroids, e)
        let q = try model.queryEmbeddings(queries.vectors, tokens: queries.sequences, quantized: true)[0]
        for qi in 0..<9 {
            let near: [Int]
            if mode == .hcq {
                let dots = (0..<5).map { c in (0..<16).reduce(0.0) { $0 + Double(centroids[c, $1] * q[qi, $1]) } }
                near = Array((0..<5).sorted { dots[$0] != dots[$1] ? dots[$0] > dots[$1] : $0 < $1 }.prefix(2))
            } else {
                near = ivf_assign2(centroids, q.row(qi))
            }
            let rows = (0..<240).filter { near.contains(lists[$0]) }
            let one = FeatureBatch(queries.vectors.slicing(rows: qi..<(qi + 1)), sequences: data.queryTokens!.gathering(items: [qi]))
            let want = try flat(rows).search(one, parameters: SearchParameters(k: min(6, rows.count)))
            #expect(Array(r.ids(ofQuery: qi).prefix(want.k)) == want.ids(ofQuery: 0), "query \(qi)")
        }
        // Its `ivf-hcq` file: the model and the lists come back (copied, mapped, through AnyIndex).
        let path = TestData.temporaryDirectory() + "/m.hpq"
        try ivf.save(to: path)
        for mapping in [false, true] {
            let back = try IVFIndex.load(from: path, mapping: mapping)
            let again = try back.search(queries, parameters: two)
            #expect(back.listSizes == ivf.listSizes && again == r, "mapping \(mapping)")
        }
        let any = try AnyIndex.load(from: path, mapping: true)
        let anyResults = try any.search(queries, parameters: two)
        #expect(any.kind == .ivfHCQ && anyResults == r)
        let loadedModel = try HybridModel.load(from: path)
        #expect(loadedModel == model)
        #expect(throws: IndexFileError.self) { try HybridIndex.load(from: path) }   // not an hcq index file
    }
}

/// Nearest centroid of each row (L2), written independently of the index.
func ivf_assign(_ c: Matrix, _ x: Matrix) -> [Int] {
    (0..<x.rows).map { i in ivf_order(c, x.row(i))[0] }
}

/// The two nearest centroids of `v`.
func ivf_assign2(_ c: Matrix, _ v: [Float]) -> [Int] { Array(ivf_order(c, v).prefix(2)) }

func ivf_order(_ c: Matrix, _ v: [Float]) -> [Int] {
    let d = (0..<c.rows).map { r in (0..<c.columns).reduce(0.0) { s, j in let t = Double(c[r, j] - v[j]); return s + t * t } }
    return (0..<c.rows).sorted { d[$0] != d[$1] ? d[$0] < d[$1] : $0 < $1 }
}

/// The `count` leading principal directions of `c`'s rows (eigenvectors of their covariance),
/// by power iteration with deflation in Double: a second implementation of the projected
/// coarse step's basis (which uses LAPACK's ssyev). Signs are arbitrary; products use both.
func ivf_principalDirections(_ c: Matrix, count: Int) -> [[Double]] {
    let n = c.rows, d = c.columns
    let mean = (0..<d).map { j in (0..<n).reduce(0.0) { $0 + Double(c[$1, j]) } / Double(n) }
    var cov = [[Double]](repeating: [Double](repeating: 0, count: d), count: d)
    for i in 0..<n {
        let r = (0..<d).map { Double(c[i, $0]) - mean[$0] }
        for a in 0..<d { for b in 0..<d { cov[a][b] += r[a] * r[b] } }
    }
    var out: [[Double]] = []
    for k in 0..<count {
        var v = (0..<d).map { Double(($0 * 7 + k * 3) % 11) + 1 }
        for _ in 0..<3000 {
            var w = (0..<d).map { a in (0..<d).reduce(0.0) { $0 + cov[a][$1] * v[$1] } }
            for u in out { let p = zip(u, w).reduce(0) { $0 + $1.0 * $1.1 }; w = zip(w, u).map { $0 - p * $1 } }
            let norm = w.reduce(0) { $0 + $1 * $1 }.squareRoot()
            v = w.map { $0 / norm }
        }
        out.append(v)
    }
    return out
}
