import ArgumentParser
import Foundation
import SymmetricTraining

struct LQCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "lq",
        abstract: "Exact LQ equilibrium (ν = ζ = 1, μ = 0): closed form, O(1) in N, or the paper's O(N³) Riccati route.",
        discussion: """
        Same config file and --set overrides as `symdp solve`; only the model section matters.

        closed-form: the stable root of γH1 = β(γ(1−δ)H1 − α1)(1−δ+H1), H0, the explosive root, the steady state and the value function coefficients p1…p5 and d of App. D.4.

        riccati: state [1, x, X] of size N+2, matrices A, B, C, R, Q of eqs. 22–26, Riccati equation D.6 by the doubling algorithm, F (D.8), d (D.7), and a Broyden root-find on (H0, H1) until F has the symmetric form of eq. 31. By default the root-find at N starts from the same route's equilibrium at N = 1 (continuation in N); --cold-start runs the whole root-find at N from H0 = H1 = 0.

        Examples:
          symdp lq --set model.N=1000000
          symdp lq --method riccati --set model.N=512 --json
        """)

    @Option(help: "YAML config file (defaults for every missing key).") var config: String?
    @Option(name: .customLong("set"), help: "Override one key, e.g. --set model.N=1024 (repeatable).") var overrides: [String] = []
    @Option(help: "How to solve.") var method = LQMethod.closedForm
    @Flag(help: "Riccati route: root-find at N from H0 = H1 = 0 instead of warm-starting from N = 1.") var coldStart = false
    @Flag(help: "Print JSON (keys H0, H1, H0_explosive, H1_explosive, x_ss, method, N, seconds, p1…p5, d, …).") var json = false

    func run() throws {
        do {
            let cfg = try RunConfig.resolve(file: config, overrides: overrides, for: .lq)
            if method == .riccati {
                let n = Double(cfg.model.N) + 2, estimate = 170 * n * n * n / 3e10   // ≈ 10 doubling steps of 17n³ flops at ~30 GFLOP/s
                // about a dozen dense (N+2)×(N+2) matrices of doubles: refuse before allocating them
                let bytes = 12 * 8 * n * n
                guard bytes <= ResourceLimits.memoryLimit() else {
                    throw ConfigError(key: "model.N", "\(cfg.model.N) makes the Riccati route need about \(ResourceLimits.formatBytes(bytes)) of memory (dense (N+2)×(N+2) matrices), more than the \(ResourceLimits.formatBytes(ResourceLimits.memoryLimit())) available; use --method closed-form, which is O(1) in N")
                }
                if estimate > 10 {
                    FileHandle.standardError.write(Data("note: the Riccati route is O(N³); at N = \(cfg.model.N) expect roughly \(Int(estimate)) s\n".utf8))
                }
            }
            let report = try LQReport.run(config: cfg, method: method, coldStart: coldStart)
            print(json ? try report.json() : report.text)
        } catch {
            throw CLIError(error)
        }
    }
}

extension LQMethod: ExpressibleByArgument {}
