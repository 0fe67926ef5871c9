/// The HCQ model on frozen input features: the heads that turn a query's and a target's
/// features into 1 + L level embeddings (coarse + GhostVLAD fine levels), and one quantizer
/// per level once trained (docs/HCQ.md has the equations).
///
/// Query side: coarse = self-gated projection of the global feature, y = h ⊙ σ(h Gᵀ + g),
/// h = x Wᵀ + b; fine = GhostVLAD of the projected tokens. Target side: coarse = projection of
/// the global feature plus `frameMix` × the mean of the valid projected frames (CLIP4Clip's
/// parameter-free pooling, weighted); fine = GhostVLAD of the projected frames. GhostVLAD is
/// shared by both sides. Every projection starts at the identity (random starts end below raw
/// cosine on debian-desc), the gate at zero weights, `frameMix` at zero: an untrained model
/// ranks exactly as the raw global features do.
public struct HybridModel: Sendable, Equatable {
    /// How the level embeddings are quantized and compared.
    public enum Mode: String, Sendable, CaseIterable {
        /// HCQ as published: unit-norm sub-vectors and codewords, cosine scores, straight-through
        /// hard codes, codebooks refitted by spherical k-means.
        case hcq
        /// OPQ start, then codebooks learned jointly with the query heads through the contrastive
        /// loss over asymmetric L2 scores (JPQ-style).
        case joint
    }

    /// Shape of a model.
    public struct Configuration: Sendable, Equatable {
        /// Dimension of the input features (Din).
        public var inputDimension: Int
        /// Fine-grained GhostVLAD levels L (0: the coarse level alone).
        public var levels: Int
        /// Ghost clusters G: in the assignment softmax, dropped from the output.
        public var ghosts: Int
        /// Sub-spaces M of each level's product quantizer (8-bit codes: M bytes per level).
        public var subspaces: Int
        /// Quantizer mode.
        public var mode: Mode
        /// Bits per code: 8 (K = 256, every shape) or 4 (K = 16, M/2 bytes per level, searched
        /// by fast scan; joint mode on the coarse level alone).
        public var bitsPerCode: Int

        /// A configuration; the embedding dimension equals `inputDimension` (identity start).
        public init(inputDimension: Int, levels: Int, ghosts: Int = 1, subspaces: Int, mode: Mode, bitsPerCode: Int = 8) {
            self.inputDimension = inputDimension
            self.levels = levels
            self.ghosts = ghosts
            self.subspaces = subspaces
            self.mode = mode
            self.bitsPerCode = bitsPerCode
        }

        /// Embedding dimension D (= Din: the projections start at the identity).
        public var dimension: Int { inputDimension }
        /// Levels including the coarse one.
        public var levelCount: Int { levels + 1 }
        /// Code bytes per item: one 8-bit code per sub-space per level.
        public var bytesPerItem: Int { levelCount * subspaces * bitsPerCode / 8 }
        /// Codewords per sub-space.
        public var codewords: Int { 1 << bitsPerCode }

        /// Checks the shape.
        public func validate() throws(ModelError) {
            guard inputDimension >= 1 else { throw .invalidConfiguration("input dimension must be ≥ 1 (got \(inputDimension))") }
            guard levels >= 0, ghosts >= 0 else { throw .invalidConfiguration("levels and ghosts must be ≥ 0 (got \(levels), \(ghosts))") }
            guard subspaces >= 1, dimension % subspaces == 0 else {
                throw .invalidConfiguration("dimension \(dimension) is not divisible by \(subspaces) sub-spaces")
            }
            guard bitsPerCode == 8 || (bitsPerCode == 4 && levels == 0 && mode == .joint && subspaces % 2 == 0) else {
                throw .invalidConfiguration("\(bitsPerCode)-bit codes: 8 bits, or 4 bits for a joint-mode coarse level with an even M (got L = \(levels), M = \(subspaces), mode \(mode.rawValue))")
            }
        }
    }

