import XCTest
import SymmetricTraining
import SymmetricNumerics
import Foundation

/// End-to-end solves of model files: the documentation's tutorial model (closed-form policy
/// u = A + B x + C mean(x), derived in docs/model-files.md) and the shipped investment model.
final class ModelFileSolveTests: TemporaryFolderTestCase {
    override class var folderPrefix: String { "symdp-modelfile" }

    static let repository = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent().deletingLastPathComponent()
    static let tutorial = repository.appendingPathComponent("docs/examples/capacity.yaml")

    func quiet() -> ProgressReporter { let p = ProgressReporter(forceTerminal: false); p.quiet = true; return p }

    func testTheDocumentationShowsTheTutorialFileVerbatim() throws {
        let doc = try String(contentsOf: Self.repository.appendingPathComponent("docs/model-files.md"), encoding: .utf8)
        let file = try String(contentsOf: Self.tutorial, encoding: .utf8)
        XCTAssertTrue(doc.contains("```yaml\n" + file + "```"), "docs/model-files.md must show docs/examples/capacity.yaml verbatim")
        XCTAssertLessThan(file.split(separator: "\n").count, 40, "the tutorial promises a model in under 40 lines")
    }

    /// The tutorial's firms choose investment by own capital and the mean: the fit must reach the
    /// closed-form policy within 0.5 % (the bar for a model file a reviewer writes).
    func testTutorialModelSolvesToItsClosedFormPolicy() throws {
        var c = RunConfig()
        try c.apply(override: "model.file=\(Self.tutorial.path)")
        try c.apply(override: "model.N=32")
        try c.apply(override: "method.omega_quadrature_nodes=3")
        try c.apply(override: "seed=2")
        try c.validate()
        let folder = RunFolder(dir.appendingPathComponent("capacity"))
        let s = try SolveRunner.solve(config: c, folder: folder, progress: quiet())
        XCTAssertEqual(s.stopReason, .threshold)
        XCTAssertLessThan(try XCTUnwrap(s.policyRelError), 0.005)
        XCTAssertLessThan(s.testMSE, 1e-5)

        // the run folder records the model: path, SHA-256, every parameter; the CSV has mean_x and the exact control
        let config = try String(contentsOf: folder.config, encoding: .utf8)
        XCTAssertTrue(config.contains("file: \(Self.tutorial.standardizedFileURL.path)"))
        XCTAssertTrue(config.contains("sha256: "))
        XCTAssertTrue(config.contains("N: 32.0"))
        XCTAssertTrue(config.contains("kappa: 0.2"))
        let header = try String(contentsOf: folder.testResults, encoding: .utf8).split(separator: "\n")[0]
        XCTAssertEqual(header, "trajectory,t,u_hat,residual,residual_rms,u_reference,mean_x,exact_u")
        // the folder's config reproduces the run's settings
        let reloaded = try RunConfig.load(path: folder.config.path)
        let m = try reloaded.compiledModel()
        XCTAssertEqual(m.N, 32)
        XCTAssertEqual(reloaded.modelOverrides["kappa"], 0.2)

        // a long simulation with the trained policy: mean capacity settles at the closed-form steady
        // state m = A / (δ − B − C) of m' = (1 − δ + B + C) m + A
        var sim = LongSimulation()
        sim.periods = 400; sim.burnIn = 100; sim.eulerEvery = 20
        let r = try sim.run(folder: folder, progress: quiet())
        let (A, B, C, delta) = (m.value(of: "A")!, m.value(of: "B")!, m.value(of: "C")!, m.value(of: "delta")!)
        let steady = A / (delta - B - C)
        let overall = try XCTUnwrap(r.summary["overall"] as? [String: Any])
        let meanX = try XCTUnwrap((overall["mean_x"] as? [String: Double])?["mean"])
        XCTAssertEqual(meanX, steady, accuracy: 0.005 * steady)
        XCTAssertLessThan(try XCTUnwrap(r.summary["euler_error_log10_mean"] as? Double), -2.5)
        if let bins = r.summary["euler_error_log10_by_x"] as? [[String: Double]] {
            // every Euler error point in exactly one decile of x
            XCTAssertEqual(bins.reduce(0) { $0 + Int($1["points"]!) }, r.summary["euler_error_points"] as? Int)
            XCTAssertEqual(bins.map { $0["max"]! }.max()!, try XCTUnwrap(r.summary["euler_error_log10_max"] as? Double), accuracy: 1e-12)
        }
        let gini = try XCTUnwrap((overall["gini_x"] as? [String: Double])?["mean"], "simulation.json has the Gini of x")
        XCTAssertTrue(gini > 0 && gini < 1, "\(gini)")
        for name in ["simulation.csv", "simulation.json", "policy_grid.csv", "policy.svg", "distribution.svg"] {
            XCTAssertTrue(FileManager.default.fileExists(atPath: folder.url.appendingPathComponent(name).path), name)
        }
    }

    /// A relative `model.file` in a config file is relative to that file (like a sweep's `base:`),
    /// whatever the working directory.
    func testARelativeModelFileIsRelativeToItsConfig() throws {
        let sub = dir.appendingPathComponent("configs")
        try FileManager.default.createDirectory(at: sub, withIntermediateDirectories: true)
        try FileManager.default.copyItem(at: Self.tutorial, to: dir.appendingPathComponent("capacity.yaml"))
        let config = sub.appendingPathComponent("run.yaml")
        try "model:\n  file: ../capacity.yaml\n  N: 8\n".write(to: config, atomically: true, encoding: .utf8)
        let c = try RunConfig.load(path: config.path)
        XCTAssertEqual(c.modelFile, dir.appendingPathComponent("capacity.yaml").standardizedFileURL.path)
        XCTAssertEqual(try c.compiledModel().N, 8)
        // the shipped Krusell–Smith config finds its model file from any working directory
        let ks = try RunConfig.load(path: Self.repository.appendingPathComponent("configs/krusell_smith.yaml").path)
        XCTAssertEqual(try ks.compiledModel().N, 1000)
    }

