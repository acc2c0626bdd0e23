import SymmetricNumerics

/// Hidden-layer nonlinearity of an MLP (config key `network.activation`).
public enum Activation: String, Codable, CaseIterable, Sendable {
    case relu, tanh, softplus, sigmoid, identity

    @inlinable
    public func callAsFunction<T>(_ x: Variable<T>) -> Variable<T> {
        switch self {
        case .relu: return x.relu()
        case .tanh: return x.tanh()
        case .softplus: return x.softplus()
        case .sigmoid: return x.sigmoid()
        case .identity: return x
        }
    }
}

/// The inner function φ of a symmetric network `ρ(x, mean_i φ(X_i))` (config key `network.phi`).
public enum PhiKind: String, Codable, CaseIterable, Sendable {
    /// φ(X) = X, L = 1.
    case identity
    /// φ(X) = (X, X², …, X^k), L = k.
    case moments
    /// φ an MLP 1 → hidden → … → L (Deep Sets).
    case deepset
}
