/// The 8-bit ADC scan: the score of code i is the sum over sub-spaces m of `lut[m·256 + code_m]`.
///
/// The kernel knows nothing about ids, metrics or top-k: it turns codes into scores, and a
/// result collector decides what to keep.
///
/// **Summation order (part of the contract).** Each code's M table entries are added in two
/// running sums — even sub-spaces into one, odd into the other, each in increasing m — and the
/// two sums are added at the end (for odd M the last entry goes to the even sum). `reference`
/// spells this order out one lookup at a time; `scan` gives bit-identical scores, faster: fully
/// unrolled sub-space loops and two sums, which halve the add latency chain.
public enum ADCScanKernel {
    /// Portable reference: the definition, one lookup at a time (any K ≤ 256, any M).
    public static func reference(codes: UnsafePointer<UInt8>, count: Int, subspaces: Int, codewords: Int,
                                 lut: UnsafePointer<Float>, scores: UnsafeMutablePointer<Float>) {
        for i in 0..<count {
            var even: Float = 0, odd: Float = 0
            var m = 0
            while m < subspaces {
                let v = lut[m * codewords + Int(codes[i * subspaces + m])]
                if m & 1 == 0 { even += v } else { odd += v }
                m += 1
            }
            scores[i] = even + odd
        }
    }

    /// Scores `count` codes of `subspaces` bytes each against an `M × 256` table (8-bit codes).
    public static func scan(codes: UnsafePointer<UInt8>, count: Int, subspaces: Int,
                            lut: UnsafePointer<Float>, scores: UnsafeMutablePointer<Float>) {
        switch subspaces {
        case 8: scanUnrolled(codes, count, 8, lut, scores)
        case 16: scanUnrolled(codes, count, 16, lut, scores)
        case 32: scanUnrolled(codes, count, 32, lut, scores)
        case 64: scanUnrolled(codes, count, 64, lut, scores)
        default:
            if subspaces % 8 == 0 { scanUnrolled(codes, count, subspaces, lut, scores) }
            else { reference(codes: codes, count: count, subspaces: subspaces, codewords: 256, lut: lut, scores: scores) }
        }
    }

    /// Adds the entries of sub-spaces m … m+7 (code bytes `c[0..<8]`, tables from `t`) to the
    /// even and odd sums. Written out so each lookup is one byte load, one table load with a
    /// constant displacement, and one add: on this class of core the scan is bound by loads,
    /// and byte loads beat shift-and-mask extraction from wider words (measured with `pqbench --micro`).
    @inline(__always)
    static func add8(_ c: UnsafePointer<UInt8>, _ t: UnsafePointer<Float>, _ even: inout Float, _ odd: inout Float) {
        even += t[Int(c[0])]
        odd += t[256 + Int(c[1])]
        even += t[512 + Int(c[2])]
        odd += t[768 + Int(c[3])]
        even += t[1024 + Int(c[4])]
        odd += t[1280 + Int(c[5])]
        even += t[1536 + Int(c[6])]
        odd += t[1792 + Int(c[7])]
    }

    /// One code at a time (the out-of-order core overlaps consecutive codes); `M` a multiple of
    /// 8 and a literal at the call sites above, so the sub-space loop unrolls after inlining.
    @inline(__always)
    static func scanUnrolled(_ codes: UnsafePointer<UInt8>, _ count: Int, _ M: Int,
                             _ lut: UnsafePointer<Float>, _ scores: UnsafeMutablePointer<Float>) {
        var c = codes
        for i in 0..<count {
            var even: Float = 0, odd: Float = 0
            var m = 0
            while m < M {
                add8(c + m, lut + m * 256, &even, &odd)
                m += 8
            }
            scores[i] = even + odd
            c += M
        }
    }

    // MARK: - Early abandoning

    /// As `scan`, but abandons a code half-way when it provably cannot reach `threshold`:
    /// after the first M/2 sub-spaces, if `partial + bound < threshold` — `bound` an upper bound
    /// on what the remaining sub-spaces can add, rounding slack included (see `halfBound`) —
    /// the code's score is written as −∞ instead of being finished.
    ///
    /// Scores of codes that are finished are bit-identical to `scan`'s (same accumulators, same
    /// order); abandoned codes have true scores strictly below `threshold`, so a top-k whose
    /// threshold is at least `threshold` would reject them anyway. `M` must be 16, 32 or 64;
    /// other M fall back to `scan`.
    public static func scanAbandoning(codes: UnsafePointer<UInt8>, count: Int, subspaces: Int,
                                      lut: UnsafePointer<Float>, bound: Float, threshold: Float,
                                      scores: UnsafeMutablePointer<Float>) {
        guard threshold > -.infinity else {
            scan(codes: codes, count: count, subspaces: subspaces, lut: lut, scores: scores)
            return
        }
        let cut = threshold - bound
        switch subspaces {
        case 16: scanAbandoning(codes, count, 16, lut, cut, scores)
        case 32: scanAbandoning(codes, count, 32, lut, cut, scores)
        case 64: scanAbandoning(codes, count, 64, lut, cut, scores)
        default: scan(codes: codes, count: count, subspaces: subspaces, lut: lut, scores: scores)
        }
    }

    @inline(__always)
    static func scanAbandoning(_ codes: UnsafePointer<UInt8>, _ count: Int, _ M: Int,
                               _ lut: UnsafePointer<Float>, _ cut: Float, _ scores: UnsafeMutablePointer<Float>) {
        var c = codes
        let half = M / 2
        for i in 0..<count {
            var even: Float = 0, odd: Float = 0
            var m = 0
            while m < half {
                add8(c + m, lut + m * 256, &even, &odd)
                m += 8
            }
            if even + odd < cut {
                scores[i] = -.infinity
            } else {
                while m < M {
                    add8(c + m, lut + m * 256, &even, &odd)
                    m += 8
                }
                scores[i] = even + odd
            }
            c += M
        }
    }

    /// The `bound` argument of `scanAbandoning` for one `M × K` table: the sum over the second
    /// half of the sub-spaces of each sub-space's largest entry, plus slack for Float rounding
    /// (4 · M · 2⁻²³ · Σ_m max_k |lut[m][k]| — above the worst-case error of both the partial and
    /// the full sum), so abandoning is exact, never approximate.
    public static func halfBound(lut: UnsafePointer<Float>, subspaces: Int, codewords: Int) -> Float {
        var bound: Float = 0
        var magnitude: Float = 0
        for m in 0..<subspaces {
            var hi = -Float.infinity, absHi: Float = 0
            for k in 0..<codewords {
                let v = lut[m * codewords + k]
                hi = max(hi, v)
                absHi = max(absHi, abs(v))
            }
            if m >= subspaces / 2 { bound += hi }
            magnitude += absHi
        }
        return bound + 4 * Float(subspaces) * Float.ulpOfOne * magnitude
    }
}

