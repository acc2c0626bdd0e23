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
}

/// Test-set evaluation on trajectories simulated with the trained network.
public struct TestEvaluation: Sendable {
    public var testMSE: Double
    public var policyAbsError: Double?
    public var policyRelError: Double?
    /// Per point: trajectory, t, û, ε, u_LQ (nil when ν ≠ 1).
    public var rows: [(trajectory: Int, t: Int, uHat: Double, residual: Double, uReference: Double?)]
}

/// Solves the N-firm investment model by fitting a symmetric network to Euler residuals on
/// simulated paths (paper §5): data from the LQ policy, Adam + StepLR on shuffled mini-batches,
/// early stopping on validation MSE.
public final class InvestmentSolver<T: TensorScalar> {
    public let config: RunConfig
    /// The economy with the training rule over ω (`method.omega_quadrature_nodes`).
    public let economy: InvestmentEconomy<T>
    /// The same economy with the test rule (`method.test_quadrature_nodes`) for test metrics.
    public let testEconomy: InvestmentEconomy<T>
    public let network: SymmetricNetwork<T>
    public let optimizer: Adam<T>
    /// Exact LQ equilibrium (ν = ζ = 1, μ = 0); the data-generating policy and the benchmark.
    public let lq: LQEquilibrium
    public let initialState: Tensor<T>
    /// Training and validation points, [points, N].
    public let trainX: Tensor<T>, valX: Tensor<T>
    /// Largest number of φ rows one forward pass may hold (memory bound for large N).
    public var maxRowsPerChunk = 1 << 18
    public var history: [EpochRecord] = []
    public var epochsDone = 0
    public var elapsedBeforeResume = 0.0
    public var secondsToThreshold: Double?
    public var bestValMSE = Double.infinity
    /// Current initialisation (restarts after a failed own-path check) and its first epoch.
    public var attempt = 0
    public var attemptStartEpoch = 0
    public var lastOwnPathCheck: OwnPathCheck?
    public let progress: ProgressReporter

    public init(config: RunConfig, progress: ProgressReporter = ProgressReporter()) throws {
        self.config = config
        self.progress = progress
        let m = config.model, method = config.method
        var lqModel = m
        lqModel.nu = 1; lqModel.zeta = 1; lqModel.mu = 0
        lq = try LQEquilibrium(model: lqModel)
        var root = SeededGenerator(seed: config.seed)
        var netRNG = root.fork(), shockRNG = root.fork(), dataRNG = root.fork()
        network = SymmetricNetwork<T>(config.network, generator: &netRNG)
        economy = InvestmentEconomy<T>(model: m, quadratureNodes: method.omegaQuadratureNodes,
                                       normalizeShockVector: method.normalizeShockVector, generator: &shockRNG)
        testEconomy = economy.withQuadrature(nodes: method.testQuadratureNodes)
        optimizer = Adam(parameters: network.parameters, learningRate: config.optimizer.lr)
        initialState = InvestmentEconomy<T>.initialState(N: m.N, loc: method.X0Loc, scale: method.X0Scale, generator: &dataRNG)
        let lqPolicy = { [lq] (X: Tensor<T>) -> Tensor<T> in Self.lqPolicy(lq, X) }
        let train = economy.simulate(from: initialState, trajectories: method.trainTrajectories, steps: method.T,
                                     generator: &dataRNG, policy: lqPolicy)
        let val = economy.simulate(from: initialState, trajectories: method.valTrajectories, steps: method.T,
                                   generator: &dataRNG, policy: lqPolicy)
        trainX = train.reshaped([-1, m.N])
        valX = val.reshaped([-1, m.N])
    }

    /// `u_LQ(X) = H0 + H1·mean(X)` for each row of X [batch, N].
    static func lqPolicy(_ lq: LQEquilibrium, _ X: Tensor<T>) -> Tensor<T> {
        let b = X.shape[0], n = X.shape[1]
        let u = Tensor<T>(uninitializedShape: [b])
        for r in 0..<b {
            var s = 0.0
            for i in 0..<n { s += Double(X.pointer[r * n + i]) }
            u.pointer[r] = T(lq.H0 + lq.H1 * s / Double(n))
        }
        return u
    }

    /// Points per forward chunk so that a chunk holds at most `maxRowsPerChunk` φ rows.
    var pointsPerChunk: Int {
        let rowsPerPoint = economy.model.N * (economy.omega.nodes.count + 1)
        return max(1, maxRowsPerChunk / rowsPerPoint)
    }

