import Foundation
import SymmetricNumerics
import SymmetricEconomics

extension RunConfig {
    /// The configuration a command runs with: defaults, then the YAML file (if any), then the
    /// `section.key=value` overrides in order, then the range checks for `purpose`.
    public static func resolve(file: String?, overrides: [String], for purpose: Purpose) throws -> RunConfig {
        var config = try file.map { try RunConfig.load(path: $0) } ?? RunConfig()
        for o in overrides { try config.apply(override: o) }
        try config.validate(for: purpose)
        return config
    }
}

/// How `symdp lq` finds the equilibrium.
public enum LQMethod: String, CaseIterable, Sendable {
    /// The stable root of the Euler quadratic, O(1) in N (coefficients matched in eq. 20; `LQEquilibrium`).
    case closedForm = "closed-form"
    /// The paper's classical route: Riccati equation (D.6) in N+2 states and a root-find on (H0, H1), O(N³).
    case riccati
}

/// Monotonic wall clock in seconds.
func monotonicSeconds() -> Double { Double(DispatchTime.now().uptimeNanoseconds) * 1e-9 }

/// What `symdp lq` prints: the equilibrium, the explosive root, the steady state, the value
/// function coefficients of App. D.4 and the time taken; for the Riccati route also its diagnostics.
public struct LQReport: Encodable {
    public var method: LQMethod
    public var N: Int
    /// Depreciation δ of the model (for the stability factor 1−δ+H1).
    public var delta: Double
    public var H0: Double, H1: Double
    /// The explosive root of the Euler quadratic (nil when there is only one root).
    public var H0Explosive: Double?, H1Explosive: Double?
    public var xSS: Double?
    public var p1: Double, p2: Double, p3: Double, p4: Double, p5: Double, d: Double
    /// Wall-clock seconds of the solve.
    public var seconds: Double
    /// Riccati route only.
    public var riccati: Diagnostics?
    /// Largest |difference| in (H0, H1) between the Riccati route and the closed form (Riccati only).
    public var differenceFromClosedForm: Double?

    public struct Diagnostics {
        public var riccatiSolves: Int, doublingIterations: Int
        public var warmStartN: Int?, warmStartRiccatiSolves: Int
        public var fixedPointResidual: Double, riccatiResidual: Double
        public var feedbackAsymmetry: Double, structureDeviation: Double
    }

    /// Solves the LQ benchmark for `config.model` with `method`.
    /// - Parameter coldStart: Riccati route only: root-find at N from (0, 0) instead of from the
    ///   equilibrium of the same route at N = 1.
    public static func run(config: RunConfig, method: LQMethod, coldStart: Bool = false) throws -> LQReport {
        let model = config.model
        let start = monotonicSeconds()
        let exact = try LQEquilibrium(model: model)
        let closedSeconds = monotonicSeconds() - start
        func finite(_ x: Double) -> Double? { x.isFinite ? x : nil }
        var report = LQReport(method: method, N: model.N, delta: model.delta, H0: exact.H0, H1: exact.H1,
                              H0Explosive: finite(exact.H0Explosive), H1Explosive: finite(exact.H1Explosive),
                              xSS: finite(exact.steadyState),
                              p1: exact.p1, p2: exact.p2, p3: exact.p3, p4: exact.p4, p5: exact.p5, d: exact.d,
                              seconds: closedSeconds)
        guard method == .riccati else { return report }
        var options = LQRiccati.Options()
        if coldStart { options.warmStartN = nil }
        let t0 = monotonicSeconds()
        let eq = try LQRiccati.equilibrium(model: model, options: options)
        report.seconds = monotonicSeconds() - t0
        report.H0 = eq.H0; report.H1 = eq.H1; report.xSS = finite(eq.steadyState)
        (report.p1, report.p2, report.p3, report.p4, report.p5, report.d) = (eq.p1, eq.p2, eq.p3, eq.p4, eq.p5, eq.d)
        report.riccati = Diagnostics(riccatiSolves: eq.riccatiSolves, doublingIterations: eq.doublingIterations,
                                     warmStartN: eq.warmStartN, warmStartRiccatiSolves: eq.warmStartRiccatiSolves,
                                     fixedPointResidual: eq.fixedPointResidual, riccatiResidual: eq.riccatiResidual,
                                     feedbackAsymmetry: eq.feedbackAsymmetry, structureDeviation: eq.structureDeviation)
        report.differenceFromClosedForm = max(abs(eq.H0 - exact.H0), abs(eq.H1 - exact.H1))
        return report
    }

