import XCTest
import SymmetricTraining

/// Sweeps enumerate configurations × grid × seeds deterministically; shards partition them;
/// reports take medians over seeds.
final class SweepTests: XCTestCase {
    let text = """
    name: study
    set:
      model.N: 16
      network.phi: identity
    configurations:
      - name: Baseline
      - name: Thin (64 nodes)
        set: {network.rho_hidden: 64}
    grid:
      model.nu: [1.0, 1.5]
    seeds: {from: 1, to: 3}
    """

    func testRunsAreConfigurationsTimesGridTimesSeedsInAFixedOrder() throws {
        let spec = try SweepSpec.parse(yaml: text)
        let runs = try spec.runs()
        XCTAssertEqual(runs.count, 2 * 2 * 3)
        XCTAssertEqual(runs.map(\.index), Array(0..<12))
        XCTAssertEqual(runs[0].folder, "Baseline/model.nu=1.0/seed-1")
        XCTAssertEqual(runs[11].folder, "Thin_64_nodes/model.nu=1.5/seed-3")
        XCTAssertEqual(runs[11].config.network.rhoHidden, 64)
        XCTAssertEqual(runs[11].config.model.nu, 1.5)
        XCTAssertEqual(runs[11].config.model.N, 16)
        XCTAssertEqual(runs[11].seed, 3)
        XCTAssertEqual(runs[0].config.network.rhoHidden, 128)
        XCTAssertEqual(Set(runs.map(\.folder)).count, runs.count, "every run has its own folder")
        XCTAssertEqual(runs[3].label, "Baseline, model.nu=1.5")
    }

    func testShardsAreDisjointAndComplete() throws {
        let spec = try SweepSpec.parse(yaml: text)
        for n in [1, 2, 5, 12, 20] {
            let shards = try (0..<n).map { try spec.runs(shard: $0, of: n).map(\.index) }
            XCTAssertEqual(shards.flatMap { $0 }.sorted(), Array(0..<12), "n = \(n)")
            XCTAssertEqual(try spec.runs(shard: 0, of: n).map(\.index), shards[0], "deterministic")
        }
    }

    func testBadSweepFilesNameTheProblem() {
        XCTAssertThrowsError(try SweepSpec.parse(yaml: "grd:\n  model.N: [1]\n")) { XCTAssertTrue("\($0)".contains("grid")) }
        XCTAssertThrowsError(try SweepSpec.parse(yaml: "grid:\n  model.beta: [0.9, 1.5]\n")) { XCTAssertEqual(($0 as! ConfigError).key, "model.beta") }
        XCTAssertThrowsError(try SweepSpec.parse(yaml: "grid:\n  model.nonsense: [1]\n")) { XCTAssertEqual(($0 as! ConfigError).key, "model.nonsense") }
        XCTAssertThrowsError(try SweepSpec.parse(yaml: "seeds: [a, b]\n"))
        XCTAssertThrowsError(try SweepSpec.parse(yaml: "configurations:\n  - set: {model.N: 3}\n"))
    }

    func testReportTakesMediansOverSeedsAndCountsSuccesses() {
        func record(_ label: String, _ seed: UInt64, test: Double, seconds: Double, ok: Bool, attempts: Int = 1) -> RunRecord {
            RunRecord(folder: URL(fileURLWithPath: "/x/\(label)/\(seed)"), label: label, order: nil, seed: seed,
                      metrics: ["test_mse": test, "seconds": seconds, "params": 100],
                      stopReason: ok ? StopReason.threshold.rawValue : StopReason.maxEpochs.rawValue, attempts: attempts)
        }
        let records = [record("A", 1, test: 1e-7, seconds: 3, ok: true), record("A", 2, test: 5e-7, seconds: 1, ok: true, attempts: 2),
                       record("A", 3, test: 1e-3, seconds: 9, ok: false), record("B", 1, test: 2e-7, seconds: 2, ok: true)]
        let all = Report(records: records)
        XCTAssertEqual(all.rows.map(\.label), ["A", "B"])
        XCTAssertEqual(all.rows[0].medians["test_mse"], 5e-7)
        XCTAssertEqual(all.rows[0].medians["seconds"], 3)
        XCTAssertEqual(all.rows[0].successes, 2)
        XCTAssertEqual(all.rows[0].firstAttemptSuccesses, 1)
        let ok = Report(records: records, successfulOnly: true)
        XCTAssertEqual(ok.rows[0].medians["test_mse"], 3e-7)   // median of 1e-7 and 5e-7
        XCTAssertTrue(all.markdown().contains("| A | 3 | 67% | 33% |"))
        XCTAssertTrue(all.latex().contains("\\toprule") && all.latex().contains("$5.0 \\times 10^{-7}$"))
        XCTAssertEqual(all.csv().split(separator: "\n").count, 3)
    }

    /// A run whose test paths blew up has no test MSE (null in metrics.json): it counts as +∞ in
    /// the median instead of silently dropping out; a metric no run has (policy error at ν ≠ 1)
    /// stays blank.
    func testFailedRunsCountAsInfiniteInTheMedian() {
        func record(_ seed: UInt64, test: Double?, toThreshold: Double?) -> RunRecord {
            var m: [String: Double] = ["seconds": 5, "params": 100]
            m["test_mse"] = test
            m["seconds_to_1e-6"] = toThreshold
            // a run with a time to the threshold reached it; the others stopped at max_epochs
            return RunRecord(folder: URL(fileURLWithPath: "/x/\(seed)"), label: "A", order: nil, seed: seed, metrics: m,
                             stopReason: (toThreshold == nil ? StopReason.maxEpochs : StopReason.threshold).rawValue, attempts: 1)
        }
        let oneFailure = Report(records: [record(1, test: 1e-7, toThreshold: 2), record(2, test: 3e-7, toThreshold: 4),
                                          record(3, test: nil, toThreshold: nil)])
        XCTAssertEqual(oneFailure.rows[0].medians["test_mse"], 3e-7)   // 1e-7, 3e-7, ∞ — not the median of two
        XCTAssertEqual(oneFailure.rows[0].medians["seconds_to_1e-6"], 4)
        XCTAssertNil(oneFailure.rows[0].medians["policy_rel_error"])
        let mostlyFailed = Report(records: [record(1, test: 1e-7, toThreshold: 2), record(2, test: nil, toThreshold: nil),
                                            record(3, test: nil, toThreshold: nil)])
        XCTAssertEqual(mostlyFailed.rows[0].medians["test_mse"], .infinity)
        XCTAssertTrue(mostlyFailed.markdown().contains("| ∞ |"))
        XCTAssertTrue(mostlyFailed.latex().contains("$\\infty$"))
    }
}
