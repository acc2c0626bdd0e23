import XCTest
import SymmetricEconomics
import SymmetricNetworks
#if canImport(FoundationXML)
import FoundationXML
#endif
import SymmetricTraining

/// End-to-end solves: accuracy against the exact LQ policy (closed form from eq. 20, `LQEquilibrium`), the run
/// folder, reproducibility from config.yaml, resume after SIGKILL, and the CLI's errors.
final class SolveTests: TemporaryFolderTestCase {
    override class var folderPrefix: String { "symdp-solve" }

    func config(_ overrides: [String]) throws -> RunConfig {
        var c = RunConfig()
        for o in overrides { try c.apply(override: o) }
        try c.validate()
        return c
    }

    func quietProgress() -> ProgressReporter { let p = ProgressReporter(forceTerminal: false); p.quiet = true; return p }

    /// φ(Identity) on the paper's N = 128 model reaches the exact LQ policy (paper Table 1:
    /// test MSE ~5e-7, policy error ~0.1 %).
    func testIdentitySolveMatchesTheExactLQPolicyAndWritesTheRunFolder() throws {
        let c = try config(["network.phi=identity", "method.omega_quadrature_nodes=3", "seed=3"])
        let folder = RunFolder(dir.appendingPathComponent("identity"))
        let s = try SolveRunner.solve(config: c, folder: folder, progress: quietProgress())
        XCTAssertEqual(s.stopReason, .threshold)
        XCTAssertLessThanOrEqual(s.valMSE, 1e-6)
        XCTAssertLessThan(s.testMSE, 2e-6)
        XCTAssertLessThan(try XCTUnwrap(s.policyRelError), 0.005)
        XCTAssertLessThan(try XCTUnwrap(s.policyAbsError), 2e-4)
        // u* = H0 + H1·mean X stays away from zero on the paper's paths: both relative errors agree
        XCTAssertEqual(s.policyRelErrorIllConditioned, false)
        XCTAssertEqual(try XCTUnwrap(s.policyScaledError), try XCTUnwrap(s.policyRelError), accuracy: 0.5 * s.policyRelError!)

        // every artefact of a run folder
        let fm = FileManager.default
        for name in ["config.yaml", "metrics.json", "history.csv", "test_results.csv", "best.safetensors", "last.safetensors",
                     "residuals.svg", "policy_paths.svg"] {
            XCTAssertTrue(fm.fileExists(atPath: folder.url.appendingPathComponent(name).path), name)
        }
        let m = try metrics(folder.url)
        for key in ["train_mse", "val_mse", "test_mse", "policy_abs_error", "policy_rel_error", "params", "epochs", "seconds",
                    "seconds_to_1e-6", "seed"] {
            XCTAssertNotNil(m[key], key)
        }
        XCTAssertEqual(m["params"] as? Int, 49_921)   // 49,408 weights (paper) + 513 biases
        let csv = try String(contentsOf: folder.testResults, encoding: .utf8).split(separator: "\n")
        XCTAssertEqual(csv.first, "trajectory,t,u_hat,residual,residual_rms,u_reference,mean_x,exact_u")
        XCTAssertEqual(csv.count, 1 + c.method.testTrajectories * (c.method.T + 1))
        let history = try String(contentsOf: folder.history, encoding: .utf8).split(separator: "\n")
        XCTAssertEqual(history.count, 1 + s.epochs)
        for plot in [folder.residualPlot, folder.policyPlot] {
            let svg = try String(contentsOf: plot, encoding: .utf8)
            XCTAssertTrue(svg.hasPrefix("<svg") || svg.hasPrefix("<?xml"))
            XCTAssertNotNil(try? XMLDocument(data: Data(svg.utf8)), "well-formed SVG")
        }

        // the resolved config reproduces the run; evaluate recomputes the same test metrics
        let again = RunFolder(dir.appendingPathComponent("again"))
        let s2 = try SolveRunner.solve(config: try RunConfig.load(path: folder.config.path), folder: again, progress: quietProgress())
        XCTAssertEqual(s2.testMSE, s.testMSE)
        XCTAssertEqual(s2.epochs, s.epochs)
        let e = try SolveRunner.evaluate(folder: folder, progress: quietProgress())
        XCTAssertEqual(e.testMSE, s.testMSE)
    }

