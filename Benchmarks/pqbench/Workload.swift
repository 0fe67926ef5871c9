import HybridPQ

/// What one pqbench run measures on: training vectors, a database, queries and, for cross-view
/// data, the id each query should find.
struct Workload {
    var name: String
    var train: Matrix
    var database: Matrix
    var queries: Matrix
    /// Matching item id per query (cross-view data); nil for a plain vector set.
    var expected: [Int64]?
    /// Exact neighbour lists supplied with a plain vector set (ids), if any.
    var groundTruth: [[Int]]?
    var databaseProtocol: String

    /// The synthetic data set the workload was drawn from, if any (for `--export-data`).
    var synthetic: CrossViewDataSet?
    /// Cross-view data: the data set and the items whose queries and targets were taken (the
    /// trained methods encode them with the model's heads).
    var crossView: CrossViewDataSet?
    var queryItems: [Int] = []
    var databaseItems: [Int] = []
    /// `--stream`: the database, read from a memory mapping a chunk at a time (`database` is
    /// then empty); its directory, where the exact top-10 is stored.
    var databaseStream: VectorStream?
    var directory: String?

    /// Items in the database (the stream's rows when streamed).
    var databaseCount: Int { databaseStream?.count ?? database.rows }
    /// Floats per database row.
    var dimension: Int { databaseStream?.dimension ?? database.columns }

    /// Builds the workload from the options: a data-set directory or synthetic data.
    /// The data set a run without `--data` or `--synthetic` uses: a 3,000-item slice of
    /// debian-desc shipped with the sources (Benchmarks/data/debian-desc-3k/README.md).
    static let defaultData: String = {
        let here = URL(fileURLWithPath: #filePath).deletingLastPathComponent()   // Benchmarks/pqbench
        return here.deletingLastPathComponent().appendingPathComponent("data/debian-desc-3k").path
    }()

    static func load(_ o: Options, log: (String) -> Void) throws -> Workload {
        var o = o
        if o.data == nil, o.synthetic == nil {
            if FileExists.regular(defaultData + "/queries.npy") {
                log("no --data or --synthetic: the default data set, \(defaultData)")
                o.data = defaultData
            } else {
                log("the default data set \(defaultData) is missing: synthetic data instead")
            }
        }
        if let dir = o.data {
            var isDir: ObjCBool = false
            guard FileManager.default.fileExists(atPath: dir, isDirectory: &isDir), isDir.boolValue else {
                throw DataError.cannotOpen(path: dir, reason: "no such data-set directory")
            }
            if o.stream { return try streamed(directory: dir, o, log: log) }
            if FileExists.regular(dir + "/queries.npy") {
                // Token and frame features are read only for the trained methods.
                let trained = o.methods.contains(where: \.needsModel) || o.exportEmbeddings != nil
                let ds = try CrossViewDataSet.load(directory: dir, fineFeatures: trained)
                return crossView(ds, o, defaultDatabase: "test")
            }
            let vs = try VectorDataSet.load(directory: dir)
            var queries = vs.queries
            if let q = o.queries, q < queries.rows { queries = queries.slicing(rows: 0..<q) }
            return Workload(name: vs.name, train: vs.train ?? vs.base, database: vs.base, queries: queries,
                            expected: nil, groundTruth: vs.groundTruth.map { Array($0.prefix(queries.rows)) },
                            databaseProtocol: "base")
        }
        let n = o.synthetic ?? 20_000
        log("generating synthetic data: \(n) items, dimension \(o.dimension)…")
        var config = SyntheticDataSet.Configuration(count: n)
        config.dimension = o.dimension
        config.seed = o.seed
        config.fineFeatures = o.methods.contains(where: \.needsModel) || o.exportEmbeddings != nil
        var o2 = o
        if o2.queries == nil { o2.queries = 1000 }
        let ds = SyntheticDataSet.generate(config)
        var w = crossView(ds, o2, defaultDatabase: "all")
        w.synthetic = ds
        return w
    }

    /// `--stream`: every row of DIR/targets.npy is the database (protocol all), read through a
    /// mapping; the test queries and the training rows are read row by row.
    static func streamed(directory dir: String, _ o: Options, log: (String) -> Void) throws -> Workload {
        let targets = try VectorStream(path: dir + "/targets.npy")
        let queryFile = try VectorStream(path: dir + "/queries.npy")
        guard queryFile.count == targets.count, queryFile.dimension == targets.dimension else {
            throw DataError.shapeMismatch(path: dir + "/queries.npy", expected: "[\(targets.count), \(targets.dimension)] (as targets.npy)",
                                          found: "[\(queryFile.count), \(queryFile.dimension)]")
        }
        let split = try Split.read(dir + "/split.json", itemCount: targets.count)
        var test = split.test
        let q = o.queries ?? 1000
        if q < test.count { test = Array(test.prefix(q)) }
        let want = o.trainSample ?? split.train.count
        let trainRows = want <= split.train.count ? Array(split.train.prefix(want))
                                                  : (0..<min(want, targets.count)).map { $0 * targets.count / min(want, targets.count) }
        log("streaming \(dir)/targets.npy: \(targets.count) × \(targets.dimension); training on \(trainRows.count) rows")
        let name = dir.split(separator: "/").last.map(String.init) ?? dir
        var w = Workload(name: name, train: try gather(targets, rows: trainRows), database: Matrix(rows: 0, columns: targets.dimension),
                         queries: try gather(queryFile, rows: test), expected: test.map { Int64($0) }, groundTruth: nil,
                         databaseProtocol: "all")
        w.databaseStream = targets
        w.directory = dir
        w.queryItems = test
        return w
    }

    /// Rows `rows` of a stream as one matrix (runs of consecutive rows read at once).
    static func gather(_ s: VectorStream, rows: [Int]) throws -> Matrix {
        var out = Matrix(rows: rows.count, columns: s.dimension)
        var i = 0
        while i < rows.count {
            var j = i + 1
            while j < rows.count, rows[j] == rows[j - 1] + 1 { j += 1 }
            let part = try s.rows(rows[i]..<(rows[j - 1] + 1))
            out.values.replaceSubrange((i * s.dimension)..<(j * s.dimension), with: part.values)
            i = j
        }
        return out
    }

    static func crossView(_ ds: CrossViewDataSet, _ o: Options, defaultDatabase: String) -> Workload {
        var test = ds.split.test
        if let q = o.queries, q < test.count { test = Array(test.prefix(q)) }
        let proto = o.database ?? defaultDatabase
        let queries = ds.queries.gathering(rows: test)
        let train = ds.split.train.prefix(o.trainSample ?? ds.split.train.count)
        var w: Workload
        if proto == "all" {
            w = Workload(name: ds.name, train: ds.targets.gathering(rows: Array(train)), database: ds.targets,
                         queries: queries, expected: test.map { Int64($0) }, groundTruth: nil, databaseProtocol: "all")
            w.databaseItems = Array(0..<ds.count)
        } else {
            w = Workload(name: ds.name, train: ds.targets.gathering(rows: Array(train)),
                         database: ds.targets.gathering(rows: test), queries: queries,
                         expected: (0..<test.count).map { Int64($0) }, groundTruth: nil, databaseProtocol: "test")
            w.databaseItems = test
        }
        w.crossView = ds
        w.queryItems = test
        return w
    }
}

import Foundation

enum FileExists {
    static func regular(_ path: String) -> Bool {
        var isDir: ObjCBool = false
        return FileManager.default.fileExists(atPath: path, isDirectory: &isDir) && !isDir.boolValue
    }
}
