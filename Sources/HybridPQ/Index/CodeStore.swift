/// How a code store lays out each item's codes.
public enum CodeLayout: Sendable, Equatable {
    /// One row of `bytesPerItem` bytes per item: 8-bit codes (or narrower ones kept one per
    /// byte), scanned by `ADCSearch`.
    case rows(bytesPerItem: Int)
    /// 4-bit codes in 32-item blocks, scanned by `FastScanSearch`.
    case fastScan(FastScanLayout)

    /// Sub-codes per item.
    public var subspaces: Int {
        switch self {
        case let .rows(b): return b
        case let .fastScan(l): return l.subspaces
        }
    }

    /// Bytes of codes a run of `count` items occupies.
    public func bytes(forItems count: Int) -> Int {
        switch self {
        case let .rows(b): return count * b
        case let .fastScan(l): return l.blocks(for: count) * l.blockBytes
        }
    }

    /// Code bytes stored per item (a fast-scan block's bytes over its 32 items).
    public var bytesPerItem: Int {
        switch self {
        case let .rows(b): return b
        case let .fastScan(l): return l.paddedSubspaces / 2
        }
    }

    /// Copies item `row`'s sub-codes, one byte each, from a run's `codes` in this layout to `out`
    /// (`subspaces` bytes): how stores are repacked and segments gathered.
    func unpack(_ codes: UnsafePointer<UInt8>, row: Int, into out: UnsafeMutablePointer<UInt8>) {
        switch self {
        case let .rows(b): out.update(from: codes + row * b, count: b)
        case let .fastScan(l): l.unpack(codes, item: row, into: out)
        }
    }
}

/// A run of items: their codes in the store's layout and their ids.
public struct CodeRun: Sendable {
    /// Codes of `count` items in the store's layout.
    public internal(set) var codes: StoredArray<UInt8>
    /// External id of each item.
    public internal(set) var ids: StoredArray<Int64>
    /// Items in the run.
    public var count: Int { ids.count }
    /// The largest id in the run (−1 when empty), found once when the run is made and kept
    /// up to date by appends: stores built over existing runs (a live snapshot's, an IVF query's
    /// lists) never rescan ids.
    public internal(set) var largestId: Int64

    /// A run over existing codes and ids (sizes checked by the store).
    public init(codes: StoredArray<UInt8> = StoredArray(), ids: StoredArray<Int64> = StoredArray()) {
        self.codes = codes
        self.ids = ids
        largestId = ids.withUnsafeBufferPointer { $0.max() ?? -1 }
    }
}

/// The codes of an index as a list of runs, like FAISS's `InvertedLists`: today's flat indexes
/// hold one run; partitioned (IVF) indexes hold one per list and live indexes one per segment.
/// Scan strategies walk the runs; a *position* numbers every item across the runs in order
/// (run offsets + row), which is how first-stage collectors name candidates.
public struct CodeStore: Sendable {
    /// The layout of every run.
    public let layout: CodeLayout
    /// The runs, in position order.
    public private(set) var runs: [CodeRun]
    /// First position of each run, and the total count at the end.
    public private(set) var offsets: [Int]
    /// The largest id stored (−1 when empty): automatic ids start above it, so they never
    /// collide with ids the caller chose.
    public var largestId: Int64 { runs.reduce(-1) { max($0, $1.largestId) } }

    /// The first id (in position order) that is in `set`, or nil.
    public func firstId(in set: Set<Int64>) -> Int64? {
        for run in runs {
            if let id = run.ids.withUnsafeBufferPointer({ $0.first(where: set.contains) }) { return id }
        }
        return nil
    }

    /// An empty store with one empty run.
    public init(layout: CodeLayout) {
        self.layout = layout
        runs = [CodeRun()]
        offsets = [0, 0]
    }

    /// A store over existing runs, checking each run's code size against its item count.
    public init(layout: CodeLayout, runs: [CodeRun]) throws(IndexError) {
        self.layout = layout
        self.runs = runs.isEmpty ? [CodeRun()] : runs
        offsets = [0]
        for r in self.runs {
            guard r.codes.count == layout.bytes(forItems: r.count) else {
                throw .inconsistentStore(reason: "a run of \(r.count) items holds \(r.codes.count) code bytes, expected \(layout.bytes(forItems: r.count))")
            }
            offsets.append(offsets.last! + r.count)
        }
        guard offsets.last! <= CandidateReservoir.positionLimit else {
            throw .tooManyItems(count: offsets.last!, limit: CandidateReservoir.positionLimit)
        }
    }

    /// Items in all runs.
    public var count: Int { offsets.last! }

    /// Bytes of codes in all runs.
    public var codeBytes: Int { runs.reduce(0) { $0 + $1.codes.count } }

    /// Bytes of codes and ids in all runs.
    public var memoryBytes: Int { codeBytes + count * MemoryLayout<Int64>.size }

    /// The store as one run (what an index file holds): the run itself when there is one,
    /// else every run's items in position order, repacked.
    public var onlyRun: CodeRun {
        if runs.count == 1 { return runs[0] }
        var merged = CodeStore(layout: layout)
        withRuns { views in
            for v in views where v.count > 0 {
                let m = layout.subspaces
                var codes = [UInt8](repeating: 0, count: v.count * m)
                codes.withUnsafeMutableBufferPointer { o in for i in 0..<v.count { layout.unpack(v.codes!, row: i, into: o.baseAddress! + i * m) } }
                // Sizes agree by construction and the count was within bounds already.
                try? merged.append(codes: codes, ids: Array(UnsafeBufferPointer(start: v.ids!, count: v.count)))
            }
        }
        return merged.runs[0]
    }

