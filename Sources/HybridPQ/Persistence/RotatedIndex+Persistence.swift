extension RotatedIndex where Base == PQIndex {
    /// Saves the index to `path` atomically (kind `opq`: the `pq` sections plus ROTN, the
    /// D × D rotation, row-major float32).
    public func save(to path: String) throws(IndexFileError) {
        try IndexFile.write(kind: .opq, sections: base.sections() + [.floats("ROTN", StoredArray(rotation.values))], to: path)
    }

    /// Loads an `opq` index saved by `save(to:)`.
    public static func load(from path: String, mapping: Bool = false) throws(IndexFileError) -> OPQIndex {
        try OPQIndex(IndexFile.read(path, mapping: mapping))
    }

    init(_ file: IndexFile.Contents) throws(IndexFileError) {
        let base = try PQIndex(file, kind: .opq)
        try self.init(rotation: file.rotation(base.dimension), base: base, path: file.path)
    }
}

extension RotatedIndex where Base == PQ4Index {
    /// Saves the index to `path` atomically (kind `opq4`: the `pq4` sections plus ROTN).
    public func save(to path: String) throws(IndexFileError) {
        try IndexFile.write(kind: .opq4, sections: base.sections() + [.floats("ROTN", StoredArray(rotation.values))], to: path)
    }

    /// Loads an `opq4` index saved by `save(to:)`.
    public static func load(from path: String, mapping: Bool = false) throws(IndexFileError) -> OPQ4Index {
        try OPQ4Index(IndexFile.read(path, mapping: mapping))
    }

    init(_ file: IndexFile.Contents) throws(IndexFileError) {
        let base = try PQ4Index(file, kind: .opq4)
        try self.init(rotation: file.rotation(base.dimension), base: base, path: file.path)
    }
}

extension RotatedIndex {
    init(rotation: Matrix, base: Base, path: String) throws(IndexFileError) {
        do { try self.init(rotation: rotation, base: base) } catch {
            if case let .quantizer(q) = error { throw .invalidQuantizer(path: path, q) }
            throw .invalidIndex(path: path, error)
        }
    }
}

extension IndexFile.Contents {
    /// The ROTN section as a d × d matrix.
    func rotation(_ d: Int) throws(IndexFileError) -> Matrix {
        Matrix(rows: d, columns: d, values: try floats("ROTN", count: d * d).array)
    }
}
