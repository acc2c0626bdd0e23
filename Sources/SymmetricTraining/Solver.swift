import Foundation
import RealModule
import SymmetricNumerics
import SymmetricNetworks
import SymmetricEconomics

/// Why training stopped.
public enum StopReason: String, Codable, Sendable {
    case threshold = "val_mse reached stopping_threshold"
    case patience = "no val_mse improvement for `patience` epochs"
    case maxEpochs = "max_epochs reached"
    case maxTime = "max_time reached"
    case diverged = "diverged (non-finite or exploding loss)"
    case unverified = "every attempt failed the own-path check"
}

/// A user-facing training failure (the run folder keeps the last good checkpoint).
public struct SolverError: Error, CustomStringConvertible {
    public let description: String
    public init(_ description: String) { self.description = description }
}

/// One row of `history.csv`.
public struct EpochRecord: Codable, Sendable {
    public var epoch: Int
    public var lr: Double
    public var trainMSE: Double
    public var valMSE: Double
    public var valPolicyRelError: Double?
    public var seconds: Double
    /// Which initialisation (0 = the first; see `trainer.max_restarts`).
    public var attempt: Int = 0
}

/// The own-path check of a candidate solution (`trainer.verify_own_paths`).
public struct OwnPathCheck: Codable, Sendable {
    /// MSE of the Euler residuals on paths simulated with the network itself.
    public var mse: Double
    /// Range of the aggregate state mean(X) along those paths, and the band it must stay in.
    public var meanStateRange: [Double]
    public var allowedRange: [Double]
    public var passed: Bool
    /// The paths stayed in the band (a solution near the equilibrium path, perhaps inaccurate on it).
    public var bounded: Bool = true

    public init(mse: Double, meanStateRange: [Double], allowedRange: [Double], passed: Bool, bounded: Bool = true) {
        self.mse = mse; self.meanStateRange = meanStateRange; self.allowedRange = allowedRange
        self.passed = passed; self.bounded = bounded
    }

    /// "mean state in [lo, hi], allowed [lo, hi]" for messages.
    public var bandText: String {
        func pair(_ v: [Double]) -> String { v.map { String(format: "%.3g", $0) }.joined(separator: ", ") }
        return "mean state in [\(pair(meanStateRange))], allowed [\(pair(allowedRange))]"
    }
}

/// Test-set evaluation on trajectories simulated with the trained network.
public struct TestEvaluation: Sendable {
    public var testMSE: Double
    public var policyAbsError: Double?
    public var policyRelError: Double?
    /// Mean |û − u*| / mean |u*|: the error relative to the policy's size (`PolicyErrors`).
    public var policyScaledError: Double?
    /// The exact policy comes within 1 % of its mean size of zero at some test point, so the
    /// paper's per-point `policyRelError` is dominated by a few points near u* = 0.
    public var policyRelErrorIllConditioned: Bool?
    /// Mean relative deviation from the model's benchmark policy (e.g. the LQ policy of the μ = 0
    /// model, the benchmark as μ → 0), when it has one.
    public var lqPolicyRelDeviation: Double?
    /// Per point: trajectory, t, mean policy û, mean Euler residual, its root mean square over the
    /// point's equations, and the exact mean policy (nil when there is none).
    public var rows: [(trajectory: Int, t: Int, uHat: Double, residual: Double, residualRMS: Double, uReference: Double?)]
    /// Extra per-point columns from the economy (`mean_x`, `exact_u`, …).
    public var columns: [(name: String, values: [Double])] = []
}

/// Solves a symmetric economy by fitting its policy network to Euler residuals on simulated
/// paths (paper §5): data from the economy's data-generating policy (the LQ solution), Adam +
/// StepLR on shuffled mini-batches, early stopping on validation MSE, the own-path check.
public final class Solver<E: SymmetricEconomy> {
    public typealias T = E.Scalar
    public let config: RunConfig
    /// The economy with the training rule over ω (`method.omega_quadrature_nodes`).
    public let economy: E
    /// The economy of training steps: `economy`, whose agents of interest draw their own states
    /// from the model's `agents.interest` with probability `method.interest_share`.
    public let trainingEconomy: E
    /// The same economy with the test rule (`method.test_quadrature_nodes`) for test metrics.
    public let testEconomy: E
    public let network: E.Policy
    public let optimizer: Adam<T>
    /// The moving average of the parameters that validation, the stopping rules and checkpoints
    /// see (`optimizer.average_decay` > 0), nil without one.
    public let average: ParameterAverage<T>?
    public let initialState: Tensor<T>
    /// Training and validation points, [points, stateShape…].
    public private(set) var trainX: Tensor<T>
    public private(set) var valX: Tensor<T> { didSet { sampledValCache = nil } }
    private var sampledValCache: Tensor<T>?
    /// The validation estimate's economy: the agents `subset` (a fixed `method.val_pool_sample`
    /// of them) when N is larger and the economy can be restricted; nil: every agent.
    public private(set) lazy var validationSample: (economy: E, subset: [Int])? = {
        let k = config.method.valPoolSample, n = economy.agentCount
        guard k > 0, k < n else { return nil }
        let subset = randomSubset(count: n, size: k, seed: streams.validationPool)
        return economy.restricted(toAgents: subset).map { ($0, subset) }
    }()
    /// The validation states of the sampled agents.
    var sampledValX: Tensor<T> {
        guard let sample = validationSample else { return valX }
        if let cached = sampledValCache { return cached }
        let x = economy.restrictedStates(valX, toAgents: sample.subset)
        sampledValCache = x
        return x
    }
    /// The economy and initial state of own-path checks (the validation sample's agents).
    var ownPathEconomy: (economy: E, initial: Tensor<T>) {
        guard let sample = validationSample else { return (economy, initialState) }
        let start = economy.restrictedStates(initialState.reshaped([1] + economy.stateShape), toAgents: sample.subset)
        return (sample.economy, start.reshaped(Array(start.shape.dropFirst())))
    }
    /// Whether paths simulated with the network itself were added to the data (own-path refinement).
    public private(set) var dataAugmented = false
    /// Refinements so far in the current attempt.
    public var refinements = 0
    /// Largest number of network rows one forward pass may hold (memory bound for large N).
    public var maxRowsPerChunk = 1 << 18
    public var history: [EpochRecord] = []
    public var epochsDone = 0
    public var elapsedBeforeResume = 0.0
    /// Seconds of fitting until val MSE first reached `trainer.stopping_threshold` in the current
    /// attempt and data (reset by a restart or a refinement; only the accepted solution's counts).
    public var secondsToThreshold: Double?
    /// Why training diverged, when the solver can tell (nil otherwise).
    public var divergenceCause: DivergenceCause?
    public var bestValMSE = Double.infinity
    /// Current initialisation (restarts after a failed own-path check) and its first epoch.
    public var attempt = 0
    public var attemptStartEpoch = 0
    public var lastOwnPathCheck: OwnPathCheck?
    /// The start level of the current attempt (`method.fit_start_level`), nil when not fitted.
    public var startLevel: StartLevelFit?
    /// Restarts triggered by the own-path screen (`trainer.own_path_screen`), all attempts.
    public var screenRestarts = 0
    /// Rollbacks in the current attempt (`trainer.rollbacks`): each halved the learning rate.
    public private(set) var rollbacksUsed = 0
    public let progress: ProgressReporter

