import XCTest
import Foundation
import SymmetricEconomics
import SymmetricTraining

/// Configuration, JSON and files of `symdp lq` and `symdp concentration`.
final class LQCommandTests: XCTestCase {
    func configError(_ overrides: [String], file: String? = nil) -> ConfigError? {
        do { _ = try RunConfig.resolve(file: file, overrides: overrides, for: .lq); return nil } catch let e as ConfigError { return e } catch {
            XCTFail("expected a ConfigError, got \(error)"); return nil
        }
    }

    /// Invalid values are rejected with a message naming the key.
    func testInvalidValuesNameTheKey() {
        let cases: [(String, String)] = [
            ("model.beta=1", "model.beta"), ("model.beta=0", "model.beta"), ("model.gamma=0", "model.gamma"),
            ("model.gamma=-3", "model.gamma"), ("model.N=0", "model.N"), ("model.nu=1.5", "model.nu"),
            ("model.zeta=2", "model.zeta"), ("model.mu=0.05", "model.mu"), ("model.delta=1.5", "model.delta"),
            ("model.alpha_1=-1", "model.alpha_1"), ("model.N=abc", "model.N"), ("model.sigma=-1", "model.sigma"),
        ]
        for (override, key) in cases {
            let e = configError([override])
            XCTAssertEqual(e?.key, key, override)
            XCTAssertTrue(e?.description.contains(key) ?? false, "\(String(describing: e))")
        }
    }

    func testUnknownKeysAreRejectedWithASuggestion() {
        let e = configError(["model.gama=1"])
        XCTAssertEqual(e?.key, "model.gama")
        XCTAssertTrue(e?.message.contains("model.gamma") ?? false, "\(String(describing: e))")
        XCTAssertEqual(configError(["modl.N=3"])?.key, "modl.N")
        XCTAssertEqual(configError(["model.N"])?.key, "model.N", "an override without '=' is an error")
    }

    /// File first, then overrides in order.
    func testOverridesApplyAfterTheFile() throws {
        let dir = try temporaryFolder("symdp-lqcfg")
        defer { try? FileManager.default.removeItem(at: dir) }
        let file = dir.appendingPathComponent("c.yaml")
        try "model:\n  N: 64\n  gamma: 50\n".write(to: file, atomically: true, encoding: .utf8)
        let c = try RunConfig.resolve(file: file.path, overrides: ["model.N=8"], for: .lq)
        XCTAssertEqual(c.model.N, 8)
        XCTAssertEqual(c.model.gamma, 50)
        try "model:\n  nu: 1.5\n".write(to: file, atomically: true, encoding: .utf8)
        XCTAssertEqual(configError([], file: file.path)?.key, "model.nu")
    }

    /// The JSON of `symdp lq` has the documented keys for both methods, and the routes agree.
    func testLQJSONHasTheDocumentedKeys() throws {
        var cfg = RunConfig(); cfg.model.N = 16
        var values: [String: [String: Any]] = [:]
        for method in LQMethod.allCases {
            let text = try LQReport.run(config: cfg, method: method).json()
            let object = try XCTUnwrap(JSONSerialization.jsonObject(with: Data(text.utf8)) as? [String: Any])
            for key in ["H0", "H1", "H0_explosive", "H1_explosive", "x_ss", "method", "N", "seconds", "p1", "p2", "p3", "p4", "p5", "d"] {
                XCTAssertNotNil(object[key], "\(method): missing \(key)")
            }
            XCTAssertEqual(object["method"] as? String, method.rawValue)
            XCTAssertEqual(object["N"] as? Int, 16)
            values[method.rawValue] = object
        }
        let a = try XCTUnwrap(values["closed-form"]?["H1"] as? Double), b = try XCTUnwrap(values["riccati"]?["H1"] as? Double)
        XCTAssertEqual(a, b, accuracy: 1e-9)
        XCTAssertNotNil(values["riccati"]?["riccati_solves"])
    }

