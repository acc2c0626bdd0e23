// The worked example of docs/custom-economy.md, compiled and run by the test suite.
// (CustomEconomyTests checks that the page shows exactly this code.)
// BEGIN EXAMPLE
import Foundation
import SymmetricNumerics
import SymmetricNetworks
import SymmetricEconomics
import SymmetricTraining

/// N firms crowd a common resource: a unit of capital earns a − b·mean(X) next period, and
/// investment u costs (γ/2)u². Capital moves as x' = (1−δ)x + u + σw + ηω. The policy u(X)
/// solves the Euler equation
///     γ u(X) = β E[a − b·mean(X') + γ(1−δ) u(X')].
struct CongestionEconomy: SymmetricEconomy {
    var N = 64, a = 1.0, b = 1.0, beta = 0.95, gamma = 90.0, delta = 0.05, sigma = 0.005, eta = 0.001
    var architecture: SymmetricArchitecture
    /// One Monte Carlo draw Ŵ of everybody's idiosyncratic shocks (concentration of measure).
    var draw: Tensor<Double>
    /// Gauss–Hermite rule over the aggregate shock ω.
    var omega = GaussHermite(nodes: 3)

    init(architecture: SymmetricArchitecture, generator g: inout SeededGenerator) {
        self.architecture = architecture
        draw = shockDraw(count: N, normalize: true, generator: &g)
    }

    var stateShape: [Int] { [N] }
    var rowsPerState: Int { N * (omega.nodes.count + 1) }

    func makePolicy(generator g: inout SeededGenerator) -> SymmetricNetwork<Double> {
        SymmetricNetwork(architecture, generator: &g)
    }

    /// ε(X) = γ u(X) − β Σ_k w_k [a − b·mean(X'_k) + γ(1−δ) u(X'_k)], one column per state.
    func eulerResidual(_ X: Variable<Double>, policy u: SymmetricNetwork<Double>, subsample: UInt64?) -> Variable<Double> {
        let batch = X.shape[0], k = omega.nodes.count
        let uX = u(X)                                                                  // [batch, 1]
        let shocks = Tensor<Double>(shape: [1, k, N], scalars: omega.nodes.flatMap { w in draw.scalars.map { sigma * $0 + eta * w } })
        let next = X.reshaped([batch, 1, N]) * (1 - delta) + uX.reshaped([batch, 1, 1]) + Variable(shocks)   // X'_k
        let uNext = nextPeriodPolicy { u(next.reshaped([batch * k, N])).reshaped([batch, k]) }   // fixed in a time-iteration step
        let payoff = (a - next.mean(axis: 2) * b) + uNext * (gamma * (1 - delta))      // [batch, k]
        let expectation = (payoff * Variable(Tensor(shape: [1, k], scalars: omega.weights))).sum(axis: 1)
        return (uX.reshaped([batch]) * gamma - expectation * beta).reshaped([batch, 1])
    }

    func initialState(generator g: inout SeededGenerator) -> Tensor<Double> {
        Tensor(shape: [N], scalars: (0..<N).map { _ in abs(g.normal(mean: 0.9, std: 0.05)) })
    }

    /// Simulation with fresh shocks. The training data come from a rough guess, a constant investment
    /// that lets capital drift from 0.9 toward 0.7, so the paths span the states the solution visits.
    func nextState(_ X: Tensor<Double>, policy: SymmetricNetwork<Double>?, generator g: inout SeededGenerator) -> Tensor<Double> {
        let u = policy.map { p in withoutGradients { p(Variable(X)).value.scalars } } ?? Array(repeating: 0.035, count: X.shape[0])
        let out = Tensor<Double>(uninitializedShape: X.shape)
        for r in 0..<X.shape[0] {
            let common = u[r] + eta * g.normal()
            for i in 0..<N { out.pointer[r * N + i] = (1 - delta) * X.pointer[r * N + i] + common + sigma * g.normal() }
        }
        return out
    }

    func meanPolicy(_ X: Tensor<Double>, policy: SymmetricNetwork<Double>) -> Tensor<Double> {
        withoutGradients { policy(Variable(X)).value.reshaped([X.shape[0]]) }
    }

    func aggregate(_ X: Tensor<Double>) -> [Double] { stateMeans(X) }

    func withAggregateQuadrature(nodes: Int) -> CongestionEconomy {
        var copy = self
        copy.omega = GaussHermite(nodes: nodes)
        return copy
    }
}

/// Solve it: the same trainer, run folder and checks as `symdp solve`.
func solveCongestionEconomy(folder: URL) throws -> SolveSummary {
    var config = RunConfig()                // paper defaults: φ(Deep Sets), Adam, early stopping at 1e-6
    config.network.phiHidden = 64
    config.seed = 1
    return try SolveRunner.solve(config: config, folder: RunFolder(folder)) { g in
        CongestionEconomy(architecture: config.network, generator: &g)
    }
}
// END EXAMPLE
