/// A cross-view data set (DESIGN.md §4): query i matches target i.
public struct CrossViewDataSet: Sendable {
    /// Name shown in reports (the directory's last component).
    public var name: String
    /// Query-side global embeddings, N × D.
    public var queries: Matrix
    /// Target-side global embeddings, N × D.
    public var targets: Matrix
    /// Query-side token features, when present and requested.
    public var queryTokens: SequenceFeatures?
    /// Target-side frame features, when present and requested.
    public var frames: SequenceFeatures?
    /// The train / val / test partition.
    public var split: Split

    /// A data set from its parts; shapes must agree.
    public init(name: String, queries: Matrix, targets: Matrix, queryTokens: SequenceFeatures? = nil,
                frames: SequenceFeatures? = nil, split: Split) {
        precondition(queries.rows == targets.rows && queries.columns == targets.columns, "queries and targets disagree")
        self.name = name
        self.queries = queries
        self.targets = targets
        self.queryTokens = queryTokens
        self.frames = frames
        self.split = split
    }

    /// Number of items.
    public var count: Int { queries.rows }
    /// Embedding dimension.
    public var dimension: Int { queries.columns }

    /// Loads a directory laid out as DESIGN.md §4. Token and frame features are read only when
    /// `fineFeatures` is true (they are large and only the trained methods use them).
    public static func load(directory: String, fineFeatures: Bool = false) throws(DataError) -> CrossViewDataSet {
        let q = try NPYArray.read(directory + "/queries.npy")
        let t = try NPYArray.read(directory + "/targets.npy")
        let queries = try q.matrix(path: directory + "/queries.npy")
        let targets = try t.matrix(path: directory + "/targets.npy")
        guard q.shape.count == 2 else {
            throw .shapeMismatch(path: directory + "/queries.npy", expected: "[N, D]", found: "\(q.shape)")
        }
        guard t.shape == q.shape else {
            throw .shapeMismatch(path: directory + "/targets.npy", expected: "\(q.shape) (as queries.npy)", found: "\(t.shape)")
        }
        let n = queries.rows
        let split = try Split.read(directory + "/split.json", itemCount: n)
        var tokens: SequenceFeatures?
        var frames: SequenceFeatures?
        if fineFeatures {
            tokens = try loadSequence(directory, "query_tokens", "query_token_mask", items: n, dim: queries.columns)
            frames = try loadSequence(directory, "frames", "frame_mask", items: n, dim: queries.columns)
        }
        let name = directory.split(separator: "/").last.map(String.init) ?? directory
        return CrossViewDataSet(name: name, queries: queries, targets: targets, queryTokens: tokens,
                                frames: frames, split: split)
    }

    static func loadSequence(_ dir: String, _ file: String, _ maskFile: String, items: Int, dim: Int)
        throws(DataError) -> SequenceFeatures? {
        let path = dir + "/\(file).npy"
        let maskPath = dir + "/\(maskFile).npy"
        guard FileBytes.exists(path) else { return nil }
        let a = try NPYArray.read(path)
        guard a.shape.count == 3, a.shape[0] == items, a.shape[2] == dim else {
            throw .shapeMismatch(path: path, expected: "[\(items), L, \(dim)]", found: "\(a.shape)")
        }
        guard FileBytes.exists(maskPath) else {
            throw .inconsistent(path: maskPath, reason: "\(file).npy is present but its mask is missing")
        }
        let m = try NPYArray.read(maskPath)
        guard m.shape == [items, a.shape[1]] else {
            throw .shapeMismatch(path: maskPath, expected: "[\(items), \(a.shape[1])]", found: "\(m.shape)")
        }
        return SequenceFeatures(count: items, length: a.shape[1], values: try a.matrix(path: path),
                                mask: try m.integers(path: maskPath).map { $0 != 0 ? 1 : 0 })
    }

