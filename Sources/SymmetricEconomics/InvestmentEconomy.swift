import RealModule
import SymmetricNumerics
import SymmetricNetworks

/// The N-firm investment economy as a differentiable object: the inverse demand of eq. 9, the
/// law of motion of eq. 17 and the Euler residual of eq. 20, evaluated for a batch of
/// aggregate states with one fixed draw Ŵ of idiosyncratic shocks and Gauss–Hermite over ω.
public struct InvestmentEconomy<T: TensorScalar> {
    public let model: InvestmentModel
    /// The one Monte Carlo draw Ŵ ∈ Rᴺ used for every expectation (concentration of measure).
    public let shockDraw: Tensor<T>
    /// Gauss–Hermite rule over the aggregate shock ω.
    public let omega: GaussHermite

    /// - Parameters:
    ///   - normalizeShockVector: rescale Ŵ to mean 0 and standard deviation 1 (the paper's choice);
    ///     never set Ŵ = 0, the mode of an N-dimensional Gaussian is not in its typical set.
    public init(model: InvestmentModel, quadratureNodes: Int, normalizeShockVector: Bool, generator g: inout SeededGenerator) {
        self.model = model
        var w = (0..<model.N).map { _ in g.normal() }
        if normalizeShockVector && model.N > 1 {
            let mean = w.reduce(0, +) / Double(w.count)
            let std = (w.map { ($0 - mean) * ($0 - mean) }.reduce(0, +) / Double(w.count)).squareRoot()
            w = w.map { ($0 - mean) / std }
        }
        shockDraw = Tensor(shape: [model.N], scalars: w.map { T($0) })
        omega = GaussHermite(nodes: quadratureNodes)
    }

    /// The same economy and draw Ŵ with another Gauss–Hermite rule over ω (e.g. a finer rule
    /// to measure test residuals independently of the rule used in training).
    public func withQuadrature(nodes: Int) -> InvestmentEconomy {
        InvestmentEconomy(model: model, shockDraw: shockDraw, omega: GaussHermite(nodes: nodes))
    }

    init(model: InvestmentModel, shockDraw: Tensor<T>, omega: GaussHermite) {
        self.model = model; self.shockDraw = shockDraw; self.omega = omega
    }

    /// Inverse demand, eq. 9: `p(X) = α0 − α1·((1/N) Σ_i max(0, X_i)^ν)^ζ`, over the last axis.
    @inlinable
    public func inverseDemand(_ X: Variable<T>) -> Variable<T> {
        var q = X.positivePart()
        if model.nu != 1 { q = q.pow(T(model.nu)) }
        var m = q.mean(axis: -1)
        if model.zeta != 1 { m = m.pow(T(model.zeta)) }
        return T(model.alpha0) - m * T(model.alpha1)
    }

    /// Next-period states for every quadrature node, eq. 17 in set form:
    /// `X'_{k,i} = (1−δ)X_i + u(X) + σŴ_i + ηω_k`, shape [batch, K, N].
    @inlinable
    public func nextStates(_ X: Variable<T>, policy u: Variable<T>) -> Variable<T> {
        let b = X.shape[0], n = X.shape[1], k = omega.nodes.count
        let drift = X.reshaped([b, 1, n]) * T(1 - model.delta) + u.reshaped([b, 1, 1])
        let shocks = Tensor<T>(uninitializedShape: [1, k, n])
        for j in 0..<k {
            let aggregate = T(model.eta * omega.nodes[j])
            for i in 0..<n { shocks.pointer[j * n + i] = T(model.sigma) * shockDraw.pointer[i] + aggregate }
        }
        return drift + Variable(shocks)
    }

    /// Euler residual, eq. 20 with μ = 0:
    /// `ε(X) = γ u(X) − β Σ_k w_k [p(X'_k) + γ(1−δ) u(X'_k)]`, shape [batch].
    /// Gradients flow through X' too, since X' depends on the network's own output u(X).
    @inlinable
    public func eulerResidual(_ X: Variable<T>, network: SymmetricNetwork<T>) -> Variable<T> {
        let b = X.shape[0], n = X.shape[1], k = omega.nodes.count
        let u = network(X)                                          // [b, 1]
        let next = nextStates(X, policy: u)                         // [b, k, n]
        let uNext = network(next.reshaped([b * k, n])).reshaped([b, k])
        let payoff = inverseDemand(next) + uNext * T(model.gamma * (1 - model.delta))   // [b, k]
        let weights = Variable(Tensor<T>(shape: [1, k], scalars: omega.weights.map { T($0) }))
        let expectation = (payoff * weights).sum(axis: 1)           // [b]
        return u.reshaped([b]) * T(model.gamma) - expectation * T(model.beta)
    }

    /// One step of the law of motion for simulation, with fresh shocks:
    /// `X_{t+1,i} = (1−δ)X_{t,i} + u(X_t) + σ W_i + η ω`. `X` is [batch, N], `u` is [batch].
    public func step(_ X: Tensor<T>, policy u: Tensor<T>, generator g: inout SeededGenerator) -> Tensor<T> {
        let b = X.shape[0], n = X.shape[1]
        let r = Tensor<T>(uninitializedShape: X.shape)
        for row in 0..<b {
            let common = Double(u.pointer[row]) + model.eta * g.normal()
            for i in 0..<n {
                let x = Double(X.pointer[row * n + i])
                r.pointer[row * n + i] = T((1 - model.delta) * x + common + model.sigma * g.normal())
            }
        }
        return r
    }

    /// The paper's initial distribution: `X_0,i = |N(loc, scale²)|`, i = 1…N.
    public static func initialState(N: Int, loc: Double, scale: Double, generator g: inout SeededGenerator) -> Tensor<T> {
        Tensor(shape: [N], scalars: (0..<N).map { _ in T(abs(g.normal(mean: loc, std: scale))) })
    }

    /// Simulates `trajectories` paths of `T+1` points from the common initial state `X0`
    /// under `policy` (states [batch, N] → controls [batch]); returns [trajectories, T+1, N].
    public func simulate(from X0: Tensor<T>, trajectories: Int, steps: Int,
                         generator g: inout SeededGenerator, policy: (Tensor<T>) -> Tensor<T>) -> Tensor<T> {
        let n = X0.count
        let paths = Tensor<T>(uninitializedShape: [trajectories, steps + 1, n])
        var X = Tensor<T>(uninitializedShape: [trajectories, n])
        for r in 0..<trajectories { (X.pointer + r * n).update(from: X0.pointer, count: n) }
        for t in 0...steps {
            for r in 0..<trajectories { (paths.pointer + (r * (steps + 1) + t) * n).update(from: X.pointer + r * n, count: n) }
            if t == steps { break }
            X = step(X, policy: policy(X), generator: &g)
        }
        return paths
    }
}
