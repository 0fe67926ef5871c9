import HybridPQ

/// Adam (Kingma & Ba) over a list of tensors, with the learning rate given per step so a
/// schedule (`StepDecay`) can drive it. Its moments are part of a training checkpoint.
public struct Adam: Sendable, Equatable {
    /// First and second moment estimates, one matrix per tensor.
    public var firstMoments: [Matrix]
    public var secondMoments: [Matrix]
    /// Steps taken.
    public var steps: Int
    public var beta1: Float = 0.9
    public var beta2: Float = 0.999
    public var epsilon: Float = 1e-8

    /// Zero moments for tensors of these shapes.
    public init(shapes: [Matrix]) {
        firstMoments = shapes.map { Matrix(rows: $0.rows, columns: $0.columns) }
        secondMoments = firstMoments
        steps = 0
    }

    /// One update of `params[i]` by `grads[i]` for every i with `update[i]` (default: all).
    public mutating func step(_ params: inout [Matrix], _ grads: [Matrix], learningRate lr: Float, update: [Bool]? = nil) {
        step(&params, grads, learningRates: [Float](repeating: lr, count: params.count), update: update)
    }

    /// As `step(_:_:learningRate:update:)` with a learning rate per tensor.
    public mutating func step(_ params: inout [Matrix], _ grads: [Matrix], learningRates: [Float], update: [Bool]? = nil) {
        steps += 1
        let c1 = 1 - Float(_pow(Double(beta1), Double(steps)))
        let c2 = 1 - Float(_pow(Double(beta2), Double(steps)))
        for t in 0..<params.count where update?[t] ?? true {
            let g = grads[t].values
            firstMoments[t].values.withUnsafeMutableBufferPointer { m in
                secondMoments[t].values.withUnsafeMutableBufferPointer { v in
                    params[t].values.withUnsafeMutableBufferPointer { p in
                        for i in 0..<g.count {
                            m[i] = beta1 * m[i] + (1 - beta1) * g[i]
                            v[i] = beta2 * v[i] + (1 - beta2) * g[i] * g[i]
                            p[i] -= learningRates[t] * (m[i] / c1) / ((v[i] / c2).squareRoot() + epsilon)
                        }
                    }
                }
            }
        }
    }
}

/// Step decay of the learning rate (PyTorch's StepLR with step 1 epoch): lr · γ^epoch.
public struct StepDecay: Sendable, Equatable {
    public var initial: Float
    public var gamma: Float
    public init(initial: Float, gamma: Float) { self.initial = initial; self.gamma = gamma }
    /// The rate during `epoch` (0-based).
    public func rate(epoch: Int) -> Float { initial * Float(_pow(Double(gamma), Double(epoch))) }
}

#if canImport(Glibc)
import Glibc
func _pow(_ a: Double, _ b: Double) -> Double { Glibc.pow(a, b) }
#else
import Darwin
func _pow(_ a: Double, _ b: Double) -> Double { Darwin.pow(a, b) }
#endif