    /// The policy û(X) for each row of X [batch, N], without gradients, in chunks.
    public func policy(_ X: Tensor<T>) -> Tensor<T> {
        let b = X.shape[0], chunk = max(1, maxRowsPerChunk / economy.model.N)
        return withoutGradients {
            var parts: [Tensor<T>] = []
            var start = 0
            while start < b {
                let end = min(b, start + chunk)
                parts.append(network(Variable(X.slice(axis: 0, start..<end))).value.reshaped([end - start]))
                start = end
            }
            return parts.count == 1 ? parts[0] : Tensor.concat(parts, axis: 0)
        }
    }

    /// Euler residuals ε(X) for each row of X, without gradients, in chunks (training rule over
    /// ω unless another economy is given).
    public func residuals(_ X: Tensor<T>, economy: InvestmentEconomy<T>? = nil) -> [Double] {
        let economy = economy ?? self.economy
        let b = X.shape[0], chunk = max(1, maxRowsPerChunk / (economy.model.N * (economy.omega.nodes.count + 1)))
        var out: [Double] = []
        out.reserveCapacity(b)
        withoutGradients {
            var start = 0
            while start < b {
                let end = min(b, start + chunk)
                let e = economy.eulerResidual(Variable(X.slice(axis: 0, start..<end)), network: network).value
                out.append(contentsOf: e.scalars.map(Double.init))
                start = end
            }
        }
        return out
    }

    public func mse(_ X: Tensor<T>) -> Double {
        let r = residuals(X)
        return r.reduce(0) { $0 + $1 * $1 } / Double(max(r.count, 1))
    }

    /// Mean |û − u_LQ| / |u_LQ| on X (a fraction).
    public func policyRelError(_ X: Tensor<T>) -> Double {
        let u = policy(X), ref = Self.lqPolicy(lq, X)
        var s = 0.0
        for i in 0..<u.count { s += abs(Double(u.pointer[i] - ref.pointer[i])) / abs(Double(ref.pointer[i])) }
        return s / Double(max(u.count, 1))
    }

    /// One optimiser step on the points `indices`: mean squared Euler residual, gradients
    /// accumulated over chunks when the batch is larger than a chunk. Returns the batch MSE.
    func trainStep(_ indices: [Int]) -> Double {
        optimizer.zeroGrad()
        let chunk = pointsPerChunk
        var total = 0.0, start = 0
        while start < indices.count {
            let end = min(indices.count, start + chunk)
            let X = Variable(trainX.gather(Array(indices[start..<end])))
            let eps = economy.eulerResidual(X, network: network)
            let loss = eps.squared().sumAll() * T(1 / Double(indices.count))
            total += Double(loss.value.scalar)
            loss.backward()
            start = end
        }
        if total.isFinite { optimizer.update() }
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
        if let bestIndex = history.lastIndex(where: { $0.valMSE == bestValMSE && $0.attempt == attempt }) {
            sinceImprovement = history.count - 1 - bestIndex
        }

        /// At the threshold: accept, restart, or give up.
        func concludeAtThreshold() -> StopReason? {
            guard tc.verifyOwnPaths else { return .threshold }
            let check = ownPathCheck()
            lastOwnPathCheck = check
            if check.passed { return .threshold }
            let mean = check.meanStateRange.map { String(format: "%.3g", $0) }.joined(separator: ", ")
            let band = check.allowedRange.map { String(format: "%.3g", $0) }.joined(separator: ", ")
            let what = "own-path check failed (MSE \(sci(check.mse)), mean state in [\(mean)], allowed [\(band)])"
            guard attempt < tc.maxRestarts else {
                progress.message("\(what); no restarts left (trainer.max_restarts = \(tc.maxRestarts))")
                return .unverified
            }
            restart(reason: what)
            sinceImprovement = 0
            return nil
        }

        if let last = history.last, last.attempt == attempt, last.valMSE <= tc.stoppingThreshold,
           let reason = concludeAtThreshold() { return reason }
        while epochsDone - attemptStartEpoch < tc.maxEpochs {
            let epoch = epochsDone, localEpoch = epochsDone - attemptStartEpoch
            let lr = schedule.rate(epoch: localEpoch)
            optimizer.learningRate = lr
            let points = trainX.shape[0]
            var order = Array(0..<points)
            if method.shuffle {
                var g = SeededGenerator(seed: config.seed &+ 0x5eed &+ UInt64(epoch) &* 7919)
                order.seededShuffle(using: &g)
            }
            var batchCount = 0, lossSum = 0.0
            let batches = (points + batchSize - 1) / batchSize
            for b in 0..<batches {
                let idx = Array(order[(b * batchSize)..<min(points, (b + 1) * batchSize)])
                let loss = trainStep(idx)
                if !loss.isFinite {
                    progress.message("training diverged at epoch \(epoch + 1), batch \(b + 1): the loss is \(loss). The best checkpoint is kept; try a smaller optimizer.lr")
                    return .diverged
                }
                lossSum += loss; batchCount += 1
                progress.step(epoch: localEpoch, maxEpochs: tc.maxEpochs, batch: b + 1, batches: batches, loss: lossSum / Double(batchCount),
                              elapsed: elapsed(), lastValMSE: history.last?.valMSE, policyError: history.last?.valPolicyRelError)
            }
            let valMSE = mse(valX)
            let policyErr: Double? = economy.model.isLinearQuadratic ? policyRelError(valX) : nil
            epochsDone += 1
            let t = elapsed()
            let record = EpochRecord(epoch: epochsDone, lr: lr, trainMSE: lossSum / Double(batchCount), valMSE: valMSE,
                                     valPolicyRelError: policyErr, seconds: t, attempt: attempt)
            history.append(record)
            if !valMSE.isFinite || valMSE > tc.divergenceThreshold {
                progress.message("training diverged at epoch \(epochsDone): val_mse = \(valMSE) > trainer.divergence_threshold. The best checkpoint is kept; try a smaller optimizer.lr")
                return .diverged
            }
            let isBest = valMSE < bestValMSE
            if isBest { bestValMSE = valMSE; sinceImprovement = 0 } else { sinceImprovement += 1 }
            if secondsToThreshold == nil && valMSE <= 1e-6 { secondsToThreshold = t }
            try onEpoch(record, isBest)
            let remaining = Double(tc.maxEpochs - (epochsDone - attemptStartEpoch))
            let eta = t / Double(epochsDone) * remaining
            progress.epochDone(epoch: localEpoch, maxEpochs: tc.maxEpochs, trainMSE: record.trainMSE, valMSE: valMSE,
                               policyError: policyErr, lr: lr, elapsed: t, eta: tc.maxTime.map { min(eta, max(0, $0 - t)) } ?? eta)
            if valMSE <= tc.stoppingThreshold, let reason = concludeAtThreshold() { return reason }
            if sinceImprovement >= tc.patience { return .patience }
            if let maxTime = tc.maxTime, t >= maxTime { return .maxTime }
        }
        return .maxEpochs
    }

