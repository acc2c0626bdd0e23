import XCTest
import SymmetricNumerics
import SymmetricEconomics

/// Concentration of measure in the LQ case (§4.1, Fig. 1, eqs. 33 and 35).
final class ConcentrationTests: XCTestCase {
    func concentration(_ m: InvestmentModel = InvestmentModel()) throws -> LQConcentration {
        LQConcentration(equilibrium: try LQEquilibrium(model: m), quadratureNodes: 7)
    }

    /// With the exact LQ policy the one-draw Euler residual is βσ(α1 − γ(1−δ)H1)·mean(W) (App. D.3)
    /// and u(X') moves by σH1·mean(W).
    func testOneDrawResidualIsLinearInTheMeanOfW() throws {
        let c = try concentration()
        let m = c.model, H1 = c.equilibrium.H1
        var g = SeededGenerator(seed: 3)
        let X = c.simulatedState(N: 50, steps: 10, loc: 0.9, scale: 0.05, generator: &g)
        let zero = c.residual(X: X, draw: [Double](repeating: 0, count: 50))
        XCTAssertEqual(zero.residual, 0, accuracy: 1e-14, "the LQ policy solves eq. 20 without idiosyncratic noise")
        for _ in 0..<5 {
            let W = (0..<50).map { _ in g.normal() }
            let meanW = W.reduce(0, +) / 50
            let r = c.residual(X: X, draw: W)
            XCTAssertEqual(r.residual, m.beta * m.sigma * (m.alpha1 - m.gamma * (1 - m.delta) * H1) * meanW, accuracy: 1e-14)
            XCTAssertEqual(r.nextPolicy - zero.nextPolicy, m.sigma * H1 * meanW, accuracy: 1e-15)
        }
    }

    /// A draw normalised to mean 0 (what training uses) makes the LQ residual exactly zero, which is
    /// why Fig. 1 must use raw draws.
    func testNormalisedDrawGivesZeroResidual() throws {
        let c = try concentration()
        var g = SeededGenerator(seed: 4)
        var W = (0..<256).map { _ in g.normal() }
        let mean = W.reduce(0, +) / 256
        W = W.map { $0 - mean }
        let X = c.simulatedState(N: 256, steps: 5, loc: 0.9, scale: 0.05, generator: &g)
        XCTAssertEqual(c.residual(X: X, draw: W).residual, 0, accuracy: 1e-14)
    }

    /// Eq. (35) and eq. (33): at N = 1024 with 2,000 draws the Monte Carlo std is within 10 % of
    /// βσ|α1 − γ(1−δ)H1|/√N and σ|H1|/√N.
    func testMonteCarloStdMatchesTheAnalyticStdAtN1024() throws {
        let c = try concentration()
        let row = c.figure(Ns: [1024], draws: 2000, seed: 7)[0]
        XCTAssertEqual(row.stdResidualMC / row.stdResidualAnalytic, 1, accuracy: 0.10)
        XCTAssertEqual(row.stdPolicyMC / row.stdPolicyAnalytic, 1, accuracy: 0.10)
        XCTAssertEqual(row.meanResidualMC, 0, accuracy: 4 * row.stdResidualAnalytic / 2000.0.squareRoot())
    }

    /// The Euler residual std shrinks as 1/√N: the fitted slope in log N is −1/2 ± 0.05.
    func testResidualStdShrinksAsOneOverRootN() throws {
        let c = try concentration()
        let rows = c.figure(Ns: [16, 128, 1024, 10_000], draws: 1000, seed: 1)
        let N = rows.map { Double($0.N) }
        XCTAssertEqual(LQConcentration.logLogSlope(x: N, y: rows.map(\.stdResidualMC)), -0.5, accuracy: 0.05)
        XCTAssertEqual(LQConcentration.logLogSlope(x: N, y: rows.map(\.stdPolicyMC)), -0.5, accuracy: 0.05)
    }

    /// The analytic values at N = 10,000 against the paper's Fig. 1: policy std 2.5e-6; the paper's
    /// Monte Carlo residual std 2.4e-4 is within 6 % of eq. (35)'s 2.52e-4.
    func testAnalyticValuesMatchThePaperAtN10000() throws {
        let c = try concentration()
        XCTAssertEqual(c.policyStd(N: 10_000), 2.5e-6, accuracy: 0.05e-6)
        XCTAssertEqual(c.residualStd(N: 10_000) / 2.4e-4, 1, accuracy: 0.06)
    }

    func testLogLogSlopeOfAPowerLaw() {
        let x = [2.0, 5, 40, 1000]
        XCTAssertEqual(LQConcentration.logLogSlope(x: x, y: x.map { 3 * Foundation.pow($0, -0.5) }), -0.5, accuracy: 1e-14)
    }
}
