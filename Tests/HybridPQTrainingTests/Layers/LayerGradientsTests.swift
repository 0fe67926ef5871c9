import HybridPQ
import HybridPQTraining
import Testing

@Suite struct LayerGradientsTests {
    typealias G = GradientCheck

    @Test func denseGradients() {
        let x = G.gaussian(5, 4, seed: 1), w = G.gaussian(3, 4, seed: 2), b = G.gaussian(1, 3, seed: 3)
        let r = G.gaussian(5, 3, seed: 4)
        var dw = Matrix(rows: 3, columns: 4), db = Matrix(rows: 1, columns: 3)
        let dx = LayerGradients.dense(r, input: x, weight: w, dWeight: &dw, dBias: &db)!
        #expect(G.relativeError(x, analytic: dx) { G.project(Layers.dense($0, weight: w, bias: b), r) } < G.tolerance)
        #expect(G.relativeError(w, analytic: dw) { G.project(Layers.dense(x, weight: $0, bias: b), r) } < G.tolerance)
        #expect(G.relativeError(b, analytic: db) { G.project(Layers.dense(x, weight: w, bias: $0), r) } < G.tolerance)
    }

    @Test func selfGateGradients() {
        let h = G.gaussian(4, 6, seed: 5), w = G.gaussian(6, 6, seed: 6, scale: 0.5), b = G.gaussian(1, 6, seed: 7)
        let r = G.gaussian(4, 6, seed: 8)
        let (_, gate) = Layers.selfGate(h, weight: w, bias: b)
        var dw = Matrix(rows: 6, columns: 6), db = Matrix(rows: 1, columns: 6)
        let dh = LayerGradients.selfGate(r, input: h, gate: gate, weight: w, dWeight: &dw, dBias: &db)
        #expect(G.relativeError(h, analytic: dh) { G.project(Layers.selfGate($0, weight: w, bias: b).output, r) } < G.tolerance)
        #expect(G.relativeError(w, analytic: dw) { G.project(Layers.selfGate(h, weight: $0, bias: b).output, r) } < G.tolerance)
        #expect(G.relativeError(b, analytic: db) { G.project(Layers.selfGate(h, weight: w, bias: $0).output, r) } < G.tolerance)
    }

    @Test func maskedMeanGradientsAndMask() {
        let x = G.gaussian(12, 5, seed: 9)          // 3 items × 4 elements
        let mask: [UInt8] = [1, 1, 0, 0, 1, 0, 1, 1, 0, 0, 0, 0]   // the third item is all padding
        let r = G.gaussian(3, 5, seed: 10)
        let (mean, counts) = Layers.maskedMean(x, mask: mask, length: 4)
        #expect(counts == [2, 3, 0])
        #expect(mean.row(2).allSatisfy { $0 == 0 })
        let dx = LayerGradients.maskedMean(r, mask: mask, length: 4, counts: counts)
        #expect(G.relativeError(x, analytic: dx, samples: 60) { G.project(Layers.maskedMean($0, mask: mask, length: 4).mean, r) } < G.tolerance)
        // Padding rows neither contribute nor receive gradient.
        var y = x
        for i in 0..<12 where mask[i] == 0 { for j in 0..<5 { y[i, j] = 99 } }
        #expect(Layers.maskedMean(y, mask: mask, length: 4).mean == mean)
        for i in 0..<12 where mask[i] == 0 { #expect(dx.row(i).allSatisfy { $0 == 0 }) }
    }

    @Test func ghostVLADGradients() {
        let (items, length, d, levels, ghosts) = (3, 4, 5, 2, 1)
        let x = G.gaussian(items * length, d, seed: 11)
        let mask: [UInt8] = [1, 1, 1, 0, 1, 0, 0, 0, 1, 1, 1, 1]
        let w = G.gaussian(levels + ghosts, d, seed: 12), b = G.gaussian(1, levels + ghosts, seed: 13)
        let c = G.gaussian(levels, d, seed: 14)
        let r = G.gaussian(items, levels * d, seed: 15)
        func out(_ x: Matrix, _ w: Matrix, _ b: Matrix, _ c: Matrix) -> Matrix {
            Layers.ghostVLAD(x, mask: mask, length: length, weight: w, bias: b, centres: c).output
        }
        let (_, a) = Layers.ghostVLAD(x, mask: mask, length: length, weight: w, bias: b, centres: c)
        var dw = Matrix(rows: 3, columns: d), db = Matrix(rows: 1, columns: 3), dc = Matrix(rows: levels, columns: d)
        let dx = LayerGradients.ghostVLAD(r, input: x, mask: mask, length: length, assignment: a, weight: w, centres: c,
                                          dWeight: &dw, dBias: &db, dCentres: &dc)
        #expect(G.relativeError(x, analytic: dx, samples: 60) { G.project(out($0, w, b, c), r) } < G.tolerance)
        #expect(G.relativeError(w, analytic: dw) { G.project(out(x, $0, b, c), r) } < G.tolerance)
        #expect(G.relativeError(b, analytic: db) { G.project(out(x, w, $0, c), r) } < G.tolerance)
        #expect(G.relativeError(c, analytic: dc) { G.project(out(x, w, b, $0), r) } < G.tolerance)
        // Padding never contributes; the ghost takes part in the softmax (moving its logit
        // changes the real clusters' descriptors) but has no output of its own.
        var padded = x
        for i in 0..<mask.count where mask[i] == 0 { for j in 0..<d { padded[i, j] = -7 } }
        #expect(out(padded, w, b, c) == out(x, w, b, c))
        var ghostless = b
        ghostless.values[levels] -= 50
        #expect(out(x, w, ghostless, c) != out(x, w, b, c))
        #expect(out(x, w, b, c).columns == levels * d)
    }

    @Test func blockNormalisationGradients() {
        // Entries shifted away from 0 so no block has a tiny norm (where a step of 1e-2 would
        // not be small against the curvature of x / ‖x‖).
        var x = G.gaussian(4, 6, seed: 16)
        for i in 0..<x.values.count { x.values[i] += x.values[i] >= 0 ? 1 : -1 }
        let r = G.gaussian(4, 6, seed: 17)
        for (block, scale) in [(6, Float(1)), (3, Float(0.5).squareRoot()), (2, Float(1) / 3)] {
            let (y, norms) = Layers.normalizeBlocks(x, block: block, scale: scale)
            let dx = LayerGradients.normalizeBlocks(r, output: y, norms: norms, block: block, scale: scale)
            #expect(G.relativeError(x, analytic: dx, samples: 24) { G.project(Layers.normalizeBlocks($0, block: block, scale: scale).output, r) } < G.tolerance)
            for b in 0..<(4 * 6 / block) {
                let n = (0..<block).reduce(Float(0)) { $0 + y.values[b * block + $1] * y.values[b * block + $1] }.squareRoot()
                #expect(abs(n - scale) < 1e-5)
            }
        }
    }
}