    /// Shape.
    public let configuration: Configuration
    /// Weights of the continuous model (the heads every level embedding comes from).
    public var parameters: HybridParameters
    /// Query-side weights tuned for the quantized targets (joint mode); nil: `parameters`.
    /// Target-side tensors here are never used: targets always go through `parameters`.
    public var quantizedQueryParameters: HybridParameters?
    /// One quantizer per level (coarse first), or empty before quantizers are fitted.
    public var quantizers: [LevelQuantizer]
    /// Weight of each level in the hybrid score (HCQ: 1/(L+1) each).
    public var levelWeights: [Float]
    /// Free-form record of how the model was made (trainer settings, validation figures);
    /// saved with the model as `info.*` metadata.
    public var info: [String: String] = [:]
    /// The fine-grained stage (late interaction over tokens and frames), when the model has one
    /// (`pqtrain --fine`); `TwoStageIndex` needs it.
    public var fine: FineModel?

    /// An untrained model: identity projections, zero gate, zero frame mix; GhostVLAD
    /// assignment weights and centres from `vladCentres` (L + G rows) when given, else zero.
    public init(_ configuration: Configuration, vladCentres: Matrix? = nil) throws(ModelError) {
        try configuration.validate()
        self.configuration = configuration
        parameters = HybridParameters.identity(configuration, vladCentres: vladCentres)
        quantizedQueryParameters = nil
        quantizers = []
        levelWeights = [Float](repeating: 1 / Float(configuration.levelCount), count: configuration.levelCount)
    }

    /// A model from its parts, shapes checked.
    public init(configuration: Configuration, parameters: HybridParameters, quantizedQueryParameters: HybridParameters?,
                quantizers: [LevelQuantizer], levelWeights: [Float]) throws(ModelError) {
        try configuration.validate()
        try parameters.validate(configuration)
        try quantizedQueryParameters?.validate(configuration)
        guard quantizers.isEmpty || quantizers.count == configuration.levelCount else {
            throw .invalidConfiguration("\(quantizers.count) quantizers for \(configuration.levelCount) levels")
        }
        for q in quantizers {
            guard q.quantizer.dimension == configuration.dimension, q.quantizer.subspaces == configuration.subspaces,
                  q.quantizer.bitsPerCode == configuration.bitsPerCode else {
                throw .invalidConfiguration("a level quantizer has D=\(q.quantizer.dimension), M=\(q.quantizer.subspaces), \(q.quantizer.bitsPerCode) bits; expected D=\(configuration.dimension), M=\(configuration.subspaces), \(configuration.bitsPerCode) bits")
            }
        }
        guard levelWeights.count == configuration.levelCount, levelWeights.allSatisfy({ $0.isFinite && $0 >= 0 }) else {
            throw .invalidConfiguration("level weights \(levelWeights) do not fit \(configuration.levelCount) levels")
        }
        self.configuration = configuration
        self.parameters = parameters
        self.quantizedQueryParameters = quantizedQueryParameters
        self.quantizers = quantizers
        self.levelWeights = levelWeights
    }

    /// Whether every level has a fitted quantizer.
    public var isQuantized: Bool { quantizers.count == configuration.levelCount }
}

/// Errors of the model layer: shapes, missing inputs, files.
public enum ModelError: Error, Equatable, CustomStringConvertible {
    /// The configuration or parts do not fit together.
    case invalidConfiguration(String)
    /// Inputs of the wrong shape (what, expected, found).
    case shapeMismatch(input: String, expected: String, found: String)
    /// The model needs an input the caller did not give (e.g. tokens for fine levels).
    case missingInput(String)
    /// The model has no quantizers yet.
    case notQuantized
    /// A level's quantizer or rotation failed (its error).
    case quantizer(QuantizerError)

    public var description: String {
        switch self {
        case let .invalidConfiguration(s): return "invalid model: \(s)"
        case let .shapeMismatch(i, e, f): return "\(i): expected \(e), found \(f)"
        case let .missingInput(s): return "missing input: \(s)"
        case .notQuantized: return "the model has no fitted quantizers (train it with pqtrain)"
        case let .quantizer(e): return "level quantizer: \(e)"
        }
    }
}
