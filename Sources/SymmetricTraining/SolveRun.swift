import Foundation
import SymmetricNumerics
import SymmetricNetworks
import SymmetricEconomics
import SymmetricModels

/// A run folder: everything needed to reproduce, resume and inspect one solve.
///
/// `config.yaml` (resolved), `metrics.json`, `history.csv`, `test_results.csv`,
/// `best.safetensors`, `last.safetensors`, `residuals.svg` (Fig. 2 style), `policy_paths.svg`
/// (Fig. 3 style). Every file is written atomically.
public struct RunFolder {
    public let url: URL
    public init(_ url: URL) { self.url = url }
    public var config: URL { url.appendingPathComponent("config.yaml") }
    public var metrics: URL { url.appendingPathComponent("metrics.json") }
    public var history: URL { url.appendingPathComponent("history.csv") }
    public var testResults: URL { url.appendingPathComponent("test_results.csv") }
    public var best: URL { url.appendingPathComponent("best.safetensors") }
    public var last: URL { url.appendingPathComponent("last.safetensors") }
    public var residualPlot: URL { url.appendingPathComponent("residuals.svg") }
    public var policyPlot: URL { url.appendingPathComponent("policy_paths.svg") }

    var lockFile: URL { url.appendingPathComponent(".lock") }

    /// Takes the folder's lock (released by `unlock`, or by the OS when the process dies, even on
    /// SIGKILL), so that two processes never train into the same folder.
    public func lock() throws -> Int32 {
        let path = lockFile.path
        let fd = open(path, O_RDWR | O_CREAT, 0o644)
        guard fd >= 0 else {
            let e = errno
            throw SolverError("cannot lock run folder '\(url.path)': cannot create '\(path)': \(describeErrno(e))")
        }
        guard flock(fd, LOCK_EX | LOCK_NB) == 0 else {
            close(fd)
            throw SolverError("run folder '\(url.path)' is in use by another symdp process; wait for it or choose another --out")
        }
        return fd
    }

    public static func unlock(_ fd: Int32) { flock(fd, LOCK_UN); close(fd) }

    /// `runs/<prefix><UTC timestamp>` under the current directory (for outputs that are not runs;
    /// run folders get `unique(seed:)`).
    public static func timestamped(prefix: String = "") -> RunFolder {
        let f = DateFormatter()
        f.dateFormat = "yyyyMMdd-HHmmss"
        f.timeZone = TimeZone(identifier: "UTC")
        return RunFolder(URL(fileURLWithPath: "runs").appendingPathComponent(prefix + f.string(from: Date())))
    }

    /// True when another process holds the folder's lock.
    public static func isLocked(_ url: URL) -> Bool {
        let fd = open(url.appendingPathComponent(".lock").path, O_RDWR)
        guard fd >= 0 else { return false }
        defer { close(fd) }
        if flock(fd, LOCK_EX | LOCK_NB) == 0 { flock(fd, LOCK_UN); return false }
        return true
    }

}

/// Summary of a finished solve (also `metrics.json`).
public struct SolveSummary: Sendable {
    public var trainMSE, valMSE, testMSE: Double
    public var policyAbsError, policyRelError: Double?
    /// Mean |û − u*| / mean |u*| (`TestEvaluation.policyScaledError`).
    public var policyScaledError: Double? = nil
    /// The paper's per-point relative error is dominated by points where u* is near zero.
    public var policyRelErrorIllConditioned: Bool? = nil
    public var params, epochs: Int
    public var seconds: Double
    /// Seconds of fitting until val MSE reached `trainer.stopping_threshold` — only for a `solved`
    /// run (the accepted solution's time; nil for every other status).
    public var secondsToThreshold: Double?
    public var seed: UInt64
    /// Why training stopped (nil: `evaluate` of a run that has not ended).
    public var stopReason: StopReason?
    /// How the run ended (nil: it has not ended — `evaluate` of an interrupted run).
    public var status: RunStatus?
    public var stoppingThreshold: Double
    public var divergenceCause: DivergenceCause?

    /// `seconds_to_1e-6`: the time to the threshold when the threshold is 1e-6 (the paper's), else nil.
    public var secondsTo1e6: Double? { stoppingThreshold == 1e-6 ? secondsToThreshold : nil }

