import RealModule
import SymmetricNumerics
import SymmetricNetworks

/// Settings of the expectation operator shared by the economies: Gauss–Hermite rules for the
/// aggregate shock ω and for an agent's own shock, one Monte Carlo draw for everybody else's.
public struct ExpectationSettings: Sendable {
    /// Gauss–Hermite nodes over the aggregate shock ω.
    public var aggregateNodes = 7
    /// Gauss–Hermite nodes over the own idiosyncratic shock (when the policy depends on it).
    public var ownNodes = 3
    /// Rescale the one draw of idiosyncratic shocks to mean 0, std 1.
    public var normalizeDraw = true
    /// Equations (firms of interest) per state in training when the loss is subsampled; 0 = all.
    public var firmsPerState = 16
    public init() {}
}

/// `size` distinct indices in 0..<n drawn with the seed, sorted (Floyd's algorithm: O(size)
/// work and memory, whatever n).
public func randomSubset(count n: Int, size: Int, seed: UInt64) -> [Int] {
    guard size < n else { return Array(0..<n) }
    var g = SeededGenerator(seed: seed)
    var chosen = Set<Int>(minimumCapacity: size)
    for j in (n - size)..<n {
        let t = Int(g.next() % UInt64(j + 1))
        chosen.insert(chosen.contains(t) ? j : t)
    }
    return chosen.sorted()
}

/// The agents whose Euler residuals a training step measures: `perState` distinct agents drawn
/// with the seed `subsample`, or all `count` agents (no subsample, `perState` 0 or ≥ count).
public func agentsOfInterest(count n: Int, perState f: Int, subsample: UInt64?) -> [Int] {
    guard let seed = subsample, f > 0, f < n else { return Array(0..<n) }
    var g = SeededGenerator(seed: seed)
    var all = Array(0..<n)
    all.seededShuffle(using: &g)
    return Array(all.prefix(f)).sorted()
}

/// One Monte Carlo draw of N standard normal shocks, normalised to mean 0 and std 1 when asked
/// (never zero: the mode of an N-dimensional Gaussian is not in its typical set).
public func shockDraw<T: TensorScalar>(count n: Int, normalize: Bool, generator g: inout SeededGenerator) -> Tensor<T> {
    let w = (0..<n).map { _ in g.normal() }
    return Tensor(shape: [n], scalars: (normalize ? standardized(w) : w).map { T($0) })
}

/// `w` shifted and scaled to mean 0 and std 1 (population std); unchanged when it has fewer than
/// two values or no spread.
public func standardized(_ w: [Double]) -> [Double] {
    guard w.count > 1 else { return w }
    let n = Double(w.count)
    let mean = w.reduce(0, +) / n
    let std = (w.map { ($0 - mean) * ($0 - mean) }.reduce(0, +) / n).squareRoot()
    return std > 0 ? w.map { ($0 - mean) / std } : w
}

/// TEST ORACLE AND SPEED BASELINE: runs of the investment model go through `models/investment.yaml`
/// and the model-file engine (`SymmetricModels.ModelEconomy`); this hand-written economy checks it
/// (`ModelEquivalenceTests`, relative 1e-10 in Float64), times it (`symdp bench --model`), and
/// serves the LQ, concentration and benchmark commands.
///
/// The N-firm investment economy (paper §2–§6.1) as a differentiable object: the inverse demand of
/// eq. 9, the law of motion of eq. 17 and the Euler residual of eq. 20, evaluated for a batch of
/// aggregate states with one fixed draw Ŵ of idiosyncratic shocks and Gauss–Hermite over ω.
///
/// With constant returns (μ = 0) the policy is u(X); with decreasing returns (μ > 0, §6.1) it is
/// u(x, X), every firm follows its own u(X_j, X), and the expectation for the firm of interest
/// adds a Gauss–Hermite rule over its own shock w.
public struct InvestmentEconomy<T: TensorScalar>: SymmetricEconomy {
    public let model: InvestmentModel
    public let architecture: SymmetricArchitecture
    public let expectation: ExpectationSettings
    /// The one Monte Carlo draw Ŵ ∈ Rᴺ used for every expectation (concentration of measure).
    public let shockDraw: Tensor<T>
    /// Gauss–Hermite rule over the aggregate shock ω.
    public let omega: GaussHermite
    /// Gauss–Hermite rule over the firm of interest's own shock w (μ > 0).
    public let ownShock: GaussHermite
    /// The data-generating policy: the LQ equilibrium of the linear model with these parameters.
    public let dataPolicy: LQEquilibrium
    /// Initial distribution X_0,i = |N(loc, scale²)|.
    public let initialLoc: Double, initialScale: Double