    enum Key: String, CodingKey {
        case H0, H1, H0_explosive, H1_explosive, x_ss, method, N, seconds, p1, p2, p3, p4, p5, d
        case riccati_solves, doubling_iterations, warm_start_N, warm_start_riccati_solves
        case fixed_point_residual, riccati_residual, F_asymmetry, P_structure_deviation, difference_from_closed_form
    }

    public func encode(to encoder: Encoder) throws {
        var c = encoder.container(keyedBy: Key.self)
        try c.encode(H0, forKey: .H0); try c.encode(H1, forKey: .H1)
        try c.encode(H0Explosive, forKey: .H0_explosive); try c.encode(H1Explosive, forKey: .H1_explosive)
        try c.encode(xSS, forKey: .x_ss)
        try c.encode(method.rawValue, forKey: .method); try c.encode(N, forKey: .N)
        try c.encode(seconds, forKey: .seconds)
        try c.encode(p1, forKey: .p1); try c.encode(p2, forKey: .p2); try c.encode(p3, forKey: .p3)
        try c.encode(p4, forKey: .p4); try c.encode(p5, forKey: .p5); try c.encode(d, forKey: .d)
        if let r = riccati {
            try c.encode(r.riccatiSolves, forKey: .riccati_solves)
            try c.encode(r.doublingIterations, forKey: .doubling_iterations)
            try c.encode(r.warmStartN, forKey: .warm_start_N)
            try c.encode(r.warmStartRiccatiSolves, forKey: .warm_start_riccati_solves)
            try c.encode(r.fixedPointResidual, forKey: .fixed_point_residual)
            try c.encode(r.riccatiResidual.isFinite ? r.riccatiResidual : nil, forKey: .riccati_residual)
            try c.encode(r.feedbackAsymmetry, forKey: .F_asymmetry)
            try c.encode(r.structureDeviation, forKey: .P_structure_deviation)
            try c.encode(differenceFromClosedForm, forKey: .difference_from_closed_form)
        }
    }

    /// Pretty-printed JSON with the keys of `Key`.
    public func json() throws -> String {
        let encoder = JSONEncoder()
        encoder.outputFormatting = [.prettyPrinted, .sortedKeys]
        return String(decoding: try encoder.encode(self), as: UTF8.self)
    }

    /// The human-readable report.
    public var text: String {
        func num(_ x: Double?) -> String { x.map { String(format: "% .15g", $0) } ?? "   —" }
        var lines: [String] = []
        let title = method == .closedForm ? "closed form (stable root of the Euler quadratic, O(1) in N)"
                                          : "Riccati route (eq. D.6 by doubling, root-find on eq. 31, O(N³))"
        lines.append("LQ equilibrium, N = \(N): \(title)")
        lines.append("  u(X) = H0 + H1·mean(X)")
        lines.append("  H0            \(num(H0))")
        lines.append("  H1            \(num(H1))   (1−δ+H1 = \(String(format: "%.6g", 1 - delta + H1)): stable)")
        let explosive = H1Explosive.map { String(format: "   (1−δ+H1 = %.6g)", 1 - delta + $0) } ?? ""
        lines.append("  explosive     H0 = \(num(H0Explosive)), H1 = \(num(H1Explosive))\(explosive)" + (method == .riccati ? ", the other root of the Euler quadratic" : ""))
        lines.append("  x_ss          \(num(xSS))   (steady state H0/(δ − H1))")
        lines.append("  v(x, X) = −(p1 + d + 2p2·x + 2p3·m + 2p4·x·m + p5·m²), m = mean(X)   (App. D.4)")
        lines.append("  p1 … p5       \([p1, p2, p3, p4, p5].map { String(format: "%.10g", $0) }.joined(separator: ", "))")
        lines.append("  d             \(String(format: "%.10g", d))   (eq. D.7)")
        if let r = riccati {
            let warm = r.warmStartN.map { " after \(r.warmStartRiccatiSolves) at N = \($0) (warm start)" } ?? " (cold start from H0 = H1 = 0)"
            lines.append("  Riccati solves \(r.riccatiSolves) at N = \(N)\(warm); \(r.doublingIterations) doubling steps at N")
            lines.append(String(format: "  residuals     fixed point %.1e, eq. (D.6) %.1e (relative)", r.fixedPointResidual, r.riccatiResidual))
            lines.append(String(format: "  symmetry      F vs eq. (31) %.1e, P vs eq. (D.12) %.1e (relative)", r.feedbackAsymmetry, r.structureDeviation))
            if let diff = differenceFromClosedForm { lines.append(String(format: "  vs closed form max |ΔH| = %.1e", diff)) }
        }
        lines.append(String(format: "  seconds       %.3g", seconds))
        return lines.joined(separator: "\n")
    }
}

