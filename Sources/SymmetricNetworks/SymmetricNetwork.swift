import SymmetricNumerics

/// Architecture of a symmetric network (the `network` section of a run's config).
public struct SymmetricArchitecture: Codable, Equatable, Sendable {
    public var phi: PhiKind = .deepset
    /// Number of moments for `phi: moments`.
    public var moments: Int = 4
    /// Width of φ's output for `phi: deepset`.
    public var L: Int = 4
    public var phiLayers: Int = 2
    public var phiHidden: Int = 128
    public var rhoLayers: Int = 4
    public var rhoHidden: Int = 128
    public var bias: Bool = true
    public var activation: Activation = .relu
    public init() {}
}

/// A permutation-invariant network `u(x, X) = ρ([x,] (1/N) Σ_i φ(X_i))` (paper eq. 14, Prop. 2).
///
/// `X` is a batch of sets, shape [batch, N] (scalar agent states) or [batch, N, d]; the
/// optional own state `x` is [batch] or [batch, d]. φ is the identity (L = d), the first k
/// moments (L = k·d), or an MLP d → L (Deep Sets). Mean pooling keeps outputs bounded in N.
public struct SymmetricNetwork<T: TensorScalar> {
    public let architecture: SymmetricArchitecture
    /// Dimension d of one agent's state.
    public let agentDimension: Int
    /// Width of x fed to ρ next to the pooled features (0 when the policy ignores x).
    public let ownStateDimension: Int
    public let phiNet: MLP<T>?
    public let rho: MLP<T>

    /// Width L of the pooled representation.
    public var latentSize: Int {
        switch architecture.phi {
        case .identity: return agentDimension
        case .moments: return architecture.moments * agentDimension
        case .deepset: return architecture.L
        }
    }

    public init(_ architecture: SymmetricArchitecture, agentDimension: Int = 1, ownStateDimension: Int = 0,
                generator g: inout SeededGenerator) {
        self.architecture = architecture
        self.agentDimension = agentDimension
        self.ownStateDimension = ownStateDimension
        let a = architecture
        phiNet = a.phi == .deepset
            ? MLP(inputSize: agentDimension, hidden: a.phiHidden, hiddenLayers: a.phiLayers, outputSize: a.L,
                  bias: a.bias, activation: a.activation, generator: &g)
            : nil
        let latent: Int
        switch a.phi {
        case .identity: latent = agentDimension
        case .moments: latent = a.moments * agentDimension
        case .deepset: latent = a.L
        }
        rho = MLP(inputSize: ownStateDimension + latent, hidden: a.rhoHidden, hiddenLayers: a.rhoLayers,
                  outputSize: 1, bias: a.bias, activation: a.activation, generator: &g)
    }

    /// The pooled representation `(1/N) Σ_i φ(X_i)`, shape [batch, L].
    @inlinable
    public func pooled(_ X: Variable<T>) -> Variable<T> {
        let batch = X.shape[0], n = X.shape[1]
        let d = X.shape.count == 3 ? X.shape[2] : 1
        precondition(d == agentDimension, "network expects agent states of dimension \(agentDimension), got \(X.shape)")
        switch architecture.phi {
        case .identity:
            return X.reshaped([batch, n, d]).mean(axis: 1)
        case .moments:
            let x = X.reshaped([batch, n, d])
            var powers: [Variable<T>] = [x]
            for _ in 1..<max(architecture.moments, 1) { powers.append(powers[powers.count - 1] * x) }
            let stacked = architecture.moments == 1 ? x : Variable.concat(powers, axis: 2)
            return stacked.mean(axis: 1)
        case .deepset:
            return phiNet!.pooledMean(X.reshaped([batch * n, d]), setSize: n)
        }
    }

    /// `u(x, X)`, shape [batch, 1].
    @inlinable
    public func callAsFunction(_ X: Variable<T>, own x: Variable<T>? = nil) -> Variable<T> {
        let z = pooled(X)
        guard ownStateDimension > 0 else { return rho(z) }
        guard let x else { preconditionFailure("this network takes the agent's own state x") }
        return rho(Variable.concat([x.reshaped([X.shape[0], ownStateDimension]), z], axis: 1))
    }

    /// Parameters by name (`phi.layers.0.weight`, `rho.layers.3.bias`, …), in a fixed order.
    public var namedParameters: [(String, Variable<T>)] {
        (phiNet?.namedParameters(prefix: "phi.") ?? []) + rho.namedParameters(prefix: "rho.")
    }

    public var parameters: [Variable<T>] { namedParameters.map(\.1) }

    /// Number of scalar parameters.
    public var parameterCount: Int { parameters.reduce(0) { $0 + $1.value.count } }
}