    /// `metrics.json` content, keys as documented in the README.
    public func json(extra: [String: Any] = [:]) -> String {
        var d: [String: Any] = [
            "train_mse": trainMSE, "val_mse": valMSE, "test_mse": testMSE,
            "policy_abs_error": policyAbsError ?? NSNull(), "policy_rel_error": policyRelError ?? NSNull(),
            "policy_scaled_error": policyScaledError ?? NSNull(),
            "policy_rel_error_ill_conditioned": policyRelErrorIllConditioned ?? NSNull(),
            "params": params, "epochs": epochs, "seconds": seconds,
            "status": status?.rawValue ?? RunFolder.unfinished, "stopping_threshold": stoppingThreshold,
            "seconds_to_threshold": secondsToThreshold ?? NSNull(), "seconds_to_1e-6": secondsTo1e6 ?? NSNull(),
            "seed": seed, "stop_reason": stopReason?.rawValue ?? NSNull(),
            "divergence_cause": divergenceCause?.rawValue ?? NSNull(),
        ]
        for (k, v) in extra { d[k] = v }
        // JSON has no NaN or ∞: a diverged run reports null
        for (k, v) in d { if let x = v as? Double, !x.isFinite { d[k] = NSNull() } }
        let data = try! JSONSerialization.data(withJSONObject: d, options: [.prettyPrinted, .sortedKeys])
        return String(decoding: data, as: UTF8.self) + "\n"
    }
}

/// Runs `symdp solve`, `--resume` and `evaluate` on a run folder.
public enum SolveRunner {
    /// Trains from scratch (or resumes) and writes the whole run folder.
    ///
    /// A folder that holds another run is refused unless `overwrite` (the old run is moved aside);
    /// `resume` continues the folder's run from its last checkpoint, refusing a config edited since.
    public static func solve(config: RunConfig, folder: RunFolder, resume: Bool = false, overwrite: Bool = false,
                             progress: ProgressReporter = ProgressReporter()) throws -> SolveSummary {
        try ResourceLimits.check(config)
        return try makeRun(config: config, folder: folder, progress: progress).solve(resume, overwrite)
    }

    /// Solves a user-defined economy (see docs/custom-economy.md) and writes the same run folder.
    /// `makeEconomy` receives the run's shock stream for its Monte Carlo draws.
    public static func solve<E: SymmetricEconomy>(config: RunConfig, folder: RunFolder, resume: Bool = false, overwrite: Bool = false,
                                                  progress: ProgressReporter = ProgressReporter(),
                                                  economy makeEconomy: (inout SeededGenerator) throws -> E) throws -> SolveSummary {
        setBlasThreads(1)
        if config.trainer.threads > 0 { Parallelism.threads = config.trainer.threads }
        return try Run(config: config, folder: folder, progress: progress, makeEconomy: makeEconomy).solve(resume: resume, overwrite: overwrite)
    }

    /// Recomputes test metrics, `test_results.csv` and plots of a run from its best checkpoint.
    ///
    /// Takes the folder's lock (refused while a process trains into it) and keeps the training
    /// status it finds: a finished run keeps its status and stop reason, an interrupted one is
    /// written as `unfinished` and stays resumable. `metrics.json` names the checkpoint and epoch evaluated.
    public static func evaluate(folder: RunFolder, progress: ProgressReporter = ProgressReporter()) throws -> SolveSummary {
        guard FileManager.default.fileExists(atPath: folder.config.path) else {
            throw SolverError("'\(folder.url.path)' is not a run folder: it has no config.yaml")
        }
        let config = try RunConfig.load(path: folder.config.path)
        try config.validate()
        try ResourceLimits.check(config)
        return try makeRun(config: config, folder: folder, progress: progress).evaluateOnly()
    }

    /// The run for the config's model kind and precision.
    static func makeRun(config: RunConfig, folder: RunFolder, progress: ProgressReporter) throws -> AnyRun {
        // Training calls BLAS on small ρ batches and on cache-sized φ chunks in parallel lanes:
        // one BLAS thread each, the cores shared out by `Parallelism`.
        setBlasThreads(1)
        if config.trainer.threads > 0 { Parallelism.threads = config.trainer.threads }
        switch config.trainer.precision {
        case 64: return try makeRun(Double.self, config: config, folder: folder, progress: progress)
        default: return try makeRun(Float.self, config: config, folder: folder, progress: progress)
        }
    }