    public init(model: InvestmentModel, architecture: SymmetricArchitecture = SymmetricArchitecture(),
                expectation: ExpectationSettings = ExpectationSettings(), initialLoc: Double = 0.9, initialScale: Double = 0.05,
                generator g: inout SeededGenerator) throws {
        self.model = model
        self.architecture = architecture
        self.expectation = expectation
        shockDraw = SymmetricEconomics.shockDraw(count: model.N, normalize: expectation.normalizeDraw, generator: &g)
        omega = GaussHermite(nodes: expectation.aggregateNodes)
        ownShock = GaussHermite(nodes: expectation.ownNodes)
        var linear = model
        linear.nu = 1; linear.zeta = 1; linear.mu = 0
        dataPolicy = try LQEquilibrium(model: linear)
        self.initialLoc = initialLoc; self.initialScale = initialScale
    }

    /// Convenience for tests and benchmarks: the paper's economy with `quadratureNodes` over ω.
    public init(model: InvestmentModel, quadratureNodes: Int, normalizeShockVector: Bool, generator g: inout SeededGenerator) {
        var e = ExpectationSettings()
        e.aggregateNodes = quadratureNodes; e.normalizeDraw = normalizeShockVector
        try! self.init(model: model, expectation: e, generator: &g)
    }

    init(copying other: InvestmentEconomy, omega: GaussHermite) {
        model = other.model; architecture = other.architecture; expectation = other.expectation
        shockDraw = other.shockDraw; self.omega = omega; ownShock = other.ownShock
        dataPolicy = other.dataPolicy; initialLoc = other.initialLoc; initialScale = other.initialScale
    }

    public func withAggregateQuadrature(nodes: Int) -> InvestmentEconomy {
        InvestmentEconomy(copying: self, omega: GaussHermite(nodes: nodes))
    }

    public var stateShape: [Int] { [model.N] }
    public var rowsPerState: Int { model.N * (omega.nodes.count + 1) }
    public var dependsOnOwnState: Bool { model.mu != 0 }

    public func makePolicy(generator g: inout SeededGenerator) -> SymmetricNetwork<T> {
        SymmetricNetwork(architecture, ownStateDimension: dependsOnOwnState ? 1 : 0, generator: &g)
    }

    // MARK: Equations

    /// Inverse demand, eq. 9: `p(X) = α0 − α1·((1/N) Σ_i max(0, X_i)^ν)^ζ`, over the last axis.
    @inlinable
    public func inverseDemand(_ X: Variable<T>) -> Variable<T> {
        var q = X.positivePart()
        if model.nu != 1 { q = q.pow(T(model.nu)) }
        var m = q.mean(axis: -1)
        if model.zeta != 1 { m = m.pow(T(model.zeta)) }
        return T(model.alpha0) - m * T(model.alpha1)
    }

    /// The shock part of next period's states for every ω node: `σŴ_i + ηω_k`, [1, K, N].
    @usableFromInline func shockGrid() -> Tensor<T> {
        let n = model.N, k = omega.nodes.count
        let shocks = Tensor<T>(uninitializedShape: [1, k, n])
        for j in 0..<k {
            let aggregate = T(model.eta * omega.nodes[j])
            for i in 0..<n { shocks.pointer[j * n + i] = T(model.sigma) * shockDraw.pointer[i] + aggregate }
        }
        return shocks
    }

    /// Next-period states for every quadrature node, eq. 17 in set form:
    /// `X'_{k,i} = (1−δ)X_i + u_i + σŴ_i + ηω_k`, shape [batch, K, N]; `u` is [batch] or
    /// [batch, 1] (μ = 0) or every firm's own [batch, N] (μ > 0).
    @inlinable
    public func nextStates(_ X: Variable<T>, policy u: Variable<T>) -> Variable<T> {
        let b = X.shape[0], n = X.shape[1]
        let perFirm = u.value.count == b * n && n > 1
        let drift = X.reshaped([b, 1, n]) * T(1 - model.delta) + u.reshaped(perFirm ? [b, 1, n] : [b, 1, 1])
        return drift + Variable(shockGrid())
    }

    /// Euler residual, eq. 20: [batch, 1] when μ = 0, [batch, F] for F firms of interest when μ > 0.
    public func eulerResidual(_ X: Variable<T>, policy network: SymmetricNetwork<T>, subsample: UInt64?) -> Variable<T> {
        if !dependsOnOwnState { return eulerResidual(X, network: network).reshaped([X.shape[0], 1]) }
        return decreasingReturnsResidual(X, network: network, subsample: subsample)
    }

