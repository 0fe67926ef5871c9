import HybridPQ
import HybridPQTraining
import Testing

/// Whole-model gradient checks: every parameter tensor, through both sides, every level.
@Suite struct ModelGradientTests {
    typealias G = GradientCheck

    /// A tiny model away from its identity start (so every term of every gradient is active)
    /// and a batch with tokens and frames, padding included.
    static func setup(mode: HybridModel.Mode) throws -> (HybridModel, CrossViewBatch) {
        var config = SyntheticDataSet.Configuration(count: 6)
        config.dimension = 8
        config.fineFeatures = true
        config.frames = 4
        config.tokens = 5
        let data = SyntheticDataSet.generate(config)
        var model = try HybridModel(.init(inputDimension: 8, levels: 2, ghosts: 1, subspaces: 2, mode: mode),
                                    vladCentres: G.gaussian(3, 8, seed: 30, scale: 0.3))
        for (i, t) in model.parameters.tensors.enumerated() {
            let noise = G.gaussian(t.rows, t.columns, seed: 40 + UInt64(i), scale: 0.2)
            for j in 0..<t.values.count { model.parameters.tensors[i].values[j] += noise.values[j] }
        }
        model.parameters[.frameMix].values[0] = 0.7
        return (model, CrossViewBatch(data, Array(0..<6)))
    }

    @Test(arguments: [HybridModel.Mode.hcq, .joint])
    func continuousLossGradientsOfEveryTensor(mode: HybridModel.Mode) throws {
        let (model, batch) = try Self.setup(mode: mode)
        let (_, grads) = try SymmetricStep.gradients(model: model, batch: batch, temperature: 0.5, quantizedWeight: 0)
        for t in HybridParameters.Tensor.allCases {
            let err = G.relativeError(model.parameters[t], analytic: grads[t], samples: 12) { x in
                var m = model
                m.parameters[t] = x
                return Double(try! SymmetricStep.gradients(model: m, batch: batch, temperature: 0.5, quantizedWeight: 0).loss)
            }
            #expect(err < G.tolerance, "tensor \(t.tag) (\(mode)): relative error \(err)")
        }
    }

    /// TeachCLIP's step: contrastive + coarse (Pearson) + fine (frame relevance → AFA)
    /// distillation, every tensor checked, the AFA frame scorer included (non-zero: attention on).
    @Test func teachingLossGradientsOfEveryTensor() throws {
        let (model, batch) = try Self.setup(mode: .joint)
        #expect(model.parameters.hasFrameAttention)
        var th = Matrix.identity(8), fh = Matrix.identity(8)
        let n1 = G.gaussian(8, 8, seed: 31, scale: 0.3), n2 = G.gaussian(8, 8, seed: 32, scale: 0.3)
        for i in 0..<64 { th.values[i] += n1.values[i]; fh.values[i] += n2.values[i] }
        let teacher = FineTeacher(coarseModel: nil, tokenHead: th, frameHead: fh, weight: 2)
        func step(_ m: HybridModel) throws -> (loss: Float, grads: HybridParameters) {
            try SymmetricStep.gradients(model: m, batch: batch, temperature: 0.5, quantizedWeight: 0, teacher: teacher,
                                        coarseWeight: 0.7, fineWeight: 1.3)
        }
        let (loss, grads) = try step(model)
        let plain = try SymmetricStep.gradients(model: model, batch: batch, temperature: 0.5, quantizedWeight: 0).loss
        #expect(loss > plain, "the distillation terms add to the loss")
        #expect(grads[.frameScorer].values.contains { $0 != 0 })
        for t in HybridParameters.Tensor.allCases {
            let err = G.relativeError(model.parameters[t], analytic: grads[t], samples: 12) { x in
                var m = model
                m.parameters[t] = x
                return Double(try! step(m).loss)
            }
            #expect(err < G.tolerance, "tensor \(t.tag): relative error \(err)")
        }
    }