    static func makeRun<T: TensorScalar>(_: T.Type, config c: RunConfig, folder: RunFolder, progress: ProgressReporter) throws -> AnyRun {
        let e = c.method.expectation
        let (loc, scale, x) = (c.method.X0Loc, c.method.X0Scale, c.extensions)
        // a model file: given (model.file), or the one behind model.kind (investment, productivity, two types)
        if let compiled = try c.engineModel() {
            return try AnyRun(Run(config: c, folder: folder, progress: progress) { g in
                ModelEconomy<T>(model: compiled, architecture: c.network, expectation: e, generator: &g)
            })
        }
        switch c.kind {
        case .investment, .productivity:
            fatalError("model.kind \(c.kind.rawValue) is a shipped model file")
        // K ≠ 2 types: the Swift economy (a model file has a fixed number of groups)
        case .types:
            return try AnyRun(Run(config: c, folder: folder, progress: progress) { g in
                try MultiTypeEconomy<T>(model: c.model, productivities: x.typeProductivities, sizes: x.typeSizes, architecture: c.network,
                                        expectation: e, initialLoc: loc, initialScale: scale, generator: &g)
            })
        case .customers:
            return try AnyRun(Run(config: c, folder: folder, progress: progress) { g in
                try CustomerEconomy<T>(model: c.model, customers: x.customers, customerMean: x.customerMean,
                                       persistence: x.customerPersistence, customerScale: x.customerScale, architecture: c.network,
                                       expectation: e, initialLoc: loc, initialScale: scale, generator: &g)
            })
        }
    }
}

/// A run of some economy in some precision.
/// A run of some economy, its type erased by closures made where the economy and scalar are
/// concrete: the calls inside them are compiled for that economy (an existential would run
/// the generic, unspecialised code — every tensor op through value witnesses).
struct AnyRun {
    let solve: (_ resume: Bool, _ overwrite: Bool) throws -> SolveSummary
    let evaluateOnly: () throws -> SolveSummary

    init<E>(_ run: Run<E>) {
        solve = { try run.solve(resume: $0, overwrite: $1) }
        evaluateOnly = { try run.evaluateOnly() }
    }
}

/// The work behind `SolveRunner` for one economy.
final class Run<E: SymmetricEconomy> {
    typealias T = E.Scalar
    let config: RunConfig
    let folder: RunFolder
    let solver: Solver<E>
    let progress: ProgressReporter
    let wallStart = DispatchTime.now().uptimeNanoseconds

    init(config: RunConfig, folder: RunFolder, progress: ProgressReporter, makeEconomy: (inout SeededGenerator) throws -> E) throws {
        self.config = config
        self.folder = folder
        self.progress = progress
        solver = try Solver<E>(config: config, progress: progress, makeEconomy: makeEconomy)
    }

    func solve(resume: Bool, overwrite: Bool) throws -> SolveSummary {
        do { try FileManager.default.createDirectory(at: folder.url, withIntermediateDirectories: true) } catch {
            throw SolverError("cannot create run folder: \(describeFileError(error, path: folder.url.path))")
        }
        let lockFD = try folder.lock()
        defer { RunFolder.unlock(lockFD) }
        if resume {
            guard FileManager.default.fileExists(atPath: folder.last.path) else {
                throw SolverError("cannot resume \(folder.url.path): no last.safetensors yet (the run stopped before its first epoch ended); start it again with `symdp solve --config \(folder.config.path) --out \(folder.url.path) --overwrite`")
            }
            if case .run(let status?) = folder.contents() {
                throw SolverError("cannot resume \(folder.url.path): the run has ended (status \(status.rawValue)); `symdp evaluate` it, or start a new run with --out")
            }
            let file = try Safetensors.read(from: folder.last)
            let state = try CheckpointState(metadata: file.metadata, file: folder.last.path)
            try ResumeCheck.configMatches(config, checkpoint: state, folder: folder)
            try solver.restore(from: file, training: true, path: folder.last.path)
            progress.message("resuming \(folder.url.path) after epoch \(solver.epochsDone)")
        } else {
            if let aside = try folder.prepareForNewRun(overwrite: overwrite) {
                progress.message("--overwrite: moved the run that was in \(folder.url.path) to \(aside.path)")
            }
            try AtomicFile.write(config.yaml(), to: folder.config)
        }
        progress.message("solving \(modelName), N=\(economyN), φ=\(config.network.phi.rawValue), \(solver.network.parameterCount) parameters, "
                         + "\(solver.trainX.shape[0]) training points, float\(config.trainer.precision), seed \(config.seed) → \(folder.url.path)")
        if solver.epochsDone == 0, let level = solver.startLevel { progress.message(level.description) }
        let reason = try solver.fit { record, isBest in
            let tensors = self.solver.checkpointTensors(), meta = self.solver.checkpointMetadata()
            try Safetensors.write(tensors, metadata: meta, to: self.folder.last)
            if isBest { try Safetensors.write(tensors, metadata: meta, to: self.folder.best) }
            try AtomicFile.write(self.historyCSV(), to: self.folder.history)
        }
        progress.message("stopped: \(reason.rawValue) after \(solver.epochsDone) epochs")
        return try finish(.trained(reason))
    }