    /// `gini_<state>` in `symdp simulate`: closed forms and the O(n²) definition
    /// Σ_ij |x_i − x_j| / (2 n² mean).
    func testGiniMatchesClosedFormsAndTheDefinition() {
        XCTAssertEqual(LongSimulation.gini([3, 3, 3, 3]), 0, accuracy: 1e-15)
        XCTAssertEqual(LongSimulation.gini([0, 0, 0, 0, 5]), 4.0 / 5, accuracy: 1e-15)
        XCTAssertEqual(LongSimulation.gini((1...100).map(Double.init)), 99.0 / 300, accuracy: 1e-14)
        XCTAssertTrue(LongSimulation.gini([0, 0]).isNaN)
        var g = SeededGenerator(seed: 5)
        let x = (0..<257).map { _ in Foundation.exp(0.7 * g.normal()) }
        let mean = x.reduce(0, +) / Double(x.count)
        let pairs = x.reduce(0.0) { acc, a in acc + x.reduce(0.0) { $0 + abs(a - $1) } }
        XCTAssertEqual(LongSimulation.gini(x.shuffled()), pairs / (2 * Double(x.count * x.count) * mean), accuracy: 1e-12)
    }

    func testAnEditedModelFileIsRefusedWhenItsRunConfigIsReused() throws {
        let copy = dir.appendingPathComponent("m.yaml")
        try FileManager.default.copyItem(at: Self.tutorial, to: copy)
        var c = RunConfig()
        try c.apply(override: "model.file=\(copy.path)")
        let yaml = c.yaml()
        try (try String(contentsOf: copy, encoding: .utf8) + "\n# edited\n").write(to: copy, atomically: true, encoding: .utf8)
        let reloaded = try RunConfig.parse(yaml: yaml)
        XCTAssertThrowsError(try reloaded.compiledModel()) { XCTAssertTrue("\($0)".contains("has changed since this config was written"), "\($0)") }
    }

    func testUnknownAndOutOfBoundsParametersAreRejectedBeforeAnyWork() throws {
        var c = RunConfig()
        try c.apply(override: "model.file=\(Self.tutorial.path)")
        try c.apply(override: "model.kapa=0.3")
        XCTAssertThrowsError(try c.validate()) { XCTAssertTrue("\($0)".contains("Did you mean 'kappa'?"), "\($0)") }
        var d = RunConfig()
        try d.apply(override: "model.file=\(Self.tutorial.path)")
        try d.apply(override: "model.beta=1.2")
        XCTAssertThrowsError(try d.validate()) { e in
            XCTAssertTrue("\(e)".contains("above its maximum"), "\(e)")
            XCTAssertTrue("\(e)".contains("capacity.yaml:"), "names the file and line: \(e)")
        }
    }
}

/// Sweeps accept model files: `model.file` in `set`, the file's parameters in the grid.
final class ModelFileSweepTests: XCTestCase {
    func testASweepGridsOverAModelFilesParameters() throws {
        let yaml = """
        name: kappa
        set: {model.file: \(ModelFileSolveTests.tutorial.path), model.N: 16}
        grid: {model.kappa: [0.1, 0.3]}
        seeds: [1, 2]
        """
        let spec = try SweepSpec.parse(yaml: yaml)
        let runs = try spec.runs()
        XCTAssertEqual(runs.count, 4)
        XCTAssertEqual(Set(runs.map { $0.config.modelOverrides["kappa"]! }), [0.1, 0.3])
        XCTAssertTrue(runs.allSatisfy { $0.config.modelOverrides["N"] == 16 && $0.config.modelFile == ModelFileSolveTests.tutorial.path })
        XCTAssertThrowsError(try SweepSpec.parse(yaml: yaml.replacingOccurrences(of: "model.kappa", with: "model.kapa")).runs().forEach { try $0.config.validate() })
    }

    /// The Euler errors by deciles of the first agent state (`simulate`): each decile's range,
    /// count, mean and max, ties kept in one decile.
    func testEulerErrorsByDecileOfTheAgentState() {
        var g = SeededGenerator(seed: 3)
        var at = (0..<100).map(Double.init)
        at.seededShuffle(using: &g)
        let bins = LongSimulation.byDecile(of: at, at.map { -$0 })
        XCTAssertEqual(bins.count, 10)
        for (q, b) in bins.enumerated() {
            XCTAssertEqual(b["from"], Double(10 * q)); XCTAssertEqual(b["to"], Double(10 * q + 9))
            XCTAssertEqual(b["points"], 10); XCTAssertEqual(b["mean"]!, -Double(10 * q) - 4.5, accuracy: 1e-12)
            XCTAssertEqual(b["max"], -Double(10 * q))
        }
        // 30 households at the borrowing limit: one decile holds them all
        let limit = Array(repeating: 0.0, count: 30) + (1...70).map(Double.init)
        let tied = LongSimulation.byDecile(of: limit, limit)
        XCTAssertEqual(tied.first?["points"], 30)
        XCTAssertEqual(tied.first?["to"], 0)
        XCTAssertEqual(tied.reduce(0) { $0 + $1["points"]! }, 100)
        XCTAssertEqual(tied.count, 8, "the three lowest deciles are one")
    }
}
