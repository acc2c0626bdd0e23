import RealModule
import SymmetricNumerics
import SymmetricNetworks

/// Firms of K productivity types (paper §6.2). Type j has N_j firms and revenue a_j·p(X)·x, so
/// with constant returns its policy is u_j(X); the Euler equation of a type-j firm is
///
///     γ u_j(X) = β E[a_j p(X') + γ(1−δ) u_j(X')],   X'_i = (1−δ)X_i + u_{type(i)}(X) + σŴ_i + ηω,
///
/// with p the inverse demand of eq. 9 over all N = Σ N_j firms. The state is [N], the firms of
/// each type in a contiguous block; the policy is the block-symmetric network
/// `ρ(onehot(j), mean φ_1(X¹), …, mean φ_K(X^K))`.
///
/// In the linear-quadratic case (ν = ζ = 1) the equilibrium is exact: with ā = Σ_j (N_j/N) a_j,
/// u_j(X) = (a_j/ā)(c + H̄·mean X), where (c, H̄) is the one-type LQ equilibrium with demand
/// intercept ā·α0 and slope ā·α1 (derivation in docs/extensions.md).
public struct MultiTypeEconomy<T: TensorScalar>: SymmetricEconomy {
    public let model: InvestmentModel
    public let productivities: [Double]
    public let sizes: [Int]
    public let architecture: SymmetricArchitecture
    public let base: InvestmentEconomy<T>
    /// The exact LQ equilibrium (c, H̄) of the aggregate, and ā.
    public let aggregateLQ: LQEquilibrium
    public let meanProductivity: Double
    /// Type of each firm (block layout).
    public let typeOfFirm: [Int]

    public init(model: InvestmentModel, productivities: [Double], sizes: [Int], architecture: SymmetricArchitecture,
                expectation: ExpectationSettings, initialLoc: Double, initialScale: Double, generator g: inout SeededGenerator) throws {
        precondition(productivities.count == sizes.count && sizes.reduce(0, +) == model.N, "type sizes must add up to N")
        self.model = model
        self.productivities = productivities
        self.sizes = sizes
        self.architecture = architecture
        base = try InvestmentEconomy(model: model, architecture: architecture, expectation: expectation,
                                     initialLoc: initialLoc, initialScale: initialScale, generator: &g)
        meanProductivity = zip(productivities, sizes).map { $0 * Double($1) }.reduce(0, +) / Double(model.N)
        var scaled = model
        scaled.nu = 1; scaled.zeta = 1; scaled.mu = 0
        scaled.alpha0 = meanProductivity * model.alpha0
        scaled.alpha1 = meanProductivity * model.alpha1
        aggregateLQ = try LQEquilibrium(model: scaled)
        typeOfFirm = sizes.enumerated().flatMap { j, n in Array(repeating: j, count: n) }
    }

    init(copying o: MultiTypeEconomy, base: InvestmentEconomy<T>) {
        model = o.model; productivities = o.productivities; sizes = o.sizes; architecture = o.architecture
        self.base = base; aggregateLQ = o.aggregateLQ; meanProductivity = o.meanProductivity; typeOfFirm = o.typeOfFirm
    }

    public func withAggregateQuadrature(nodes: Int) -> MultiTypeEconomy {
        MultiTypeEconomy(copying: self, base: base.withAggregateQuadrature(nodes: nodes))
    }

    public var types: Int { sizes.count }
    public var stateShape: [Int] { [model.N] }
    public var rowsPerState: Int { base.rowsPerState }

    public func makePolicy(generator g: inout SeededGenerator) -> BlockSymmetricNetwork<T> {
        BlockSymmetricNetwork(architecture, blockSizes: sizes, ownStateDimension: types, generator: &g)
    }

    /// One-hot type indicators for `batch` states: [batch, K, K].
    func typeIndicators(_ batch: Int) -> Variable<T> {
        let k = types
        let t = Tensor<T>(zeros: [batch, k, k])
        for r in 0..<batch { for j in 0..<k { t.pointer[(r * k + j) * k + j] = 1 } }
        return Variable(t)
    }

    /// Each type's control u_j(X): [batch, K].
    func typePolicies(_ X: Variable<T>, policy: BlockSymmetricNetwork<T>) -> Variable<T> {
        policy.policy(own: typeIndicators(X.shape[0]), pooled: policy.pooled(X))
    }