    /// The straight-through estimator is the exact gradient of the loss in which each code ẑ is
    /// replaced by e + (ẑ − e) with the offset frozen at the current point; that loss is written
    /// here independently of `SymmetricStep` and differentiated numerically.
    @Test func straightThroughBlendIsTheGradientOfTheFrozenOffsetLoss() throws {
        var (model, batch) = try Self.setup(mode: .hcq)
        let books = G.gaussian(2 * 256, 4, seed: 50)
        let pq = try ProductQuantizer(dimension: 8, subspaces: 2, bitsPerCode: 8, codebooks: books.values)
        model.quantizers = try (0..<3).map { _ in try LevelQuantizer(rotation: nil, quantizer: pq, metric: .innerProduct) }
        let alpha: Float = 0.6, tau: Float = 0.5
        let eq0 = try model.queryEmbeddings(batch.queries, tokens: batch.tokens)
        let ev0 = try model.targetEmbeddings(batch.targets, frames: batch.frames)
        func offsets(_ e: [Matrix]) throws -> [Matrix] {
            try (0..<3).map { l in
                var z = try Codebooks.straightThrough(e[l], model.quantizers[l])
                for i in 0..<z.values.count { z.values[i] -= e[l].values[i] }
                return z
            }
        }
        let dq = try offsets(eq0), dv = try offsets(ev0)
        func frozenLoss(_ m: HybridModel) -> Double {
            let eq = try! m.queryEmbeddings(batch.queries, tokens: batch.tokens)
            let ev = try! m.targetEmbeddings(batch.targets, frames: batch.frames)
            var total = 0.0
            for l in 0..<3 {
                var zq = eq[l], zv = ev[l]
                for i in 0..<zq.values.count { zq.values[i] += dq[l].values[i]; zv.values[i] += dv[l].values[i] }
                let c = ContrastiveLoss.symmetric(queries: eq[l], targetKeys: ev[l], targets: ev[l], queryKeys: eq[l], temperature: tau).loss
                let q = ContrastiveLoss.symmetric(queries: eq[l], targetKeys: zv, targets: ev[l], queryKeys: zq, temperature: tau).loss
                total += Double(m.levelWeights[l]) * Double((1 - alpha) * c + alpha * q)
            }
            return total
        }
        let (loss, grads) = try SymmetricStep.gradients(model: model, batch: batch, temperature: tau, quantizedWeight: alpha)
        #expect(abs(Double(loss) - frozenLoss(model)) < 1e-4)
        for t in [HybridParameters.Tensor.queryWeight, .gateWeight, .tokenWeight, .targetWeight, .frameWeight, .vladWeight, .vladCentres] {
            let err = G.relativeError(model.parameters[t], analytic: grads[t], samples: 12) { x in
                var m = model
                m.parameters[t] = x
                return frozenLoss(m)
            }
            #expect(err < G.tolerance, "tensor \(t.tag): relative error \(err)")
        }
    }

    /// With `teach`, the fine teacher's Pearson distillation term is added (`teacherScores`).
    @Test(arguments: [false, true])
    func jointLossGradientsOfQueryHeadsAndCodebooks(teach: Bool) throws {
        var (model, batch) = try Self.setup(mode: .joint)
        model.quantizedQueryParameters = model.parameters
        model.quantizers = try (0..<3).map { l in
            let pq = try ProductQuantizer(dimension: 8, subspaces: 2, bitsPerCode: 8,
                                          codebooks: G.gaussian(512, 4, seed: 60 + UInt64(l), scale: 0.4).values)
            return try LevelQuantizer(rotation: Orthogonal.random(8, seed: 70 + UInt64(l)), quantizer: pq, metric: .l2)
        }
        var rng = SeededGenerator(seed: 80)
        // Ten train targets whose codes use a few codewords, so each gets gradient from several.
        let codes = (0..<3).map { _ in (0..<20).map { _ in UInt8(rng.next() % 4) } }
        let positions = [3, 0, 7, 9, 1, 5]
        // With distillation toward the continuous model's scores over ten teacher targets.
        let teacher = (0..<3).map { l in G.gaussian(10, 8, seed: 90 + UInt64(l)).rowNormalized() }
        let scores = teach ? G.gaussian(6, 10, seed: 95) : nil
        let (_, grads, books) = try JointStep.gradients(model: model, batch: batch, targets: positions, codes: codes, temperature: 0.5,
                                                        teacher: teacher, distillation: 0.4, teacherScores: scores, teachWeight: 0.8)
        func loss(_ m: HybridModel) -> Double {
            Double(try! JointStep.gradients(model: m, batch: batch, targets: positions, codes: codes, temperature: 0.5,
                                            teacher: teacher, distillation: 0.4, teacherScores: scores, teachWeight: 0.8).loss)
        }
        for t in HybridParameters.Tensor.allCases where t.isQuerySide {
            let err = G.relativeError(model.quantizedQueryParameters![t], analytic: grads[t], samples: 12) { x in
                var m = model
                m.quantizedQueryParameters![t] = x
                return loss(m)
            }
            #expect(err < G.tolerance, "tensor \(t.tag): relative error \(err)")
        }
        // The target side gets no gradient (its codes are fixed); GhostVLAD, shared with the
        // query side, does, and the trainer leaves it frozen (`isQuerySide` is false).
        for t in [HybridParameters.Tensor.targetWeight, .targetBias, .frameWeight, .frameBias, .frameMix] {
            #expect(grads[t].values.allSatisfy { $0 == 0 }, "target-side tensor \(t.tag) must get no gradient")
        }
        for l in 0..<3 {
            // Only used codewords (0..<4 of each sub-space) have gradient: check those rows.
            let q0 = model.quantizers[l]
            let used = Self.rows(Matrix(rows: 512, columns: 4, values: q0.quantizer.codebooks))
            let err = G.relativeError(used, analytic: Self.rows(books[l]), samples: 32) { x in
                var b = q0.quantizer.codebooks
                for s in 0..<2 { for i in 0..<16 { b[s * 1024 + i] = x.values[s * 16 + i] } }
                var m = model
                m.quantizers[l] = try! LevelQuantizer(rotation: q0.rotation,
                                                      quantizer: ProductQuantizer(dimension: 8, subspaces: 2, bitsPerCode: 8, codebooks: b),
                                                      metric: .l2)
                return loss(m)
            }
            #expect(err < G.tolerance, "codebooks of level \(l): relative error \(err)")
        }
    }

    static func rows(_ b: Matrix) -> Matrix {
        Matrix(rows: 8, columns: 4, values: (0..<2).flatMap { s in Array(b.values[(s * 1024)..<(s * 1024 + 16)]) })
    }
}
