import XCTest
import SymmetricNumerics
import SymmetricNetworks
import SymmetricEconomics

/// The Euler residual of eq. 20 as implemented for training.
final class EulerResidualTests: XCTestCase {
    /// Stable root of γH1 = β(γ(1−δ)H1 − α1)(1−δ+H1) and the matching H0 (the linear policy's coefficients in eq. 20), solved
    /// here independently of the library's LQ module.
    func lqCoefficients(_ m: InvestmentModel) -> (H0: Double, H1: Double) {
        let (b, g, d, a1) = (m.beta, m.gamma, m.delta, m.alpha1)
        // β γ (1−δ) H1² + [β γ (1−δ)² − β α1 − γ] H1 − β α1 (1−δ) = 0
        let qa = b * g * (1 - d), qb = b * g * (1 - d) * (1 - d) - b * a1 - g, qc = -b * a1 * (1 - d)
        let disc = (qb * qb - 4 * qa * qc).squareRoot()
        let roots = [(-qb + disc) / (2 * qa), (-qb - disc) / (2 * qa)]
        let h1 = roots.first { abs(1 - d + $0) < 1 }!
        let h0 = b * m.alpha0 / (g - b * g * (1 - d) - b * (g * (1 - d) * h1 - a1))
        return (h0, h1)
    }

    /// A symmetric network that computes exactly u(X) = H0 + H1·mean(X): φ = identity, ρ linear.
    func lqNetwork(_ m: InvestmentModel) -> SymmetricNetwork<Double> {
        var a = SymmetricArchitecture()
        a.phi = .identity; a.rhoLayers = 0
        var g = SeededGenerator(seed: 0)
        let net = SymmetricNetwork<Double>(a, generator: &g)
        let (h0, h1) = lqCoefficients(m)
        net.rho.layers[0].weight.value.pointer[0] = h1
        net.rho.layers[0].bias!.value.pointer[0] = h0
        return net
    }

    func testExactLQPolicyZeroesTheEulerResidual() {
        var m = InvestmentModel(); m.N = 64
        var g = SeededGenerator(seed: 1)
        let economy = InvestmentEconomy<Double>(model: m, quadratureNodes: 7, normalizeShockVector: true, generator: &g)
        let X = Tensor<Double>.randomNormal(shape: [10, m.N], mean: 0.9, std: 0.1, using: &g)
        let eps = withoutGradients { economy.eulerResidual(Variable(X), network: lqNetwork(m)).value }
        // with a normalised draw, mean(Ŵ) = 0 exactly, so the LQ policy solves eq. 20 exactly
        for e in eps.scalars { XCTAssertEqual(e, 0, accuracy: 1e-12) }
        // a wrong H1 does not
        let wrong = lqNetwork(m)
        wrong.rho.layers[0].weight.value.pointer[0] *= 1.01
        let bad = withoutGradients { economy.eulerResidual(Variable(X), network: wrong).value }
        XCTAssertGreaterThan(bad.scalars.map(abs).max()!, 1e-4)
    }

    func testResidualGradientMatchesFiniteDifferences() {
        var m = InvestmentModel(); m.N = 5; m.nu = 1.5
        var g = SeededGenerator(seed: 2)
        let economy = InvestmentEconomy<Double>(model: m, quadratureNodes: 3, normalizeShockVector: true, generator: &g)
        var a = SymmetricArchitecture(); a.phiHidden = 6; a.rhoHidden = 6; a.phiLayers = 1; a.rhoLayers = 2; a.L = 2; a.activation = .tanh
        let net = SymmetricNetwork<Double>(a, generator: &g)
        let X = Tensor<Double>.randomNormal(shape: [4, m.N], mean: 0.9, std: 0.05, using: &g)
        func loss() -> Double { withoutGradients { economy.eulerResidual(Variable(X), network: net).value.scalars.map { $0 * $0 }.reduce(0, +) } }
        for p in net.parameters { p.zeroGrad() }
        economy.eulerResidual(Variable(X), network: net).squared().sumAll().backward()
        let h = 1e-6
        for p in net.parameters {
            for i in Swift.stride(from: 0, to: p.value.count, by: 3) {
                let saved = p.value.pointer[i]
                p.value.pointer[i] = saved + h; let lp = loss()
                p.value.pointer[i] = saved - h; let lm = loss()
                p.value.pointer[i] = saved
                XCTAssertEqual(p.grad!.pointer[i], (lp - lm) / (2 * h), accuracy: 1e-6 * max(1, abs(lp)))
            }
        }
    }

    func testInverseDemandFollowsEquationNine() {
        var m = InvestmentModel(); m.N = 3; m.nu = 2; m.zeta = 0.5; m.alpha0 = 2; m.alpha1 = 0.5
        var g = SeededGenerator(seed: 3)
        let economy = InvestmentEconomy<Double>(model: m, quadratureNodes: 1, normalizeShockVector: true, generator: &g)
        let X = Tensor<Double>(shape: [1, 3], scalars: [1, -2, 3])
        let p = economy.inverseDemand(Variable(X)).value.scalar
        XCTAssertEqual(p, 2 - 0.5 * ((1 + 0 + 9) / 3.0).squareRoot(), accuracy: 1e-14)  // max(0, −2) = 0
    }

    func testNormalisedShockDrawHasMeanZeroAndUnitStd() {
        var m = InvestmentModel(); m.N = 100
        var g = SeededGenerator(seed: 4)
        let w = InvestmentEconomy<Double>(model: m, quadratureNodes: 7, normalizeShockVector: true, generator: &g).shockDraw.scalars
        let mean = w.reduce(0, +) / 100
        XCTAssertEqual(mean, 0, accuracy: 1e-14)
        XCTAssertEqual((w.map { ($0 - mean) * ($0 - mean) }.reduce(0, +) / 100).squareRoot(), 1, accuracy: 1e-12)
    }
}
