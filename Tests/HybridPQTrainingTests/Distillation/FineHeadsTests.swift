import Testing
import HybridPQ
import HybridPQTraining

@Suite("Fine heads: late interaction forward and backward")
struct FineHeadsTests {
    static func batch(seed: UInt64) -> FineLateInteraction {
        let d = 6
        var tokens = SequenceFeatures(count: 4, length: 3, values: GradientCheck.gaussian(12, d, seed: seed), mask: [UInt8](repeating: 1, count: 12))
        var frames = SequenceFeatures(count: 5, length: 4, values: GradientCheck.gaussian(20, d, seed: seed + 1), mask: [UInt8](repeating: 1, count: 20))
        tokens.mask[2] = 0; tokens.mask[5] = 0                       // padding tokens
        frames.mask[3] = 0; for t in 8..<12 { frames.mask[t] = 0 }   // a padding frame, a target with none
        return FineLateInteraction(tokens: tokens, frames: frames)
    }

    @Test("the forward pass equals a direct computation; padding and frameless targets do not count")
    func forward() {
        let b = Self.batch(seed: 701)
        let wt = GradientCheck.gaussian(6, 6, seed: 702, scale: 0.5), wf = GradientCheck.gaussian(6, 6, seed: 703, scale: 0.5)
        let s = b.forward(tokenHead: wt, frameHead: wf).scores
        let t = b.tokens.values.multiplied(wt), g = b.frames.values.multiplied(wf)
        for i in 0..<4 {
            for j in 0..<5 {
                let tv = (0..<3).filter { b.tokens.mask[i * 3 + $0] != 0 }, fv = (0..<4).filter { b.frames.mask[j * 4 + $0] != 0 }
                var want = 0.0
                if !fv.isEmpty {
                    for r in tv {
                        want += fv.map { n in (0..<6).reduce(0.0) { $0 + Double(t[i * 3 + r, $1]) * Double(g[j * 4 + n, $1]) } }.max()!
                    }
                    want /= Double(tv.count)
                }
                #expect(abs(Double(s[i, j]) - want) < 1e-4)
            }
        }
    }

    /// Central differences with a small step: the max is piecewise linear, and a step as large as
    /// GradientCheck's 1e-2 can move a token's best frame (a kink), which no gradient predicts.
    static func relativeError(_ x: Matrix, analytic: Matrix, loss: (Matrix) -> Double) -> Double {
        let h: Float = 1e-3
        var num = 0.0, a2 = 0.0, f2 = 0.0
        for i in 0..<x.values.count {
            var plus = x, minus = x
            plus.values[i] += h
            minus.values[i] -= h
            let fd = (loss(plus) - loss(minus)) / (2 * Double(h)), g = Double(analytic.values[i])
            num += (g - fd) * (g - fd); a2 += g * g; f2 += fd * fd
        }
        return num.squareRoot() / max(a2.squareRoot(), f2.squareRoot(), 1e-6)
    }

    @Test("the backward pass equals finite differences for both heads", arguments: [false, true])
    func gradient(oneFrame: Bool) {
        var b = Self.batch(seed: 711)
        if oneFrame {   // no max to take: any mismatch is the backward pass's, not a kink's
            var f = b.frames
            for j in 0..<5 { for n in 1..<4 { f.mask[j * 4 + n] = 0 } }
            b = FineLateInteraction(tokens: b.tokens, frames: f)
        }
        let wt = GradientCheck.gaussian(6, 6, seed: 712, scale: 0.5), wf = GradientCheck.gaussian(6, 6, seed: 713, scale: 0.5)
        let r = GradientCheck.gaussian(4, 5, seed: 714)                 // loss = Σ R ⊙ S
        let pass = b.forward(tokenHead: wt, frameHead: wf)
        let g = b.backward(pass, scoreGradient: r)
        #expect(Self.relativeError(wt, analytic: g.tokenHead) {
            GradientCheck.project(b.forward(tokenHead: $0, frameHead: wf).scores, r)
        } < GradientCheck.tolerance)
        #expect(Self.relativeError(wf, analytic: g.frameHead) {
            GradientCheck.project(b.forward(tokenHead: wt, frameHead: $0).scores, r)
        } < GradientCheck.tolerance)
    }
}

@Suite("Fine head training and the fine stage fit")
struct FineHeadTrainingTests {
    @Test("head training is deterministic, keeps the best val heads, and pqtrain's fine fit stores them")
    func training() throws {
        let data = TrainerTests.data
        let model = try Trainer(data: data, configuration: TrainerTests.config(.joint, levels: 0)).run()
        var c = FineHeadTraining.Configuration()
        c.epochs = 2
        c.batchSize = 64
        c.weight = 2
        let a = try FineHeadTraining.train(model: model, data: data, configuration: c)
        let b = try FineHeadTraining.train(model: model, data: data, configuration: c)
        #expect(a.tokenHead == b.tokenHead && a.frameHead == b.frameHead && a.history == b.history)
        #expect(a.history.count == 3 && a.history.max()! >= a.history[0])
        let fit = try FineStage.fit(model: model, data: data, frameBytes: 4, headEpochs: 1, rerank: 20)
        #expect(fit.fine.selector != nil && fit.fine.gapSelector != nil && fit.validation.count == FineStage.weightGrid.count)
    }
}

@Suite("Frame codebooks trained for late interaction")
struct FrameCodebookTests {
    @Test("the codebook gradient (frame gradient scattered by code) equals finite differences")
    func gradient() throws {
        let b = FineHeadsTests.batch(seed: 721)
        let d = 6, m = 2, kw = 16
        let books0 = GradientCheck.gaussian(m * kw, d / m, seed: 722)
        let pq0 = try ProductQuantizer(dimension: d, subspaces: m, bitsPerCode: 4, codebooks: books0.values)
        let rows = (0..<b.frames.values.rows).filter { b.frames.mask[$0] != 0 }
        let codes = try pq0.encode(b.frames.values.gathering(rows: rows))
        let r = GradientCheck.gaussian(4, 5, seed: 723)
        let identity = Matrix.identity(d)
        func frames(_ books: Matrix) throws -> SequenceFeatures {
            let pq = try ProductQuantizer(dimension: d, subspaces: m, bitsPerCode: 4, codebooks: books.values)
            let x = try pq.decode(codes)
            var out = Matrix(rows: b.frames.values.rows, columns: d)
            for (k, row) in rows.enumerated() { for c in 0..<d { out.values[row * d + c] = x.values[k * d + c] } }
            return SequenceFeatures(count: b.frames.count, length: b.frames.length, values: out, mask: b.frames.mask)
        }
        let li = FineLateInteraction(tokens: b.tokens, frames: try frames(books0))
        let pass = li.forward(tokenHead: identity, frameHead: identity)
        let dg = li.frameGradient(pass, scoreGradient: r)
        var analytic = Matrix(rows: m * kw, columns: d / m)
        Codebooks.scatter(dg.gathering(rows: rows), codes: codes, subspaces: m, into: &analytic)
        let err = FineHeadsTests.relativeError(books0, analytic: analytic) { books in
            let l = FineLateInteraction(tokens: b.tokens, frames: try! frames(books))
            return GradientCheck.project(l.forward(tokenHead: identity, frameHead: identity).scores, r)
        }
        #expect(err < GradientCheck.tolerance)
    }
}