    func evaluateOnly() throws -> SolveSummary {
        let lockFD: Int32
        do { lockFD = try folder.lock() } catch {
            throw SolverError("cannot evaluate '\(folder.url.path)' now: \(error)")
        }
        defer { RunFolder.unlock(lockFD) }
        let fm = FileManager.default
        guard fm.fileExists(atPath: folder.last.path) || fm.fileExists(atPath: folder.best.path) else {
            throw SolverError("'\(folder.url.path)' has no checkpoint yet (no best.safetensors or last.safetensors): nothing to evaluate")
        }
        // the training status found: a finished run's metrics.json, or none (the run has not ended)
        let old = fm.contents(atPath: folder.metrics.path).flatMap { try? JSONSerialization.jsonObject(with: $0) as? [String: Any] }
        let found = old.flatMap { RunStatus(metrics: $0) }
        let reason = (old?["stop_reason"] as? String).flatMap(StopReason.init(rawValue:))
        // the counters and history of the whole run (last checkpoint), then the best weights
        let countersFile = fm.fileExists(atPath: folder.last.path) ? folder.last : folder.best
        let file = try Safetensors.read(from: countersFile)
        try ResumeCheck.configMatches(config, checkpoint: try CheckpointState(metadata: file.metadata, file: countersFile.path),
                                      folder: folder, action: "evaluate")
        try solver.restore(from: file, training: true, path: countersFile.path)
        let evaluated = fm.fileExists(atPath: folder.best.path) ? folder.best : folder.last
        let evaluatedEpoch = try CheckpointState(metadata: try Safetensors.read(from: evaluated).metadata, file: evaluated.path).epochs
        progress.message("evaluating \(evaluated.lastPathComponent) (epoch \(evaluatedEpoch) of \(solver.epochsDone) trained) of "
                         + (found.map { "a finished run (status \($0.rawValue))" } ?? "an unfinished run (it stays resumable: symdp solve --resume \(folder.url.path))"))
        return try finish(.evaluated(found: found, stopReason: reason, checkpoint: evaluated.lastPathComponent, epoch: evaluatedEpoch,
                                     secondsToThreshold: (old?["seconds_to_threshold"] as? Double) ?? (old?["seconds_to_1e-6"] as? Double),
                                     divergenceCause: (old?["divergence_cause"] as? String).flatMap(DivergenceCause.init(rawValue:))))
    }

    /// How `finish` was reached: training stopped, or `evaluate` of a folder.
    enum Outcome {
        case trained(StopReason)
        case evaluated(found: RunStatus?, stopReason: StopReason?, checkpoint: String, epoch: Int, secondsToThreshold: Double?,
                       divergenceCause: DivergenceCause?)
    }

