import SymmetricNumerics

/// Anything with named trainable parameters: what optimisers update and checkpoints store.
public protocol ParameterizedModel {
    associatedtype Scalar: TensorScalar
    /// Parameters by name, in a fixed order (checkpoint keys, optimiser slots).
    var namedParameters: [(String, Variable<Scalar>)] { get }
}

extension ParameterizedModel {
    public var parameters: [Variable<Scalar>] { namedParameters.map(\.1) }

    /// Number of scalar parameters.
    public var parameterCount: Int { parameters.reduce(0) { $0 + $1.value.count } }

    /// Overwrites every parameter with the value of the same-named one in `other` (same shapes).
    public func copyParameters(from other: Self) {
        for (p, q) in zip(parameters, other.parameters) {
            precondition(p.shape == q.shape, "copyParameters: shapes differ")
            p.value.pointer.update(from: q.value.pointer, count: q.value.count)
        }
    }
}

extension Variable {
    /// `[b, L]` → `[b, f, L]`, each row repeated f times (gradient: summed back).
    @inlinable
    public func broadcastRows(_ f: Int) -> Variable {
        precondition(value.rank == 2, "broadcastRows expects [b, L], got \(shape)")
        let b = shape[0], l = shape[1]
        let out = Tensor<T>(uninitializedShape: [b, f, l])
        for r in 0..<b { for k in 0..<f { (out.pointer + (r * f + k) * l).update(from: value.pointer + r * l, count: l) } }
        return Variable(value: out, parents: [self]) { g in [g.sum(axis: 1)] }
    }
}
