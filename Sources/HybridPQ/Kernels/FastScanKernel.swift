import CKernels

/// The 4-bit fast-scan kernels and the one place that chooses among them.
///
/// A kernel sums, for every item of a run of 32-item blocks (`FastScanLayout`), the quantized
/// table entries its codes select: `out[i] = Σ_m lut[m·16 + code(i, m)]` as UInt16. The sums are
/// exact integers (M · 255 ≤ 65535 is checked by the caller), so every kernel gives identical
/// results; the tests compare each available kernel with `reference`, bit for bit.
public enum FastScanKernel: String, Sendable, CaseIterable {
    /// Portable Swift, one lookup at a time. Runs everywhere; the definition.
    case portable
    /// 32 lookups per byte shuffle (two sub-spaces per 256-bit register).
    case avx2
    /// 64 lookups per byte shuffle (four sub-spaces per 512-bit register).
    case avx512

    /// Kernels this processor can run, slowest first.
    public static let available: [FastScanKernel] = {
        let f = hpq_cpu_features()
        var k: [FastScanKernel] = [.portable]
        if f & 1 != 0 { k.append(.avx2) }
        if f & 2 != 0 { k.append(.avx512) }
        return k
    }()

    /// The fastest kernel available — the one searches use unless told otherwise.
    public static let best: FastScanKernel = available.last!

    /// Whether this processor can run the kernel.
    public var isAvailable: Bool { Self.available.contains(self) }

    /// Scans `blocks` blocks of `paddedSubspaces` sub-spaces (even) into `out` (`blocks × 32`
    /// sums) and `masks` (one per block: bit j set when item j's sum is greater than
    /// `threshold`). Precondition: `isAvailable`.
    public func scan(codes: UnsafePointer<UInt8>, blocks: Int, paddedSubspaces: Int,
                     lut: UnsafePointer<UInt8>, threshold: UInt16,
                     out: UnsafeMutablePointer<UInt16>, masks: UnsafeMutablePointer<UInt32>) {
        precondition(paddedSubspaces % 2 == 0, "fast scan needs an even number of sub-spaces")
        switch self {
        case .portable:
            Self.reference(codes: codes, blocks: blocks, paddedSubspaces: paddedSubspaces, lut: lut,
                           threshold: threshold, out: out, masks: masks)
        case .avx2: hpq_fast_scan_avx2(codes, blocks, paddedSubspaces, lut, threshold, out, masks)
        case .avx512: hpq_fast_scan_avx512(codes, blocks, paddedSubspaces, lut, threshold, out, masks)
        }
    }

    /// `scan` for two queries over the same codes: outputs are exactly those of two `scan`
    /// calls. On AVX2 one pass serves both (each code register is loaded and split once); the
    /// other kernels run two passes.
    public func scanPair(codes: UnsafePointer<UInt8>, blocks: Int, paddedSubspaces: Int,
                         luts: (UnsafePointer<UInt8>, UnsafePointer<UInt8>), thresholds: (UInt16, UInt16),
                         out: (UnsafeMutablePointer<UInt16>, UnsafeMutablePointer<UInt16>),
                         masks: (UnsafeMutablePointer<UInt32>, UnsafeMutablePointer<UInt32>)) {
        if self == .avx2 {
            precondition(paddedSubspaces % 2 == 0, "fast scan needs an even number of sub-spaces")
            hpq_fast_scan_avx2_pair(codes, blocks, paddedSubspaces, luts.0, luts.1, thresholds.0, thresholds.1,
                                    out.0, out.1, masks.0, masks.1)
            return
        }
        scan(codes: codes, blocks: blocks, paddedSubspaces: paddedSubspaces, lut: luts.0, threshold: thresholds.0,
             out: out.0, masks: masks.0)
        scan(codes: codes, blocks: blocks, paddedSubspaces: paddedSubspaces, lut: luts.1, threshold: thresholds.1,
             out: out.1, masks: masks.1)
    }

    /// The definition, written for clarity: item by item, sub-space by sub-space.
    public static func reference(codes: UnsafePointer<UInt8>, blocks: Int, paddedSubspaces m: Int,
                                 lut: UnsafePointer<UInt8>, threshold: UInt16,
                                 out: UnsafeMutablePointer<UInt16>, masks: UnsafeMutablePointer<UInt32>) {
        for b in 0..<blocks {
            let block = codes + b * m * 16
            var mask: UInt32 = 0
            for j in 0..<32 {
                var sum: UInt16 = 0
                for s in 0..<m {
                    let byte = block[s * 16 + (j & 15)]
                    let code = j < 16 ? byte & 0x0F : byte >> 4
                    sum &+= UInt16(lut[s * 16 + Int(code)])
                }
                out[b * 32 + j] = sum
                if sum > threshold { mask |= 1 << UInt32(j) }
            }
            masks[b] = mask
        }
    }
}