    /// - Parameters:
    ///   - makeEconomy: builds the economy from the run's shock stream (its one Monte Carlo draw).
    public init(config: RunConfig, progress: ProgressReporter = ProgressReporter(),
                makeEconomy: (inout SeededGenerator) throws -> E) throws {
        self.config = config
        self.progress = progress
        let method = config.method
        var root = RandomStreams(seed: config.seed).root
        var netRNG = root.fork(), shockRNG = root.fork(), dataRNG = root.fork()
        economy = try makeEconomy(&shockRNG)
        let pool = method.poolSample, n = economy.agentCount
        if pool > 0 && pool < n && economy.restricted(toAgents: Array(0..<pool)) == nil {
            throw ConfigError(key: "method.pool_sample", "this economy cannot be restricted to a subset of its agents (a Swift economy, or a model "
                              + "file with agents.groups); set method.pool_sample: 0")
        }
        trainingEconomy = economy.drawingInterestStates(share: method.interestShare)
        network = economy.makePolicy(generator: &netRNG)
        testEconomy = economy.withAggregateQuadrature(nodes: method.testQuadratureNodes)
        optimizer = Adam(parameters: network.parameters, learningRate: config.optimizer.lr)
        average = config.optimizer.averageDecay > 0 ? ParameterAverage(parameters: network.parameters, decay: config.optimizer.averageDecay) : nil
        initialState = economy.initialState(generator: &dataRNG)
        let train = Self.paths(economy, from: initialState, trajectories: method.trainTrajectories, method: method, policy: nil, generator: &dataRNG)
        let val = Self.paths(economy, from: initialState, trajectories: method.valTrajectories, method: method, policy: nil, generator: &dataRNG)
        let allTrain = train.reshaped([-1] + economy.stateShape)
        if method.trainPoints > 0 && method.trainPoints < allTrain.shape[0] {
            // a few random points from the simulated paths (paper §5.5, Fig. 7)
            var order = Array(0..<allTrain.shape[0])
            order.seededShuffle(using: &dataRNG)
            trainX = allTrain.gather(Array(order.prefix(method.trainPoints)).sorted())
        } else {
            trainX = allTrain
        }
        valX = val.reshaped([-1] + economy.stateShape)
        startLevel = configuredStartLevel()
        average?.reset()
    }

    /// States per chunk so that a chunk holds at most `maxRowsPerChunk` network rows.
    func statesPerChunk(_ e: E) -> Int { max(1, maxRowsPerChunk / max(1, e.rowsPerState)) }

    /// Applies `body` to consecutive chunks of the states in X.
    func chunked(_ X: Tensor<T>, size: Int, _ body: (Tensor<T>) -> Void) {
        var start = 0
        while start < X.shape[0] {
            let end = min(X.shape[0], start + size)
            body(X.slice(axis: 0, start..<end))
            start = end
        }
    }

    /// Euler residuals ε(X), [states][equations], without gradients, in chunks (training rule
    /// over ω unless another economy is given).
    public func residuals(_ X: Tensor<T>, economy: E? = nil, subsample: UInt64? = nil) -> [[Double]] {
        let e = economy ?? self.economy
        var out: [[Double]] = []
        out.reserveCapacity(X.shape[0])
        withoutGradients {
            chunked(X, size: statesPerChunk(e)) { part in
                let r = e.eulerResidual(Variable(part), policy: network, subsample: subsample).value
                let cols = r.count / max(part.shape[0], 1)
                for i in 0..<part.shape[0] { out.append((0..<cols).map { Double(r.pointer[i * cols + $0]) }) }
            }
        }
        return out
    }

