import XCTest
import SymmetricNumerics
import SymmetricNetworks
import SymmetricEconomics
import SymmetricModels

/// `models/productivity.yaml` (paper §6.3) on its own terms: an exact special case and gradients.
final class ProductivityModelTests: XCTestCase {
    /// With constant productivity (σ_y = 0, y = 1) the model is the LQ investment model, so the
    /// network set to the LQ policy u = H0 + H1·mean(x) has zero residuals.
    func testResidualVanishesAtTheLQPolicyWithConstantProductivity() throws {
        let m = try shippedModel("productivity", ["N": 9, "sigma_y": 0])
        var g = SeededGenerator(seed: 8)
        var a = smallArchitecture(.identity); a.rhoLayers = 0
        let economy = ModelEconomy<Double>(model: m, architecture: a, generator: &g)
        let policy = economy.makePolicy(generator: &g), net = policy.networks[0]
        let w = net.rho.layers[0].weight.value.pointer   // inputs [own y, mean x, mean y]
        w[0] = 0; w[1] = m.value(of: "H1")!; w[2] = 0
        net.rho.layers[0].bias!.value.pointer[0] = m.value(of: "H0")!
        let Z = Tensor<Double>(uninitializedShape: [3, 9, 2])
        for i in 0..<27 { Z.pointer[2 * i] = 0.8 + 0.01 * Double(i % 7); Z.pointer[2 * i + 1] = 1 }
        let eps = withoutGradients { economy.eulerResidual(Variable(Z), policy: policy, subsample: nil).value }
        XCTAssertEqual(eps.count, 27)
        for e in eps.scalars { XCTAssertEqual(e, 0, accuracy: 1e-12) }
    }

    /// ∂(Σ ε²)/∂θ against central differences for every parameter tensor (a subsample of entries).
    func testResidualGradientMatchesFiniteDifferences() throws {
        let m = try shippedModel("productivity", ["N": 5, "rho_y": 0.8, "sigma_y": 0.1])
        var e = ExpectationSettings(); e.aggregateNodes = 2; e.ownNodes = 2; e.firmsPerState = 2
        var g = SeededGenerator(seed: 9)
        var a = smallArchitecture(); a.activation = .tanh
        let economy = ModelEconomy<Double>(model: m, architecture: a, expectation: e, generator: &g)
        let policy = economy.makePolicy(generator: &g)
        let Z = Tensor<Double>.randomNormal(shape: [2, 5, 2], mean: 1, std: 0.1, using: &g)
        func loss() -> Double { withoutGradients { economy.eulerResidual(Variable(Z), policy: policy, subsample: 3).value.scalars.map { $0 * $0 }.reduce(0, +) } }
        for p in policy.parameters { p.zeroGrad() }
        economy.eulerResidual(Variable(Z), policy: policy, subsample: 3).squared().sumAll().backward()
        let h = 1e-6
        for p in policy.parameters {
            for i in stride(from: 0, to: p.value.count, by: 7) {
                let saved = p.value.pointer[i]
                p.value.pointer[i] = saved + h; let lp = loss()
                p.value.pointer[i] = saved - h; let lm = loss()
                p.value.pointer[i] = saved
                XCTAssertEqual(p.grad?.pointer[i] ?? 0, (lp - lm) / (2 * h), accuracy: 1e-6 * max(1, abs(lp)))
            }
        }
    }
}