    /// Loads the best weights, evaluates on fresh test trajectories, decides the status (after
    /// training) or keeps the one found (`evaluate`), writes results and plots.
    func finish(_ outcome: Outcome) throws -> SolveSummary {
        let fitSeconds = solver.history.last?.seconds ?? 0
        if case .trained(.diverged) = outcome, !FileManager.default.fileExists(atPath: folder.best.path) {
            // diverged before an epoch ended: no weights worth measuring, so no metrics (null)
            let summary = SolveSummary(trainMSE: .nan, valMSE: .nan, testMSE: .nan, policyAbsError: nil, policyRelError: nil,
                                       params: solver.network.parameterCount, epochs: solver.epochsDone, seconds: fitSeconds,
                                       secondsToThreshold: nil, seed: config.seed, stopReason: .diverged, status: .diverged,
                                       stoppingThreshold: config.trainer.stoppingThreshold, divergenceCause: solver.divergenceCause)
            try AtomicFile.write(summary.json(extra: ["N": economyN, "model": modelName, "phi": config.network.phi.rawValue, "precision": config.trainer.precision,
                                                      "attempts": solver.attempt + 1]), to: folder.metrics)
            return summary
        }
        if FileManager.default.fileExists(atPath: folder.best.path) {
            try solver.restore(from: try Safetensors.read(from: folder.best), training: false, path: folder.best.path)
        }
        let testStart = DispatchTime.now().uptimeNanoseconds
        let test = solver.evaluateTest(trajectories: config.method.testTrajectories)
        let testSeconds = Double(DispatchTime.now().uptimeNanoseconds - testStart) / 1e9
        // on every agent; the training data's MSE on the validation sample's agents when N is larger
        // (all N over every training state would cost more than the whole fit at N = 10⁶)
        let trainMSE = solver.validationSample.map { sample in
            solver.mse(solver.economy.restrictedStates(solver.trainX, toAgents: sample.subset), economy: sample.economy)
        } ?? solver.mse(solver.trainX)
        let valMSE = solver.mse(solver.valX)
        let status: RunStatus?, reason: StopReason?, toThreshold: Double?, cause: DivergenceCause?
        var extra: [String: Any] = [:]
        switch outcome {
        case .trained(let r):
            reason = r
            // a run that stopped before the threshold: are its own paths at least in the band?
            var leavesBand = false
            if config.trainer.verifyOwnPaths && [.patience, .maxEpochs, .maxTime].contains(r) {
                let band = solver.ownPathCheck(measureResiduals: false)
                leavesBand = !band.bounded
                extra["own_paths_in_band"] = band.bounded
                if leavesBand {
                    progress.message("the network's own paths leave the band (\(band.bandText)): this is not the stationary equilibrium, "
                                     + "the run is failed (docs/reliability.md)")
                }
            }
            status = RunStatus(stop: r, testMSE: test.testMSE, divergenceThreshold: config.trainer.divergenceThreshold, ownPathsLeaveBand: leavesBand)
            cause = r == .diverged ? solver.divergenceCause : nil
            toThreshold = status == .solved ? solver.secondsToThreshold : nil
            if r == .threshold && status == .failed {
                progress.message("the test paths simulated with the network exploded (test MSE \(sci(test.testMSE)) > trainer.divergence_threshold): the solution is rejected")
            }
        case .evaluated(let found, let r, let checkpoint, let epoch, let seconds, let c):
            status = found; reason = r; cause = c
            toThreshold = found == .solved ? seconds : nil
            extra["evaluated_checkpoint"] = checkpoint
            extra["evaluated_epoch"] = epoch
        }
        var summary = SolveSummary(trainMSE: trainMSE, valMSE: valMSE, testMSE: test.testMSE,
                                   policyAbsError: test.policyAbsError, policyRelError: test.policyRelError,
                                   params: solver.network.parameterCount, epochs: solver.epochsDone,
                                   seconds: fitSeconds, secondsToThreshold: toThreshold,
                                   seed: config.seed, stopReason: reason, status: status,
                                   stoppingThreshold: config.trainer.stoppingThreshold, divergenceCause: cause)
        summary.policyScaledError = test.policyScaledError
        summary.policyRelErrorIllConditioned = test.policyRelErrorIllConditioned
        try AtomicFile.write(testCSV(test), to: folder.testResults)
        let wall = Double(DispatchTime.now().uptimeNanoseconds - wallStart) / 1e9
        extra.merge(["N": economyN, "model": modelName, "phi": config.network.phi.rawValue,
                     "precision": config.trainer.precision, "wall_seconds_this_process": wall,
                     "attempts": solver.attempt + 1, "screen_restarts": solver.screenRestarts,
                     "own_path_refinements": solver.refinements,
                     "data_augmented": solver.dataAugmented, "test_seconds": testSeconds,
                     "peak_memory_bytes": ResourceLimits.peakResidentBytes()]) { a, _ in a }
        if let d = test.lqPolicyRelDeviation { extra["lq_policy_rel_deviation"] = d }
        if let economy = solver.economy as? ModelEconomy<T> {
            let path = economy.model.file.path
            extra["model_file"] = URL(fileURLWithPath: path).standardizedFileURL.path
            if let data = FileManager.default.contents(atPath: path) { extra["model_sha256"] = sha256Hex(Array(data)) }
            extra["model_parameters"] = Dictionary(economy.model.values.map { ($0.name, $0.value) }, uniquingKeysWith: { $1 })
        }
        if let c = solver.lastOwnPathCheck {
            extra["own_path_mse"] = c.mse
            extra["own_path_check_passed"] = c.passed
        }
        try AtomicFile.write(summary.json(extra: extra),
                             to: folder.metrics)
        try writePlots(test)
        return summary
    }