    /// A fixed choice of equations for validation (economies that subsample; test uses all).
    /// nil with `method.validate_every_agent`: every agent's equations.
    var validationSubsample: UInt64? { config.method.validateEveryAgent ? nil : streams.validationSubsample }

    /// The run's random streams (one place for every seed).
    var streams: RandomStreams { RandomStreams(seed: config.seed) }

    /// Mean squared Euler residual over every state and equation (or a fixed subsample of the
    /// equations, for validation).
    public func mse(_ X: Tensor<T>, economy: E? = nil, subsample: UInt64? = nil) -> Double {
        let r = residuals(X, economy: economy, subsample: subsample)
        let n = r.reduce(0) { $0 + $1.count }
        return r.reduce(0.0) { $0 + $1.reduce(0) { $0 + $1 * $1 } } / Double(max(n, 1))
    }

    /// Mean relative policy error against the exact policy (nil when there is none).
    public func policyRelError(_ X: Tensor<T>, economy: E? = nil) -> Double? {
        let economy = economy ?? self.economy
        var rel: [Double] = []
        var known = true
        chunked(X, size: statesPerChunk(economy)) { part in
            guard known, let e = economy.policyErrors(part, policy: network) else { known = false; return }
            rel += e.relative
        }
        return known && !rel.isEmpty ? rel.reduce(0, +) / Double(rel.count) : nil
    }

    /// Whether this attempt's training steps differentiate through the next period's policy now.
    var nextPolicyGradient: Bool {
        config.nextPolicyGradient(attemptValMSEs: history.lazy.filter { $0.attempt == self.attempt }.map(\.valMSE))
    }

    /// One optimiser step on the points `indices`: mean squared Euler residual, gradients
    /// accumulated over chunks when the batch is larger than a chunk. Returns the batch MSE.
    ///
    /// With `method.pool_sample` = K < N the step sees the economy of K agents drawn afresh
    /// (`pool` seed): pooled features, means over agents and next-period states of those agents
    /// only, so its cost does not grow with N (concentration of measure, as for the one draw of
    /// idiosyncratic shocks; docs/performance.md measures the bias). With
    /// `method.pool_stratified` the K agents are, per state, a systematic sample of its agents
    /// sorted by state (`stratifiedStates`).
    func trainStep(_ indices: [Int], subsample: UInt64, pool: UInt64, nextPolicyGradient: Bool) -> Double {
        optimizer.zeroGrad()
        let k = config.method.poolSample, n = economy.agentCount
        var stepEconomy = trainingEconomy, subset: [Int]?
        if k > 0 && k < n {
            let s = randomSubset(count: n, size: k, seed: pool)
            if let e = trainingEconomy.restricted(toAgents: s) { stepEconomy = e; subset = s }
        }
        let chunk = statesPerChunk(stepEconomy)
        var total = 0.0, start = 0
        while start < indices.count {
            let end = min(indices.count, start + chunk)
            let rows = Array(indices[start..<end])
            let X = Variable(subset.map {
                // stratified: per state a systematic sample of its agents (the random subset's
                // economy only lends its slots' part of the one draw of idiosyncratic shocks)
                config.method.poolStratified ? economy.stratifiedStates(trainX, rows: rows, size: k, seed: pool)
                    : economy.restrictedStates(trainX, rows: rows, toAgents: $0)
            } ?? trainX.gather(rows))
            let eps = withNextPolicyGradient(nextPolicyGradient, aggregates: !config.method.holdNextAggregates) {
                stepEconomy.eulerResidual(X, policy: network, subsample: subsample)
            }
            let equations = eps.value.count / (end - start)
            let loss = eps.squared().sumAll() * T(1 / Double(indices.count * equations))
            total += Double(loss.value.scalar)
            loss.backward()
            start = end
        }
        if total.isFinite { optimizer.update(); average?.update() }
        return total
    }

    /// Per-epoch callback: (record, isBest) — the caller writes checkpoints and history.
    public typealias EpochCallback = (EpochRecord, Bool) throws -> Void

