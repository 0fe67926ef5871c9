import HybridPQ

/// A pqbench method, decoded once from its command-line name; everything else asks this value
/// what to build.
enum Method: String, CaseIterable {
    case flat, pq, pq4, opq, opq4
    case flatHybrid = "flat-hybrid", hcq, hcqCoarse = "hcq-coarse", trainedOPQ = "trained-opq", trainedOPQ4 = "trained-opq4"
    /// Two-stage: the model's hot code, then `--rerank` candidates re-scored with the fine stage.
    case dns
    /// dns for a fraction of the queries chosen by the model's selector: one row per fraction.
    case dnsSelect = "dns-select"
    /// The float hybrid score over every item (continuous coarse + λ · late interaction with
    /// unquantized frames): the two-stage search's upper bound.
    case flatFine = "flat-fine"
    /// IVF: coarse lists (`--nlist`), codes of 8-bit PQ or 4-bit fast scan inside; one row per
    /// `--nprobe` value (the recall/QPS curve).
    case ivfPQ = "ivf-pq", ivfPQ4 = "ivf-pq4"
    /// The same behind a learned OPQ rotation (coarse lists of rotated vectors).
    case ivfOPQ = "ivf-opq", ivfOPQ4 = "ivf-opq4"
    /// A `pqtrain` model's codes (every level, as hcq) in IVF lists over its coarse target
    /// embeddings; one row per `--nprobe` value.
    case ivfHCQ = "ivf-hcq"

    /// Every name, for the usage text and error messages.
    static var names: String { allCases.map(\.rawValue).joined(separator: ", ") }

    /// Whether the method needs a `pqtrain` model (`--model`).
    var needsModel: Bool {
        switch self {
        case .flatHybrid, .hcq, .hcqCoarse, .trainedOPQ, .trainedOPQ4, .dns, .dnsSelect, .flatFine, .ivfHCQ: return true
        default: return false
        }
    }

    /// Bits per code of the methods that quantize at each `--bytes` value (nil: one row).
    var codeBits: Int? {
        switch self {
        case .pq, .opq, .trainedOPQ, .ivfPQ, .ivfOPQ: return 8
        case .pq4, .opq4, .trainedOPQ4, .ivfPQ4, .ivfOPQ4: return 4
        default: return nil
        }
    }

    /// Whether the codes sit behind a learned OPQ rotation.
    var rotated: Bool { [.opq, .opq4, .trainedOPQ, .trainedOPQ4, .ivfOPQ, .ivfOPQ4].contains(self) }

    /// Whether the codes sit in IVF lists (one row per `--nprobe` value; `--stream` builds these).
    var inverted: Bool { [.ivfPQ, .ivfPQ4, .ivfOPQ, .ivfOPQ4, .ivfHCQ].contains(self) }

    /// Whether searches go through the fast-scan stages (kernel and re-ranking depth apply).
    var fastScan: Bool { codeBits == 4 }

    /// The code shape for `bytes` per item over vectors of `dimension`: M = bytes for 8-bit
    /// codes, 2 · bytes for 4-bit ones — or why that size cannot be built.
    func shape(bytes: Int, dimension d: Int) -> Result<(subspaces: Int, bits: Int), Unbuildable> {
        let bits = codeBits ?? 8, m = bits == 4 ? 2 * bytes : bytes
        guard m <= d else { return .failure(Unbuildable("M = \(m) sub-spaces exceed the dimension \(d)")) }
        guard d % m == 0 else { return .failure(Unbuildable("dimension \(d) is not divisible by M = \(m) sub-spaces")) }
        if bits == 4, m > QuantizedLookupTable.maximumSubspaces {
            return .failure(Unbuildable("fast scan takes at most \(QuantizedLookupTable.maximumSubspaces) sub-spaces (M = \(m))"))
        }
        return .success((m, bits))
    }
}

/// Why a method/size pair cannot be built.
struct Unbuildable: Error {
    var reason: String
    init(_ reason: String) { self.reason = reason }
}

/// A method/size pair that was asked for and not built, with the reason (stderr and JSON).
struct SkippedRow {
    var method: String
    var bytes: Int?
    var reason: String
}
