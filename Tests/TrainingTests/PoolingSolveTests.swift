import XCTest
import SymmetricNumerics
import SymmetricEconomics
import SymmetricModels
import SymmetricTraining

/// Solves with pooled subsamples (`method.pool_sample`), validation estimates on a subset of the
/// agents (`method.val_pool_sample`), the averaged weights (`optimizer.average_decay`) and data
/// that continue the previous paths (`method.refresh_data_from: previous`).
final class PoolingSolveTests: TemporaryFolderTestCase {
    override class var folderPrefix: String { "symdp-pooling" }

    func quiet() -> ProgressReporter { let p = ProgressReporter(forceTerminal: false); p.quiet = true; return p }

    func config(_ overrides: [String]) throws -> RunConfig {
        var c = RunConfig()
        for o in overrides { try c.apply(override: o) }
        try c.validate()
        return c
    }

    func solver(_ c: RunConfig) throws -> Solver<ModelEconomy<Float>> {
        let compiled = try XCTUnwrap(try c.engineModel())
        return try Solver<ModelEconomy<Float>>(config: c, progress: quiet()) { g in
            ModelEconomy<Float>(model: compiled, architecture: c.network, expectation: c.method.expectation, generator: &g)
        }
    }

    /// The tutorial's firms (own capacity and the mean, closed-form policy) with each training
    /// step pooling over 8 of 64 firms and validation estimated on 16: the policy error, measured
    /// with all 64 firms, meets the exact-pooling bar of `ModelFileSolveTests` (0.5 %); so does a
    /// stratified pool (`method.pool_stratified`: every 8th firm by capacity, per state).
    func testPooledTrainingReachesTheClosedFormPolicy() throws {
        for stratified in [false, true] {
            let c = try config(["model.file=\(ModelFileSolveTests.tutorial.path)", "model.N=64", "method.omega_quadrature_nodes=3",
                                "method.pool_sample=8", "method.pool_stratified=\(stratified)", "method.val_pool_sample=16",
                                "optimizer.average_decay=0.9", "seed=2"])
            let s = try SolveRunner.solve(config: c, folder: RunFolder(dir.appendingPathComponent("pooled-\(stratified)")), progress: quiet())
            XCTAssertEqual(s.stopReason, .threshold, "stratified: \(stratified)")
            XCTAssertLessThan(try XCTUnwrap(s.policyRelError), 0.005, "stratified: \(stratified)")
            XCTAssertLessThan(s.testMSE, 1e-5, "stratified: \(stratified)")
        }
    }

    /// A stop decided on the validation estimate is confirmed on every agent: the epoch that stops
    /// records the all-agent validation MSE of the weights it keeps.
    func testAStopIsDecidedOnEveryAgent() throws {
        let c = try config(["model.kind=investment", "model.N=256", "method.val_pool_sample=32", "method.pool_sample=16",
                            "optimizer.average_decay=0.9", "trainer.stopping_threshold=3e-4", "trainer.max_epochs=20",
                            "trainer.verify_own_paths=false", "method.train_trajectories=4", "method.val_trajectories=2", "seed=3"])
        let s = try solver(c)
        XCTAssertEqual(s.validationSample?.subset.count, 32)
        XCTAssertEqual(try s.fit { _, _ in }, .threshold)
        let recorded = try XCTUnwrap(s.history.last?.valMSE)
        let full = s.mse(s.valX, subsample: nil)
        XCTAssertLessThanOrEqual(recorded, 3e-4)
        XCTAssertEqual(recorded, full, accuracy: 1e-6 * full, "the stopping epoch records the all-agent value")
    }

    /// `trainer.min_epochs`: a threshold the fit reaches in its first epochs stops the run only
    /// once min_epochs epochs are done, and the time to the threshold is that epoch's.
    func testMinEpochsHoldsTheThresholdBack() throws {
        let base = ["model.file=\(ModelFileSolveTests.tutorial.path)", "model.N=16", "method.T=5", "method.train_trajectories=3",
                    "method.val_trajectories=2", "trainer.max_epochs=30", "trainer.stopping_threshold=1e-2", "trainer.verify_own_paths=false"]
        let free = try solver(try config(base))
        XCTAssertEqual(try free.fit { _, _ in }, .threshold)
        XCTAssertLessThan(free.history.count, 6, "test setup: the threshold is reached early without min_epochs")
        let held = try solver(try config(base + ["trainer.min_epochs=6"]))
        XCTAssertEqual(try held.fit { _, _ in }, .threshold)
        XCTAssertEqual(held.history.count, 6)
        XCTAssertLessThanOrEqual(held.history[5].valMSE, 1e-2)
        XCTAssertTrue(held.history.prefix(5).contains { $0.valMSE <= 1e-2 }, "the threshold was reached before epoch 6 and held back")
        XCTAssertEqual(try XCTUnwrap(held.secondsToThreshold), held.history[5].seconds)
        XCTAssertThrowsError(try config(base + ["trainer.min_epochs=31"])) { error in
            XCTAssertEqual((error as? ConfigError)?.key, "trainer.min_epochs")
        }
    }

    /// `refresh_data_from: previous`: every new path starts where the same path of the old data ended.
    func testRefreshedPathsContinueThePreviousOnes() throws {
        let c = try config(["model.file=\(ModelFileSolveTests.tutorial.path)", "model.N=16", "method.T=5", "method.train_trajectories=3",
                            "method.val_trajectories=2", "method.refresh_data_every=1", "method.refresh_data_from=previous",
                            "trainer.max_epochs=2", "trainer.stopping_threshold=0", "trainer.verify_own_paths=false"])
        let s = try solver(c)
        let oldTrain = s.trainX.copy(), oldVal = s.valX.copy()
        _ = try s.fit { _, _ in }
        for (old, new, paths) in [(oldTrain, s.trainX, 3), (oldVal, s.valX, 2)] {
            XCTAssertEqual(new.shape, old.shape)
            for j in 0..<paths {
                XCTAssertEqual(new.gather([j * 6]).scalars, old.gather([j * 6 + 5]).scalars, "path \(j) continues")
            }
            XCTAssertNotEqual(new.scalars, old.scalars)
        }
    }

    func testPoolSamplingIsRefusedWhereItCannotApply() throws {
        let c = try config(["model.kind=customers", "method.pool_sample=8"])
        XCTAssertThrowsError(try SolveRunner.solve(config: c, folder: RunFolder(dir.appendingPathComponent("customers")), progress: quiet())) { error in
            XCTAssertEqual((error as? ConfigError)?.key, "method.pool_sample")
        }
        // a stratified pool needs a pool: refused at load, naming the key and the fix
        XCTAssertThrowsError(try config(["method.pool_stratified=true", "method.pool_sample=0"])) { error in
            XCTAssertEqual((error as? ConfigError)?.key, "method.pool_stratified")
            XCTAssertTrue("\(error)".contains("method.pool_sample > 0"), "\(error)")
        }
        XCTAssertNoThrow(try config(["method.pool_stratified=true", "method.pool_sample=8"]))
    }
}