    /// Trains until a stopping rule fires; returns why it stopped.
    ///
    /// When val MSE reaches the threshold the candidate is checked on paths simulated with the
    /// network itself (`verifyOwnPaths`): the Euler equation restricted to LQ-simulated points
    /// has other solutions than the equilibrium (the slides' multiplicity puzzle; the reference
    /// code finds them in about half of its φ(Identity)/φ(Moments) seeds), and those betray
    /// themselves by large residuals or runaway aggregates on their own paths. A failed check
    /// restarts from a fresh initialisation, up to `trainer.max_restarts` times.
    public func fit(onEpoch: EpochCallback) throws -> StopReason {
        let tc = config.trainer, method = config.method
        let batchSize = method.batchSize == 0 ? trainX.shape[0] : min(method.batchSize, trainX.shape[0])
        let schedule = StepLR(initialRate: config.optimizer.lr, stepSize: config.optimizer.stepSize, gamma: config.optimizer.stepGamma)
        let start = DispatchTime.now().uptimeNanoseconds
        func elapsed() -> Double { elapsedBeforeResume + Double(DispatchTime.now().uptimeNanoseconds - start) / 1e9 }
        var sinceImprovement = 0
        // for the divergence diagnosis: the first finite batch loss of this attempt seen by this process
        var firstFiniteLoss: Double?
        if let bestIndex = history.lastIndex(where: { $0.valMSE == bestValMSE && $0.attempt == attempt }) {
            sinceImprovement = history.count - 1 - bestIndex
        }
        /// The learning rate of an epoch of the attempt: the schedule's, halved by each rollback.
        func rate(_ localEpoch: Int) -> Double { schedule.rate(epoch: localEpoch) * Double.pow(0.5, Double(rollbacksUsed)) }
        /// The snapshot at the start of the last finished epoch (`trainer.rollbacks`).
        var previousSnapshot: (snapshot: TrainingSnapshot<E>, epochs: Int, attempt: Int)?
        if let last = history.last, last.attempt == attempt, last.lr > 0 {
            // a resumed run: the rollbacks so far are in the recorded learning rate (halved by each)
            rollbacksUsed = Self.rollbacks(recordedRate: last.lr, plannedRate: schedule.rate(epoch: max(0, last.epoch - 1 - attemptStartEpoch)))
        }

        /// The network's own paths join the data (a refinement, at the threshold or by the clock):
        /// the best val MSE, the time to the threshold and patience start again on the new data.
        func addOwnPaths(refinements count: Int, _ message: String) {
            refinements = count
            augmentWithOwnPaths()
            bestValMSE = .infinity
            secondsToThreshold = nil
            sinceImprovement = 0
            progress.message(message)
        }

        /// At the threshold: accept, restart, or give up.
        func concludeAtThreshold() -> StopReason? {
            guard tc.verifyOwnPaths else { return .threshold }
            let check = ownPathCheck()
            lastOwnPathCheck = check
            var policy = ownPathPolicy
            let decision = policy.atThreshold(check)
            let what = "own-path check failed (MSE \(sci(check.mse)), \(check.bandText))"
            switch decision {
            case .accept, .carryOn:
                return .threshold
            case .refine:
                // near the equilibrium path but inaccurate on it: the data do not cover the states the
                // solution visits, so add the network's own paths to the data and carry on
                addOwnPaths(refinements: policy.refinements, "\(what): adding paths simulated with the network to the training and validation "
                            + "data (refinement \(policy.refinements) of \(tc.ownPathRefinements))")
                return nil
            case .giveUp:
                progress.message("\(what); no restarts left (trainer.max_restarts = \(tc.maxRestarts))")
                return .unverified
            case .restart:
                restart(reason: what)
                sinceImprovement = 0
                firstFiniteLoss = nil
                return nil
            }
        }

        if let last = history.last, last.attempt == attempt, reachesThreshold(last.valMSE, epochs: epochsDone - attemptStartEpoch),
           let reason = concludeAtThreshold() { return reason }
        while epochsDone - attemptStartEpoch < tc.maxEpochs {
            let epoch = epochsDone, localEpoch = epochsDone - attemptStartEpoch
            if method.refreshDataEvery > 0 && localEpoch > 0 && localEpoch % method.refreshDataEvery == 0 {
                // ergodic sampling: the data follow the network's own paths (the validation set changes too)
                refreshDataWithOwnPaths()
                bestValMSE = .infinity
                sinceImprovement = 0
            }
            if method.ownPathsAtEpoch > 0 && localEpoch == method.ownPathsAtEpoch && !dataAugmented {
                // own paths by the clock (`method.own_paths_at_epoch`; unless a refinement at the
                // threshold brought them already), for economies whose val MSE level depends on N
                addOwnPaths(refinements: refinements + 1,
                            "epoch \(localEpoch + 1): adding paths simulated with the network to the training and validation data (method.own_paths_at_epoch)")
            }
            let lr = rate(localEpoch)
            optimizer.learningRate = lr
            let snapshot = rollbacksUsed < tc.rollbacks ? TrainingSnapshot(self) : nil
            /// `trainer.rollbacks`: back to the start of the previous epoch of this attempt when
            /// there is one (a slide into a control's bound can start an epoch before the loss
            /// turns NaN), else of this one; the learning rate is halved from then on.
            func rollBack() {
                if let older = previousSnapshot, older.attempt == attempt, older.epochs == epochsDone - 1 {
                    history.removeLast(epochsDone - older.epochs)
                    epochsDone = older.epochs
                    older.snapshot.restore(self)
                } else {
                    snapshot?.restore(self)
                }
                previousSnapshot = nil
                rollbacksUsed += 1
                divergenceCause = nil
                progress.message("back to the weights at the start of epoch \(epochsDone - attemptStartEpoch + 1) with the learning rate halved to \(sci(rate(epochsDone - attemptStartEpoch))) "
                                 + "(rollback \(rollbacksUsed) of \(tc.rollbacks), trainer.rollbacks)")
            }
            guard let trainMSE = trainEpoch(epoch: epoch, localEpoch: localEpoch, batchSize: batchSize, firstFiniteLoss: &firstFiniteLoss,
                                            rollingBack: snapshot != nil, elapsed: elapsed) else {
                guard snapshot != nil, divergenceCause?.stepsCanHelp ?? true else { return .diverged }
                rollBack()
                continue
            }
            let (valMSE, policyErr) = validate()
            epochsDone += 1
            let t = elapsed()
            let record = EpochRecord(epoch: epochsDone, lr: lr, trainMSE: trainMSE, valMSE: valMSE,
                                     valPolicyRelError: policyErr, seconds: t, attempt: attempt)
            history.append(record)
            if !valMSE.isFinite || valMSE > tc.divergenceThreshold {
                if snapshot != nil {
                    history.removeLast()
                    epochsDone -= 1
                    progress.message("epoch \(localEpoch + 1): val_mse = \(sci(valMSE)) > trainer.divergence_threshold")
                    rollBack()
                    continue
                }
                let previous = history.count >= 2 && history[history.count - 2].attempt == attempt ? history[history.count - 2].trainMSE : nil
                let cause = DivergenceCause.diagnoseValidation(trainLoss: record.trainMSE, previousTrainLoss: previous)
                divergenceCause = cause
                progress.message("training diverged at epoch \(epochsDone): val_mse = \(valMSE) > trainer.divergence_threshold (\(sci(tc.divergenceThreshold))). "
                                 + "The best checkpoint is kept. " + DivergenceCause.advice(cause, lr: config.optimizer.lr))
                return .diverged
            }
            let isBest = valMSE < bestValMSE
            if isBest { bestValMSE = valMSE; sinceImprovement = 0 } else { sinceImprovement += 1 }
            let reached = reachesThreshold(valMSE, epochs: epochsDone - attemptStartEpoch)
            if secondsToThreshold == nil && reached { secondsToThreshold = t }
            try onEpoch(record, isBest)
            if let snapshot { previousSnapshot = (snapshot, epochsDone - 1, attempt) }
            let remaining = Double(tc.maxEpochs - (epochsDone - attemptStartEpoch))
            let eta = t / Double(epochsDone) * remaining
            progress.epochDone(epoch: localEpoch, maxEpochs: tc.maxEpochs, trainMSE: record.trainMSE, valMSE: valMSE,
                               policyError: policyErr, lr: lr, elapsed: t, eta: tc.maxTime.map { min(eta, max(0, $0 - t)) } ?? eta)
            if reached, let reason = concludeAtThreshold() { return reason }
            if tc.verifyOwnPaths, !reached, valMSE <= tc.ownPathScreen, attempt < tc.maxRestarts {
                // the screen: an explosive solution of the Euler equation shows itself long before
                // the threshold (and some never reach it), so don't spend the epochs polishing it
                let check = ownPathCheck(measureResiduals: false)
                var policy = ownPathPolicy
                if policy.atScreen(check) == .restart {
                    screenRestarts += 1
                    restart(reason: "own-path screen at val MSE \(sci(valMSE)): paths simulated with the network leave the band (\(check.bandText))")
                    sinceImprovement = 0
                    firstFiniteLoss = nil
                    continue
                }
            }
            if sinceImprovement >= tc.patience { return .patience }
            if let maxTime = tc.maxTime, t >= maxTime { return .maxTime }
        }
        return .maxEpochs
    }

