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
    /// Several firm types: one φ for every block (true) or one φ per block (false).
    public var sharedPhi: Bool = false
    /// Scale of ρ's last layer (weights and bias) at initialisation (1: PyTorch's; 0: the network
    /// starts flat at zero, u ≡ 0 — the implicit-bias argument for the stable root, and a start
    /// whose level error does not steer the slope); nil: by architecture, the measured choice of
    /// docs/equilibrium-selection.md (flat for identity and moments φ, PyTorch's for Deep Sets).
    public var rhoOutputScale: Double? = 1

    /// The scale actually applied.
    public var resolvedRhoOutputScale: Double { rhoOutputScale ?? (phi == .deepset ? 1 : 0) }
    /// Nested sets: width of the outer representation mean_i ρ2(X_i, mean_j φ2(Y_i^j)), and ρ2's shape.
    public var outerL: Int = 4
    public var rho2Layers: Int = 2
    public var rho2Hidden: Int = 64
    public init() {}
}

/// The pooled representation `(1/N) Σ_i φ(X_i)` of a batch of sets (paper Prop. 2).
///
/// φ is the identity (L = d), the first k moments of each coordinate (L = k·d), or an MLP
/// d → L (Deep Sets, the fused `MLP.pooledMean`). Mean pooling keeps outputs bounded in N.
public struct SetPooling<T: TensorScalar> {
    public let kind: PhiKind
    public let moments: Int
    /// Dimension d of one agent's state.
    public let agentDimension: Int
    public let phiNet: MLP<T>?

    public init(_ a: SymmetricArchitecture, agentDimension d: Int, generator g: inout SeededGenerator) {
        kind = a.phi; moments = a.moments; agentDimension = d
        phiNet = a.phi == .deepset
            ? MLP(inputSize: d, hidden: a.phiHidden, hiddenLayers: a.phiLayers, outputSize: a.L,
                  bias: a.bias, activation: a.activation, generator: &g)
            : nil
    }

    /// Width L of the pooled representation.
    public var latentSize: Int {
        switch kind {
        case .identity: return agentDimension
        case .moments: return moments * agentDimension
        case .deepset: return phiNet!.outputSize
        }
    }

    /// `X` [batch, n] or [batch, n, d] → [batch, L].
    @inlinable
    public func callAsFunction(_ X: Variable<T>) -> Variable<T> {
        let batch = X.shape[0], n = X.shape[1]
        let d = X.shape.count == 3 ? X.shape[2] : 1
        precondition(d == agentDimension, "φ expects agent states of dimension \(agentDimension), got \(X.shape)")
        switch kind {
        case .identity:
            return X.reshaped([batch, n, d]).mean(axis: 1)
        case .moments:
            let x = X.reshaped([batch, n, d])
            var powers: [Variable<T>] = [x]
            for _ in 1..<max(moments, 1) { powers.append(powers[powers.count - 1] * x) }
            let stacked = moments == 1 ? x : Variable.concat(powers, axis: 2)
            return stacked.mean(axis: 1)
        case .deepset:
            return phiNet!.pooledMean(X.reshaped([batch * n, d]), setSize: n)
        }
    }

    public func namedParameters(prefix: String) -> [(String, Variable<T>)] {
        phiNet?.namedParameters(prefix: prefix) ?? []
    }
}

/// A permutation-invariant network `u(x, X) = ρ([x,] (1/N) Σ_i φ(X_i))` (paper eq. 14, Prop. 2).
///
/// `X` is a batch of sets, shape [batch, N] (scalar agent states) or [batch, N, d]; the
/// optional own state `x` is [batch] or [batch, d_own].
public struct SymmetricNetwork<T: TensorScalar> {
    public let architecture: SymmetricArchitecture
    public let pooling: SetPooling<T>
    /// Width of x fed to ρ next to the pooled features (0 when the policy ignores x).
    public let ownStateDimension: Int
    public let rho: MLP<T>

    public var agentDimension: Int { pooling.agentDimension }
    public var phiNet: MLP<T>? { pooling.phiNet }
    /// Width L of the pooled representation.
    public var latentSize: Int { pooling.latentSize }

    public init(_ architecture: SymmetricArchitecture, agentDimension: Int = 1, ownStateDimension: Int = 0,
                generator g: inout SeededGenerator) {
        self.architecture = architecture
        self.ownStateDimension = ownStateDimension
        pooling = SetPooling(architecture, agentDimension: agentDimension, generator: &g)
        rho = MLP(inputSize: ownStateDimension + pooling.latentSize, hidden: architecture.rhoHidden,
                  hiddenLayers: architecture.rhoLayers, outputSize: 1, bias: architecture.bias,
                  activation: architecture.activation, generator: &g)
        rho.scaleOutputLayer(by: architecture.resolvedRhoOutputScale)
    }

