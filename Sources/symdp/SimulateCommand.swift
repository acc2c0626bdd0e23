import ArgumentParser
import Foundation
import SymmetricTraining

struct SimulateCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "simulate",
        abstract: "Simulate a solved model file for many periods with its trained policy: simulation.csv, simulation.json (means, stds, by aggregate state, Euler errors, law of motion), simulation.svg.",
        discussion: """
        One path of the full cross-section of N agents, from the file's initial cross-section:
          symdp simulate runs/ks --periods 10000 --seed 1
          symdp simulate runs/ks --periods 2000 --N 10000     # the network does not depend on N
        Euler-equation errors (log10 |residual|) use exact expectations over the aggregate and the
        agent's own shocks and Markov states, for every agent, every --euler-every periods after the burn-in.
        """)

    @Argument(help: "Run folder of a solved model.") var runFolder: String
    @Option(help: "Periods to simulate.") var periods = 10_000
    @Option(help: "Periods dropped before the statistics (default: periods / 10).") var burnIn: Int?
    @Option(help: "Seed of the simulated shocks.") var seed: UInt64 = 0
    @Option(name: .customLong("N"), help: "Agents in the simulation (default: the run's N).") var N: Int?
    @Option(help: "Measure Euler errors every this many periods.") var eulerEvery = 10
    @Option(help: "Grid of the first agent state for policy_grid.csv, e.g. 0,1,5,10,40 (default: quantiles of the simulated cross-section).") var grid: String?
    @Option(help: "Evaluate policy_grid.csv at this mean of the first agent state (the kept cross-section closest to it, rescaled to it), e.g. a reference solution's mean capital (default: the simulation's ergodic mean).") var gridMean: Double?
    @Flag(help: "No progress output.") var quiet = false

    func run() throws {
        do {
            var sim = LongSimulation()
            sim.periods = periods; sim.burnIn = burnIn; sim.seed = seed; sim.N = N; sim.eulerEvery = eulerEvery
            if let gridMean {
                guard gridMean.isFinite && gridMean > 0 else { throw ValidationError("--grid-mean must be a positive number, got \(gridMean)") }
                sim.policyGridMean = gridMean
            }
            if let grid {
                let values = grid.split(separator: ",").map { Double($0.trimmingCharacters(in: .whitespaces)) }
                guard !values.isEmpty, values.allSatisfy({ $0 != nil }) else { throw ValidationError("--grid must be numbers separated by commas, e.g. 0,1,5,10,40") }
                sim.policyGrid = values.map { $0! }
            }
            let progress = ProgressReporter()
            progress.quiet = quiet
            let folder = RunFolder(URL(fileURLWithPath: runFolder))
            let r = try sim.run(folder: folder, progress: progress)
            let s = r.summary
            if let mean = s["den_haan_error_percent_mean"] as? Double, let max = s["den_haan_error_percent_max"] as? Double {
                print(String(format: "law of motion iterated alone vs simulated (Den Haan): mean %.3f %%, max %.3f %%", mean, max))
            }
            print("simulated \(periods) periods of \(s["model"] ?? "?") with N = \(s["N"] ?? "?") in \(String(format: "%.1f", s["seconds"] as? Double ?? 0)) s → \(folder.url.path)/simulation.{csv,json,svg}, policy_grid.csv, policy.svg, distribution.svg, law_of_motion.svg")
            if let mean = s["euler_error_log10_mean"] as? Double, let max = s["euler_error_log10_max"] as? Double {
                print(String(format: "Euler errors (log10): mean %.2f, max %.2f over %d points", mean, max, s["euler_error_points"] as? Int ?? 0))
            }
            for (key, value) in s where key.hasPrefix("euler_error_log10_by_") {
                guard let bins = value as? [[String: Double]] else { continue }
                print("  by deciles of \(key.dropFirst("euler_error_log10_by_".count)): "
                      + bins.map { String(format: "[%.3g, %.3g] %.2f/%.2f", $0["from"] ?? .nan, $0["to"] ?? .nan, $0["mean"] ?? .nan, $0["max"] ?? .nan) }
                          .joined(separator: ", ") + " (mean/max)")
            }
            if let overall = s["overall"] as? [String: Any] {
                for name in r.columns.dropFirst() {
                    if let st = overall[name] as? [String: Double] { print(String(format: "  %-20@ mean %.6g  std %.6g", name as NSString, st["mean"] ?? .nan, st["std"] ?? .nan)) }
                }
            }
            for (key, value) in s where key.hasPrefix("law_of_motion") {
                guard let byValue = value as? [String: Any] else { continue }
                for (v, fit) in byValue.sorted(by: { $0.key < $1.key }) {
                    if let f = fit as? [String: Any] {
                        print(String(format: "  %@ at %@: ln m' = %.5f + %.5f ln m, R² = %.6f", key as NSString, v as NSString,
                                     f["intercept"] as? Double ?? .nan, f["slope"] as? Double ?? .nan, f["r2"] as? Double ?? .nan))
                    }
                }
            }
        } catch {
            throw CLIError(error)
        }
    }
}
