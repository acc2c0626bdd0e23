import XCTest
import SymmetricTraining
import SymmetricEconomics

/// Every run ends in one documented status (metrics.json `status`, the last console line) with its
/// own exit code; only a solved run has a time to the threshold; reports count statuses.
final class RunStatusTests: TemporaryFolderTestCase {
    override class var folderPrefix: String { "symdp-status" }

    /// A small, fast investment model (the statuses do not depend on the size).
    let small = ["--set", "model.N=16", "--set", "network.phi_hidden=32", "--set", "network.rho_hidden=32",
                 "--set", "method.omega_quadrature_nodes=2", "--set", "method.test_trajectories=2"]

    func testExitCodesAreDistinctAndOnlySolvedIsZero() {
        let codes = RunStatus.allCases.map(\.exitCode)
        XCTAssertEqual(Set(codes).count, codes.count, "one exit code per status")
        XCTAssertEqual(RunStatus.solved.exitCode, 0)
        for s in RunStatus.allCases where s != .solved {
            XCTAssertNotEqual(s.exitCode, 0, "\(s)")
            XCTAssertNotEqual(s.exitCode, RunStatus.errorExitCode, "\(s): distinct from config and file errors")
            XCTAssertNotEqual(s.exitCode, RunStatus.usageExitCode, "\(s): distinct from command-line syntax errors")
            XCTAssertNotEqual(s.exitCode, RunStatus.unfinishedExitCode, "\(s)")
            XCTAssertEqual(RunStatus(exitCode: s.exitCode), s)
        }
        XCTAssertEqual(RunStatus.allCases.map(\.rawValue), ["solved", "not_converged", "failed", "diverged"])
    }

    /// The status follows the stop reason, except that exploding test paths (non-finite or above
    /// the divergence threshold) turn a run into `failed` whatever stopped it.
    func testStatusFollowsTheStopReasonAndTheTestPaths() {
        let limit = 1e5
        XCTAssertEqual(RunStatus(stop: .threshold, testMSE: 1e-6, divergenceThreshold: limit), .solved)
        XCTAssertEqual(RunStatus(stop: .threshold, testMSE: .infinity, divergenceThreshold: limit), .failed)
        XCTAssertEqual(RunStatus(stop: .threshold, testMSE: 8.7e44, divergenceThreshold: limit), .failed)   // the issue's φ(Moments) run
        XCTAssertEqual(RunStatus(stop: .threshold, testMSE: .nan, divergenceThreshold: limit), .failed)
        for r in [StopReason.maxEpochs, .maxTime, .patience] {
            XCTAssertEqual(RunStatus(stop: r, testMSE: 1e-3, divergenceThreshold: limit), .notConverged, "\(r)")
            XCTAssertEqual(RunStatus(stop: r, testMSE: .nan, divergenceThreshold: limit), .failed, "\(r)")
        }
        // stopped before the threshold with own paths that leave the band (Krusell–Smith at N = 50, seed 2,
        // slid to K = 327 with a test MSE of 1e-2): a runaway, not the equilibrium — failed, not not_converged
        for r in [StopReason.maxEpochs, .maxTime, .patience] {
            XCTAssertEqual(RunStatus(stop: r, testMSE: 1e-2, divergenceThreshold: limit, ownPathsLeaveBand: true), .failed, "\(r)")
        }
        XCTAssertEqual(RunStatus(stop: .threshold, testMSE: 1e-7, divergenceThreshold: limit, ownPathsLeaveBand: true), .solved,
                       "at the threshold the own-path check has decided already")
        XCTAssertEqual(RunStatus(stop: .unverified, testMSE: 1e-7, divergenceThreshold: limit), .failed)
        XCTAssertEqual(RunStatus(stop: .diverged, testMSE: 1e-7, divergenceThreshold: limit), .diverged)
        // metrics.json from before statuses existed: derived from the stop reason and test MSE
        XCTAssertEqual(RunStatus(metrics: ["stop_reason": StopReason.threshold.rawValue, "test_mse": 1e-7]), .solved)
        XCTAssertEqual(RunStatus(metrics: ["stop_reason": StopReason.threshold.rawValue]), .failed, "no test MSE: the paths blew up")
        XCTAssertEqual(RunStatus(metrics: ["status": "diverged"]), .diverged)
        XCTAssertNil(RunStatus(metrics: ["status": "unfinished"]))
        XCTAssertNil(RunStatus(metrics: [:]))
    }