    /// Steeper demand (α1 = 2) puts the steady state (x_ss = 0.406, `symdp lq`) below the start
    /// X_0 ≈ 0.9, so the exact policy H0 + H1·mean X changes sign on every test path: the paper's
    /// mean per-point |û − u*|/|u*| is dominated by those points. The run says so, and reports
    /// mean |û − u*| / mean |u*|, here recomputed from test_results.csv's own columns.
    func testPolicyErrorRelativeToThePolicysSizeWhenTheExactPolicyCrossesZero() throws {
        let baseline = URL(fileURLWithPath: #filePath).deletingLastPathComponent().appendingPathComponent("../../configs/baseline.yaml")
        var c = try RunConfig.load(path: baseline.path)
        for o in ["model.alpha_1=2", "network.phi=identity", "seed=13"] { try c.apply(override: o) }
        try c.validate()
        let folder = RunFolder(dir.appendingPathComponent("alpha1-2"))
        let s = try SolveRunner.solve(config: c, folder: folder, progress: quietProgress())
        XCTAssertEqual(s.status, .solved)
        XCTAssertEqual(s.policyRelErrorIllConditioned, true)
        let lines = try String(contentsOf: folder.testResults, encoding: .utf8).split(separator: "\n")
        let header = lines[0].split(separator: ",").map(String.init)
        let iu = try XCTUnwrap(header.firstIndex(of: "u_hat")), ie = try XCTUnwrap(header.firstIndex(of: "exact_u"))
        var absError = 0.0, size = 0.0, relative = 0.0, smallest = Double.infinity, signs = Set<Bool>()
        for line in lines.dropFirst() {
            let f = line.split(separator: ",", omittingEmptySubsequences: false)
            let u = try XCTUnwrap(Double(f[iu])), e = try XCTUnwrap(Double(f[ie]))
            absError += abs(u - e); size += abs(e); relative += abs(u - e) / abs(e); signs.insert(e > 0)
            smallest = min(smallest, abs(e))
        }
        let points = Double(lines.count - 1)
        XCTAssertEqual(signs.count, 2, "the exact policy takes both signs on the test paths")
        // φ(Identity)'s policy is the same for every firm, so the per-point mean of |u_i − u*| is |û − u*|
        XCTAssertEqual(try XCTUnwrap(s.policyScaledError), absError / size, accuracy: 1e-6)
        XCTAssertLessThan(try XCTUnwrap(s.policyScaledError), 0.005)
        // the paper's per-point relative error, recomputed: a mean of ratios whose denominators come
        // within 1 % of the policy's mean size of zero (the flag's definition)
        XCTAssertEqual(try XCTUnwrap(s.policyRelError), relative / points, accuracy: 1e-6 * relative / points)
        XCTAssertLessThan(smallest, 0.01 * size / points)
        let m = try metrics(folder.url)
        XCTAssertEqual(m["policy_rel_error_ill_conditioned"] as? Bool, true)
        XCTAssertEqual(try XCTUnwrap(m["policy_scaled_error"] as? Double), s.policyScaledError!, accuracy: 1e-12)
    }

    /// φ(Deep Sets) with the fused pooling op, at a smaller N and width to stay fast.
    func testDeepSetsSolveMatchesTheExactLQPolicy() throws {
        let c = try config(["model.N=32", "network.phi_hidden=64", "network.rho_hidden=64", "method.omega_quadrature_nodes=2",
                            "method.test_trajectories=8", "seed=1"])
        let s = try SolveRunner.solve(config: c, folder: RunFolder(dir.appendingPathComponent("deepsets")), progress: quietProgress())
        XCTAssertEqual(s.stopReason, .threshold)
        XCTAssertLessThan(s.testMSE, 5e-6)
        XCTAssertLessThan(try XCTUnwrap(s.policyRelError), 0.005)
    }

    func testDivergenceStopsCleanlyWithNullMetrics() throws {
        let c = try config(["network.phi=identity", "optimizer.lr=50", "trainer.max_epochs=5", "method.test_trajectories=2"])
        let folder = RunFolder(dir.appendingPathComponent("diverged"))
        let s = try SolveRunner.solve(config: c, folder: folder, progress: quietProgress())
        XCTAssertEqual(s.stopReason, .diverged)
        XCTAssertEqual(s.status, .diverged)
        let m = try metrics(folder.url)     // valid JSON even with NaN inside
        XCTAssertEqual(m["stop_reason"] as? String, StopReason.diverged.rawValue)
        XCTAssertEqual(m["status"] as? String, "diverged")
        // it diverged in the first epoch: no checkpoint holds weights worth measuring, so every
        // error metric is null (not the diverged network's numbers, not NaN)
        XCTAssertEqual(m["epochs"] as? Int, 0)
        XCTAssertFalse(FileManager.default.fileExists(atPath: folder.best.path))
        for key in ["train_mse", "val_mse", "test_mse", "policy_abs_error", "policy_rel_error", "seconds_to_1e-6", "seconds_to_threshold"] {
            XCTAssertTrue(m[key] is NSNull, "\(key) is \(m[key] ?? "missing"), expected null")
        }
    }

    // MARK: The command-line tool

    func testBadConfigExitsNonZeroNamingTheKeyAndWritesNothing() throws {
        let r = try run(["solve", "--set", "model.beta=1.5", "--out", dir.appendingPathComponent("never").path])
        XCTAssertNotEqual(r.process.terminationStatus, 0)
        let message = String(decoding: r.stderr.fileHandleForReading.readDataToEndOfFile(), as: UTF8.self)
        XCTAssertTrue(message.contains("model.beta"), message)
        XCTAssertFalse(FileManager.default.fileExists(atPath: dir.appendingPathComponent("never").path))

        let badFile = dir.appendingPathComponent("bad.yaml")
        try "model:\n  N: 16\n  betta: 0.9\n".write(to: badFile, atomically: true, encoding: .utf8)
        let r2 = try run(["solve", "--config", badFile.path])
        XCTAssertNotEqual(r2.process.terminationStatus, 0)
        let m2 = String(decoding: r2.stderr.fileHandleForReading.readDataToEndOfFile(), as: UTF8.self)
        XCTAssertTrue(m2.contains("model.betta") && m2.contains("model.beta"), m2)
        let r3 = try run(["solve", "--config", dir.appendingPathComponent("missing.yaml").path])
        XCTAssertNotEqual(r3.process.terminationStatus, 0)
        let r4 = try run(["evaluate", dir.appendingPathComponent("no-such-run").path])
        XCTAssertNotEqual(r4.process.terminationStatus, 0)
    }

    /// `symdp solve --resume` after SIGKILL mid-run gives exactly the uninterrupted run.
    func testResumeAfterSIGKILLReproducesTheUninterruptedRun() throws {
        let settings = ["--set", "network.phi=deepset", "--set", "model.N=16", "--set", "network.phi_hidden=32", "--set", "network.rho_hidden=32",
                        "--set", "trainer.max_epochs=8", "--set", "trainer.stopping_threshold=0", "--set", "method.test_trajectories=2",
                        "--set", "method.omega_quadrature_nodes=2", "--seed", "5"]
        let whole = dir.appendingPathComponent("whole"), killed = dir.appendingPathComponent("killed")
        // stopping_threshold 0: the run stops at max_epochs, not_converged (exit 3)
        XCTAssertEqual(try run(["solve", "--quiet", "--out", whole.path] + settings).process.terminationStatus, RunStatus.notConverged.exitCode)

        let r = try run(["solve", "--out", killed.path] + settings, wait: false)
        let last = killed.appendingPathComponent("last.safetensors")
        let deadline = Date().addingTimeInterval(60)
        while !FileManager.default.fileExists(atPath: last.path) && Date() < deadline && r.process.isRunning { usleep(2_000) }
        kill(r.process.processIdentifier, SIGKILL)
        r.process.waitUntilExit()
        XCTAssertEqual(r.process.terminationReason, .uncaughtSignal, "the run was killed before it finished")
        XCTAssertTrue(FileManager.default.fileExists(atPath: last.path), "a checkpoint was written before the kill")
        XCTAssertNoThrow(try Safetensors.read(from: last), "the checkpoint is whole: writes are atomic")

        XCTAssertEqual(try run(["solve", "--quiet", "--resume", killed.path]).process.terminationStatus, RunStatus.notConverged.exitCode)
        let a = try metrics(whole), b = try metrics(killed)
        for key in ["epochs", "train_mse", "val_mse", "test_mse", "policy_rel_error", "status"] {
            XCTAssertEqual("\(a[key]!)", "\(b[key]!)", key)
        }
    }

    /// A sweep started again skips finished runs (untouched) and completes the rest.
    func testSweepRestartsWithoutRedoingFinishedRuns() throws {
        let file = dir.appendingPathComponent("tiny.yaml")
        try """
        name: tiny
        set: {model.N: 8, network.phi: identity, network.rho_hidden: 16, trainer.max_epochs: 2, method.test_trajectories: 2}
        grid: {network.rho_layers: [1, 2]}
        seeds: [1, 2]
        out: \(dir.appendingPathComponent("out").path)
        """.write(to: file, atomically: true, encoding: .utf8)
        XCTAssertEqual(try run(["sweep", file.path, "--jobs", "2"]).process.terminationStatus, 0)
        let spec = try SweepSpec.load(path: file.path)
        let root = URL(fileURLWithPath: spec.out)
        let runs = try spec.runs()
        XCTAssertEqual(runs.count, 4)
        XCTAssertTrue(runs.allSatisfy { $0.status(in: root) == .finished })
        func stamp(_ r: SweepSpec.Run) throws -> Date {
            try FileManager.default.attributesOfItem(atPath: root.appendingPathComponent(r.folder).appendingPathComponent("metrics.json").path)[.modificationDate] as! Date
        }
        let before = try runs.map(stamp)
        try FileManager.default.removeItem(at: root.appendingPathComponent(runs[2].folder).appendingPathComponent("metrics.json"))
        XCTAssertEqual(runs[2].status(in: root), .interrupted)
        XCTAssertEqual(try run(["sweep", file.path]).process.terminationStatus, 0)
        XCTAssertTrue(runs.allSatisfy { $0.status(in: root) == .finished })
        let after = try runs.map(stamp)
        XCTAssertEqual(after[0], before[0]); XCTAssertEqual(after[1], before[1]); XCTAssertEqual(after[3], before[3])
        let report = try run(["report", root.path])
        let table = String(decoding: report.stdout.fileHandleForReading.readDataToEndOfFile(), as: UTF8.self)
        XCTAssertTrue(table.contains("base, network.rho_layers=1 | 2 |"), table)
    }
}