    /// Euler residual, eq. 20 with μ = 0:
    /// `ε(X) = γ u(X) − β Σ_k w_k [p(X'_k) + γ(1−δ) u(X'_k)]`, shape [batch].
    /// Gradients flow through X' too, since X' depends on the network's own output u(X).
    @inlinable
    public func eulerResidual(_ X: Variable<T>, network: SymmetricNetwork<T>) -> Variable<T> {
        let b = X.shape[0], n = X.shape[1], k = omega.nodes.count
        let u = network(X)                                          // [b, 1]
        let next = nextStates(X, policy: u)                         // [b, k, n]
        let uNext = nextPeriodPolicy { network(next.reshaped([b * k, n])).reshaped([b, k]) }
        let payoff = inverseDemand(next) + uNext * T(model.gamma * (1 - model.delta))   // [b, k]
        let weights = Variable(Tensor<T>(shape: [1, k], scalars: omega.weights.map { T($0) }))
        let expectation = (payoff * weights).sum(axis: 1)           // [b]
        return u.reshaped([b]) * T(model.gamma) - expectation * T(model.beta)
    }

    /// The firms of interest: `firmsPerState` distinct firms drawn from `subsample`, else all.
    func firmsOfInterest(_ subsample: UInt64?) -> [Int] {
        agentsOfInterest(count: model.N, perState: expectation.firmsPerState, subsample: subsample)
    }

    /// Euler residual with decreasing returns (§6.1), for the firms of interest x = X_f:
    /// `ε(x, X) = γ u(x, X) − β E_{w,ω}[p(X') max(x', ε)^(−μ) + γ(1−δ) u(x', X')]`, with
    /// `x' = (1−δ)x + u(x, X) + σw + ηω` and `X'_j = (1−δ)X_j + u(X_j, X) + σŴ_j + ηω`;
    /// 2-D Gauss–Hermite over (w, ω), one draw Ŵ for the others. Shape [batch, F].
    public func decreasingReturnsResidual(_ X: Variable<T>, network: SymmetricNetwork<T>, subsample: UInt64?) -> Variable<T> {
        let b = X.shape[0], n = X.shape[1], kw = ownShock.nodes.count, ko = omega.nodes.count
        let firms = firmsOfInterest(subsample), f = firms.count
        let z = network.pooled(X)                                                    // [b, L]
        let uAll = network.policy(own: X.reshaped([b, n, 1]), pooled: z)             // [b, N]: u(X_j, X)
        let next = nextStates(X, policy: uAll)                                       // [b, ko, N]
        let zNext = nextPeriodPolicy { network.pooled(next.reshaped([b * ko, n])) }  // [b·ko, L]
        let x = X.gather(axis1: firms), u = uAll.gather(axis1: firms)               // [b, F]
        // x'_{l,k,f} = (1−δ)x_f + u_f + σ w_k + η ω_l
        let shocks = Tensor<T>(uninitializedShape: [1, ko, kw, 1])
        for l in 0..<ko { for k in 0..<kw { shocks.pointer[l * kw + k] = T(model.sigma * ownShock.nodes[k] + model.eta * omega.nodes[l]) } }
        let own = (x * T(1 - model.delta) + u).reshaped([b, 1, 1, f]) + Variable(shocks)   // [b, ko, kw, F]
        let uNext = nextPeriodPolicy { network.policy(own: own.reshaped([b * ko, kw * f, 1]), pooled: zNext).reshaped([b, ko, kw, f]) }
        let price = inverseDemand(next).reshaped([b, ko, 1, 1])                      // [b, ko, 1, 1]
        let marginal = price * own.clamped(min: T(1e-6)).pow(T(-model.mu))
        let payoff = marginal + uNext * T(model.gamma * (1 - model.delta))           // [b, ko, kw, F]
        var weights = [T]()
        for l in 0..<ko { for k in 0..<kw { weights.append(T(omega.weights[l] * ownShock.weights[k])) } }
        let expectation = (payoff * Variable(Tensor<T>(shape: [1, ko, kw, 1], scalars: weights))).sum(axis: 1).sum(axis: 1)   // [b, F]
        return u * T(model.gamma) - expectation * T(model.beta)
    }

    // MARK: Simulation