    /// The pooled representation `(1/N) Σ_i φ(X_i)`, shape [batch, L].
    @inlinable
    public func pooled(_ X: Variable<T>) -> Variable<T> { pooling(X) }

    /// `u(x, X)`, shape [batch, 1].
    @inlinable
    public func callAsFunction(_ X: Variable<T>, own x: Variable<T>? = nil) -> Variable<T> {
        let z = pooled(X)
        guard ownStateDimension > 0 else { return rho(z) }
        guard let x else { preconditionFailure("this network takes the agent's own state x") }
        return rho(Variable.concat([x.reshaped([X.shape[0], ownStateDimension]), z], axis: 1))
    }

    /// `u(x_f, X)` for several own states per set: `x` is [batch, F, d_own], `z` the pooled
    /// representation of each set [batch, L]; the result is [batch, F].
    @inlinable
    public func policy(own x: Variable<T>, pooled z: Variable<T>) -> Variable<T> {
        rho.overOwnStates(x, ownStateDimension: ownStateDimension, pooled: z)
    }

    /// Parameters by name (`phi.layers.0.weight`, `rho.layers.3.bias`, …), in a fixed order.
    public var namedParameters: [(String, Variable<T>)] {
        pooling.namedParameters(prefix: "phi.") + rho.namedParameters(prefix: "rho.")
    }
}

extension SymmetricNetwork: ParameterizedModel {}

extension MLP {
    /// Multiplies the last layer's weights and bias by `scale` (ρ's start, `rho_output_scale`).
    public func scaleOutputLayer(by scale: Double) {
        guard scale != 1 else { return }
        let last = layers[layers.count - 1]
        for t in [last.weight.value] + (last.bias.map { [$0.value] } ?? []) {
            for i in 0..<t.count { t.pointer[i] *= T(scale) }
        }
    }
}

extension MLP {
    /// `ρ(x_f, z)` for F own states per set: `x` [batch, F, d_own] next to the set's pooled
    /// representation `z` [batch, L] → [batch, F].
    @inlinable
    public func overOwnStates(_ x: Variable<T>, ownStateDimension d: Int, pooled z: Variable<T>) -> Variable<T> {
        let b = x.shape[0], f = x.shape[1]
        return self(Variable.concat([x.reshaped([b, f, d]), z.broadcastRows(f)], axis: 2)
            .reshaped([b * f, d + z.shape[1]])).reshaped([b, f])
    }
}

/// A block-symmetric network for K groups of agents (paper §6.2):
/// `u(x, X¹, …, X^K) = ρ(x, (1/N_1) Σ φ_1(X¹_i), …, (1/N_K) Σ φ_K(X^K_i))`,
/// invariant to permutations within a block and not across blocks. The blocks are contiguous
/// columns of `X` [batch, N]; with `sharedPhi` one φ serves every block.
public struct BlockSymmetricNetwork<T: TensorScalar>: ParameterizedModel {
    public let architecture: SymmetricArchitecture
    public let blockSizes: [Int]
    public let poolings: [SetPooling<T>]
    public let ownStateDimension: Int
    public let rho: MLP<T>

    public init(_ a: SymmetricArchitecture, blockSizes: [Int], agentDimension: Int = 1, ownStateDimension: Int, generator g: inout SeededGenerator) {
        precondition(!blockSizes.isEmpty && blockSizes.allSatisfy { $0 >= 1 }, "every block needs at least one agent")
        architecture = a
        self.blockSizes = blockSizes
        self.ownStateDimension = ownStateDimension
        poolings = a.sharedPhi ? [SetPooling(a, agentDimension: agentDimension, generator: &g)]
            : blockSizes.map { _ in SetPooling(a, agentDimension: agentDimension, generator: &g) }
        let latent = poolings[0].latentSize * blockSizes.count
        rho = MLP(inputSize: ownStateDimension + latent, hidden: a.rhoHidden, hiddenLayers: a.rhoLayers, outputSize: 1,
                  bias: a.bias, activation: a.activation, generator: &g)
        rho.scaleOutputLayer(by: a.resolvedRhoOutputScale)
    }

    public var latentSize: Int { poolings[0].latentSize * blockSizes.count }

    /// `[mean φ_1(X¹), …, mean φ_K(X^K)]`, shape [batch, K·L].
    @inlinable
    public func pooled(_ X: Variable<T>) -> Variable<T> {
        var start = 0
        var parts: [Variable<T>] = []
        for (k, n) in blockSizes.enumerated() {
            let block = X.slice(axis: 1, start..<(start + n))
            parts.append(poolings[poolings.count == 1 ? 0 : k](block))
            start += n
        }
        return parts.count == 1 ? parts[0] : Variable.concat(parts, axis: 1)
    }