    /// `symdp concentration` writes a CSV, an SVG plot and a summary, and prints a JSON list, and
    /// they hold the right numbers: the analytic columns are eq. (35) βσ|α1 − γ(1−δ)H1|/√N and
    /// eq. (33) σ|H1|/√N with the closed-form H1, the Monte Carlo columns agree with them to
    /// sampling error, and the CSV, the JSON and summary.json carry the same values.
    func testConcentrationWritesCSVPlotAndJSON() throws {
        let dir = try temporaryFolder("symdp-conc", create: false)
        defer { try? FileManager.default.removeItem(at: dir) }
        let draws = 200
        let result = try ConcentrationExperiment(config: RunConfig(), Ns: [16, 256], draws: draws).run()
        let files = try result.write(to: dir)
        XCTAssertTrue(files.map(\.lastPathComponent).contains("concentration.csv"))

        // the numbers, from the closed form
        let m = RunConfig().model
        let H1 = try LQEquilibrium(model: m).H1
        XCTAssertEqual(result.H1, H1)
        for (row, N) in zip(result.rows, [16, 256]) {
            XCTAssertEqual(row.N, N)
            XCTAssertEqual(row.draws, draws)
            XCTAssertEqual(row.stdResidualAnalytic, m.beta * m.sigma * abs(m.alpha1 - m.gamma * (1 - m.delta) * H1) / Double(N).squareRoot(),
                           accuracy: 1e-12 * row.stdResidualAnalytic)
            XCTAssertEqual(row.stdPolicyAnalytic, m.sigma * abs(H1) / Double(N).squareRoot(), accuracy: 1e-12 * row.stdPolicyAnalytic)
            // a sample std of `draws` normal values has relative standard error ≈ 1/√(2·draws) = 5 %: allow 4 of them
            let tolerance = 4 / (2 * Double(draws)).squareRoot()
            XCTAssertEqual(row.stdResidualMC / row.stdResidualAnalytic, 1, accuracy: tolerance, "N = \(N)")
            XCTAssertEqual(row.stdPolicyMC / row.stdPolicyAnalytic, 1, accuracy: tolerance, "N = \(N)")
        }

        // the CSV holds those values
        let csv = try String(contentsOf: dir.appendingPathComponent("concentration.csv"), encoding: .utf8)
        let lines = csv.split(separator: "\n").map { $0.split(separator: ",").map(String.init) }
        XCTAssertEqual(lines.first, ["N", "draws", "std_residual_mc", "std_residual_analytic", "std_policy_mc", "std_policy_analytic", "mean_residual_mc"])
        XCTAssertEqual(lines.count, 3)
        for (line, row) in zip(lines.dropFirst(), result.rows) {
            XCTAssertEqual(line.count, 7)
            XCTAssertEqual(Int(line[0]), row.N)
            XCTAssertEqual(Int(line[1]), row.draws)
            XCTAssertEqual(Double(line[2]), row.stdResidualMC)
            XCTAssertEqual(Double(line[3]), row.stdResidualAnalytic)
            XCTAssertEqual(Double(line[4]), row.stdPolicyMC)
            XCTAssertEqual(Double(line[5]), row.stdPolicyAnalytic)
            XCTAssertEqual(Double(line[6]), row.meanResidualMC)
        }
        let svg = try String(contentsOf: dir.appendingPathComponent("concentration.svg"), encoding: .utf8)
        XCTAssertTrue(svg.contains("<svg") && svg.contains("Monte Carlo"))

        // the JSON list and summary.json carry the same numbers, and the slopes of the two points
        let list = try XCTUnwrap(JSONSerialization.jsonObject(with: Data(result.json().utf8)) as? [[String: Any]])
        XCTAssertEqual(list.count, 2)
        // (Foundation's JSON reader on Linux may round the last digit: compare to 1e-14)
        func same(_ any: Any?, _ x: Double, _ what: String) throws {
            XCTAssertEqual(try XCTUnwrap(any as? Double, what), x, accuracy: 1e-14 * abs(x), what)
        }
        for (object, row) in zip(list, result.rows) {
            XCTAssertEqual(object["N"] as? Int, row.N)
            try same(object["std_residual_mc"], row.stdResidualMC, "std_residual_mc")
            try same(object["std_residual_analytic"], row.stdResidualAnalytic, "std_residual_analytic")
            try same(object["std_policy_mc"], row.stdPolicyMC, "std_policy_mc")
            try same(object["std_policy_analytic"], row.stdPolicyAnalytic, "std_policy_analytic")
        }
        let summary = try XCTUnwrap(JSONSerialization.jsonObject(with: Data(contentsOf: dir.appendingPathComponent("summary.json"))) as? [String: Any])
        try same(summary["H1"], H1, "H1")
        let slope = log(result.rows[1].stdResidualMC / result.rows[0].stdResidualMC) / log(256.0 / 16)
        XCTAssertEqual(try XCTUnwrap(summary["slope_residual"] as? Double), slope, accuracy: 1e-9)
        XCTAssertEqual(slope, -0.5, accuracy: 0.1, "1/√N between N = 16 and 256")
        XCTAssertEqual((summary["rows"] as? [[String: Any]])?.count, 2)
    }

    func testConcentrationRejectsBadOptions() {
        func key(_ e: ConcentrationExperiment) -> String? {
            do { try e.validate(); return nil } catch let c as ConfigError { return c.key } catch { return "?" }
        }
        XCTAssertEqual(key(ConcentrationExperiment(config: RunConfig(), Ns: [16], draws: 1)), "--draws")
        XCTAssertEqual(key(ConcentrationExperiment(config: RunConfig(), Ns: [0, 16], draws: 10)), "--N")
        var cfg = RunConfig(); cfg.method.omegaQuadratureNodes = 0
        XCTAssertEqual(key(ConcentrationExperiment(config: cfg, Ns: [16], draws: 10)), "method.omega_quadrature_nodes")
    }
}