    /// Simulates validation-sized paths with the network itself (fresh shocks) and checks that
    /// the Euler residuals stay small on them and the aggregate state stays in the band the
    /// training data span (a transversality proxy: explosive solutions leave it).
    public func ownPathCheck() -> OwnPathCheck {
        let method = config.method, n = economy.model.N, tc = config.trainer
        var g = SeededGenerator(seed: config.seed &+ 0x0c4ec &+ UInt64(epochsDone) &* 31)
        let paths = economy.simulate(from: initialState, trajectories: method.valTrajectories, steps: method.T, generator: &g) { self.policy($0) }
        let X = paths.reshaped([-1, n])
        let ownMSE = mse(X)
        func means(_ X: Tensor<T>) -> [Double] {
            (0..<X.shape[0]).map { r in (0..<n).reduce(0.0) { $0 + Double(X.pointer[r * n + $1]) } / Double(n) }
        }
        let data = means(trainX), own = means(X)
        let lo = data.min() ?? 0, hi = data.max() ?? 0, margin = 0.5 * (hi - lo) + 1e-3 * max(1, abs(hi))
        let ownLo = own.min() ?? .nan, ownHi = own.max() ?? .nan
        let bounded = own.allSatisfy { $0.isFinite && $0 >= lo - margin && $0 <= hi + margin }
        let passed = ownMSE.isFinite && ownMSE <= tc.ownPathTolerance * max(tc.stoppingThreshold, 1e-12) && bounded
        return OwnPathCheck(mse: ownMSE, meanStateRange: [ownLo, ownHi], allowedRange: [lo - margin, hi + margin], passed: passed)
    }

    /// Starts a new attempt: fresh weights (from the seed and the attempt number), fresh Adam
    /// state and learning-rate schedule; the history and the clock carry on.
    func restart(reason: String) {
        attempt += 1
        attemptStartEpoch = epochsDone
        var g = SeededGenerator(seed: config.seed &+ 0xa77e_0000 &+ UInt64(attempt))
        let fresh = SymmetricNetwork<T>(config.network, generator: &g)
        for (p, q) in zip(network.parameters, fresh.parameters) { p.value.pointer.update(from: q.value.pointer, count: q.value.count) }
        optimizer.reset()
        bestValMSE = .infinity
        secondsToThreshold = nil
        progress.message("\(reason): restarting from a new initialisation (attempt \(attempt + 1) of \(config.trainer.maxRestarts + 1))")
    }

