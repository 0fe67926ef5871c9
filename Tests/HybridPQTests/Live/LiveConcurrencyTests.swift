import Dispatch
import Foundation
import Synchronization
import Testing
import HybridPQ

/// Readers search snapshots while a writer adds, upserts and removes whole batches of ten ids.
/// Every snapshot must hold whole batches only (a write is all in or all out), and every search
/// over it must return exactly its live ids: no phantom, no duplicate, none lost. CI also runs
/// this suite under ThreadSanitizer (`swift test --sanitize=thread --filter LiveConcurrency`).
@Suite("LiveConcurrency: readers and a writer at once")
struct LiveConcurrencyTests {
    @Test("snapshots see whole batches; searches return exactly the snapshot's live items", arguments: ["pq", "flat"])
    func readersAndWriter(kind: String) throws {
        let d = LiveIndexTests.d
        let template: AnyIndex = kind == "pq" ? .pq(PQIndex(quantizer: try LiveIndexTests.quantizer())) : .flat(FlatIndex(dimension: d))
        let index = LiveIndex(template: template, policy: MergePolicy(maxSegments: 4, maxDeletedFraction: 0.3, flushItems: 200))
        let done = Atomic<Bool>(false)
        let failures = Mutex<[String]>([])
        let searches = Atomic<Int>(0)
        let query = FeatureBatch(TestData.gaussian(rows: 1, columns: d, seed: 920))
        DispatchQueue.concurrentPerform(iterations: 4) { worker in
            if worker == 0 {
                defer { done.store(true, ordering: .releasing) }
                do {
                    var live: [Int64] = []
                    for b in 0..<150 {
                        // Interleave: let the readers search about once per write (bounded wait:
                        // up to 100 ms, so that a loaded machine — TSan beside a build — still
                        // interleaves; unloaded, a reader answers within microseconds).
                        for _ in 0..<2_000 where searches.load(ordering: .relaxed) < b { usleep(50) }
                        let batch = Int64(b)
                        let x = TestData.gaussian(rows: 10, columns: d, seed: 1000 + UInt64(b))
                        try index.add(FeatureBatch(x), ids: (0..<10).map { batch * 10 + $0 })
                        live.append(batch)
                        if b % 5 == 4 {
                            let victim = live.remove(at: b % live.count)
                            try index.remove(ids: (0..<10).map { victim * 10 + $0 })
                        }
                        if b % 7 == 3, let redo = live.first {
                            try index.upsert(FeatureBatch(x), ids: (0..<10).map { redo * 10 + $0 })
                        }
                        if b % 40 == 39 { try index.compact() }
                    }
                } catch {
                    failures.withLock { $0.append("writer: \(error)") }
                }
            } else {
                while !done.load(ordering: .acquiring) {
                    let snapshot = index.snapshot()
                    let n = snapshot.count
                    guard n > 0 else { continue }
                    if n % 10 != 0 { failures.withLock { $0.append("snapshot of \(n) items: a half batch") } }
                    do {
                        let r = try snapshot.search(query, parameters: SearchParameters(k: n, rerank: n))
                        let ids = r.ids(ofQuery: 0)
                        var byBatch: [Int64: Int] = [:]
                        for id in ids { byBatch[id / 10, default: 0] += 1 }
                        if Set(ids).count != n || ids.contains(where: { $0 < 0 }) || byBatch.values.contains(where: { $0 != 10 }) {
                            failures.withLock { $0.append("search over \(n) items returned \(Set(ids).count) distinct ids, batches \(byBatch.values.sorted().prefix(3))") }
                        }
                    } catch {
                        failures.withLock { $0.append("reader: \(error)") }
                    }
                    searches.add(1, ordering: .relaxed)
                }
            }
        }
        let f = failures.withLock { $0 }
        #expect(f.isEmpty, "\(f.prefix(3))")
        #expect(searches.load(ordering: .relaxed) > 10)
        #expect(index.count == 10 * (150 - 30))
    }
}