    /// One pass over the training points in shuffled mini-batches: the plain training loop.
    /// Trains the optimiser's iterate and leaves the average (if any) loaded for validation.
    /// Returns the mean batch loss, or nil when a loss is not finite (the cause is recorded and
    /// reported).
    /// - Parameter rollingBack: a non-finite loss will send training back to an earlier epoch
    ///   (`trainer.rollbacks`), so it is reported as that, not as the end of the run.
    func trainEpoch(epoch: Int, localEpoch: Int, batchSize: Int, firstFiniteLoss: inout Double?, rollingBack: Bool = false,
                    elapsed: () -> Double) -> Double? {
        let points = trainX.shape[0]
        var order = Array(0..<points)
        if config.method.shuffle {
            var g = streams.shuffle(epoch: epoch)
            order.seededShuffle(using: &g)
        }
        var batchCount = 0, lossSum = 0.0
        let batches = (points + batchSize - 1) / batchSize
        let nextGradient = nextPolicyGradient   // the history does not change within an epoch
        average?.unload()
        defer { average?.load() }
        for b in 0..<batches {
            let idx = Array(order[(b * batchSize)..<min(points, (b + 1) * batchSize)])
            let loss = trainStep(idx, subsample: streams.subsample(epoch: epoch, batch: b), pool: streams.pool(epoch: epoch, batch: b),
                                 nextPolicyGradient: nextGradient)
            if !loss.isFinite {
                let previous = history.last.flatMap { $0.attempt == attempt ? $0.trainMSE : nil }
                let cause = DivergenceCause.diagnose(optimizerSteps: optimizer.step, lossBefore: firstFiniteLoss, lastEpochLoss: previous)
                divergenceCause = cause
                if rollingBack && cause.stepsCanHelp {
                    progress.message("epoch \(localEpoch + 1), batch \(b + 1): the loss is \(loss) (likely cause: \(cause.rawValue))")
                } else {
                    progress.message("training diverged at epoch \(epoch + 1), batch \(b + 1): the loss is \(loss). The best checkpoint is kept. "
                                     + cause.advice(lr: config.optimizer.lr))
                }
                return nil
            }
            if firstFiniteLoss == nil { firstFiniteLoss = loss }
            lossSum += loss; batchCount += 1
            progress.step(epoch: localEpoch, maxEpochs: config.trainer.maxEpochs, batch: b + 1, batches: batches, loss: lossSum / Double(batchCount),
                          elapsed: elapsed(), lastValMSE: history.last?.valMSE, policyError: history.last?.valPolicyRelError)
        }
        return lossSum / Double(max(batchCount, 1))
    }

    /// Whether val MSE `valMSE` reaches the stopping threshold with `epochs` epochs of the attempt
    /// done: below `trainer.stopping_threshold`, and not before `trainer.min_epochs`.
    func reachesThreshold(_ valMSE: Double, epochs: Int) -> Bool {
        valMSE <= config.trainer.stoppingThreshold && epochs >= config.trainer.minEpochs
    }

