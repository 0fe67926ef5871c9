import Testing
import HybridPQ

@Suite("CRC-32C")
struct CRC32CTests {
    /// Known answers: the CRC catalogue's check value for "123456789" and the test vectors of
    /// RFC 3720 (iSCSI) appendix B.4.
    @Test("known-answer vectors")
    func knownAnswers() {
        func crc(_ b: [UInt8]) -> UInt32 { CRC32C.checksum(b) }
        #expect(crc(Array("123456789".utf8)) == 0xE306_9283)
        #expect(crc([UInt8](repeating: 0, count: 32)) == 0x8A91_36AA)
        #expect(crc([UInt8](repeating: 0xFF, count: 32)) == 0x62A8_AB43)
        #expect(crc((0..<32).map { UInt8($0) }) == 0x46DD_794E)
        #expect(crc((0..<32).map { UInt8(31 - $0) }) == 0x113F_DB5C)
        #expect(crc([]) == 0)
    }
}
