import Foundation
import Testing

/// The AVX-512 kernel cannot run on a processor without AVX-512 (this project's CI machines have
/// AVX2 only), so its logic is checked by building it over SIMDe's portable intrinsics and
/// comparing it bit for bit with the scalar reference (Tests/CKernelsCheck/emulate.sh).
/// Where the processor has AVX-512, FastScanKernelTests runs the real kernel too.
@Suite("SIMD kernels under emulation")
struct EmulatedKernelTests {
    static let script = URL(fileURLWithPath: #filePath)
        .deletingLastPathComponent().deletingLastPathComponent().deletingLastPathComponent()
        .appendingPathComponent("CKernelsCheck/emulate.sh").path
    static var available: Bool {
        FileManager.default.fileExists(atPath: "/usr/include/simde/x86/avx512.h")
            && FileManager.default.fileExists(atPath: script)
    }

    @Test("AVX2 and AVX-512 kernels built over SIMDe equal the scalar reference",
          .enabled(if: available, "needs libsimde-dev (scripts/setup.sh installs it)"))
    func emulated() throws {
        let process = Process()
        process.executableURL = URL(fileURLWithPath: "/bin/bash")
        process.arguments = [Self.script]
        let pipe = Pipe()
        process.standardOutput = pipe
        process.standardError = pipe
        try process.run()
        let output = String(decoding: pipe.fileHandleForReading.readDataToEndOfFile(), as: UTF8.self)
        process.waitUntilExit()
        #expect(process.terminationStatus == 0, "\(output)")
        #expect(output.contains("avx512bw=1"))
        #expect(output.contains(" 0 failures"), "\(output)")
    }
}