    /// Validation MSE and policy error of the current weights: the estimate on the validation
    /// sample when there is one, confirmed on every agent when it reaches the threshold (so the
    /// recorded value that stops a run is always the all-agent one).
    func validate() -> (mse: Double, policyError: Double?) {
        var valMSE = mse(sampledValX, economy: validationSample?.economy, subsample: validationSubsample)
        let policyErr = policyRelError(sampledValX, economy: validationSample?.economy)
        // validate() runs before the epoch is counted: this epoch is the attempt's (epochsDone + 1 − start)-th
        if let sample = validationSample, reachesThreshold(valMSE, epochs: epochsDone + 1 - attemptStartEpoch) {
            let full = mse(valX, subsample: validationSubsample)
            progress.message("val MSE on \(sample.subset.count) agents \(sci(valMSE)), on all \(economy.agentCount): \(sci(full))")
            valMSE = full
        }
        return (valMSE, policyErr)
    }

    /// Simulates validation-sized paths with the network itself (fresh shocks) and checks that
    /// the Euler residuals stay small on them and the aggregate state stays in the band the
    /// training data span (a transversality proxy: explosive solutions leave it).
    ///
    /// - Parameter measureResiduals: false for the screen: only the band is checked (`mse` is nan).
    public func ownPathCheck(measureResiduals: Bool = true) -> OwnPathCheck {
        let method = config.method, tc = config.trainer
        var g = streams.ownPathCheck(epochs: epochsDone)
        // on the validation sample's agents (all N without one): the test phase checks all N
        let (e, start) = ownPathEconomy
        let paths = e.simulate(from: start, trajectories: method.valTrajectories, steps: method.T, policy: network, generator: &g)
        let X = paths.reshaped([-1] + e.stateShape)
        let ownMSE = measureResiduals ? mse(X, economy: e, subsample: validationSubsample) : .nan
        let data = economy.aggregate(trainX), own = e.aggregate(X)
        // generous: explosive solutions leave any band within a few periods
        let lo = data.min() ?? 0, hi = data.max() ?? 0, margin = max(0.5 * (hi - lo), 0.5 * max(abs(lo), abs(hi)), 1e-3)
        let ownLo = own.min() ?? .nan, ownHi = own.max() ?? .nan
        let bounded = own.allSatisfy { $0.isFinite && $0 >= lo - margin && $0 <= hi + margin }
        let passed = ownMSE.isFinite && ownMSE <= tc.ownPathTolerance * max(tc.stoppingThreshold, 1e-12) && bounded
        return OwnPathCheck(mse: ownMSE, meanStateRange: [ownLo, ownHi], allowedRange: [lo - margin, hi + margin], passed: passed,
                            bounded: bounded)
    }

    /// Appends `train_trajectories` and `val_trajectories` paths simulated with the network itself
    /// (fresh shocks) to the training and validation data.
    func augmentWithOwnPaths() {
        let method = config.method
        var g = streams.refinement(epochs: epochsDone)
        let shape = [-1] + economy.stateShape
        let train = economy.simulate(from: initialState, trajectories: method.trainTrajectories, steps: method.T, policy: network, generator: &g)
        let val = economy.simulate(from: initialState, trajectories: method.valTrajectories, steps: method.T, policy: network, generator: &g)
        trainX = Tensor.concat([trainX, train.reshaped(shape)], axis: 0)
        valX = Tensor.concat([valX, val.reshaped(shape)], axis: 0)
        dataAugmented = true
    }

    /// Training or validation paths [trajectories, T + 1, stateShape…]: all from the common initial
    /// state (the paper), or each from its own draw of the initial cross-section
    /// (`method.initial_per_trajectory`: the data then span the spread of initial aggregates).
    static func paths(_ economy: E, from initial: Tensor<T>, trajectories: Int, method: MethodConfig, policy: E.Policy?,
                      generator g: inout SeededGenerator) -> Tensor<T> {
        guard method.initialPerTrajectory else {
            return economy.simulate(from: initial, trajectories: trajectories, steps: method.T, policy: policy, generator: &g)
        }
        let parts = (0..<trajectories).map { _ in
            economy.simulate(from: economy.initialState(generator: &g), trajectories: 1, steps: method.T, policy: policy, generator: &g)
        }
        return Tensor.concat(parts, axis: 0)
    }

    /// Replaces the training and validation data by `train_trajectories` and `val_trajectories`
    /// paths simulated with the network: from the common initial state (`refresh_data_from:
    /// initial`, anchored: a policy still far from the solution cannot walk the data away), or
    /// continuing each previous path (`previous`: the data follow the policy's ergodic set).
    func refreshDataWithOwnPaths() {
        let method = config.method
        var g = streams.refresh(epochs: epochsDone)
        let shape = [-1] + economy.stateShape
        if method.refreshDataFrom == .previous, let trainEnds = pathEnds(trainX, trajectories: method.trainTrajectories),
           let valEnds = pathEnds(valX, trajectories: method.valTrajectories) {
            trainX = economy.simulate(fromEach: trainEnds, steps: method.T, policy: network, generator: &g).reshaped(shape)
            valX = economy.simulate(fromEach: valEnds, steps: method.T, policy: network, generator: &g).reshaped(shape)
        } else {
            trainX = Self.paths(economy, from: initialState, trajectories: method.trainTrajectories, method: method, policy: network, generator: &g).reshaped(shape)
            valX = Self.paths(economy, from: initialState, trajectories: method.valTrajectories, method: method, policy: network, generator: &g).reshaped(shape)
        }
        dataAugmented = true
        let means = economy.aggregate(trainX)
        progress.message("new data from the network's own paths (method.refresh_data_every = \(method.refreshDataEvery)): mean state from \(String(format: "%.4g", means.first ?? .nan)) to \(String(format: "%.4g", means.last ?? .nan))")
    }

