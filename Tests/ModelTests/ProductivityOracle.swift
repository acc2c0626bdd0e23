import RealModule
import SymmetricNumerics
import SymmetricNetworks
import SymmetricEconomics

/// TEST ORACLE — the retired hand-written economy that `models/productivity.yaml` replaced; kept
/// only to check the model file (ModelEquivalenceTests). Firms with a two-dimensional state z = (x, y) (paper §6.3): capital x and a stochastic
/// productivity y that scales output, `log y' = ρ_y log y + σ_y ε`, independent across firms.
///
/// Output is y·x; the price depends on aggregate output, `p(Z) = α0 − α1·((1/N) Σ max(0, Y_i X_i)^ν)^ζ`;
/// profits are y·p(Z)·x − (γ/2)u². The marginal value of capital is y·p, independent of x, so the
/// policy is u(y, Z) and the Euler equation of a firm with productivity y is
///
///     γ u(y, Z) = β E[y' p(Z') + γ(1−δ) u(y', Z')],
///     X'_i = (1−δ)X_i + u(Y_i, Z) + σW_i + ηω,   Y'_i = exp(ρ_y log Y_i + σ_y E_i),
///
/// with Gauss–Hermite over the own shock ε and the aggregate ω, and one draw (Ŵ, Ê) for the
/// others. The equilibrium is well defined: it is the solution of the planner's problem
/// max E Σ βᵗ [α0 Q − α1 Q²/2 − (γ/2) Σ u_i²/N], Q = mean(Y X) (Lucas–Prescott), strictly concave
/// in the controls with exogenous, stationary productivities (docs/extensions.md).
/// The policy network is `ρ(y, mean φ(X_i, Y_i))` with φ: R² → R^L: invariant to permuting
/// firms, not to permuting the x's and the y's separately.
struct ProductivityOracle<T: TensorScalar>: SymmetricEconomy {
    public let model: InvestmentModel
    public let rhoY: Double, sigmaY: Double
    public let architecture: SymmetricArchitecture
    public let expectation: ExpectationSettings
    public let base: InvestmentEconomy<T>
    /// The one draw Ê of the others' productivity shocks.
    public let productivityDraw: Tensor<T>
    public let ownShock: GaussHermite

    public init(model: InvestmentModel, rhoY: Double, sigmaY: Double, architecture: SymmetricArchitecture,
                expectation: ExpectationSettings, initialLoc: Double, initialScale: Double, generator g: inout SeededGenerator) throws {
        self.model = model; self.rhoY = rhoY; self.sigmaY = sigmaY
        self.architecture = architecture; self.expectation = expectation
        base = try InvestmentEconomy(model: model, architecture: architecture, expectation: expectation,
                                     initialLoc: initialLoc, initialScale: initialScale, generator: &g)
        productivityDraw = SymmetricEconomics.shockDraw(count: model.N, normalize: expectation.normalizeDraw, generator: &g)
        ownShock = GaussHermite(nodes: expectation.ownNodes)
    }

    init(copying o: ProductivityOracle, base: InvestmentEconomy<T>) {
        model = o.model; rhoY = o.rhoY; sigmaY = o.sigmaY; architecture = o.architecture; expectation = o.expectation
        self.base = base; productivityDraw = o.productivityDraw; ownShock = o.ownShock
    }

    public func withAggregateQuadrature(nodes: Int) -> ProductivityOracle {
        ProductivityOracle(copying: self, base: base.withAggregateQuadrature(nodes: nodes))
    }

    public var stateShape: [Int] { [model.N, 2] }
    public var rowsPerState: Int { base.rowsPerState }

    public func makePolicy(generator g: inout SeededGenerator) -> SymmetricNetwork<T> {
        SymmetricNetwork(architecture, agentDimension: 2, ownStateDimension: 1, generator: &g)
    }

    /// `p(Z)` from states [.., N, 2] (x, y) over the agents axis: inverse demand of output y·x.
    func price(_ Z: Variable<T>) -> Variable<T> {
        let shape = Array(Z.shape.dropLast())
        let x = Z.slice(axis: -1, 0..<1).reshaped(shape), y = Z.slice(axis: -1, 1..<2).reshaped(shape)
        return base.inverseDemand(x * y)
    }

    /// Every firm's control u(Y_i, Z): [b, N].
    func controls(_ Z: Variable<T>, policy: SymmetricNetwork<T>) -> Variable<T> {
        let b = Z.shape[0], n = model.N
        return policy.policy(own: Z.slice(axis: 2, 1..<2).reshaped([b, n, 1]), pooled: policy.pooled(Z))
    }