    /// Simulates `trajectories` test paths with the trained network from the common initial
    /// state (fresh shocks from the run's seed) and measures residuals and policy errors.
    public func evaluateTest(trajectories: Int) -> TestEvaluation {
        let method = config.method, n = economy.model.N
        var g = SeededGenerator(seed: config.seed &+ 0x7e57)
        let paths = economy.simulate(from: initialState, trajectories: trajectories, steps: method.T, generator: &g) { self.policy($0) }
        let X = paths.reshaped([-1, n])
        let eps = residuals(X, economy: testEconomy)
        let uHat = policy(X)
        let isLQ = economy.model.isLinearQuadratic
        let ref: Tensor<T>? = isLQ ? Self.lqPolicy(lq, X) : nil
        var rows: [(Int, Int, Double, Double, Double?)] = []
        var abs = 0.0, rel = 0.0
        for p in 0..<X.shape[0] {
            let u = Double(uHat.pointer[p])
            let r = ref.map { Double($0.pointer[p]) }
            if let r { abs += Swift.abs(u - r); rel += Swift.abs(u - r) / Swift.abs(r) }
            rows.append((p / (method.T + 1), p % (method.T + 1), u, eps[p], r))
        }
        let count = Double(max(rows.count, 1))
        return TestEvaluation(testMSE: eps.reduce(0) { $0 + $1 * $1 } / count,
                              policyAbsError: isLQ ? abs / count : nil, policyRelError: isLQ ? rel / count : nil,
                              rows: rows.map { (trajectory: $0.0, t: $0.1, uHat: $0.2, residual: $0.3, uReference: $0.4) })
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
        return out
    }

    public func checkpointMetadata() -> [String: String] {
        let encoder = JSONEncoder()
        let historyJSON = (try? encoder.encode(history)).map { String(decoding: $0, as: UTF8.self) } ?? "[]"
        var meta: [String: String] = [
            "format": "symdp-checkpoint-1",
            "epochs": String(epochsDone),
            "optimizer_step": String(optimizer.step),
            "elapsed_seconds": String(history.last?.seconds ?? 0),
            "best_val_mse": String(bestValMSE),
            "history": historyJSON,
            "precision": T.dtypeName,
            "attempt": String(attempt),
            "attempt_start_epoch": String(attemptStartEpoch),
        ]
        if let s = secondsToThreshold { meta["seconds_to_1e-6"] = String(s) }
        return meta
    }

    /// Restores parameters (and, when `training`, the optimiser state and counters).
    public func restore(from file: SafetensorsFile, training: Bool) throws {
        let state = optimizer.state
        for (k, (name, p)) in network.namedParameters.enumerated() {
            guard let t = file.tensors[name] else { throw SolverError("checkpoint has no tensor '\(name)': it was written for another network; check the run's config.yaml") }
            let value: Tensor<T> = t.tensor()
            guard value.shape == p.shape else { throw SolverError("checkpoint tensor '\(name)' has shape \(value.shape), the network expects \(p.shape)") }
            p.value.pointer.update(from: value.pointer, count: value.count)
            if training {
                guard let m = file.tensors["optimizer.m." + name], let v = file.tensors["optimizer.v." + name] else {
                    throw SolverError("checkpoint lacks optimizer state for '\(name)': cannot resume training from it")
                }
                let mt: Tensor<T> = m.tensor(), vt: Tensor<T> = v.tensor()
                state.m[k].pointer.update(from: mt.pointer, count: mt.count)
                state.v[k].pointer.update(from: vt.pointer, count: vt.count)
            }
        }
        guard training else { return }
        let meta = file.metadata
        optimizer.restore(m: state.m, v: state.v, step: Int(meta["optimizer_step"] ?? "0") ?? 0)
        epochsDone = Int(meta["epochs"] ?? "0") ?? 0
        attempt = Int(meta["attempt"] ?? "0") ?? 0
        attemptStartEpoch = Int(meta["attempt_start_epoch"] ?? "0") ?? 0
        elapsedBeforeResume = Double(meta["elapsed_seconds"] ?? "0") ?? 0
        bestValMSE = Double(meta["best_val_mse"] ?? "inf") ?? .infinity
        secondsToThreshold = meta["seconds_to_1e-6"].flatMap(Double.init)
        if let h = meta["history"], let decoded = try? JSONDecoder().decode([EpochRecord].self, from: Data(h.utf8)) { history = decoded }
    }
}