    /// The last state of every path when `X` holds `trajectories` whole paths of T + 1 points
    /// in order ([trajectories, stateShape…]); nil for any other layout (a subsample of points).
    func pathEnds(_ X: Tensor<T>, trajectories: Int) -> Tensor<T>? {
        let length = config.method.T + 1
        guard trajectories > 0, X.shape[0] == trajectories * length else { return nil }
        return X.gather((0..<trajectories).map { $0 * length + length - 1 })
    }

    /// The own-path decisions in the solver's current attempt.
    var ownPathPolicy: OwnPathPolicy {
        OwnPathPolicy(maxRestarts: config.trainer.maxRestarts, maxRefinements: config.trainer.ownPathRefinements,
                      attempt: attempt, refinements: refinements)
    }

    /// The rollbacks behind a recorded learning rate: each halved the schedule's rate.
    public static func rollbacks(recordedRate: Double, plannedRate: Double) -> Int {
        guard recordedRate > 0, plannedRate > 0 else { return 0 }
        return max(0, Int(Foundation.log2(plannedRate / recordedRate).rounded()))
    }

    /// Starts a new attempt: fresh weights (from the seed and the attempt number), fresh Adam
    /// state and learning-rate schedule; the history and the clock carry on.
    func restart(reason: String) {
        attempt += 1
        refinements = 0
        rollbacksUsed = 0
        attemptStartEpoch = epochsDone
        var g = streams.restart(attempt: attempt)
        average?.unload()
        network.copyParameters(from: economy.makePolicy(generator: &g))
        startLevel = configuredStartLevel()
        average?.reset()
        optimizer.reset()
        bestValMSE = .infinity
        secondsToThreshold = nil
        progress.message("\(reason): restarting from a new initialisation (attempt \(attempt + 1) of \(config.trainer.maxRestarts + 1))")
        if let startLevel { progress.message(startLevel.description) }
    }

    /// Simulates `trajectories` test paths with the trained network from the common initial
    /// state (fresh shocks from the run's seed) and measures residuals (test rule over ω) and
    /// policy errors.
    public func evaluateTest(trajectories: Int) -> TestEvaluation {
        let method = config.method
        var g = streams.test
        let paths = economy.simulate(from: initialState, trajectories: trajectories, steps: method.T, policy: network, generator: &g)
        let X = paths.reshaped([-1] + economy.stateShape)
        let eps = residuals(X, economy: testEconomy)
        var uHat: [Double] = [], reference: [Double]? = []
        var absErrors: [Double] = [], relErrors: [Double] = [], scales: [Double] = []
        var known = true
        var deviations: [Double] = [], hasBenchmark = true
        var columns: [(name: String, values: [Double])] = []
        chunked(X, size: statesPerChunk(economy)) { part in
            let extra = economy.reportColumns(part)
            if columns.isEmpty { columns = extra } else { for k in extra.indices { columns[k].values += extra[k].values } }
            if let r = economy.referenceMeanPolicy(part) { reference? += r.scalars.map(Double.init) } else { reference = nil }
            let summary = withoutGradients { economy.policySummary(part, policy: network) }
            uHat += summary.mean
            if known, let e = summary.errors { absErrors += e.absolute; relErrors += e.relative; scales += e.scale } else { known = false }
            if hasBenchmark, let d = summary.deviations { deviations += d } else { hasBenchmark = false }
        }
        var rows: [(trajectory: Int, t: Int, uHat: Double, residual: Double, residualRMS: Double, uReference: Double?)] = []
        var squares = 0.0, count = 0
        for p in 0..<X.shape[0] {
            let e = eps[p]
            squares += e.reduce(0) { $0 + $1 * $1 }; count += e.count
            rows.append((p / (method.T + 1), p % (method.T + 1), uHat[p], e.reduce(0, +) / Double(max(e.count, 1)),
                         (e.reduce(0) { $0 + $1 * $1 } / Double(max(e.count, 1))).squareRoot(), reference?[p]))
        }
        let mean = { (v: [Double]) in v.reduce(0, +) / Double(max(v.count, 1)) }
        let deviation = hasBenchmark && !deviations.isEmpty ? mean(deviations) : nil
        let exact = known && !scales.isEmpty
        return TestEvaluation(testMSE: squares / Double(max(count, 1)),
                              policyAbsError: exact ? mean(absErrors) : nil, policyRelError: exact ? mean(relErrors) : nil,
                              policyScaledError: exact ? mean(absErrors) / mean(scales) : nil,
                              policyRelErrorIllConditioned: exact ? scales.min()! < 0.01 * mean(scales) : nil,
                              lqPolicyRelDeviation: deviation, rows: rows, columns: columns)
    }

    // MARK: Checkpoints

    /// Parameters and optimiser state as safetensors entries, with training state in metadata.
    public func checkpointTensors() -> [(String, AnyTensor)] {
        var out: [(String, AnyTensor)] = []
        let named = network.namedParameters
        let state = optimizer.state
        for (k, (name, p)) in named.enumerated() {
            out.append((name, AnyTensor(p.value.copy())))
            out.append(("optimizer.m." + name, AnyTensor(state.m[k].copy())))
            out.append(("optimizer.v." + name, AnyTensor(state.v[k].copy())))
        }
        if dataAugmented {
            out.append(("data.train", AnyTensor(trainX.copy())))
            out.append(("data.val", AnyTensor(valX.copy())))
        }
        return out
    }