    public func initialState(generator g: inout SeededGenerator) -> Tensor<T> {
        Self.initialState(N: model.N, loc: initialLoc, scale: initialScale, generator: &g)
    }

    /// The paper's initial distribution: `X_0,i = |N(loc, scale²)|`, i = 1…N.
    public static func initialState(N: Int, loc: Double, scale: Double, generator g: inout SeededGenerator) -> Tensor<T> {
        Tensor(shape: [N], scalars: (0..<N).map { _ in T(abs(g.normal(mean: loc, std: scale))) })
    }

    /// Every firm's control at each state: [b, 1] (μ = 0) or [b, N].
    func controls(_ X: Tensor<T>, policy: SymmetricNetwork<T>?) -> Tensor<T> {
        let b = X.shape[0], n = X.shape[1]
        guard let policy else { return dataPolicy.policy(X) }
        return withoutGradients {
            let Xv = Variable(X)
            if !dependsOnOwnState { return policy(Xv).value }
            return policy.policy(own: Xv.reshaped([b, n, 1]), pooled: policy.pooled(Xv)).value
        }
    }

    /// `X_{t+1,i} = (1−δ)X_{t,i} + u_i + σ W_i + η ω`, fresh shocks.
    public func nextState(_ X: Tensor<T>, policy: SymmetricNetwork<T>?, generator g: inout SeededGenerator) -> Tensor<T> {
        let b = X.shape[0], n = X.shape[1]
        let u = controls(X, policy: policy)
        let perFirm = u.count == b * n && n > 1
        let r = Tensor<T>(uninitializedShape: X.shape)
        for row in 0..<b {
            let common = model.eta * g.normal()
            for i in 0..<n {
                let x = Double(X.pointer[row * n + i]), ui = Double(u.pointer[perFirm ? row * n + i : row])
                r.pointer[row * n + i] = T((1 - model.delta) * x + ui + common + model.sigma * g.normal())
            }
        }
        return r
    }

    // MARK: Reporting

    public func meanPolicy(_ X: Tensor<T>, policy: SymmetricNetwork<T>) -> Tensor<T> {
        let u = controls(X, policy: policy), b = X.shape[0]
        if u.count == b { return u.reshaped([b]) }
        return Tensor(shape: [b], scalars: stateMeans(u).map { T($0) })
    }

    /// The exact policy exists when the model is linear-quadratic (ν = ζ = 1, μ = 0).
    public func referenceMeanPolicy(_ X: Tensor<T>) -> Tensor<T>? {
        model.isLinearQuadratic ? dataPolicy.policy(X).reshaped([X.shape[0]]) : nil
    }

    public func policyErrors(_ X: Tensor<T>, policy: SymmetricNetwork<T>) -> PolicyErrors? {
        guard model.isLinearQuadratic else { return nil }
        return lqDeviation(X, policy: policy)
    }

    /// Mean |u − u_LQ| and |u − u_LQ|/|u_LQ| over the firms of each state, against the LQ policy of
    /// the linear model (exact when μ = 0 and ν = ζ = 1; a benchmark as μ → 0).
    public func lqDeviation(_ X: Tensor<T>, policy: SymmetricNetwork<T>) -> PolicyErrors {
        let u = controls(X, policy: policy), ref = dataPolicy.policy(X)
        let b = X.shape[0], per = u.count / b
        var errors = PolicyErrors(absolute: [], relative: [], scale: [])
        for r in 0..<b {
            let target = Double(ref.pointer[r])
            var a = 0.0
            for j in 0..<per { a += abs(Double(u.pointer[r * per + j]) - target) }
            a /= Double(per)
            errors.absolute.append(a); errors.relative.append(a / abs(target)); errors.scale.append(abs(target))
        }
        return errors
    }

    public func aggregate(_ X: Tensor<T>) -> [Double] { stateMeans(X) }

    /// Decreasing returns with linear demand: the deviation from the LQ policy of the μ = 0 model.
    public func benchmarkDeviations(_ X: Tensor<T>, policy: SymmetricNetwork<T>) -> [Double]? {
        model.mu > 0 && model.nu == 1 && model.zeta == 1 ? lqDeviation(X, policy: policy).relative : nil
    }
}

extension LQEquilibrium {
    /// `u_LQ(X) = H0 + H1·mean(X)` for each row of X [batch, N], shape [batch, 1].
    public func policy<T: TensorScalar>(_ X: Tensor<T>) -> Tensor<T> {
        Tensor(shape: [X.shape[0], 1], scalars: stateMeans(X).map { T(H0 + H1 * $0) })
    }
}