    /// The divergence message blames the learning rate only when the loss was finite and blew
    /// up after optimiser steps; non-finite residuals before any step are not the learning rate's fault.
    func testDivergenceCauseIsNamedOnlyWhenKnown() {
        XCTAssertEqual(DivergenceCause.diagnose(optimizerSteps: 3, lossBefore: 1e-2), .learningRate)
        XCTAssertEqual(DivergenceCause.diagnose(optimizerSteps: 0, lossBefore: nil), .initialResiduals)
        // small and steady for an epoch and hundreds of steps, then NaN (Krusell–Smith's consumption sliding to 0):
        // the equations, not the steps; a loss that had grown 10-fold, or a NaN within the first steps, is the steps
        XCTAssertEqual(DivergenceCause.diagnose(optimizerSteps: 600, lossBefore: 2e-4, lastEpochLoss: 5e-4), .equations)
        XCTAssertEqual(DivergenceCause.diagnose(optimizerSteps: 600, lossBefore: 2e-4, lastEpochLoss: 5e-2), .learningRate)
        XCTAssertEqual(DivergenceCause.diagnose(optimizerSteps: 20, lossBefore: 2e-4, lastEpochLoss: 1e-4), .learningRate)
        XCTAssertEqual(DivergenceCause.diagnose(optimizerSteps: 600, lossBefore: 2e-4, lastEpochLoss: nil), .learningRate)
        XCTAssertFalse(DivergenceCause.equations.advice(lr: 10).contains("smaller optimizer.lr."))
        // val MSE exploded: the training loss tells, or nothing is claimed
        XCTAssertEqual(DivergenceCause.diagnoseValidation(trainLoss: 1e-3, previousTrainLoss: 2e-3), .validationData)
        XCTAssertEqual(DivergenceCause.diagnoseValidation(trainLoss: 5e2, previousTrainLoss: 1e-3), .learningRate)
        XCTAssertEqual(DivergenceCause.diagnoseValidation(trainLoss: .infinity, previousTrainLoss: 1e-3), .learningRate)
        XCTAssertNil(DivergenceCause.diagnoseValidation(trainLoss: 2e-3, previousTrainLoss: 1e-3))
        XCTAssertNil(DivergenceCause.diagnoseValidation(trainLoss: 1e-3, previousTrainLoss: nil), "the first epoch: no trend to read")
        XCTAssertFalse(DivergenceCause.advice(nil, lr: 10).contains("optimizer.lr"))
        XCTAssertTrue(DivergenceCause.learningRate.advice(lr: 10).contains("optimizer.lr"))
        XCTAssertFalse(DivergenceCause.initialResiduals.advice(lr: 10).contains("smaller optimizer.lr"))
        XCTAssertFalse(DivergenceCause.validationData.advice(lr: 10).contains("smaller optimizer.lr"))
    }

    /// `--set trainer.max_epochs=1`: not_converged, exit 3, no time to the threshold, and the last
    /// console line says so.
    func testOneEpochEndsNotConvergedWithItsExitCodeAndNoTimeToThreshold() throws {
        let out = dir.appendingPathComponent("one-epoch")
        let r = try runToEnd(["solve", "--out", out.path, "--set", "trainer.max_epochs=1"] + small)
        XCTAssertEqual(r.status, RunStatus.notConverged.exitCode, r.stderr)
        let lines = r.stdout.split(separator: "\n")
        XCTAssertTrue(lines.last?.hasPrefix("status: not_converged") ?? false, r.stdout)
        let m = try metrics(out)
        XCTAssertEqual(m["status"] as? String, "not_converged")
        XCTAssertTrue(m["seconds_to_1e-6"] is NSNull, "\(m["seconds_to_1e-6"] ?? "missing")")
        XCTAssertTrue(m["seconds_to_threshold"] is NSNull)
        XCTAssertEqual(m["stopping_threshold"] as? Double, 1e-6)
        XCTAssertEqual(m["epochs"] as? Int, 1)
        XCTAssertEqual(m["own_paths_in_band"] as? Bool, true, "not_converged means the paths are fine: checked, not assumed")
    }