/// Fig. 1 of the paper (§4.1, eq. 35): the standard deviation of the one-draw Euler residual and
/// of the one-draw policy `u_LQ(X')` against N, Monte Carlo next to the analytic values.
public struct ConcentrationExperiment {
    public var config: RunConfig
    public var Ns: [Int]
    public var draws: Int

    public init(config: RunConfig, Ns: [Int], draws: Int) {
        self.config = config; self.Ns = Ns; self.draws = draws
    }

    /// Rejects settings that cannot give a standard deviation, naming the option or key.
    public func validate() throws {
        guard !Ns.isEmpty else { throw ConfigError(key: "--N", "give at least one N, e.g. --N 16,128,1024,10000") }
        if let bad = Ns.first(where: { $0 < 1 }) { throw ConfigError(key: "--N", "every N must be ≥ 1, got \(bad)") }
        let memory = Double(ProcessInfo.processInfo.physicalMemory)
        if let big = Ns.first(where: { 16 * Double($0) > 0.5 * memory }) {
            throw ConfigError(key: "--N", "N = \(big) firms need \(String(format: "%.3g", 16 * Double(big) / 1073741824)) GiB for X and W; lower it")
        }
        guard draws >= 2 else { throw ConfigError(key: "--draws", "need at least 2 draws for a standard deviation, got \(draws)") }
        let nodes = config.method.omegaQuadratureNodes
        guard nodes >= 1 && nodes <= 50 else { throw ConfigError(key: "method.omega_quadrature_nodes", "\(nodes) is out of range; need 1 to 50 nodes") }
        guard config.method.T >= 0 else { throw ConfigError(key: "method.T", "\(config.method.T) is out of range; need T ≥ 0 steps") }
        guard config.method.X0Scale >= 0 else { throw ConfigError(key: "method.X_0_scale", "need ≥ 0") }
    }

    public func run() throws -> ConcentrationResult {
        try validate()
        let start = monotonicSeconds()
        let eq = try LQEquilibrium(model: config.model)
        let c = LQConcentration(equilibrium: eq, quadratureNodes: config.method.omegaQuadratureNodes)
        let rows = c.figure(Ns: Ns, draws: draws, steps: config.method.T, loc: config.method.X0Loc,
                            scale: config.method.X0Scale, seed: config.seed)
        return ConcentrationResult(rows: rows, H1: eq.H1, seconds: monotonicSeconds() - start)
    }
}

/// The measurements of Fig. 1 and how to show them.
public struct ConcentrationResult {
    public var rows: [LQConcentration.Measurement]
    public var H1: Double
    public var seconds: Double

    /// Fitted slopes of log std against log N (−1/2 for 1/√N); nil with fewer than two distinct N.
    public var residualSlope: Double? { slope(\.stdResidualMC) }
    public var policySlope: Double? { slope(\.stdPolicyMC) }

    func slope(_ kp: KeyPath<LQConcentration.Measurement, Double>) -> Double? {
        guard Set(rows.map(\.N)).count >= 2 else { return nil }
        return LQConcentration.logLogSlope(x: rows.map { Double($0.N) }, y: rows.map { $0[keyPath: kp] })
    }

    public var csv: CSVTable {
        var t = CSVTable(header: ["N", "draws", "std_residual_mc", "std_residual_analytic", "std_policy_mc", "std_policy_analytic", "mean_residual_mc"])
        for r in rows { t.append([r.N, r.draws, r.stdResidualMC, r.stdResidualAnalytic, r.stdPolicyMC, r.stdPolicyAnalytic, r.meanResidualMC]) }
        return t
    }

