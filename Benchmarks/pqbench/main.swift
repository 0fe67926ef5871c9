// pqbench: recall against memory (and speed) of HybridPQ's index methods on one data set.
import Foundation
import HybridPQ


func log(_ s: String) { FileHandle.standardError.write(Data(("pqbench: " + s + "\n").utf8)) }

do {
    let options = try Options.parse(Array(CommandLine.arguments.dropFirst()))
    let threads = Concurrency.resolve(threads: options.threads)
    BLAS.threads = threads
    if let n = options.micro {
        print(Micro.run(items: n, bytes: options.bytes), terminator: "")
        exit(0)
    }
    let logger: (String) -> Void = options.quiet ? { _ in } : log
    let workload = try Workload.load(options, log: logger)
    if let dir = options.exportData {
        if let ds = workload.synthetic {
            try ds.write(to: dir)
            logger("wrote the synthetic data set to \(dir)")
        } else {
            logger("--export-data applies to synthetic data only; ignored")
        }
    }
    logger("\(workload.name): database \(workload.databaseCount) × \(workload.dimension), \(workload.queries.rows) queries, train \(workload.train.rows), \(threads) threads")
    let runner = Runner(options: options, workload: workload, log: logger)
    if let dir = options.exportEmbeddings {
        try runner.exportEmbeddings(to: dir)
        logger("wrote the model's coarse embeddings and codebooks to \(dir)")
    }
    let rows = try runner.run()
    let report = Report(dataset: workload.name, databaseCount: workload.databaseCount, queryCount: workload.queries.rows,
                        dimension: workload.dimension, protocolName: workload.databaseProtocol,
                        threads: threads, rows: rows, skipped: runner.skipped)
    print(report.table(), terminator: "")
    if let path = options.json { try AtomicFile.write(Array(report.json().utf8), to: path) }
    if let path = options.csv { try AtomicFile.write(Array(report.csv().utf8), to: path) }
    if let path = options.plot {
        let plot = RecallPlot(title: "\(workload.name): recall against bytes per item", rows: rows)
        try AtomicFile.write(Array(plot.svg().utf8), to: path)
        // With dns-select rows, DnS's figure beside it: R@1 against the fraction re-ranked.
        let fractions = FractionPlot(title: "\(workload.name): R@1 against queries re-ranked", rows: rows)
        if !fractions.lines.isEmpty {
            let other = (path.hasSuffix(".svg") ? String(path.dropLast(4)) : path) + "-fraction.svg"
            try AtomicFile.write(Array(fractions.svg().utf8), to: other)
            logger("wrote \(other)")
        }
        // With nprobe rows, ann-benchmarks' figure: QPS against R@10, peers' runs beside ours.
        var lines = ThroughputPlot.lines(rows)
        for peer in options.plotPeers {
            let name = URL(fileURLWithPath: peer).deletingPathExtension().lastPathComponent
            lines += try ThroughputPlot.lines(json: peer, prefix: name + ": ")
        }
        if !lines.isEmpty {
            let other = (path.hasSuffix(".svg") ? String(path.dropLast(4)) : path) + "-qps.svg"
            let plot = ThroughputPlot(title: "\(workload.name): queries per second against R@10 (\(threads) threads)", lines: lines)
            try AtomicFile.write(Array(plot.svg().utf8), to: other)
            logger("wrote \(other)")
        }
    }
} catch let e as UsageError {
    if let m = e.message { log(m) }
    FileHandle.standardError.write(Data((Options.usage + "\n").utf8))
    exit(e.message == nil ? 0 : 2)
} catch {
    log("error: \(error)")
    exit(1)
}
