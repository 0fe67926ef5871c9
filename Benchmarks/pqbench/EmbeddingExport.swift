import Foundation
import HybridPQ

/// `--export-embeddings DIR`: a trained model's coarse level as numbers, for the analyses that
/// ask what its codes could be at best (Benchmarks/hcq/quantization_ceiling.py). Every matrix is
/// in the coarse quantizer's space (after its OPQ rotation); about.json names the score (the
/// joint mode's −‖q − x̂‖², HCQ mode's ⟨q, x̂⟩). Queries go through the heads the index encodes
/// them with (the joint phase's, when the model has them).
extension Runner {
    func exportEmbeddings(to dir: String) throws {
        let model = try loadModel()
        let ds = try crossViewData()
        guard let level = model.quantizers.first else {
            throw UsageError("\(options.model!): the model has no quantizers (an interrupted pqtrain run?)")
        }
        try FileManager.default.createDirectory(atPath: dir, withIntermediateDirectories: true)
        func write(_ m: Matrix, _ name: String) throws {
            try NPYArray(float32: m.values, shape: [m.rows, m.columns]).write(to: dir + "/" + name)
        }
        let queries = modelQueries(ds)
        try write(level.rotated(model.queryEmbeddings(queries.vectors, tokens: queries.sequences, quantized: true)[0]), "queries.npy")
        for (name, items) in [("targets.npy", workload.databaseItems), ("train_targets.npy", ds.split.train),
                              ("val_targets.npy", ds.split.val)] {
            let batch = modelItems(ds, items)
            try write(level.rotated(model.targetEmbeddings(batch.vectors, frames: batch.sequences)[0]), name)
        }
        let pq = level.quantizer
        try NPYArray(float32: pq.codebooks, shape: [pq.subspaces, pq.codewords, pq.subDimension]).write(to: dir + "/codebooks.npy")
        let about = "{\"model\": \(jsonString(options.model!)), \"metric\": \"\(level.metric.rawValue)\", \"bits\": \(pq.bitsPerCode), \"database\": \(jsonString(workload.databaseProtocol))}\n"
        try AtomicFile.write(Array(about.utf8), to: dir + "/about.json")
    }
}
