import XCTest
import SymmetricNumerics
import SymmetricEconomics
import SymmetricNetworks
import SymmetricTraining

/// The start level (`method.fit_start_level`): ρ's last-layer biases set to the least-squares
/// level of the Euler residual before training (docs/equilibrium-selection.md).
final class StartLevelTests: XCTestCase {
    func solver(_ overrides: [String]) throws -> Solver<InvestmentEconomy<Double>> {
        var c = RunConfig()
        for o in ["network.phi=identity", "trainer.precision=64", "method.train_trajectories=2", "method.val_trajectories=2",
                  "seed=3", "method.fit_start_level=true"] + overrides { try c.apply(override: o) }
        try c.validate()
        let p = ProgressReporter(forceTerminal: false); p.quiet = true
        return try Solver<InvestmentEconomy<Double>>(config: c, progress: p) { g in
            try InvestmentEconomy<Double>(model: c.model, architecture: c.network, generator: &g)
        }
    }

    /// With the flat start the policy is the constant b, so the fitted b must be the minimiser of
    /// the mean squared residual over b: checked against a golden-section search over b (an
    /// independent one-dimensional minimiser, no derivatives), at the paper's parameters, at ν = 1.5
    /// and at α0 = 5, where the level is five times larger.
    func testTheFittedLevelMinimisesTheResidualOfTheFlatPolicy() throws {
        for extra in [[String](), ["model.alpha_0=5"], ["model.nu=1.5"]] {
            let s = try solver(extra)
            let fit = try XCTUnwrap(s.startLevel, "\(extra)")
            XCTAssertEqual(fit.biases.count, 1)
            XCTAssertLessThan(fit.after, fit.before, "\(extra)")
            let bias = try XCTUnwrap(s.network.rho.layers.last?.bias)
            XCTAssertEqual(bias.value.scalars[0], fit.biases[0], "the network keeps the fitted level")
            let X = s.startLevelSample()
            func mse(_ b: Double) -> Double {
                bias.value.pointer[0] = b
                let r = s.residuals(X, subsample: nil).flatMap { $0 }
                return r.reduce(0) { $0 + $1 * $1 } / Double(r.count)
            }
            XCTAssertEqual(mse(fit.biases[0]), fit.after, accuracy: 1e-9 * fit.after, "\(extra): the reported residual")
            // golden-section search on [0, 1] (the level is positive and below 1 in both cases)
            var (lo, hi) = (0.0, 1.0)
            let g = (5.0.squareRoot() - 1) / 2
            var (c, d) = (hi - g * (hi - lo), lo + g * (hi - lo))
            var (fc, fd) = (mse(c), mse(d))
            while hi - lo > 1e-7 {
                if fc < fd { (hi, d, fd) = (d, c, fc); c = hi - g * (hi - lo); fc = mse(c) }
                else { (lo, c, fc) = (c, d, fd); d = lo + g * (hi - lo); fd = mse(d) }
            }
            XCTAssertEqual((lo + hi) / 2, fit.biases[0], accuracy: 1e-5 * max(1, abs(fit.biases[0])), "\(extra): the search's minimiser")
            XCTAssertLessThanOrEqual(fit.after, min(fc, fd) * (1 + 1e-8), "\(extra)")
            XCTAssertGreaterThan(fit.biases[0], 0.01, "\(extra): the level of investment")
        }
        let off = try solver(["method.fit_start_level=false"])
        XCTAssertNil(off.startLevel)
        XCTAssertEqual(off.network.rho.layers.last?.bias?.value.scalars[0], 0, "without the fit the flat start stays at u ≡ 0")
        XCTAssertFalse(RunConfig().method.fitStartLevel, "off by default")
    }

    func testOutputBiasesAreTheLastLayerOfEachPolicyNetwork() {
        let names = ["phi.layers.0.weight", "phi.layers.0.bias", "rho.layers.0.weight", "rho.layers.0.bias", "rho.layers.4.weight",
                     "rho.layers.4.bias", "rho.layers.3.bias"]
        XCTAssertEqual(Solver<InvestmentEconomy<Double>>.outputBiasIndices(names: names), [5])
        let twoControls = ["c.rho.layers.1.bias", "c.rho.layers.2.bias", "n.rho.layers.10.bias", "n.rho.layers.9.bias",
                           "n.rho.layers.10.weight", "rho1.layers.2.bias", "c.phi.layers.1.bias"]
        XCTAssertEqual(Solver<InvestmentEconomy<Double>>.outputBiasIndices(names: twoControls), [1, 2],
                       "one per control, the highest layer; not rho1 (nested) nor φ")
    }

    func testSmallLinearSolve() throws {
        let A = [[4.0, 1, 2], [1, 5, 3], [2, 3, 6]], x = [1.0, -2, 0.5]
        let y = A.map { row in zip(row, x).reduce(0) { $0 + $1.0 * $1.1 } }
        let solved = try XCTUnwrap(Solver<InvestmentEconomy<Double>>.solveSmall(A, y))
        for (a, b) in zip(solved, x) { XCTAssertEqual(a, b, accuracy: 1e-12) }
        XCTAssertNil(Solver<InvestmentEconomy<Double>>.solveSmall([[1, 2], [2, 4]], [1, 2]), "singular")
    }
}