    /// Euler residuals of the firms of interest, [batch, F].
    public func eulerResidual(_ Z: Variable<T>, policy: SymmetricNetwork<T>, subsample: UInt64?) -> Variable<T> {
        let b = Z.shape[0], n = model.N, ko = base.omega.nodes.count, kw = ownShock.nodes.count
        let firms = agentsOfInterest(count: model.N, perState: expectation.firmsPerState, subsample: subsample), f = firms.count
        let X = Z.slice(axis: 2, 0..<1).reshaped([b, n])
        let Y = Z.slice(axis: 2, 1..<2).reshaped([b, n])
        let u = controls(Z, policy: policy)                                          // [b, N]
        let nextX = base.nextStates(X, policy: u)                                    // [b, ko, N]
        // Y'_i = exp(ρ_y log Y_i + σ_y Ê_i): no dependence on the policy
        let nextY = Tensor<T>(uninitializedShape: [b, n])
        for r in 0..<b { for i in 0..<n {
            let y = Swift.max(Double(Y.value.pointer[r * n + i]), 1e-12)
            nextY.pointer[r * n + i] = T(Double.exp(rhoY * Double.log(y) + sigmaY * Double(productivityDraw.pointer[i])))
        } }
        let nextYGrid = Variable(nextY.reshaped([b, 1, n]) + Tensor<T>(zeros: [1, ko, n]))   // [b, ko, N]
        let nextZ = Variable.concat([nextX.reshaped([b, ko, n, 1]), nextYGrid.reshaped([b, ko, n, 1])], axis: 3)
        let zNext = policy.pooled(nextZ.reshaped([b * ko, n, 2]))                    // [b·ko, L]
        // own next productivity y'_{f,k} = exp(ρ_y log y_f + σ_y ε_k), the same under every ω node
        let yOwn = Y.value
        let ownNext = Tensor<T>(uninitializedShape: [b, ko, kw, f])
        for r in 0..<b { for l in 0..<ko { for k in 0..<kw { for (c, i) in firms.enumerated() {
            let y = Swift.max(Double(yOwn.pointer[r * n + i]), 1e-12)
            ownNext.pointer[((r * ko + l) * kw + k) * f + c] = T(Double.exp(rhoY * Double.log(y) + sigmaY * ownShock.nodes[k]))
        } } } }
        let uNext = policy.policy(own: Variable(ownNext).reshaped([b * ko, kw * f, 1]), pooled: zNext).reshaped([b, ko, kw, f])
        let p = price(nextZ).reshaped([b, ko, 1, 1])
        let payoff = p * Variable(ownNext) + uNext * T(model.gamma * (1 - model.delta))
        var weights = [T]()
        for l in 0..<ko { for k in 0..<kw { weights.append(T(base.omega.weights[l] * ownShock.weights[k])) } }
        let expectation = (payoff * Variable(Tensor<T>(shape: [1, ko, kw, 1], scalars: weights))).sum(axis: 1).sum(axis: 1)
        return u.gather(axis1: firms) * T(model.gamma) - expectation * T(model.beta)
    }

    /// Capital as in the paper; log productivity from its stationary distribution N(0, σ_y²/(1−ρ_y²)).
    public func initialState(generator g: inout SeededGenerator) -> Tensor<T> {
        let x = base.initialState(generator: &g)
        let sd = sigmaY / Swift.max(1e-12, (1 - rhoY * rhoY)).squareRoot()
        let out = Tensor<T>(uninitializedShape: [model.N, 2])
        for i in 0..<model.N {
            out.pointer[2 * i] = x.pointer[i]
            out.pointer[2 * i + 1] = T(Double.exp(sd * g.normal()))
        }
        return out
    }

    /// Fresh shocks for capital and productivity; the data-generating policy is the LQ policy of
    /// the base model scaled by the firm's productivity, u = y·(H0 + H1·mean X).
    public func nextState(_ Z: Tensor<T>, policy: SymmetricNetwork<T>?, generator g: inout SeededGenerator) -> Tensor<T> {
        let b = Z.shape[0], n = model.N
        let u: Tensor<T> = policy.map { p in withoutGradients { controls(Variable(Z), policy: p).value } }
            ?? dataControls(Z)
        let out = Tensor<T>(uninitializedShape: Z.shape)
        for r in 0..<b {
            let common = model.eta * g.normal()
            for i in 0..<n {
                let k = (r * n + i) * 2
                let x = Double(Z.pointer[k]), y = Swift.max(Double(Z.pointer[k + 1]), 1e-12)
                out.pointer[k] = T((1 - model.delta) * x + Double(u.pointer[r * n + i]) + common + model.sigma * g.normal())
                out.pointer[k + 1] = T(Double.exp(rhoY * Double.log(y) + sigmaY * g.normal()))
            }
        }
        return out
    }

    func dataControls(_ Z: Tensor<T>) -> Tensor<T> {
        let b = Z.shape[0], n = model.N
        let meanX = stateMeans(Z, columns: 0..<(2 * n), stride: 2)
        let u = Tensor<T>(uninitializedShape: [b, n])
        for r in 0..<b { for i in 0..<n {
            u.pointer[r * n + i] = T(Double(Z.pointer[(r * n + i) * 2 + 1]) * (base.dataPolicy.H0 + base.dataPolicy.H1 * meanX[r]))
        } }
        return u
    }

    public func meanPolicy(_ Z: Tensor<T>, policy: SymmetricNetwork<T>) -> Tensor<T> {
        let u = withoutGradients { controls(Variable(Z), policy: policy).value }
        return Tensor(shape: [Z.shape[0]], scalars: stateMeans(u).map { T($0) })
    }

    public func aggregate(_ Z: Tensor<T>) -> [Double] { stateMeans(Z, columns: 0..<(2 * model.N), stride: 2) }
}
