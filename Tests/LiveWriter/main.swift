// A writer for the live index's crash test (Tests/HybridPQTests/Live/LiveCrashTests.swift):
// opens (or creates) a live index directory and applies the deterministic operations
// `first`, `first + 1`, … (`LiveWriterScript`), committing each and printing its number once
// `commit()` has returned — the parent kills it with SIGKILL at a random moment and checks that
// the reopened directory holds exactly the operations printed (or one more, committed but not
// yet printed).
import Foundation
import HybridPQ
import LiveTestSupport

let args = CommandLine.arguments
guard args.count == 3, let first = Int(args[2]) else {
    FileHandle.standardError.write(Data("usage: live-writer DIR FIRST_OPERATION\n".utf8))
    exit(2)
}
let dir = args[1]
do {
    let policy = MergePolicy(maxSegments: 3, maxDeletedFraction: 0.25, flushItems: 24)
    let index = FileManager.default.fileExists(atPath: dir + "/MANIFEST")
        ? try LiveIndex<FlatIndex>.open(directory: dir, policy: policy)
        : try LiveIndex.create(directory: dir, template: FlatIndex(dimension: LiveWriterScript.dimension, metric: .l2), policy: policy)
    var op = first
    while op < first + 100_000 {
        switch LiveWriterScript.operation(op) {
        case let .add(ids, x): try index.add(FeatureBatch(x), ids: ids)
        case let .upsert(ids, x): try index.upsert(FeatureBatch(x), ids: ids)
        case let .remove(ids): try index.remove(ids: ids)
        }
        try index.commit()              // flushes too, every 24 tail items
        if op % 11 == 5 { try index.compact() }
        FileHandle.standardOutput.write(Data("\(op)\n".utf8))
        op += 1
    }
} catch {
    FileHandle.standardError.write(Data("live-writer: \(error)\n".utf8))
    exit(1)
}
