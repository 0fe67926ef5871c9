/// Per-item sequences of feature vectors with a validity mask: query tokens or target frames.
///
/// Row `i * length + t` of `values` is element `t` of item `i`; `mask[i * length + t]` is 1 for a
/// real element and 0 for padding, which must never contribute to anything.
public struct SequenceFeatures: Sendable, Equatable {
    /// Items.
    public let count: Int
    /// Elements per item, padding included.
    public let length: Int
    /// `count * length` rows of features.
    public var values: Matrix
    /// `count * length` flags, 1 = real element.
    public var mask: [UInt8]

    /// Features and mask; shapes must agree.
    public init(count: Int, length: Int, values: Matrix, mask: [UInt8]) {
        precondition(values.rows == count * length && mask.count == count * length, "sequence shapes disagree")
        self.count = count
        self.length = length
        self.values = values
        self.mask = mask
    }

    /// The items at `indices`, in that order.
    public func gathering(items indices: [Int]) -> SequenceFeatures {
        let rows = indices.flatMap { i in (i * length)..<((i + 1) * length) }
        return SequenceFeatures(count: indices.count, length: length, values: values.gathering(rows: rows),
                                mask: rows.map { mask[$0] })
    }
}
