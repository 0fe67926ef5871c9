/// The product quantizer of one level of a `HybridModel`, with how its scores are formed.
///
/// HCQ mode: no rotation, codewords of norm 1/√M per sub-space (unit vectors scaled like the
/// level embeddings' sub-vectors), score = inner product = (1/M) Σ_m cos. Joint mode: an OPQ
/// rotation, free codewords, score = −‖R q − x̂‖² (L2; it charges each code's own norm).
public struct LevelQuantizer: Sendable, Equatable {
    /// Orthogonal rotation applied to embeddings before quantization (joint mode).
    public var transform: Rotation?
    /// The rotation's D × D matrix, if any.
    public var rotation: Matrix? { transform?.matrix }
    /// 8-bit product quantizer over (rotated) level embeddings.
    public var quantizer: ProductQuantizer
    /// Score of a query against a code.
    public var metric: Metric

    /// A level quantizer; the rotation, if any, must be D × D.
    public init(rotation: Matrix?, quantizer: ProductQuantizer, metric: Metric) throws(ModelError) {
        if let r = rotation {
            guard r.rows == quantizer.dimension, r.columns == quantizer.dimension else {
                throw .shapeMismatch(input: "level rotation", expected: "\(quantizer.dimension)×\(quantizer.dimension)", found: "\(r.rows)×\(r.columns)")
            }
            do { transform = try Rotation(r) } catch { throw .quantizer(error) }
        } else {
            transform = nil
        }
        self.quantizer = quantizer
        self.metric = metric
    }

    /// Embeddings in the quantizer's space (rotated when there is a rotation).
    public func rotated(_ e: Matrix) -> Matrix { transform.map { $0.apply(e) } ?? e }

    /// Codes of level embeddings (nearest codeword per sub-space; in HCQ mode every codeword
    /// has the same norm, so this is also the highest-cosine codeword).
    public func encode(_ e: Matrix) throws(ModelError) -> [UInt8] {
        do { return try quantizer.encode(rotated(e)) } catch { throw .quantizer(error) }
    }

    /// Asymmetric lookup tables of query level embeddings.
    public func lookupTables(_ q: Matrix) throws(ModelError) -> LookupTables {
        do { return try quantizer.lookupTables(rotated(q), metric: metric) } catch { throw .quantizer(error) }
    }
}