    /// Writes this data set as a DESIGN.md §4 directory (float32 arrays), creating it if needed.
    public func write(to directory: String) throws {
        try makeDirectory(directory)
        try NPYArray(float32: queries.values, shape: [count, dimension]).write(to: directory + "/queries.npy")
        try NPYArray(float32: targets.values, shape: [count, dimension]).write(to: directory + "/targets.npy")
        if let queryTokens {
            try NPYArray(float32: queryTokens.values.values, shape: [count, queryTokens.length, dimension])
                .write(to: directory + "/query_tokens.npy")
            try NPYArray(uint8: queryTokens.mask, shape: [count, queryTokens.length]).write(to: directory + "/query_token_mask.npy")
        }
        if let frames {
            try NPYArray(float32: frames.values.values, shape: [count, frames.length, dimension])
                .write(to: directory + "/frames.npy")
            try NPYArray(uint8: frames.mask, shape: [count, frames.length]).write(to: directory + "/frame_mask.npy")
        }
        try AtomicFile.write(Array(split.json().utf8), to: directory + "/split.json")
    }
}

/// A plain ANN vector set: a database, queries, optional training vectors and ground truth.
/// Recall on it is ANN recall against exact search.
public struct VectorDataSet: Sendable {
    /// Name shown in reports.
    public var name: String
    /// Database vectors.
    public var base: Matrix
    /// Query vectors.
    public var queries: Matrix
    /// Vectors to train quantizers on (`learn.*`); `nil` means train on `base`.
    public var train: Matrix?
    /// Exact neighbour ids per query (`groundtruth.*`), if supplied.
    public var groundTruth: [[Int]]?

    /// Loads `base`, `query` and optional `learn` / `groundtruth` from `.npy` or `.fvecs`/`.ivecs`.
    public static func load(directory: String) throws(DataError) -> VectorDataSet {
        func matrix(_ stem: String, required: Bool) throws(DataError) -> Matrix? {
            let npy = directory + "/\(stem).npy"
            let fvecs = directory + "/\(stem).fvecs"
            if FileBytes.exists(npy) {
                let a = try NPYArray.read(npy)
                guard a.shape.count == 2 else { throw .shapeMismatch(path: npy, expected: "[N, D]", found: "\(a.shape)") }
                return try a.matrix(path: npy)
            }
            if FileBytes.exists(fvecs) { return try VecsFile.readFloats(fvecs) }
            if required { throw .cannotOpen(path: npy, reason: "neither \(stem).npy nor \(stem).fvecs exists") }
            return nil
        }
        let base = try matrix("base", required: true)!
        let queries = try matrix("query", required: true)!
        guard base.columns == queries.columns else {
            throw .inconsistent(path: directory, reason: "base has dimension \(base.columns), query \(queries.columns)")
        }
        let train = try matrix("learn", required: false)
        if let train, train.columns != base.columns {
            throw .inconsistent(path: directory, reason: "learn has dimension \(train.columns), base \(base.columns)")
        }
        var gt: [[Int]]?
        if FileBytes.exists(directory + "/groundtruth.npy") {
            let a = try NPYArray.read(directory + "/groundtruth.npy")
            guard a.shape.count == 2, a.shape[0] == queries.rows else {
                throw .shapeMismatch(path: directory + "/groundtruth.npy", expected: "[\(queries.rows), k]", found: "\(a.shape)")
            }
            let flat = try a.integers(path: directory + "/groundtruth.npy")
            gt = (0..<a.shape[0]).map { Array(flat[($0 * a.shape[1])..<(($0 + 1) * a.shape[1])]) }
        } else if FileBytes.exists(directory + "/groundtruth.ivecs") {
            gt = try VecsFile.readIntegers(directory + "/groundtruth.ivecs").rows
        }
        let name = directory.split(separator: "/").last.map(String.init) ?? directory
        return VectorDataSet(name: name, base: base, queries: queries, train: train, groundTruth: gt)
    }
}

#if canImport(Glibc)
import Glibc
#endif

/// Creates `path` (and parents) if it does not exist.
func makeDirectory(_ path: String) throws(DataError) {
    var partial = path.hasPrefix("/") ? "" : "."
    for comp in path.split(separator: "/") {
        partial += "/" + comp
        if mkdir(partial, 0o755) != 0 && errno != EEXIST {
            throw .writeFailed(path: partial, reason: String(cString: strerror(errno)))
        }
    }
}