    /// The economy's name: the compiled model file's (no second compilation), or `model.kind`.
    var modelName: String { (solver.economy as? ModelEconomy<T>)?.model.file.name ?? config.kind.rawValue }

    /// Number of agents of the economy being solved.
    var economyN: Int { solver.initialState.shape.first ?? config.model.N }

    func historyCSV() -> String {
        var s = "epoch,attempt,lr,train_mse,val_mse,val_policy_rel_error,seconds\n"
        for r in solver.history {
            s += "\(r.epoch),\(r.attempt),\(r.lr),\(r.trainMSE),\(r.valMSE),\(r.valPolicyRelError.map { "\($0)" } ?? ""),\(r.seconds)\n"
        }
        return s
    }

    func testCSV(_ test: TestEvaluation) -> String {
        var s = "trajectory,t,u_hat,residual,residual_rms,u_reference" + test.columns.map { "," + $0.name }.joined() + "\n"
        s.reserveCapacity(test.rows.count * 80)
        for (p, r) in test.rows.enumerated() {
            s += "\(r.trajectory),\(r.t),\(r.uHat),\(r.residual),\(r.residualRMS),\(r.uReference.map { "\($0)" } ?? "")"
            for c in test.columns { s += ",\(c.values[p])" }
            s += "\n"
        }
        return s
    }

    func writePlots(_ test: TestEvaluation) throws {
        let T1 = config.method.T + 1
        var byT = Array(repeating: [Double](), count: T1)
        for r in test.rows { byT[r.t].append(r.residual) }
        let ts = (0..<T1).map(Double.init)
        let means = byT.map { $0.reduce(0, +) / Double(max($0.count, 1)) }
        let lower = byT.map { quantile($0, 0.025) }, upper = byT.map { quantile($0, 0.975) }
        var setting = "\(modelName), N=\(economyN)"
        if config.modelFile == nil {
            if config.model.nu != 1 { setting += ", ν=\(formatDouble(config.model.nu))" }
            if config.model.mu != 0 { setting += ", μ=\(config.model.mu)" }
        }
        setting += ", φ=\(config.network.phi.rawValue)"
        var residualPlot = LinePlot(title: "Euler residuals on \(config.method.testTrajectories) test trajectories (\(setting))",
                                    xLabel: "t", yLabel: "ε(X_t)")
        residualPlot.bands = [Band(x: ts, lower: lower, upper: upper, label: "2.5–97.5 %")]
        residualPlot.series = [Series(x: ts, y: means, label: "mean ε")]
        try residualPlot.write(to: folder.residualPlot)

        var policyPlot = LinePlot(title: "Policy along test trajectories: û(X_t) vs " + (config.modelFile == nil ? "the LQ solution" : "the exact policy"), xLabel: "t", yLabel: "u(X_t)")
        let shown = min(3, config.method.testTrajectories)
        for k in 0..<shown {
            let rows = test.rows.filter { $0.trajectory == k }
            policyPlot.series.append(Series(x: rows.map { Double($0.t) }, y: rows.map(\.uHat), label: "û, trajectory \(k + 1)"))
            if rows.first?.uReference != nil {
                policyPlot.series.append(Series(x: rows.map { Double($0.t) }, y: rows.map { $0.uReference! },
                                                label: (config.modelFile == nil ? "u_LQ" : "u exact") + ", trajectory \(k + 1)", dashed: true))
            }
        }
        try policyPlot.write(to: folder.policyPlot)
    }
}

/// Empirical quantile by linear interpolation.
func quantile(_ values: [Double], _ q: Double) -> Double {
    guard !values.isEmpty else { return .nan }
    let s = values.sorted()
    let pos = q * Double(s.count - 1)
    let lo = Int(pos.rounded(.down)), hi = min(lo + 1, s.count - 1)
    return s[lo] + (s[hi] - s[lo]) * (pos - Double(lo))
}
