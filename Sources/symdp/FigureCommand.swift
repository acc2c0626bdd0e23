import ArgumentParser
import Foundation
import SymmetricTraining

/// Figures that combine run folders (the per-run plots are written by `symdp solve`).
struct FigureCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "figure",
        abstract: "Draw the paper's multi-run figures from run folders (SVG, and PNG when rsvg-convert is installed).",
        subcommands: [HistoryFigure.self, PolicyPathsFigure.self, ScalingFigure.self])
}

/// Reads a CSV with a header into columns by name.
func readCSV(_ url: URL) throws -> [String: [String]] {
    guard let text = try? String(contentsOf: url, encoding: .utf8) else { throw SolverError("cannot read '\(url.path)'") }
    let lines = text.split(separator: "\n").map { $0.split(separator: ",", omittingEmptySubsequences: false).map(String.init) }
    guard let header = lines.first else { throw SolverError("'\(url.path)' is empty") }
    var columns: [String: [String]] = [:]
    for (i, name) in header.enumerated() { columns[name] = lines.dropFirst().map { i < $0.count ? $0[i] : "" } }
    return columns
}

func metrics(_ run: URL) throws -> [String: Any] {
    let url = run.appendingPathComponent("metrics.json")
    guard let data = FileManager.default.contents(atPath: url.path),
          let m = try? JSONSerialization.jsonObject(with: data) as? [String: Any] else {
        throw SolverError("'\(run.path)' has no readable metrics.json: is it a finished run folder?")
    }
    return m
}

struct HistoryFigure: ParsableCommand {
    static let configuration = CommandConfiguration(commandName: "history",
        abstract: "Train and validation MSE by optimisation step (Fig. 7 style), log scale.")
    @Argument(help: "Run folder.") var runFolder: String
    @Option(help: "Output SVG.") var out: String
    @Option(help: "Title.") var title = "Training and validation MSE of the Euler residuals"

    func run() throws {
        do {
            let dir = URL(fileURLWithPath: runFolder)
            let h = try readCSV(dir.appendingPathComponent("history.csv"))
            let config = try RunConfig.load(path: dir.appendingPathComponent("config.yaml").path)
            let m = try metrics(dir)
            let epochs = (h["epoch"] ?? []).compactMap(Double.init)
            // steps per epoch: ceil(training points / batch size)
            let points = Double(config.method.trainPoints > 0 ? config.method.trainPoints : config.method.trainTrajectories * (config.method.T + 1))
            let batch = config.method.batchSize == 0 ? points : Double(config.method.batchSize)
            let steps = epochs.map { $0 * (points / batch).rounded(.up) }
            var plot = LinePlot(title: title, xLabel: "optimisation step", yLabel: "MSE of ε", yLog: true)
            plot.series = [Series(x: steps, y: (h["train_mse"] ?? []).compactMap(Double.init), label: "train MSE"),
                           Series(x: steps, y: (h["val_mse"] ?? []).compactMap(Double.init), label: "validation MSE")]
            try plot.write(to: URL(fileURLWithPath: out))
            print("\(out): \(Int(steps.last ?? 0)) steps, final val MSE \((h["val_mse"]?.last).flatMap(Double.init).map(sci) ?? "–"), test policy error \((m["policy_rel_error"] as? Double).map { String(format: "%.3f %%", 100 * $0) } ?? "–")")
        } catch { throw CLIError(error) }
    }
}

struct PolicyPathsFigure: ParsableCommand {
    static let configuration = CommandConfiguration(commandName: "policy-paths",
        abstract: "The policy along one test trajectory for several runs (Fig. 6 style), with the LQ policy when known.")
    @Argument(help: "Run folders.") var runs: [String]
    @Option(help: "Comma-separated labels, one per run.") var labels: String?
    @Option(help: "Trajectory to draw.") var trajectory = 0
    @Option(help: "Output SVG.") var out: String
    @Option(help: "Title.") var title = "Policy along an equilibrium path"

