/// The cold store of a two-stage index: every item's valid frames as product codes (one byte
/// per sub-code), item by item, with each item's first frame — read only for the candidates a
/// first stage hands to the fine re-ranker, never scanned.
///
/// Items may have any number of frames, zero included (scored by the coarse code alone).
public struct FrameStore: Sendable {
    /// The frames' quantizer (and rotation).
    public let quantizer: LevelQuantizer
    /// Codes of all frames, `frameCount × subspaces` bytes.
    public internal(set) var codes: StoredArray<UInt8>
    /// `count + 1` prefix sums: item i's frames are `firstFrame[i]..<firstFrame[i + 1]`.
    public internal(set) var firstFrame: StoredArray<Int64>
    /// The finer coarse code's quantizer (`FineModel.coarseRefiner`), if the store keeps one.
    public let refiner: ProductQuantizer?
    /// Each item's finer coarse code, `count × refiner.subspaces` bytes (empty without a refiner).
    public internal(set) var refinedCodes: StoredArray<UInt8>

    /// An empty store over a trained frame quantizer (and, optionally, a coarse refiner).
    public init(quantizer: LevelQuantizer, refiner: ProductQuantizer? = nil) {
        self.quantizer = quantizer
        self.refiner = refiner
        codes = StoredArray()
        firstFrame = StoredArray([0])
        refinedCodes = StoredArray()
    }

    /// Items stored.
    public var count: Int { firstFrame.count - 1 }
    /// Frames stored.
    public var frameCount: Int { codes.count / max(1, bytesPerFrame) }
    /// Code bytes per frame: one per sub-space for 8-bit codes, two 4-bit codes per byte
    /// (low nibble first) for 4-bit ones.
    public var bytesPerFrame: Int {
        let q = quantizer.quantizer
        return q.bitsPerCode == 4 ? (q.subspaces + 1) / 2 : q.subspaces
    }

    /// Appends to `out` the codes of `frames` frames starting at frame `first`, one byte per
    /// sub-code (8-bit codes copied as they are, 4-bit ones unpacked).
    func appendCodes(_ c: UnsafePointer<UInt8>, first: Int, frames: Int, to out: inout [UInt8]) {
        let m = quantizer.quantizer.subspaces, b = bytesPerFrame
        guard quantizer.quantizer.bitsPerCode == 4 else {
            out.append(contentsOf: UnsafeBufferPointer(start: c + first * b, count: frames * b))
            return
        }
        for f in 0..<frames {
            let src = c + (first + f) * b
            for s in 0..<m { out.append(s % 2 == 0 ? src[s / 2] & 0x0F : src[s / 2] >> 4) }
        }
    }

    /// Bytes in memory: codes, refined codes, offsets and both quantizers' codebooks.
    public var memoryBytes: Int {
        codes.count + refinedCodes.count + firstFrame.count * MemoryLayout<Int64>.size
            + 4 * (quantizer.quantizer.codebooks.count + (refiner?.codebooks.count ?? 0))
    }
    /// Mean bytes per item read when the item is re-ranked: frame codes, its offset and its
    /// refined coarse code.
    public var bytesPerItem: Double {
        count == 0 ? 0 : Double(codes.count + refinedCodes.count + (firstFrame.count) * MemoryLayout<Int64>.size) / Double(count)
    }

    /// Appends the valid frames of each item of `frames` (already through the fine model's frame
    /// head), in item order, and — with a refiner — the items' coarse embeddings in the hot
    /// level's rotated space (`refined`, one row per item; required then).
    public mutating func append(_ frames: SequenceFeatures, refined: Matrix? = nil) throws(ModelError) {
        var refinedCodes: [UInt8] = []
        if let refiner {
            guard let refined, refined.rows == frames.count, refined.columns == refiner.dimension else {
                throw .shapeMismatch(input: "refined coarse embeddings", expected: "\(frames.count) rows of \(refiner.dimension)",
                                     found: refined.map { "\($0.rows) rows of \($0.columns)" } ?? "none")
            }
            do { refinedCodes = try refiner.encode(refined) } catch { throw .quantizer(error) }
        }
        let d = quantizer.quantizer.dimension
        guard frames.values.columns == d else { throw .shapeMismatch(input: "frames", expected: "\(d) columns", found: "\(frames.values.columns)") }
        let base = firstFrame.withUnsafeBufferPointer { $0.last! }
        var rows: [Int] = [], ends: [Int64] = []
        for i in 0..<frames.count {
            for t in 0..<frames.length where frames.mask[i * frames.length + t] != 0 { rows.append(i * frames.length + t) }
            ends.append(base + Int64(rows.count))
        }
        let valid = frames.values.gathering(rows: rows)
        if let bad = valid.values.firstIndex(where: { !$0.isFinite }) {
            throw .invalidConfiguration("frame row \(rows[bad / d]) holds NaN or infinity")
        }
        var c = try quantizer.encode(valid)
        if quantizer.quantizer.bitsPerCode == 4 {
            let m = quantizer.quantizer.subspaces, b = bytesPerFrame
            var packed = [UInt8](repeating: 0, count: rows.count * b)
            for f in 0..<rows.count { for s in 0..<m { packed[f * b + s / 2] |= c[f * m + s] << (s % 2 == 0 ? 0 : 4) } }
            c = packed
        }
        codes.append(contentsOf: c)
        firstFrame.append(contentsOf: ends)
        self.refinedCodes.append(contentsOf: refinedCodes)
    }

    /// One store holding `rows` of each part, part after part (codes copied as stored, never
    /// re-encoded): how a live index merges two-stage segments. Every part must have the first
    /// part's quantizers.
    static func gathering(_ parts: [(store: FrameStore, rows: [Int])]) throws(IndexError) -> FrameStore {
        guard let first = parts.first?.store else { throw .unsupported("gathering needs at least one part") }
        var out = FrameStore(quantizer: first.quantizer, refiner: first.refiner)
        let b = first.bytesPerFrame, r = first.refiner?.subspaces ?? 0
        var codes: [UInt8] = [], ends: [Int64] = [], refined: [UInt8] = []
        var end: Int64 = 0
        for (store, rows) in parts where !rows.isEmpty {
            guard store.quantizer == first.quantizer, store.refiner == first.refiner else {
                throw .inconsistentStore(reason: "cannot merge frame stores of different quantizers")
            }
            store.withViews { c, f in
                for row in rows {
                    let lo = Int(f[row]), hi = Int(f[row + 1])
                    if hi > lo { codes.append(contentsOf: UnsafeBufferPointer(start: c! + lo * b, count: (hi - lo) * b)) }
                    end += Int64(hi - lo)
                    ends.append(end)
                }
            }
            if r > 0 {
                store.refinedCodes.withUnsafeBufferPointer { rc in
                    for row in rows { refined.append(contentsOf: rc[(row * r)..<((row + 1) * r)]) }
                }
            }
        }
        out.codes.append(contentsOf: codes)
        out.firstFrame.append(contentsOf: ends)
        out.refinedCodes.append(contentsOf: refined)
        return out
    }

    /// Calls `body` with the codes and offsets (valid only inside `body`).
    func withViews<R>(_ body: (UnsafePointer<UInt8>?, UnsafePointer<Int64>) -> R) -> R {
        codes.withUnsafeBufferPointer { c in firstFrame.withUnsafeBufferPointer { f in body(c.baseAddress, f.baseAddress!) } }
    }
}
