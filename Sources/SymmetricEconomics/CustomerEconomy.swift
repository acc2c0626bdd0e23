import RealModule
import SymmetricNumerics
import SymmetricNetworks

/// Firms with M exchangeable customers (paper §6.3, nested sets). Firm i has capital X_i and
/// customers of sizes Y_i^1 … Y_i^M that drift to their mean, `y' = ȳ + κ(y − ȳ)`. A firm sells
/// to its customers: its output is a_i·x with a_i = (1/M) Σ_j y_i^j, the price depends on
/// aggregate output `Q = (1/N) Σ_i a_i X_i` (eq. 9 applied to a_i X_i), and profits are
/// a·p·x − (γ/2)u². With constant returns the policy depends on the firm's own customers and on
/// the aggregate state Z = {(X_i, Y_i)}, and the Euler equation of a firm with customers y is
///
///     γ u(y, Z) = β E[a' p(Z') + γ(1−δ) u(y', Z')],   a' = (1/M) Σ_j y'^j,
///     X'_i = (1−δ)X_i + u(Y_i, Z) + σW_i + ηω,
///
/// Gauss–Hermite over ω, one draw Ŵ. The state is [N, 1 + M]; the policy network is the nested
/// `ρ1(mean_j φ1(y^j), mean_i ρ2(X_i, mean_j φ2(Y_i^j)))`, invariant to permuting firms and to
/// permuting any one firm's customers.
public struct CustomerEconomy<T: TensorScalar>: SymmetricEconomy {
    public let model: InvestmentModel
    /// Customers per firm M, their long-run size ȳ, persistence κ and initial dispersion.
    public let customers: Int, customerMean: Double, persistence: Double, customerScale: Double
    public let architecture: SymmetricArchitecture
    public let base: InvestmentEconomy<T>

    public init(model: InvestmentModel, customers: Int, customerMean: Double, persistence: Double, customerScale: Double,
                architecture: SymmetricArchitecture, expectation: ExpectationSettings, initialLoc: Double, initialScale: Double,
                generator g: inout SeededGenerator) throws {
        self.model = model; self.customers = customers; self.customerMean = customerMean
        self.persistence = persistence; self.customerScale = customerScale; self.architecture = architecture
        base = try InvestmentEconomy(model: model, architecture: architecture, expectation: expectation,
                                     initialLoc: initialLoc, initialScale: initialScale, generator: &g)
    }

    init(copying o: CustomerEconomy, base: InvestmentEconomy<T>) {
        model = o.model; customers = o.customers; customerMean = o.customerMean; persistence = o.persistence
        customerScale = o.customerScale; architecture = o.architecture; self.base = base
    }

    public func withAggregateQuadrature(nodes: Int) -> CustomerEconomy {
        CustomerEconomy(copying: self, base: base.withAggregateQuadrature(nodes: nodes))
    }

    public var stateShape: [Int] { [model.N, 1 + customers] }
    public var rowsPerState: Int { model.N * (1 + customers) * (base.omega.nodes.count + 1) }

    public func makePolicy(generator g: inout SeededGenerator) -> NestedSymmetricNetwork<T> {
        NestedSymmetricNetwork(architecture, usesOwnX: false, generator: &g)
    }

    /// Customers next period: `ȳ + κ(y − ȳ)`, on states [b, N, 1 + M] (capital left as is).
    func driftCustomers(_ Z: Tensor<T>) -> Tensor<T> {
        let m1 = 1 + customers
        let out = Z.copy()
        for i in 0..<(Z.count / m1) {
            for j in 1..<m1 {
                let k = i * m1 + j
                out.pointer[k] = T(customerMean + persistence * (Double(Z.pointer[k]) - customerMean))
            }
        }
        return out
    }

    /// Revenue weights a_i = mean_j y_i^j of states [b, N, 1 + M] → [b, N].
    func revenueWeights(_ Z: Tensor<T>) -> Tensor<T> {
        let m1 = 1 + customers, rows = Z.count / m1
        let a = Tensor<T>(uninitializedShape: Array(Z.shape.dropLast()))
        for i in 0..<rows {
            var s = 0.0
            for j in 1..<m1 { s += Double(Z.pointer[i * m1 + j]) }
            a.pointer[i] = T(s / Double(customers))
        }
        return a
    }

    /// Every firm's control u(Y_i, Z): [b, N].
    func controls(_ Z: Variable<T>, policy: NestedSymmetricNetwork<T>) -> Variable<T> {
        policy.policy(own: Z, pooled: policy.pooled(Z))
    }