    func run() throws {
        do {
            let names = labels.map { $0.split(separator: ",").map { String($0).trimmingCharacters(in: .whitespaces) } } ?? runs
            guard names.count == runs.count else { throw ValidationError("--labels needs one label per run (\(runs.count))") }
            var plot = LinePlot(title: title, xLabel: "t", yLabel: "u(X_t)")
            var referenceDrawn = false
            for (run, name) in zip(runs, names) {
                let c = try readCSV(URL(fileURLWithPath: run).appendingPathComponent("test_results.csv"))
                let keep = (c["trajectory"] ?? []).enumerated().filter { Int($0.element) == trajectory }.map(\.offset)
                let t = keep.compactMap { Double(c["t"]![$0]) }
                plot.series.append(Series(x: t, y: keep.compactMap { Double(c["u_hat"]![$0]) }, label: name))
                if !referenceDrawn, let ref = c["u_reference"], keep.allSatisfy({ !ref[$0].isEmpty }) {
                    plot.series.append(Series(x: t, y: keep.compactMap { Double(ref[$0]) }, label: "LQ solution (\(name))", color: "#000000", dashed: true))
                    referenceDrawn = true
                }
            }
            try plot.write(to: URL(fileURLWithPath: out))
            print(out)
        } catch let e as ValidationError { throw e } catch { throw CLIError(error) }
    }
}

struct ScalingFigure: ParsableCommand {
    static let configuration = CommandConfiguration(commandName: "scaling",
        abstract: "Time to val MSE 1e-6 and test MSE against N (Fig. 4 style), medians over the runs at each N.")
    @Argument(help: "Folders holding runs (searched recursively).") var folders: [String]
    @Option(help: "Output prefix: writes PREFIX-time.svg and PREFIX-mse.svg.") var out: String

    func run() throws {
        do {
            // times only of solved runs (`RunRecord` drops the others'); the status counts are printed
            let records = try Report.collect(folders.map { URL(fileURLWithPath: $0) })
            var byN: [Int: [RunRecord]] = [:]
            for r in records {
                let config = try RunConfig.load(path: r.folder.appendingPathComponent("config.yaml").path)
                byN[config.model.N, default: []].append(r)
            }
            let ns = byN.keys.sorted()
            func med(_ key: String, solvedOnly: Bool = false) -> [Double] {
                ns.map { n in median(byN[n]!.filter { !solvedOnly || $0.succeeded }.compactMap { $0.metrics[key] }) ?? .nan }
            }
            let x = ns.map(Double.init)
            var time = LinePlot(title: "Time to val MSE 1e-6, φ(Deep Sets)", xLabel: "N (firms)", yLabel: "seconds", xLog: true, yLog: true)
            time.series = [Series(x: x, y: med("seconds_to_1e-6"), label: "time to 1e-6", markers: true),
                           Series(x: x, y: med("wall_seconds_this_process", solvedOnly: true), label: "whole run (data, fit, test on 32 paths)", dashed: true, markers: true)]
            try time.write(to: URL(fileURLWithPath: out + "-time.svg"))
            var mse = LinePlot(title: "Test MSE of the Euler residuals, φ(Deep Sets)", xLabel: "N (firms)", yLabel: "test MSE", xLog: true, yLog: true)
            mse.series = [Series(x: x, y: med("test_mse"), label: "test MSE", markers: true)]
            mse.referenceLines = [(1e-6, "1e-6")]
            try mse.write(to: URL(fileURLWithPath: out + "-mse.svg"))
            print("N, runs, solved, median seconds_to_1e-6 (solved runs), median seconds (solved runs), median test_mse, median policy_rel_error")
            for n in ns {
                let rs = byN[n]!
                let f = { (k: String) in median(rs.compactMap { $0.metrics[k] }).map { "\($0)" } ?? "" }
                print("\(n), \(rs.count), \(rs.filter(\.succeeded).count), \(f("seconds_to_1e-6")), \(f("seconds")), \(f("test_mse")), \(f("policy_rel_error"))")
            }
        } catch { throw CLIError(error) }
    }
}
