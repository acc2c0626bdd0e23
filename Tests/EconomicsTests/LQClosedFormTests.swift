import XCTest
import SymmetricEconomics

/// The closed-form LQ equilibrium (the linear policy's coefficients matched in eq. 20) and its value function (App. D.4).
final class LQClosedFormTests: XCTestCase {
    let model = InvestmentModel()   // the paper's parameters (§4.1)

    /// Both roots solve γH1 = β(γ(1−δ)H1 − α1)(1−δ+H1); H1 is the stable one, the other explodes.
    func testH1IsTheStableRootOfTheEulerQuadratic() throws {
        let eq = try LQEquilibrium(model: model)
        let (b, g, d, a1) = (model.beta, model.gamma, model.delta, model.alpha1)
        for h1 in [eq.H1, eq.H1Explosive] {
            XCTAssertEqual(g * h1, b * (g * (1 - d) * h1 - a1) * (1 - d + h1), accuracy: 1e-13)
        }
        XCTAssertLessThan(abs(1 - d + eq.H1), 1)
        XCTAssertGreaterThan(abs(1 - d + eq.H1Explosive), 1)
        XCTAssertLessThan(eq.H1, 0, "investment falls with the aggregate stock: demand slopes down")
    }

    /// Deterministic Euler equation (eq. 20 without shocks) holds exactly at every aggregate state,
    /// for the stable pair and for the explosive pair alike.
    func testLinearPolicySolvesTheEulerEquation() throws {
        let eq = try LQEquilibrium(model: model)
        let m = model
        for (h0, h1) in [(eq.H0, eq.H1), (eq.H0Explosive, eq.H1Explosive)] {
            for meanX in [0.2, 0.68, 0.9, 1.5] {
                let u = h0 + h1 * meanX
                let next = (1 - m.delta) * meanX + u
                let rhs = m.beta * (m.alpha0 - m.alpha1 * next + m.gamma * (1 - m.delta) * (h0 + h1 * next))
                XCTAssertEqual(m.gamma * u, rhs, accuracy: 1e-13)
            }
        }
    }

    /// σ|H1|/√N is the policy std the paper reports: 2.2e-5 at N = 128 and 2.5e-6 at N = 10,000 (§4.1).
    func testH1ReproducesThePapersPolicyStd() throws {
        let eq = try LQEquilibrium(model: model)
        XCTAssertEqual(model.sigma * abs(eq.H1) / 128.0.squareRoot(), 2.2e-5, accuracy: 0.05e-5)
        XCTAssertEqual(model.sigma * abs(eq.H1) / 10_000.0.squareRoot(), 2.5e-6, accuracy: 0.05e-6)
    }

    func testSteadyStateIsAFixedPointOfTheAggregateLaw() throws {
        let eq = try LQEquilibrium(model: model)
        let x = eq.steadyState
        XCTAssertEqual(x, (1 - model.delta) * x + eq.policy(meanX: x), accuracy: 1e-14)
        XCTAssertGreaterThan(x, 0)
    }

    /// v(x, X) of App. D.4 satisfies the Bellman equation (27) with the exact Gaussian expectation
    /// (x' and mean X' share ω, and x' shares W₁ with X'), and u = H0 + H1·mean X is the argmax.
    func testValueFunctionSolvesTheBellmanEquation() throws {
        for N in [1, 7, 128] {
            var m = model; m.N = N
            let eq = try LQEquilibrium(model: m)
            let a = 1 - m.delta + eq.H1
            let cov = m.eta * m.eta + m.sigma * m.sigma / Double(N)      // Cov(x', m') = Var(m')
            func expectedValue(x: Double, mean: Double, u: Double) -> Double {
                let ex = (1 - m.delta) * x + u, em = eq.H0 + a * mean
                return -(eq.p1 + eq.d + 2 * eq.p2 * ex + 2 * eq.p3 * em + 2 * eq.p4 * (ex * em + cov) + eq.p5 * (em * em + cov))
            }
            for (x, mean) in [(0.0, 0.0), (0.7, 0.68), (1.3, 0.5), (0.2, 1.1)] {
                let u = eq.policy(meanX: mean)
                let profit = (m.alpha0 - m.alpha1 * mean) * x - m.gamma / 2 * u * u
                let rhs = profit + m.beta * expectedValue(x: x, mean: mean, u: u)
                XCTAssertEqual(eq.value(x: x, meanX: mean), rhs, accuracy: 1e-12 * max(1, abs(rhs)), "N = \(N)")
                // first-order condition: d/du [−γu²/2 + βE v'] = 0 at u
                let h = 1e-4
                let up = -m.gamma / 2 * (u + h) * (u + h) + m.beta * expectedValue(x: x, mean: mean, u: u + h)
                let dn = -m.gamma / 2 * (u - h) * (u - h) + m.beta * expectedValue(x: x, mean: mean, u: u - h)
                XCTAssertEqual((up - dn) / (2 * h), 0, accuracy: 1e-10)
            }
        }
    }

    /// H0, H1 and p1…p5 do not depend on N; d = β/(1−β)(2p4 + p5)(η² + σ²/N) does, through σ²/N.
    func testOnlyTheConstantDependsOnN() throws {
        var small = model; small.N = 1
        var large = model; large.N = 1_000_000
        let a = try LQEquilibrium(model: small), b = try LQEquilibrium(model: large)
        XCTAssertEqual(a.H0, b.H0); XCTAssertEqual(a.H1, b.H1); XCTAssertEqual(a.p5, b.p5)
        let ratio = (model.eta * model.eta + model.sigma * model.sigma) / (model.eta * model.eta + model.sigma * model.sigma / 1e6)
        XCTAssertEqual(a.d / b.d, ratio, accuracy: 1e-12 * ratio)
    }

    /// An upward-sloping demand (α1 < 0) can make the roots complex …
    func testComplexRootsAreAClearError() {
        var m = model; m.alpha1 = -5
        XCTAssertThrowsError(try LQEquilibrium(model: m)) { error in
            XCTAssertTrue("\(error)".contains("complex roots"), "\(error)")
            XCTAssertTrue("\(error)".contains("model.alpha_1"), "\(error)")
        }
    }

    /// … or both real roots explosive (|1−δ+H1| ≥ 1 for both).
    func testBothRootsExplosiveIsAClearError() {
        var m = model; m.alpha1 = -0.5
        XCTAssertThrowsError(try LQEquilibrium(model: m)) { error in
            XCTAssertTrue("\(error)".contains("no stable root"), "\(error)")
        }
    }

    /// With δ = 1 the quadratic is linear: one root, H1 = 0, H0 = βα0/(γ + βα1).
    func testFullDepreciationHasOneRoot() throws {
        var m = model; m.delta = 1
        let eq = try LQEquilibrium(model: m)
        XCTAssertEqual(eq.H1, 0)
        XCTAssertEqual(eq.H0, m.beta * m.alpha0 / (m.gamma + m.beta * m.alpha1), accuracy: 1e-15)
        XCTAssertTrue(eq.H1Explosive.isNaN)
    }
}