    /// One Euler residual per type, [batch, K].
    public func eulerResidual(_ X: Variable<T>, policy: BlockSymmetricNetwork<T>, subsample: UInt64?) -> Variable<T> {
        let b = X.shape[0], n = model.N, k = types, ko = base.omega.nodes.count
        let u = typePolicies(X, policy: policy)                                   // [b, K]
        let next = base.nextStates(X, policy: u.gather(axis1: typeOfFirm))        // [b, ko, N]
        let uNext = nextPeriodPolicy { typePolicies(next.reshaped([b * ko, n]), policy: policy).reshaped([b, ko, k]) }
        let revenue = base.inverseDemand(next).reshaped([b, ko, 1]) * Variable(Tensor<T>(shape: [1, 1, k], scalars: productivities.map { T($0) }))
        let payoff = revenue + uNext * T(model.gamma * (1 - model.delta))         // [b, ko, K]
        let weights = Variable(Tensor<T>(shape: [1, ko, 1], scalars: base.omega.weights.map { T($0) }))
        let expectation = (payoff * weights).sum(axis: 1)                         // [b, K]
        return u * T(model.gamma) - expectation * T(model.beta)
    }

    public func initialState(generator g: inout SeededGenerator) -> Tensor<T> { base.initialState(generator: &g) }

    /// Exact LQ controls per type: u_j = (a_j/ā)(c + H̄·mean X), [batch, K].
    public func exactTypePolicies(_ X: Tensor<T>) -> Tensor<T> {
        let b = X.shape[0], k = types
        let means = stateMeans(X)
        let u = Tensor<T>(uninitializedShape: [b, k])
        for r in 0..<b {
            let common = aggregateLQ.H0 + aggregateLQ.H1 * means[r]
            for j in 0..<k { u.pointer[r * k + j] = T(productivities[j] / meanProductivity * common) }
        }
        return u
    }

    func controls(_ X: Tensor<T>, policy: BlockSymmetricNetwork<T>?) -> Tensor<T> {
        guard let policy else { return exactTypePolicies(X) }
        return withoutGradients { typePolicies(Variable(X), policy: policy).value }
    }

    /// The data-generating policy is the exact LQ policy of the linear model with these types.
    public func nextState(_ X: Tensor<T>, policy: BlockSymmetricNetwork<T>?, generator g: inout SeededGenerator) -> Tensor<T> {
        let u = controls(X, policy: policy)
        let b = X.shape[0], n = model.N, k = types
        let r = Tensor<T>(uninitializedShape: X.shape)
        for row in 0..<b {
            let common = model.eta * g.normal()
            for i in 0..<n {
                let ui = Double(u.pointer[row * k + typeOfFirm[i]])
                r.pointer[row * n + i] = T((1 - model.delta) * Double(X.pointer[row * n + i]) + ui + common + model.sigma * g.normal())
            }
        }
        return r
    }

    public func meanPolicy(_ X: Tensor<T>, policy: BlockSymmetricNetwork<T>) -> Tensor<T> { firmMean(controls(X, policy: policy)) }

    /// Mean over firms of the per-type controls [batch, K] → [batch].
    func firmMean(_ u: Tensor<T>) -> Tensor<T> {
        let b = u.shape[0], k = types
        return Tensor(shape: [b], scalars: (0..<b).map { r in
            T((0..<k).map { Double(u.pointer[r * k + $0]) * Double(sizes[$0]) }.reduce(0, +) / Double(model.N))
        })
    }

    public func referenceMeanPolicy(_ X: Tensor<T>) -> Tensor<T>? {
        model.isLinearQuadratic ? firmMean(exactTypePolicies(X)) : nil
    }

    /// Firm-weighted mean of |u_j − u*_j| and |u_j − u*_j|/|u*_j| (exact when ν = ζ = 1).
    public func policyErrors(_ X: Tensor<T>, policy: BlockSymmetricNetwork<T>) -> PolicyErrors? {
        guard model.isLinearQuadratic else { return nil }
        let u = controls(X, policy: policy), ref = exactTypePolicies(X)
        let b = X.shape[0], k = types
        var errors = PolicyErrors(absolute: [], relative: [], scale: [])
        for r in 0..<b {
            var a = 0.0, rel = 0.0, scale = 0.0
            for j in 0..<k {
                let exact = abs(Double(ref.pointer[r * k + j]))
                let e = abs(Double(u.pointer[r * k + j] - ref.pointer[r * k + j])), w = Double(sizes[j]) / Double(model.N)
                a += w * e; rel += w * e / exact; scale += w * exact
            }
            errors.absolute.append(a); errors.relative.append(rel); errors.scale.append(scale)
        }
        return errors
    }

    public func aggregate(_ X: Tensor<T>) -> [Double] { stateMeans(X) }
}