    /// The training state beside the weights (see `CheckpointState`).
    public func checkpointState() -> CheckpointState {
        CheckpointState(epochs: epochsDone, optimizerStep: optimizer.step, elapsedSeconds: history.last?.seconds ?? 0,
                        bestValMSE: bestValMSE, history: history, precision: T.dtypeName, modelKind: config.kind.rawValue,
                        attempt: attempt, screenRestarts: screenRestarts, attemptStartEpoch: attemptStartEpoch,
                        refinements: refinements, secondsToThreshold: secondsToThreshold, config: config.yaml())
    }

    public func checkpointMetadata() -> [String: String] { checkpointState().metadata }

    /// Restores parameters (and, when `training`, the optimiser state and the validated training
    /// state, `CheckpointState`).
    /// - Parameter path: the checkpoint's path, for messages.
    public func restore(from file: SafetensorsFile, training: Bool, path: String = "checkpoint") throws {
        // validate everything before changing anything
        let checkpoint = training ? try CheckpointState(metadata: file.metadata, file: path) : nil
        if let checkpoint, !checkpoint.precision.isEmpty, checkpoint.precision != T.dtypeName {
            throw SolverError("checkpoint '\(path)' holds \(checkpoint.precision) weights but the config asks for \(T.dtypeName) (trainer.precision)")
        }
        var values: [Tensor<T>] = [], moments: [(Tensor<T>, Tensor<T>)] = []
        for (name, p) in network.namedParameters {
            guard let t = file.tensors[name] else { throw SolverError("checkpoint '\(path)' has no tensor '\(name)': it was written for another network; check the run's config.yaml") }
            let value: Tensor<T> = t.tensor()
            guard value.shape == p.shape else { throw SolverError("checkpoint '\(path)' tensor '\(name)' has shape \(value.shape), the network expects \(p.shape): it was written for another network or N") }
            values.append(value)
            if training {
                guard let m = file.tensors["optimizer.m." + name], let v = file.tensors["optimizer.v." + name] else {
                    throw SolverError("checkpoint '\(path)' lacks optimizer state for '\(name)': cannot resume training from it")
                }
                let mt: Tensor<T> = m.tensor(), vt: Tensor<T> = v.tensor()
                guard mt.shape == p.shape, vt.shape == p.shape else {
                    throw SolverError("checkpoint '\(path)' optimizer state for '\(name)' has shape \(mt.shape)/\(vt.shape), the network expects \(p.shape)")
                }
                moments.append((mt, vt))
            }
        }
        var data: (Tensor<T>, Tensor<T>)?
        if training, let train = file.tensors["data.train"], let val = file.tensors["data.val"] {
            let tx: Tensor<T> = train.tensor(), vx: Tensor<T> = val.tensor()
            guard Array(tx.shape.dropFirst()) == economy.stateShape, Array(vx.shape.dropFirst()) == economy.stateShape else {
                throw SolverError("checkpoint '\(path)' training data have states of shape \(Array(tx.shape.dropFirst())), the economy's are \(economy.stateShape)")
            }
            data = (tx, vx)
        }
        for ((_, p), value) in zip(network.namedParameters, values) { p.value.pointer.update(from: value.pointer, count: value.count) }
        guard let checkpoint else { return }
        let state = optimizer.state
        for (k, (m, v)) in moments.enumerated() {
            state.m[k].pointer.update(from: m.pointer, count: m.count)
            state.v[k].pointer.update(from: v.pointer, count: v.count)
        }
        optimizer.restore(m: state.m, v: state.v, step: checkpoint.optimizerStep)
        epochsDone = checkpoint.epochs
        attempt = checkpoint.attempt
        screenRestarts = checkpoint.screenRestarts
        attemptStartEpoch = checkpoint.attemptStartEpoch
        refinements = checkpoint.refinements
        if let (tx, vx) = data { trainX = tx; valX = vx; dataAugmented = true }
        elapsedBeforeResume = checkpoint.elapsedSeconds
        bestValMSE = checkpoint.bestValMSE ?? .infinity
        secondsToThreshold = checkpoint.secondsToThreshold
        history = checkpoint.history
    }
}

/// The training state at the start of an epoch, for `trainer.rollbacks`: the optimiser's
/// iterate, Adam's moments and step, and the moving average.
struct TrainingSnapshot<E: SymmetricEconomy> {
    typealias T = E.Scalar
    let parameters: [Tensor<T>]
    let moments: (m: [Tensor<T>], v: [Tensor<T>]), step: Int
    let average: (average: [Tensor<T>], updates: Int)?

    /// Taken while the average (if any) is loaded, as between epochs.
    init(_ solver: Solver<E>) {
        solver.average?.unload()
        defer { solver.average?.load() }
        parameters = solver.network.parameters.map { $0.value.copy() }
        let state = solver.optimizer.state
        moments = (state.m.map { $0.copy() }, state.v.map { $0.copy() })
        step = solver.optimizer.step
        average = solver.average?.state
    }

    func restore(_ solver: Solver<E>) {
        solver.average?.unload()
        defer { solver.average?.load() }
        for (p, saved) in zip(solver.network.parameters, parameters) { p.value.pointer.update(from: saved.pointer, count: saved.count) }
        solver.optimizer.restore(m: moments.m, v: moments.v, step: step)
        if let average { solver.average?.restore(average) }
    }
}
