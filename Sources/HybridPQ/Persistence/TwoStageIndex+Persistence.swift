extension TwoStageIndex {
    /// Saves the index to `path` atomically (kind `dns`): the `hcq` sections of the hot index
    /// with the model's fine stage, META `index.frames`, and the cold store — FRCD (frame codes)
    /// and FROF (each item's first frame, `count + 1` prefix sums), each checksummed and
    /// mappable like every section; FRRC (each item's refined coarse code) when the fine model
    /// has a coarse refiner.
    public func save(to path: String) throws(IndexFileError) {
        var model = hot.model
        model.fine = fine
        let s = try hot.sections(model: model, extra: ["index.frames": "\(cold.frameCount)"], path: path)
        let refined: [IndexFile.Section] = cold.refiner == nil ? [] : [.uint8s("FRRC", cold.refinedCodes)]
        try IndexFile.write(kind: .dns, sections: s + [.uint8s("FRCD", cold.codes), .int64s("FROF", cold.firstFrame)] + refined, to: path)
    }

    /// Loads a `dns` index; with `mapping`, hot codes, ids and the cold store stay in a read-only
    /// mapping (cold pages are read from disk only for re-ranked candidates once checksums are
    /// verified).
    public static func load(from path: String, mapping: Bool = false) throws(IndexFileError) -> TwoStageIndex {
        try TwoStageIndex(IndexFile.read(path, mapping: mapping))
    }

    init(_ file: IndexFile.Contents) throws(IndexFileError) {
        let path = file.path
        let hot = try HybridIndex(file, kind: .dns)
        guard let fine = hot.model.fine else { throw .invalidModel(path: path, .missingInput("the model's fine stage (fine.* META)")) }
        do { self = try TwoStageIndex(model: hot.model, fine: fine) } catch { throw .invalidIndex(path: path, error) }
        self.hot = hot
        let meta = try file.metadata()
        let frames = try meta.int("index.frames", in: 0...(Int.max / max(1, fine.frameQuantizer.quantizer.subspaces)))
        cold.codes = try file.uint8s("FRCD", count: frames * cold.bytesPerFrame)
        cold.firstFrame = try file.int64s("FROF", count: hot.count + 1)
        // The offsets must run from 0 to the frame count without going back.
        let ok = cold.firstFrame.withUnsafeBufferPointer { f in
            f[0] == 0 && f[hot.count] == Int64(frames) && (0..<hot.count).allSatisfy { f[$0] <= f[$0 + 1] }
        }
        guard ok else { throw .inconsistent(path: path, reason: "FROF is not a non-decreasing run of offsets from 0 to \(frames)") }
        if let r = fine.coarseRefiner { cold.refinedCodes = try file.uint8s("FRRC", count: hot.count * r.subspaces) }
        let k = fine.frameQuantizer.quantizer.codewords
        // 4-bit codes are packed two per byte: every nibble is a valid code.
        if k < 16 || (k > 16 && k < 256), let bad = cold.codes.withUnsafeBufferPointer({ $0.first { Int($0) >= k } }) {
            throw .inconsistent(path: path, reason: "FRCD holds code \(bad), outside 0..<\(k)")
        }
    }
}
