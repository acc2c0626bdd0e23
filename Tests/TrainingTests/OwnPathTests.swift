import XCTest
import SymmetricNumerics
import SymmetricEconomics
import SymmetricNetworks
import SymmetricTraining

/// The own-path check and screen (`trainer.verify_own_paths`, `trainer.own_path_screen`) must tell
/// the equilibrium from the other solution of the Euler equation. In the LQ case both roots of the
/// quadratic obtained by matching the linear policy's coefficients in the Euler equation (eq. 20)
/// solve the Euler equation at every state, so on LQ-simulated data they are indistinguishable; only the paths each one generates tell them apart (the explosive root's
/// aggregate runs away, |1 − δ + H1| > 1).
final class OwnPathTests: XCTestCase {
    func solver(_ overrides: [String] = []) throws -> Solver<InvestmentEconomy<Double>> {
        var c = RunConfig()
        // ρ linear with one hidden unit: u = w1·(w0·mean X + b0) + b1, set by hand below
        for o in ["network.phi=identity", "network.rho_layers=1", "network.rho_hidden=1", "network.activation=identity",
                  "trainer.precision=64", "method.train_trajectories=2", "method.val_trajectories=4", "seed=5"] + overrides {
            try c.apply(override: o)
        }
        try c.validate()
        let p = ProgressReporter(forceTerminal: false); p.quiet = true
        return try Solver<InvestmentEconomy<Double>>(config: c, progress: p) { g in
            try InvestmentEconomy<Double>(model: c.model, architecture: c.network, generator: &g)
        }
    }

    /// Makes the network the linear policy u = H0 + H1·mean(X).
    func setLinearPolicy(_ network: SymmetricNetwork<Double>, H0: Double, H1: Double) {
        let values: [String: Double] = ["rho.layers.0.weight": 1, "rho.layers.0.bias": 0, "rho.layers.1.weight": H1,
                                        "rho.layers.1.bias": H0]
        let named = network.namedParameters
        XCTAssertEqual(Set(named.map(\.0)), Set(values.keys), "parameter names of a one-unit linear ρ")
        for (name, v) in named { v.value = Tensor(shape: v.value.shape, scalars: [values[name] ?? .nan]) }
    }

    func testOwnPathCheckPassesTheEquilibriumAndRejectsTheExplosiveRoot() throws {
        let s = try solver()
        let lq = try LQEquilibrium(model: s.config.model)
        XCTAssertLessThan(abs(1 - s.config.model.delta + lq.H1), 1)
        XCTAssertGreaterThan(abs(1 - s.config.model.delta + lq.H1Explosive), 1)

        setLinearPolicy(s.network, H0: lq.H0, H1: lq.H1)
        XCTAssertLessThan(s.mse(s.trainX), 1e-6, "the exact policy solves the Euler equation on the data")
        let good = s.ownPathCheck()
        XCTAssertTrue(good.bounded)
        XCTAssertTrue(good.passed)
        XCTAssertLessThan(good.mse, 1e-6)
        XCTAssertTrue(s.ownPathCheck(measureResiduals: false).bounded, "the screen lets the equilibrium through")

        setLinearPolicy(s.network, H0: lq.H0Explosive, H1: lq.H1Explosive)
        XCTAssertLessThan(s.mse(s.trainX), 1e-6, "the explosive root solves the Euler equation on the same data")
        let bad = s.ownPathCheck()
        XCTAssertFalse(bad.bounded)
        XCTAssertFalse(bad.passed)
        XCTAssertFalse(s.ownPathCheck(measureResiduals: false).bounded, "the screen catches it without residuals")
    }

    /// The screen restarts an explosive candidate long before the threshold and leaves the
    /// equilibrium alone (the learning rate is tiny so the candidates stay what they were set to).
    func testScreenRestartsTheExplosiveRootBeforeTheThreshold() throws {
        let settings = ["trainer.stopping_threshold=0", "trainer.own_path_screen=1", "trainer.max_restarts=1",
                        "trainer.max_epochs=1", "optimizer.lr=1e-12"]
        let explosive = try solver(settings)
        let lq = try LQEquilibrium(model: explosive.config.model)
        setLinearPolicy(explosive.network, H0: lq.H0Explosive, H1: lq.H1Explosive)
        XCTAssertEqual(try explosive.fit { _, _ in }, .maxEpochs)
        XCTAssertEqual(explosive.screenRestarts, 1)
        XCTAssertEqual(explosive.attempt, 1)
        XCTAssertEqual(explosive.history.first?.attempt, 0)
        XCTAssertEqual(explosive.history.last?.attempt, 1)

        let stable = try solver(settings)
        setLinearPolicy(stable.network, H0: lq.H0, H1: lq.H1)
        XCTAssertEqual(try stable.fit { _, _ in }, .maxEpochs)
        XCTAssertEqual(stable.screenRestarts, 0)
        XCTAssertEqual(stable.attempt, 0)

        var off = settings
        off[1] = "trainer.own_path_screen=0"
        let unscreened = try solver(off)
        setLinearPolicy(unscreened.network, H0: lq.H0Explosive, H1: lq.H1Explosive)
        XCTAssertEqual(try unscreened.fit { _, _ in }, .maxEpochs)
        XCTAssertEqual(unscreened.screenRestarts, 0, "own_path_screen = 0 turns the screen off")
    }

    /// `method.own_paths_at_epoch`: at the start of that epoch the network's own paths join the
    /// training and validation data (the paths of the policy as it is then: here the exact one, so
    /// the new points solve the Euler equation too), once per attempt, never before.
    func testOwnPathsJoinTheDataAtTheEpochAsked() throws {
        let settings = ["trainer.stopping_threshold=0", "trainer.own_path_screen=0", "optimizer.lr=1e-12", "method.own_paths_at_epoch=2"]
        let s = try solver(settings + ["trainer.max_epochs=2"])
        let lq = try LQEquilibrium(model: s.config.model)
        setLinearPolicy(s.network, H0: lq.H0, H1: lq.H1)
        let train0 = s.trainX.shape[0], val0 = s.valX.shape[0]
        XCTAssertEqual(try s.fit { _, _ in }, .maxEpochs)
        XCTAssertFalse(s.dataAugmented, "epochs 1 and 2 train on the data as simulated")
        XCTAssertEqual(s.trainX.shape[0], train0)

        let t = try solver(settings + ["trainer.max_epochs=4"])
        setLinearPolicy(t.network, H0: lq.H0, H1: lq.H1)
        XCTAssertEqual(try t.fit { _, _ in }, .maxEpochs)
        XCTAssertTrue(t.dataAugmented)
        let m = t.config.method
        XCTAssertEqual(t.trainX.shape[0], train0 + m.trainTrajectories * (m.T + 1), "one set of own paths, added once")
        XCTAssertEqual(t.valX.shape[0], val0 + m.valTrajectories * (m.T + 1))
        XCTAssertEqual(t.refinements, 1, "it counts as a refinement of the attempt")
        XCTAssertLessThan(t.mse(t.trainX), 1e-6, "the added points are the exact policy's own paths")
        XCTAssertTrue(t.history.allSatisfy { $0.attempt == 0 })
    }
}