    /// `--set optimizer.lr=10`: diverged, exit 5, the learning rate named as the cause.
    func testHugeLearningRateEndsDivergedWithItsExitCode() throws {
        let out = dir.appendingPathComponent("lr10")
        let r = try runToEnd(["solve", "--out", out.path, "--set", "optimizer.lr=10"] + small)
        XCTAssertEqual(r.status, RunStatus.diverged.exitCode, r.stderr)
        XCTAssertTrue(r.stdout.split(separator: "\n").last?.hasPrefix("status: diverged") ?? false, r.stdout)
        XCTAssertTrue(r.stderr.contains("Likely cause: the learning rate"), r.stderr)
        let m = try metrics(out)
        XCTAssertEqual(m["status"] as? String, "diverged")
        XCTAssertEqual(m["divergence_cause"] as? String, "learning_rate")
        XCTAssertTrue(m["seconds_to_1e-6"] is NSNull)
    }

    /// `trainer.rollbacks`: a non-finite loss sends the weights and Adam back to the start of the
    /// epoch with half the learning rate, whether the training loss turned non-finite or val MSE
    /// exploded. lr = 10 does both within the first epoch; 2 halvings are not enough (the run still
    /// ends `diverged`, after saying so twice), up to 12 are (10 / 2^12 ≈ 2.4e-3, near the default
    /// 1e-3): the run then trains on at the rate that worked, which the history records.
    func testRollbacksHalveTheLearningRateUntilTheLossIsFinite() throws {
        let few = dir.appendingPathComponent("rollback2")
        let r2 = try runToEnd(["solve", "--out", few.path, "--set", "optimizer.lr=10", "--set", "trainer.rollbacks=2"] + small)
        XCTAssertEqual(r2.status, RunStatus.diverged.exitCode, r2.stderr)
        XCTAssertTrue(r2.stderr.contains("rollback 1 of 2") && r2.stderr.contains("rollback 2 of 2"), r2.stderr)
        XCTAssertFalse(r2.stderr.contains("rollback 3"), r2.stderr)
        XCTAssertTrue(r2.stderr.contains("training diverged"), "after the last rollback the run ends as before: \(r2.stderr)")

        let many = dir.appendingPathComponent("rollback12")
        let r = try runToEnd(["solve", "--out", many.path, "--set", "optimizer.lr=10", "--set", "trainer.rollbacks=12",
                              "--set", "trainer.max_epochs=2"] + small)
        XCTAssertNotEqual(r.status, RunStatus.diverged.exitCode, r.stderr)
        XCTAssertFalse(r.stderr.contains("training diverged"), r.stderr)
        let history = try String(contentsOf: many.appendingPathComponent("history.csv"), encoding: .utf8)
            .split(separator: "\n").dropFirst().map { $0.split(separator: ",", omittingEmptySubsequences: false) }
        XCTAssertEqual(history.count, 2)
        let rates = history.map { Double($0[2])! }
        let halvings = Int(Foundation.log2(10 / rates[0]).rounded())
        XCTAssertTrue((1...12).contains(halvings), "\(rates)")
        XCTAssertEqual(rates[0], 10 * Foundation.pow(0.5, Double(halvings)), accuracy: 1e-12)
        XCTAssertTrue(r.stderr.contains("rollback \(halvings) of 12"), r.stderr)
        XCTAssertTrue(r.stderr.contains("back to the weights at the start of epoch 1 with the learning rate halved to"), r.stderr)
        XCTAssertLessThanOrEqual(rates[1], rates[0], "the halved rate is kept for the rest of the attempt")
        for row in history { XCTAssertTrue(Double(row[3])!.isFinite && Double(row[4])!.isFinite, "\(row)") }
        XCTAssertEqual(Solver<InvestmentEconomy<Float>>.rollbacks(recordedRate: rates[0], plannedRate: 10), halvings,
                       "a resumed run recovers its rollbacks from the recorded learning rate")
    }