    public func eulerResidual(_ Z: Variable<T>, policy: NestedSymmetricNetwork<T>, subsample: UInt64?) -> Variable<T> {
        let b = Z.shape[0], n = model.N, m1 = 1 + customers, ko = base.omega.nodes.count
        let firms = base.firmsOfInterest(subsample), f = firms.count
        let X = Z.slice(axis: 2, 0..<1).reshaped([b, n])
        let u = controls(Z, policy: policy)                                        // [b, N]
        let nextX = base.nextStates(X, policy: u)                                  // [b, ko, N]
        let drifted = driftCustomers(Z.value)                                      // [b, N, 1+M]
        let nextCustomers = drifted.slice(axis: 2, 1..<m1)                         // [b, N, M]
        let grid = Variable(nextCustomers.reshaped([b, 1, n, customers]) + Tensor<T>(zeros: [1, ko, n, customers]))
        let nextZ = Variable.concat([nextX.reshaped([b, ko, n, 1]), grid], axis: 3).reshaped([b * ko, n, m1])
        let uNext = nextPeriodPolicy {
            policy.policy(own: nextZ.gather(axis1: firms), pooled: policy.pooled(nextZ)).reshaped([b, ko, f])   // [b, ko, F]
        }
        let a = revenueWeights(drifted)                                            // [b, N]: a'_i
        let output = nextX * Variable(a.reshaped([b, 1, n]))                       // a'_i X'_i
        let p = base.inverseDemand(output).reshaped([b, ko, 1])                    // [b, ko, 1]
        let ownWeight = Variable(Variable(a).gather(axis1: firms).value.reshaped([b, 1, f]))
        let payoff = p * ownWeight + uNext * T(model.gamma * (1 - model.delta))    // [b, ko, F]
        let weights = Variable(Tensor<T>(shape: [1, ko, 1], scalars: base.omega.weights.map { T($0) }))
        let expectation = (payoff * weights).sum(axis: 1)                          // [b, F]
        return u.gather(axis1: firms) * T(model.gamma) - expectation * T(model.beta)
    }

    /// Capital as in the paper; customer sizes |N(ȳ, scale²)|.
    public func initialState(generator g: inout SeededGenerator) -> Tensor<T> {
        let x = base.initialState(generator: &g)
        let m1 = 1 + customers
        let out = Tensor<T>(uninitializedShape: [model.N, m1])
        for i in 0..<model.N {
            out.pointer[i * m1] = x.pointer[i]
            for j in 1..<m1 { out.pointer[i * m1 + j] = T(abs(g.normal(mean: customerMean, std: customerScale))) }
        }
        return out
    }

    /// Data-generating policy: the base model's LQ policy scaled by the firm's revenue weight.
    public func nextState(_ Z: Tensor<T>, policy: NestedSymmetricNetwork<T>?, generator g: inout SeededGenerator) -> Tensor<T> {
        let b = Z.shape[0], n = model.N, m1 = 1 + customers
        let a = revenueWeights(Z)
        let u: Tensor<T>
        if let policy {
            u = withoutGradients { controls(Variable(Z), policy: policy).value }
        } else {
            let meanX = stateMeans(Z, columns: 0..<(n * m1), stride: m1)
            u = Tensor<T>(uninitializedShape: [b, n])
            for r in 0..<b { for i in 0..<n {
                u.pointer[r * n + i] = T(Double(a.pointer[r * n + i]) * (base.dataPolicy.H0 + base.dataPolicy.H1 * meanX[r]))
            } }
        }
        let out = driftCustomers(Z)
        for r in 0..<b {
            let common = model.eta * g.normal()
            for i in 0..<n {
                let k = (r * n + i) * m1
                out.pointer[k] = T((1 - model.delta) * Double(Z.pointer[k]) + Double(u.pointer[r * n + i]) + common + model.sigma * g.normal())
            }
        }
        return out
    }

    public func meanPolicy(_ Z: Tensor<T>, policy: NestedSymmetricNetwork<T>) -> Tensor<T> {
        let u = withoutGradients { controls(Variable(Z), policy: policy).value }
        return Tensor(shape: [Z.shape[0]], scalars: stateMeans(u).map { T($0) })
    }

    public func aggregate(_ Z: Tensor<T>) -> [Double] {
        let m1 = 1 + customers
        return stateMeans(Z, columns: 0..<(model.N * m1), stride: m1)
    }
}