    /// `u(x_f, X)` for own states `x` [batch, F, d_own] and pooled `z` [batch, K·L] → [batch, F].
    @inlinable
    public func policy(own x: Variable<T>, pooled z: Variable<T>) -> Variable<T> {
        rho.overOwnStates(x, ownStateDimension: ownStateDimension, pooled: z)
    }

    public var namedParameters: [(String, Variable<T>)] {
        poolings.enumerated().flatMap { k, p in p.namedParameters(prefix: poolings.count == 1 ? "phi." : "phi\(k + 1).") }
            + rho.namedParameters(prefix: "rho.")
    }
}

/// A network over nested sets (paper §6.3, firms with M exchangeable customers):
/// `u(y, Z) = ρ1(x?, (1/M) Σ_j φ1(y^j), (1/N) Σ_i ρ2(X_i, (1/M) Σ_j φ2(Y_i^j)))`.
///
/// A state is [batch, N, 1 + M]: each firm's own number X_i, then its M customers Y_i^j. The
/// output is invariant to permuting firms, and to permuting the customers of any one firm.
public struct NestedSymmetricNetwork<T: TensorScalar>: ParameterizedModel {
    public let architecture: SymmetricArchitecture
    public let phi1: MLP<T>, phi2: MLP<T>, rho2: MLP<T>, rho1: MLP<T>
    /// Whether ρ1 also takes the firm's own X (false when the policy cannot depend on it).
    public let usesOwnX: Bool

    public init(_ a: SymmetricArchitecture, usesOwnX: Bool, generator g: inout SeededGenerator) {
        architecture = a
        self.usesOwnX = usesOwnX
        phi1 = MLP(inputSize: 1, hidden: a.phiHidden, hiddenLayers: a.phiLayers, outputSize: a.L, bias: a.bias, activation: a.activation, generator: &g)
        phi2 = MLP(inputSize: 1, hidden: a.phiHidden, hiddenLayers: a.phiLayers, outputSize: a.L, bias: a.bias, activation: a.activation, generator: &g)
        rho2 = MLP(inputSize: 1 + a.L, hidden: a.rho2Hidden, hiddenLayers: a.rho2Layers, outputSize: a.outerL, bias: a.bias, activation: a.activation, generator: &g)
        rho1 = MLP(inputSize: (usesOwnX ? 1 : 0) + a.L + a.outerL, hidden: a.rhoHidden, hiddenLayers: a.rhoLayers, outputSize: 1,
                   bias: a.bias, activation: a.activation, generator: &g)
    }

    /// `(1/N) Σ_i ρ2(X_i, (1/M) Σ_j φ2(Y_i^j))` of states [batch, N, 1 + M] → [batch, outerL].
    @inlinable
    public func pooled(_ Z: Variable<T>) -> Variable<T> {
        let b = Z.shape[0], n = Z.shape[1], m = Z.shape[2] - 1
        let x = Z.slice(axis: 2, 0..<1).reshaped([b * n, 1])
        let customers = Z.slice(axis: 2, 1..<(m + 1)).reshaped([b * n * m, 1])
        let inner = phi2.pooledMean(customers, setSize: m)                          // [b·N, L]
        return rho2.pooledMean(Variable.concat([x, inner], axis: 1), setSize: n)    // [b, outerL]
    }

    /// `u` for F firms of interest per state: `own` is [batch, F, 1 + M] (their x and customers),
    /// `z` the pooled aggregate [batch, outerL]; the result is [batch, F].
    @inlinable
    public func policy(own: Variable<T>, pooled z: Variable<T>) -> Variable<T> {
        let b = own.shape[0], f = own.shape[1], m = own.shape[2] - 1
        let customers = own.slice(axis: 2, 1..<(m + 1)).reshaped([b * f * m, 1])
        var parts = [phi1.pooledMean(customers, setSize: m)]                       // [b·F, L]
        if usesOwnX { parts.insert(own.slice(axis: 2, 0..<1).reshaped([b * f, 1]), at: 0) }
        parts.append(z.broadcastRows(f).reshaped([b * f, architecture.outerL]))
        return rho1(Variable.concat(parts, axis: 1)).reshaped([b, f])
    }

    public var namedParameters: [(String, Variable<T>)] {
        phi1.namedParameters(prefix: "phi1.") + phi2.namedParameters(prefix: "phi2.")
            + rho2.namedParameters(prefix: "rho2.") + rho1.namedParameters(prefix: "rho1.")
    }
}
