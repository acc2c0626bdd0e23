import ArgumentParser
import Foundation
import SymmetricTraining

struct ConcentrationCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "concentration",
        abstract: "Fig. 1: std of the one-draw Euler residual and of u_LQ(X') against N, Monte Carlo vs eq. 35.",
        discussion: """
        For each N: X from a simulated LQ path (method.T steps from |N(X_0_loc, X_0_scale²)|), then --draws independent draws W ∈ Rᴺ (not normalised: a normalised draw makes the LQ residual exactly zero), each giving one Euler residual of eq. 20 (Gauss–Hermite over ω with method.omega_quadrature_nodes nodes) and one u_LQ(X'). Their standard deviations are shown next to βσ|α1 − γ(1−δ)H1|/√N and σ|H1|/√N.

        Writes concentration.csv, concentration.svg (and .png when rsvg-convert or ImageMagick is installed) and summary.json into --out. Model parameters come from --config/--set as in `symdp solve`; --N replaces model.N.

        Example:
          symdp concentration --N 16,128,1024,10000 --draws 1000
        """)

    @Option(name: .customLong("N"), help: "Comma-separated numbers of firms.") var N = "16,128,1024,10000"
    @Option(help: "Independent draws of W per N.") var draws = 1000
    @Option(help: "YAML config file (model parameters, quadrature nodes, seed).") var config: String?
    @Option(name: .customLong("set"), help: "Override one key, e.g. --set model.sigma=0.01 (repeatable).") var overrides: [String] = []
    @Option(help: "Random seed (same as --set seed=N).") var seed: UInt64?
    @Option(help: "Output folder (default runs/concentration-<timestamp>).") var out: String?
    @Flag(help: "Print a JSON list of {N, std_residual_mc, std_residual_analytic, std_policy_mc, std_policy_analytic}.") var json = false

    func run() throws {
        let ns = try parseList(N, name: "--N") { Int($0) }
        do {
            var cfg = try RunConfig.resolve(file: config, overrides: overrides + (seed.map { ["seed=\($0)"] } ?? []), for: .lq)
            cfg.model.N = ns.max() ?? cfg.model.N
            let result = try ConcentrationExperiment(config: cfg, Ns: ns, draws: draws).run()
            let folder = out.map { URL(fileURLWithPath: $0) } ?? RunFolder.timestamped(prefix: "concentration-").url
            let files = try result.write(to: folder)
            let note = "wrote " + files.map(\.path).joined(separator: ", ")
            if json {
                print(result.json())
                FileHandle.standardError.write(Data((note + "\n").utf8))
            } else {
                print(result.table)
                print(note)
            }
        } catch {
            throw CLIError(error)
        }
    }
}
