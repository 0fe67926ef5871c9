// pqtrain: trains an HCQ model (heads + codebooks) on a cross-view data set and writes a model
// file that pqbench and the library load.
import Foundation
import HybridPQ
import HybridPQTraining

func log(_ s: String) { FileHandle.standardError.write(Data(("pqtrain: " + s + "\n").utf8)) }

let usage = """
usage: pqtrain --data DIR --out FILE [--bytes B] [--mode hcq|joint] [--levels L] [--subspaces M] [--bits 4|8]
               [--epochs E] [--joint-epochs E] [--batch N] [--lr X] [--codebook-lr X] [--decay G]
               [--temperature T] [--patience P] [--seed S] [--threads T] [--resume] [--checkpoint FILE] [--quiet]
               [--fine [--frame-bytes F] [--refine-bytes R] [--from MODEL]] [--teach [--teacher model|raw] [--teach-weights C,F[,J]]]

  --data DIR        DESIGN.md §4 directory: queries.npy, targets.npy, split.json and, for fine
                    levels, query_tokens.npy / frames.npy with their masks
  --out FILE        model file to write (atomically; holds the best model on val so far)
  --bytes B         code bytes per item the model is shaped for: joint mode, coarse level alone,
                    M = largest divisor of D ≤ B (docs/HCQ.md). Without it: HCQ's shape
                    (hcq mode, M = 32, L = 7, 256 B)
  --mode, --levels, --subspaces, --bits   override the shape chosen above (--bits 4: 4-bit
                    codes, M/2 bytes, fast scan; joint mode, coarse level alone)
  --epochs E        hcq: annealing epochs; joint: continuous-phase epochs (default 30)
  --joint-epochs E  joint: epochs of joint codebook training (default 15)
  --resume          continue from the checkpoint (default FILE.ckpt) of an interrupted run
  --fine            also fit the fine stage (late interaction over tokens and frames, docs/FINE.md):
                    the frames' product quantizer (--frame-bytes F bytes per frame, default 48)
                    and the hybrid score's weight λ on val, and the selector; needs
                    query_tokens.npy and frames.npy. --frame-opq: OPQ instead of PQ for frames
  --fine-epochs E   epochs of training the token and frame heads (default 6; 0: identity heads)
  --fine-lr X       their Adam learning rate (default 2e-4)
  --frame-epochs E  epochs of training the frame codebooks for the late-interaction score
                    (quantization-aware; default 0: the fitted PQ)
  --frame-bits 4|8  frame codes of 8 bits (default) or 4 bits (2 × F sub-spaces, two codes per byte)
  --refine-bytes R  with --fine: also keep a finer R-byte code of the coarse embedding in the cold
                    store, used for the candidates' coarse term when re-scoring (default 64; 0: the hot code's)
  --from MODEL      with --fine: add the fine stage to an existing model instead of training one
  --teach           TeachCLIP: a fine teacher (late interaction through trained heads over a coarse
                    score) teaches the coarse code's continuous phase: Pearson distillation of the
                    batch scores, its frame relevance distilled into AFA frame weights (docs/FINE.md)
  --teacher K       the teacher's coarse score: model (a continuous model trained first, default)
                    or raw (the raw global features)
  --teach-weights C,F[,J]   weights of the coarse and fine distillation losses of the continuous
                    phase (default 1,1) and of the joint phase's distillation toward the teacher (default 0)
"""