    /// A run whose every attempt fails the own-path check ends `failed` (exit 4) and has no time to
    /// the threshold, although a rejected attempt reached it. φ(Moments) at ν = 1.5, seed 1, lands on
    /// an explosive solution on its first attempt with the paper's start and full gradient (issue 10's
    /// example; the default's time-iteration steps solve it); with no restarts that is the end.
    func testRejectedAttemptEndsFailedWithoutATimeToThreshold() throws {
        let out = dir.appendingPathComponent("rejected")
        let r = try runToEnd(["solve", "--out", out.path, "--set", "network.phi=moments", "--set", "model.nu=1.5", "--seed", "1",
                              "--set", "trainer.max_restarts=0", "--set", "network.rho_output_scale=1", "--set", "method.next_policy_gradient=true",
                              "--set", "optimizer.lr=1e-3", "--set", "method.test_trajectories=2"])
        XCTAssertEqual(r.status, RunStatus.failed.exitCode, r.stderr)
        XCTAssertTrue(r.stderr.contains("own-path check failed"), r.stderr)
        let m = try metrics(out)
        XCTAssertEqual(m["status"] as? String, "failed")
        XCTAssertEqual(m["stop_reason"] as? String, StopReason.unverified.rawValue)
        XCTAssertTrue(m["seconds_to_1e-6"] is NSNull, "a rejected attempt's time leaked: \(m["seconds_to_1e-6"] ?? "missing")")
        XCTAssertTrue(m["seconds_to_threshold"] is NSNull)
        XCTAssertTrue(r.stdout.contains("no accepted solution"), r.stdout)
    }

    /// `report` shows no time for a run that is not solved and counts the statuses.
    func testReportShowsNoTimeForAFailedRunAndCountsStatuses() {
        func record(_ seed: UInt64, status: RunStatus, seconds: Double) -> RunRecord {
            RunRecord(folder: URL(fileURLWithPath: "/x/\(seed)"), label: "A", order: nil, seed: seed,
                      metrics: ["seconds": seconds, "seconds_to_1e-6": seconds, "test_mse": 1e-7, "params": 10],
                      stopReason: "", attempts: 1, status: status)
        }
        let onlyFailed = Report(records: [record(1, status: .failed, seconds: 5.36)])
        XCTAssertEqual(onlyFailed.rows[0].medians["seconds_to_1e-6"], .infinity)
        XCTAssertEqual(onlyFailed.rows[0].medians["seconds"], .infinity)
        XCTAssertFalse(onlyFailed.markdown().contains("5.36"), onlyFailed.markdown())
        let mixed = Report(records: [record(1, status: .solved, seconds: 2), record(2, status: .solved, seconds: 4),
                                     record(3, status: .notConverged, seconds: 1), record(4, status: .diverged, seconds: 0.5),
                                     record(5, status: .solved, seconds: 3)])
        XCTAssertEqual(mixed.rows[0].medians["seconds_to_1e-6"], 4)   // 2, 3, 4, ∞, ∞
        XCTAssertEqual(mixed.rows[0].statusText, "3 solved, 1 not_converged, 1 diverged")
        XCTAssertTrue(mixed.markdown().contains("3 solved, 1 not_converged, 1 diverged |"), mixed.markdown())
        XCTAssertTrue(mixed.csv().contains(",3,1,0,1\n"), mixed.csv())
    }
}