    /// Both series against N on log-log axes: Monte Carlo (markers) and analytic (dashed).
    public var plot: LinePlot {
        var p = LinePlot(title: "Concentration of measure, one draw of W (LQ, eq. 35)", xLabel: "N (firms)",
                         yLabel: "standard deviation", xLog: true, yLog: true)
        p.legendPosition = .bottomLeft   // both series fall from top left to bottom right
        let x = rows.map { Double($0.N) }
        p.series = [
            Series(x: x, y: rows.map(\.stdResidualMC), label: "Euler residual ε, Monte Carlo", color: LinePlot.palette[0], markers: true),
            Series(x: x, y: rows.map(\.stdResidualAnalytic), label: "βσ|α1 − γ(1−δ)H1|/√N", color: LinePlot.palette[0], dashed: true),
            Series(x: x, y: rows.map(\.stdPolicyMC), label: "policy u(X'), Monte Carlo", color: LinePlot.palette[1], markers: true),
            Series(x: x, y: rows.map(\.stdPolicyAnalytic), label: "σ|H1|/√N", color: LinePlot.palette[1], dashed: true),
        ]
        return p
    }

    /// JSON list of {N, std_residual_mc, std_residual_analytic, std_policy_mc, std_policy_analytic, draws}.
    public func json() -> String {
        func f(_ x: Double) -> String { x.isFinite ? "\(x)" : "null" }
        let objects = rows.map { r in
            "{\"N\": \(r.N), \"std_residual_mc\": \(f(r.stdResidualMC)), \"std_residual_analytic\": \(f(r.stdResidualAnalytic)), "
                + "\"std_policy_mc\": \(f(r.stdPolicyMC)), \"std_policy_analytic\": \(f(r.stdPolicyAnalytic)), \"draws\": \(r.draws)}"
        }
        return "[\n  " + objects.joined(separator: ",\n  ") + "\n]"
    }

    /// The table printed by `symdp concentration`.
    public var table: String {
        var s = "Concentration of measure (LQ, one draw of W, Gauss–Hermite over ω), H1 = \(String(format: "%.6g", H1))\n"
        s += pad("N", 8) + pad("draws", 7) + pad("std ε (MC)", 13) + pad("analytic", 12) + pad("ratio", 8)
            + pad("std u' (MC)", 13) + pad("analytic", 12) + pad("ratio", 8) + "\n"
        for r in rows {
            s += pad("\(r.N)", 8) + pad("\(r.draws)", 7)
                + pad(String(format: "%.3e", r.stdResidualMC), 13) + pad(String(format: "%.3e", r.stdResidualAnalytic), 12)
                + pad(String(format: "%.3f", r.stdResidualMC / r.stdResidualAnalytic), 8)
                + pad(String(format: "%.3e", r.stdPolicyMC), 13) + pad(String(format: "%.3e", r.stdPolicyAnalytic), 12)
                + pad(String(format: "%.3f", r.stdPolicyMC / r.stdPolicyAnalytic), 8) + "\n"
        }
        if let a = residualSlope, let b = policySlope {
            s += String(format: "slope in log N: residual %.3f, policy %.3f (1/√N: −0.5)\n", a, b)
        }
        s += "paper (§4.1): std ε 2.4e-4 and std u 2.5e-6 at N = 10,000; std u 2.2e-5 at N = 128\n"
        s += String(format: "seconds %.2f", seconds)
        return s
    }

    func pad(_ s: String, _ w: Int) -> String { String(repeating: " ", count: max(0, w - s.count)) + s }

    /// Writes `concentration.csv`, `concentration.svg` (and `.png` when a converter exists) and
    /// `summary.json` (slopes, seconds) into `folder`; returns the files written.
    @discardableResult
    public func write(to folder: URL) throws -> [URL] {
        let csvURL = folder.appendingPathComponent("concentration.csv")
        let svgURL = folder.appendingPathComponent("concentration.svg")
        let summaryURL = folder.appendingPathComponent("summary.json")
        try AtomicFile.write(csv.text, to: csvURL)
        try plot.write(to: svgURL)
        func f(_ x: Double?) -> String { x.map { $0.isFinite ? "\($0)" : "null" } ?? "null" }
        let summary = "{\n  \"H1\": \(f(H1)),\n  \"slope_residual\": \(f(residualSlope)),\n  \"slope_policy\": \(f(policySlope)),\n"
            + "  \"seconds\": \(f(seconds)),\n  \"rows\": \(json().replacingOccurrences(of: "\n", with: "\n  "))\n}\n"
        try AtomicFile.write(summary, to: summaryURL)
        var files = [csvURL, svgURL, summaryURL]
        let png = svgURL.deletingPathExtension().appendingPathExtension("png")
        if FileManager.default.fileExists(atPath: png.path) { files.append(png) }
        return files
    }
}
