import ArgumentParser
import Foundation
import SymmetricTraining

struct SolveCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "solve",
        abstract: "Solve an N-firm model (model.kind: investment, types, productivity, customers) with a symmetric network fitted to Euler residuals.",
        discussion: """
        Every setting lives in one YAML file (see configs/baseline.yaml); --set overrides single keys:
          symdp solve --config configs/baseline.yaml --set network.phi=identity --set model.N=1024 --seed 3
        The run folder gets config.yaml, metrics.json, history.csv, test_results.csv, best/last checkpoints
        and plots. Continue an interrupted run with `symdp solve --resume RUN_DIR`.
        """)

    @OptionGroup var options: ConfigOptions
    @Option(help: "Run folder (default runs/<timestamp>).") var out: String?
    @Option(help: "Resume an interrupted run from its folder's last checkpoint.") var resume: String?
    @Flag(help: "Print metrics.json to stdout at the end.") var json = false
    @Flag(help: "No progress output.") var quiet = false

    func run() throws {
        let progress = ProgressReporter()
        progress.quiet = quiet
        do {
            let summary: SolveSummary
            let folder: RunFolder
            if let resume {
                guard options.config == nil, options.overrides.isEmpty, options.seed == nil else {
                    throw ValidationError("--resume takes its settings from \(resume)/config.yaml; drop --config/--set/--seed")
                }
                folder = RunFolder(URL(fileURLWithPath: resume))
                let cfg = try RunConfig.load(path: folder.config.path)
                summary = try SolveRunner.solve(config: cfg, folder: folder, resume: true, progress: progress)
            } else {
                let cfg = try options.resolve()
                try cfg.validate()
                folder = out.map { RunFolder(URL(fileURLWithPath: $0)) } ?? RunFolder.timestamped()
                summary = try SolveRunner.solve(config: cfg, folder: folder, progress: progress)
            }
            report(summary, folder: folder, json: json)
        } catch let e as ValidationError {
            throw e
        } catch {
            throw CLIError(error)
        }
    }
}

struct EvaluateCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "evaluate",
        abstract: "Recompute test metrics, test_results.csv and plots of a run folder from its best checkpoint.")

    @Argument(help: "Run folder.") var runFolder: String
    @Flag(help: "Print metrics.json to stdout.") var json = false

    func run() throws {
        do {
            let folder = RunFolder(URL(fileURLWithPath: runFolder))
            report(try SolveRunner.evaluate(folder: folder), folder: folder, json: json)
        } catch {
            throw CLIError(error)
        }
    }
}

func report(_ s: SolveSummary, folder: RunFolder, json: Bool) {
    if json, let text = try? String(contentsOf: folder.metrics, encoding: .utf8) { print(text, terminator: ""); return }
    print("""
    run folder        \(folder.url.path)
    stop              \(s.stopReason.rawValue)
    epochs            \(s.epochs)
    train / val MSE   \(sci(s.trainMSE)) / \(sci(s.valMSE))
    test MSE          \(sci(s.testMSE))
    """)
    if let a = s.policyAbsError, let r = s.policyRelError {
        print(String(format: "policy error      %.2e abs, %.4f %% rel (vs exact LQ)", a, 100 * r))
    }
    print(String(format: "fit seconds       %.2f", s.seconds) + (s.secondsToThreshold.map { String(format: " (val MSE ≤ 1e-6 after %.2f s)", $0) } ?? " (val MSE never ≤ 1e-6)"))
}

/// Turns a library error into a clean message and a non-zero exit code.
struct CLIError: Error, CustomStringConvertible {
    let underlying: Error
    init(_ e: Error) { underlying = e }
    var description: String { "\(underlying)" }
}