    /// Appends items to the last run: `codes` holds `ids.count × subspaces` sub-codes, one per
    /// byte. A mapped run is copied into memory first (a file is never written in place).
    public mutating func append(codes: [UInt8], ids newIds: [Int64]) throws(IndexError) {
        try append(codes: codes, ids: newIds, toRun: runs.count - 1)
    }

    /// An empty store of `runs` empty runs (inverted lists, filled by `append(codes:ids:toRun:)`).
    public init(layout: CodeLayout, emptyRuns n: Int) {
        self.layout = layout
        runs = [CodeRun](repeating: CodeRun(), count: max(1, n))
        offsets = [Int](repeating: 0, count: max(1, n) + 1)
    }

    /// Appends items to run `r` (any run: an inverted list); the positions of later runs move
    /// up by the items added (O(runs)).
    public mutating func append(codes: [UInt8], ids newIds: [Int64], toRun r: Int) throws(IndexError) {
        try append(toRuns: [(r, codes, newIds)])
    }

    /// Appends items to several runs (a batch spread over inverted lists): each run's items as
    /// `append(codes:ids:toRun:)` takes them, the positions updated once for all of them
    /// (one call per run would be O(runs²) for a batch touching every list). All or nothing.
    public mutating func append(toRuns batches: [(run: Int, codes: [UInt8], ids: [Int64])]) throws(IndexError) {
        let m = layout.subspaces
        var total = 0
        for (r, codes, ids) in batches {
            guard r >= 0, r < runs.count else { throw .inconsistentStore(reason: "run \(r) of \(runs.count)") }
            guard codes.count == ids.count * m else {
                throw .inconsistentStore(reason: "\(codes.count) code bytes for \(ids.count) items of \(m) sub-codes")
            }
            total += ids.count
        }
        guard count + total <= CandidateReservoir.positionLimit else {
            throw .tooManyItems(count: count + total, limit: CandidateReservoir.positionLimit)
        }
        for (r, codes, ids) in batches where !ids.isEmpty { appendChecked(codes: codes, ids: ids, toRun: r) }
        for r in 0..<runs.count { offsets[r + 1] = offsets[r] + runs[r].count }
    }

    /// Appends checked items to run `r` without touching `offsets`.
    private mutating func appendChecked(codes: [UInt8], ids newIds: [Int64], toRun r: Int) {
        let n = newIds.count
        var run = runs[r]
        runs[r] = CodeRun()   // unique reference: the appends below do not copy the codes
        switch layout {
        case .rows:
            run.codes.append(contentsOf: codes)
        case let .fastScan(l):
            let existing = run.count
            run.codes.modify { packed in l.append(codes: codes, count: n, to: &packed, existing: existing) }
        }
        run.ids.append(contentsOf: newIds)
        run.largestId = max(run.largestId, newIds.max() ?? -1)
        runs[r] = run
    }

    /// Ends the current run: later appends go to a new, empty one (a sealed segment, an
    /// inverted list). An empty current run is kept as it is.
    public mutating func startRun() {
        guard runs[runs.count - 1].count > 0 else { return }
        runs.append(CodeRun())
        offsets.append(offsets.last!)
    }

    /// Calls `body` with raw views of every run (valid only inside `body`).
    public func withRuns<R>(_ body: ([CodeRunView]) throws -> R) rethrows -> R {
        try withRuns(selected: Array(runs.indices), body)
    }

    /// Calls `body` with views of the runs `selected` only (indices ascending, distinct, each
    /// in range), in that order; each view keeps its run's store offset, so positions mean what
    /// they mean in the whole store. A query probing 8 of 8,192 IVF lists must not pay for every
    /// list's buffers (one nested access per run was most of such a query's time).
    public func withRuns<R>(selected: [Int], _ body: ([CodeRunView]) throws -> R) rethrows -> R {
        var views: [CodeRunView] = []
        views.reserveCapacity(selected.count)
        return try fill(selected[...], &views, body)
    }

    private func fill<R>(_ todo: ArraySlice<Int>, _ views: inout [CodeRunView], _ body: ([CodeRunView]) throws -> R) rethrows -> R {
        guard let i = todo.first else { return try body(views) }
        return try runs[i].codes.withUnsafeBufferPointer { c in
            try runs[i].ids.withUnsafeBufferPointer { d in
                views.append(CodeRunView(codes: c.baseAddress, ids: d.baseAddress, count: runs[i].count, offset: offsets[i]))
                return try fill(todo.dropFirst(), &views, body)
            }
        }
    }
}

/// A run's codes and ids as raw pointers, for the scan loops (valid inside `CodeStore.withRuns`).
public struct CodeRunView: @unchecked Sendable {
    /// The run's codes (nil when empty).
    public let codes: UnsafePointer<UInt8>?
    /// The run's ids (nil when empty).
    public let ids: UnsafePointer<Int64>?
    /// Items in the run.
    public let count: Int
    /// Position of the run's first item.
    public let offset: Int
}

extension Array where Element == CodeRunView {
    /// The view and row of `position` (runs in position order).
    @inlinable
    func locate(_ position: Int) -> (CodeRunView, Int) {
        if count == 1 { return (self[0], position - self[0].offset) }
        var lo = 0, hi = count - 1
        while lo < hi {
            let mid = (lo + hi + 1) / 2
            if self[mid].offset <= position { lo = mid } else { hi = mid - 1 }
        }
        return (self[lo], position - self[lo].offset)
    }

    /// The id at `position`.
    @inlinable
    func id(at position: Int) -> Int64 {
        let (v, row) = locate(position)
        return v.ids![row]
    }
}
