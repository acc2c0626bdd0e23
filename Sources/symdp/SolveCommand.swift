import ArgumentParser
import Foundation
import SymmetricNumerics
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

        Every run ends in a status (metrics.json `status`, the last line printed) and its exit code:
          solved 0, not_converged 3, failed 4, diverged 5; errors before a run ends 1, usage errors 64.
        """)

    @OptionGroup var options: ConfigOptions
    @Option(help: "Run folder (default runs/<UTC time>-seed<k>-<random>, created new).") var out: String?
    @Option(help: "Resume an interrupted run from its folder's last checkpoint.") var resume: String?
    @Flag(help: "If --out holds another run, move it aside (to <out>.replaced-<time>) instead of refusing.") var overwrite = false
    @Flag(help: "Print metrics.json to stdout at the end.") var json = false
    @Flag(help: "No progress output.") var quiet = false

    func run() throws {
        ParentWatch.start()
        let progress = ProgressReporter()
        progress.quiet = quiet
        let summary: SolveSummary
        let folder: RunFolder
        do {
            if let resume {
                guard options.config == nil, options.overrides.isEmpty, options.seed == nil, out == nil, !overwrite else {
                    throw ValidationError("--resume takes its settings and folder from \(resume)/config.yaml; drop --config/--set/--seed/--out/--overwrite")
                }
                guard !resume.isEmpty else { throw ValidationError("--resume needs a run folder, got an empty path") }
                folder = RunFolder(URL(fileURLWithPath: resume))
                guard FileManager.default.fileExists(atPath: folder.config.path) else {
                    throw SolverError("cannot resume '\(resume)': it is not a run folder (no config.yaml)")
                }
                let cfg = try RunConfig.load(path: folder.config.path)
                try cfg.validate()
                summary = try SolveRunner.solve(config: cfg, folder: folder, resume: true, progress: progress)
            } else {
                if let out, out.trimmingCharacters(in: .whitespaces).isEmpty {
                    throw ValidationError("--out needs a folder name, got an empty string (omit --out for a new folder under runs/)")
                }
                let cfg = try options.resolve()
                try cfg.validate()
                try ResourceLimits.check(cfg)
                folder = try out.map { RunFolder(URL(fileURLWithPath: $0)) } ?? RunFolder.unique(seed: cfg.seed)
                summary = try SolveRunner.solve(config: cfg, folder: folder, overwrite: overwrite, progress: progress)
            }
        } catch let e as ValidationError {
            throw e
        } catch {
            throw CLIError(error)
        }
        report(summary, folder: folder, json: json)
        if let code = summary.status?.exitCode, code != 0 { throw ExitCode(code) }
    }
}

struct EvaluateCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "evaluate",
        abstract: "Recompute test metrics, test_results.csv and plots of a run folder from its best checkpoint.",
        discussion: """
        The run keeps the status its training ended with (a killed run stays unfinished and resumable); the
        exit code is that status's (0 solved, 3 not_converged, 4 failed, 5 diverged, 6 unfinished).
        """)

    @Argument(help: "Run folder.") var runFolder: String
    @Flag(help: "Print metrics.json to stdout.") var json = false

    func run() throws {
        let folder = RunFolder(URL(fileURLWithPath: runFolder))
        let summary: SolveSummary
        do { summary = try SolveRunner.evaluate(folder: folder) } catch { throw CLIError(error) }
        report(summary, folder: folder, json: json)
        let code = summary.status?.exitCode ?? RunStatus.unfinishedExitCode
        if code != 0 { throw ExitCode(code) }
    }
}

/// Prints the run's results; the last line is always `status: …`.
func report(_ s: SolveSummary, folder: RunFolder, json: Bool) {
    let statusLine = "status: " + (s.status.map { "\($0.rawValue) (exit code \($0.exitCode)) — \($0.meaning)" }
        ?? "\(RunFolder.unfinished) (exit code \(RunStatus.unfinishedExitCode)) — the run has not ended; continue it with symdp solve --resume \(folder.url.path)")
    if json, let text = try? String(contentsOf: folder.metrics, encoding: .utf8) {
        print(text, terminator: "")
        FileHandle.standardError.write((statusLine + "\n").data(using: .utf8)!)
        return
    }
    print("""
    run folder        \(folder.url.path)
    stop              \(s.stopReason?.rawValue ?? "(training has not ended)")
    epochs            \(s.epochs)
    train / val MSE   \(sci(s.trainMSE)) / \(sci(s.valMSE))
    test MSE          \(sci(s.testMSE))
    """)
    if let a = s.policyAbsError, let r = s.policyRelError {
        let scaled = s.policyScaledError.map { String(format: ", %.4f %% of the policy's size", 100 * $0) } ?? ""
        print(String(format: "policy error      %.2e abs, %.4f %% rel", a, 100 * r) + scaled + " (vs the exact policy)")
        if s.policyRelErrorIllConditioned == true {
            print("                  (the exact policy crosses zero on the test paths: the per-point rel error is dominated by those points; read the error relative to the policy's size)")
        }
    }
    let threshold = sci(s.stoppingThreshold)
    print(String(format: "fit seconds       %.2f", s.seconds) + (s.secondsToThreshold.map { String(format: " (val MSE ≤ \(threshold) after %.2f s)", $0) }
        ?? (s.status == .solved ? "" : " (no accepted solution reached val MSE ≤ \(threshold))")))
    print(statusLine)
}

/// Turns a library error into a clean message and a non-zero exit code.
struct CLIError: Error, CustomStringConvertible {
    let underlying: Error
    init(_ e: Error) { underlying = e }
    var description: String {
        let ns = underlying as NSError
        if ns.domain == NSCocoaErrorDomain || ns.domain == NSPOSIXErrorDomain { return describeFileError(underlying) }
        return "\(underlying)"
    }
}