do {
    var args = Array(CommandLine.arguments.dropFirst())
    var options: [String: String] = [:]
    var flags: Set<String> = []
    let valued: Set<String> = ["--data", "--out", "--bytes", "--mode", "--levels", "--subspaces", "--epochs", "--joint-epochs",
                               "--batch", "--lr", "--codebook-lr", "--decay", "--temperature", "--patience", "--seed",
                               "--threads", "--checkpoint", "--bits", "--joint-lr", "--distillation", "--frame-bytes", "--from", "--fine-epochs", "--fine-lr", "--frame-epochs", "--teacher", "--teach-weights", "--refine-bytes", "--frame-bits"]
    while !args.isEmpty {
        let a = args.removeFirst()
        if a == "-h" || a == "--help" { print(usage); exit(0) }
        if a == "--resume" || a == "--quiet" || a == "--fine" || a == "--frame-opq" || a == "--teach" { flags.insert(a); continue }
        guard valued.contains(a) else { log("unknown option '\(a)'\n" + usage); exit(2) }
        guard !args.isEmpty else { log("\(a) needs a value"); exit(2) }
        options[a] = args.removeFirst()
    }
    func int(_ k: String, min: Int = 0) throws -> Int? {
        guard let v = options[k] else { return nil }
        guard let n = Int(v), n >= min else { log("\(k) expects an integer ≥ \(min), got '\(v)'"); exit(2) }
        return n
    }
    func float(_ k: String) -> Float? {
        guard let v = options[k] else { return nil }
        guard let x = Float(v), x.isFinite, x >= 0 else { log("\(k) expects a non-negative number, got '\(v)'"); exit(2) }
        return x
    }
    guard let dir = options["--data"], let out = options["--out"] else { log("--data and --out are required\n" + usage); exit(2) }
    let quiet = flags.contains("--quiet")
    let say: (String) -> Void = quiet ? { _ in } : log
    BLAS.threads = Concurrency.resolve(threads: try int("--threads", min: 1))

    if flags.contains("--fine") || options["--from"] != nil {
        guard flags.contains("--fine") else { log("--from goes with --fine"); exit(2) }
        if options["--from"] != nil && flags.contains("--teach") {
            log("--teach retrains the coarse model; it does not go with --from"); exit(2)
        }
        let frameBytes = try int("--frame-bytes", min: 1) ?? 48
        let t0 = Date()
        var model: HybridModel
        if let from = options["--from"] {
            model = try HybridModel.load(from: from)
        } else {
            // Train the coarse model first (same arguments without --fine), then add the fine stage.
            let me = URL(fileURLWithPath: CommandLine.arguments[0]).path
            let p = Process()
            p.executableURL = URL(fileURLWithPath: me)
            p.arguments = CommandLine.arguments.dropFirst().filter { $0 != "--fine" && $0 != "--frame-opq" }.reduce(into: [String]()) { acc, a in
                if ["--frame-bytes", "--fine-epochs", "--fine-lr", "--frame-epochs", "--refine-bytes", "--frame-bits"].contains(acc.last ?? "") { acc.removeLast(); return }
                acc.append(a)
            }
            try p.run()
            p.waitUntilExit()
            guard p.terminationStatus == 0 else { exit(p.terminationStatus) }
            model = try HybridModel.load(from: out)
        }
        let data = try CrossViewDataSet.load(directory: dir, fineFeatures: true)
        let frameBits = try int("--frame-bits", min: 4) ?? 8
        guard frameBits == 4 || frameBits == 8 else { log("--frame-bits expects 4 or 8"); exit(2) }
        let r = try FineStage.fit(model: model, data: data, frameBytes: frameBytes, frameBits: frameBits, frameRotation: flags.contains("--frame-opq"),
                                  headEpochs: try int("--fine-epochs") ?? 6, headLearningRate: float("--fine-lr") ?? 2e-4,
                                  frameEpochs: try int("--frame-epochs") ?? 0, refineBytes: try int("--refine-bytes") ?? 64, seed: UInt64(try int("--seed") ?? 1234), log: say)
        model.fine = r.fine
        model.info["fine.frame_bytes"] = "\(frameBytes)"
        model.info["fine.val"] = r.validation.map { String(format: "%g:%.4f", $0.weight, $0.sum) }.joined(separator: ",")
        model.info["fine.seconds"] = String(format: "%.1f", Date().timeIntervalSince(t0))
        try model.save(to: out)
        say(String(format: "wrote %@ with its fine stage (%d B per frame, λ = %g) in %.0f s", out, frameBytes, r.fine.weight,
                   Date().timeIntervalSince(t0)))
        exit(0)
    }

    // Fine features are loaded only when the shape needs them.
    let probe = try CrossViewDataSet.load(directory: dir)
    let hasFine = FileManager.default.fileExists(atPath: dir + "/query_tokens.npy") && FileManager.default.fileExists(atPath: dir + "/frames.npy")
    var config = try TrainingConfiguration.forBudget(bytes: try int("--bytes", min: 1), inputDimension: probe.dimension, fineFeatures: hasFine)
    if let m = options["--mode"] {
        guard let mode = HybridModel.Mode(rawValue: m) else { log("--mode expects hcq or joint, got '\(m)'"); exit(2) }
        config.model.mode = mode
    }
    if let l = try int("--levels") { config.model.levels = l }
    if let m = try int("--subspaces", min: 1) { config.model.subspaces = m }
    if let b = try int("--bits", min: 4) { config.model.bitsPerCode = b }
    if let e = try int("--epochs", min: 1) { config.epochs = e }
    if let e = try int("--joint-epochs") { config.jointEpochs = e }
    if let b = try int("--batch", min: 2) { config.batchSize = b }
    if let p = try int("--patience", min: 1) { config.patience = p }
    if let s = try int("--seed") { config.seed = UInt64(s) }
    if let x = float("--lr") { config.learningRate = x }
    if let x = float("--codebook-lr") { config.codebookLearningRate = x }
    if let x = float("--joint-lr") { config.jointHeadLearningRate = x }
    if let x = float("--distillation") { config.distillation = min(1, x) }
    if let x = float("--decay") { config.decay = x }
    if let x = float("--temperature"), x > 0 { config.temperature = x }
    try config.model.validate()
    // Frames feed the coarse target (mean of frames) whenever the data set has them.
    let data = hasFine ? try CrossViewDataSet.load(directory: dir, fineFeatures: true) : probe
    say("\(data.name): \(data.count) items, dimension \(data.dimension), train \(data.split.train.count), val \(data.split.val.count); "
        + config.description.map { "\($0.0)=\($0.1)" }.joined(separator: " ")
        + "; \(config.model.bytesPerItem) code bytes per item")
    let t0 = Date()
    // With --bytes alone, the 8-bit and (where D allows) the 4-bit shape are both trained and the
    // better on val kept (ties: 4-bit, whose fast scan is faster). docs/HCQ.md.
    var candidates = [config]
    if let b = try int("--bytes", min: 1), options["--bits"] == nil, options["--subspaces"] == nil, options["--mode"] == nil,
       options["--levels"] == nil {
        candidates = try TrainingConfiguration.budgetCandidates(bytes: b, inputDimension: data.dimension).map { c in
            var x = config
            x.model = c.model
            return x
        }
    }
    var teacher: FineTeacher?
    if flags.contains("--teach") {
        guard hasFine else { log("--teach: \(dir) has no query_tokens.npy / frames.npy for the fine teacher"); exit(2) }
        if let w = options["--teach-weights"] {
            let parts = w.split(separator: ",").compactMap { Float($0) }
            guard parts.count == 2 || parts.count == 3, parts.allSatisfy({ $0 >= 0 && $0.isFinite }) else {
                log("--teach-weights expects two or three numbers ≥ 0 separated by commas, got '\(w)'"); exit(2)
            }
            for i in candidates.indices {
                candidates[i].teachCoarseWeight = parts[0]
                candidates[i].teachFineWeight = parts[1]
                candidates[i].teachJointWeight = parts.count == 3 ? parts[2] : 0
            }
        }
        var coarse: HybridModel?
        switch options["--teacher"] ?? "model" {
        case "raw": coarse = nil
        case "model":
            say("teach: the teacher's coarse model (continuous phase of \(config.model.bitsPerCode)-bit M = \(config.model.subspaces))…")
            let trainer = try Trainer(data: data, configuration: candidates[0], log: say)
            trainer.continuousOnly = true
            coarse = try trainer.run()
        case let k: log("--teacher expects model or raw, got '\(k)'"); exit(2)
        }
        say("teach: training the teacher's fine heads…")
        teacher = try FineTeacher.train(data: data, coarseModel: coarse, log: say)
    }
    var best: (model: HybridModel, path: String)?
    for (i, c) in candidates.enumerated() {
        let path = candidates.count == 1 ? out : out + ".\(c.model.bitsPerCode)bit"
        let checkpoint = (candidates.count == 1 ? options["--checkpoint"] : nil) ?? path + ".ckpt"
        let model: HybridModel
        if flags.contains("--resume") && FileManager.default.fileExists(atPath: path) && !FileManager.default.fileExists(atPath: checkpoint) {
            model = try HybridModel.load(from: path)     // this candidate finished before the interruption
        } else {
            if candidates.count > 1 {
                say("candidate \(i + 1)/\(candidates.count): \(c.model.bitsPerCode)-bit codes, M = \(c.model.subspaces)")
            }
            let resume = flags.contains("--resume") && FileManager.default.fileExists(atPath: checkpoint)
            model = try Trainer(data: data, configuration: c, outputPath: path, checkpointPath: checkpoint, teacher: teacher,
                            log: say).run(resume: resume)
        }
        let score = Double(model.info["val.sum"] ?? "") ?? -1
        if candidates.count > 1 { say("candidate \(i + 1): val R@1+R@5+R@10 = \(model.info["val.sum"] ?? "-")") }
        if best == nil || score >= (Double(best!.model.info["val.sum"] ?? "") ?? -1) { best = (model, path) }
    }
    var model = best!.model
    if let b = options["--bytes"] {
        model.info["train.bytes"] = b
        model.info["train.total_seconds"] = String(format: "%.1f", Date().timeIntervalSince(t0))
        model.info["train.candidates"] = candidates.map { "\($0.model.bitsPerCode)bit-M\($0.model.subspaces)" }.joined(separator: ",")
        try model.save(to: out)
        if candidates.count > 1 { for c in candidates { try? FileManager.default.removeItem(atPath: out + ".\(c.model.bitsPerCode)bit") } }
    }
    say(String(format: "wrote %@ (%d B per item, %d-bit codes, M = %d, val R@1 %@) in %.0f s", out, model.configuration.bytesPerItem,
               model.configuration.bitsPerCode, model.configuration.subspaces, model.info["val.R@1"] ?? "-", Date().timeIntervalSince(t0)))
} catch {
    log("error: \(error)")
    exit(1)
}
