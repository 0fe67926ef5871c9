import Foundation
import Testing
import HybridPQ

@Suite("split.json")
struct SplitTests {
    func write(_ text: String) -> String {
        let path = TestData.temporaryDirectory() + "/split.json"
        _ = FileManager.default.createFile(atPath: path, contents: Data(text.utf8))
        return path
    }

    @Test("a valid split reads back, and json() round-trips")
    func roundTrip() throws {
        let p = write(#"{"train": [0, 3, 4], "val": [], "test": [1, 2]}"#)
        let s = try Split.read(p, itemCount: 5)
        #expect(s.train == [0, 3, 4] && s.val == [] && s.test == [1, 2])
        #expect(try Split.read(write(s.json()), itemCount: 5).test == [1, 2])
    }

    @Test("bad splits are typed errors naming the file and the problem")
    func badSplits() throws {
        let twice = write(#"{"train": [0, 1], "val": [1], "test": []}"#)
        #expect(throws: DataError.inconsistent(path: twice, reason: "index 1 appears twice")) { try Split.read(twice, itemCount: 3) }
        let outside = write(#"{"train": [0], "val": [], "test": [7]}"#)
        #expect(throws: DataError.inconsistent(path: outside, reason: "test index 7 outside 0..<3")) { try Split.read(outside, itemCount: 3) }
        let missing = write(#"{"train": [0], "test": [1]}"#)
        #expect(throws: DataError.malformed(path: missing, reason: "missing key \"val\"")) { try Split.read(missing, itemCount: 3) }
        #expect(throws: DataError.self) { try Split.read(write(#"{"train": [0, "x"]}"#), itemCount: 3) }
    }
}
