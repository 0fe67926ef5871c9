import Foundation
import HybridPQ

/// Checkpoints (kind `hcq-checkpoint`): the current model's sections, the optimizer's moments
/// (`Annn` first, `Bnnn` second, one per optimized tensor) and the loop state in the model's
/// `info.ckpt.*` metadata. The best model so far lives in the output file.
extension Trainer {
    func saveCheckpoint() throws {
        guard let checkpointPath else { return }
        var m = model
        m.info = [
            "ckpt.phase": phase.rawValue, "ckpt.epoch": "\(epoch)", "ckpt.best": "\(best)", "ckpt.bad_epochs": "\(badEpochs)",
            "ckpt.adam_steps": "\(adam.steps)", "ckpt.adam_tensors": "\(adam.firstMoments.count)",
            "ckpt.train_items": "\(trainItems.count)", "ckpt.val_items": "\(valItems.count)",
        ]
        for (k, v) in configuration.description { m.info["ckpt.config.\(k)"] = v }
        var sections = m.sections()
        for (i, (a, b)) in zip(adam.firstMoments, adam.secondMoments).enumerated() {
            sections.append(.floats(String(format: "A%03d", i), StoredArray(a.values)))
            sections.append(.floats(String(format: "B%03d", i), StoredArray(b.values)))
        }
        try IndexFile.write(kind: .hcqCheckpoint, sections: sections, to: checkpointPath)
    }

    func loadCheckpoint() throws {
        guard let path = checkpointPath else { throw TrainingError.missingInput("a checkpoint path to resume from") }
        guard FileManager.default.fileExists(atPath: path) else { throw TrainingError.missingInput("\(path): no checkpoint to resume from") }
        let file = try IndexFile.read(path)
        guard file.kind == .hcqCheckpoint else { throw IndexFileError.wrongKind(path: path, expected: "hcq-checkpoint", found: file.kind.name) }
        let saved = try HybridModel(file)
        func field(_ k: String) throws -> String {
            guard let v = saved.info[k] else { throw IndexFileError.inconsistent(path: path, reason: "META lacks 'info.\(k)'") }
            return v
        }
        for (k, v) in configuration.description {
            let found = try field("ckpt.config.\(k)")
            guard found == v else { throw TrainingError.inconsistentCheckpoint(path: path, field: k, expected: v, found: found) }
        }
        for (k, n) in [("ckpt.train_items", trainItems.count), ("ckpt.val_items", valItems.count)] {
            let found = try field(k)
            guard found == "\(n)" else { throw TrainingError.inconsistentCheckpoint(path: path, field: k, expected: "\(n)", found: found) }
        }
        guard let p = Phase(rawValue: try field("ckpt.phase")), let e = Int(try field("ckpt.epoch")),
              let b = Double(try field("ckpt.best")), let bad = Int(try field("ckpt.bad_epochs")),
              let steps = Int(try field("ckpt.adam_steps")), let count = Int(try field("ckpt.adam_tensors")) else {
            throw IndexFileError.inconsistent(path: path, reason: "unreadable ckpt.* metadata")
        }
        var restored = saved
        restored.info = [:]
        let shapes = restored.parameters.tensors + (p == .joint ? restored.quantizers.map { Codebooks.matrix($0.quantizer) } : [])
        guard shapes.count == count else {
            throw IndexFileError.inconsistent(path: path, reason: "\(count) optimizer tensors for a \(p.rawValue) phase that has \(shapes.count)")
        }
        var a = Adam(shapes: shapes)
        for i in 0..<count {
            let n = shapes[i].values.count
            a.firstMoments[i].values = try file.floatArray(String(format: "A%03d", i), count: n)
            a.secondMoments[i].values = try file.floatArray(String(format: "B%03d", i), count: n)
        }
        a.steps = steps
        phase = p; epoch = e; best = b; badEpochs = bad
        model = restored
        adam = a
        if let outputPath, FileManager.default.fileExists(atPath: outputPath) {
            var m = try HybridModel.load(from: outputPath)
            m.info = [:]
            bestModel = m
        } else {
            bestModel = model
        }
        log("resumed from \(path): \(p.rawValue) phase, epoch \(e + 1)")
    }
}
