import Foundation

/// Size checks made before anything is allocated: a run that would not fit in memory, or a size
/// whose products overflow an integer, is refused with a message naming the key and the estimate
/// (instead of "failed to allocate", a trap or a segfault part-way).
///
/// The limit is the machine's available memory (`MemAvailable` in /proc/meminfo), or
/// `SYMDP_MAX_MEMORY_GB` when set. Every size is also capped at `maxSize` so that products of
/// sizes stay far from `Int.max`.
public enum ResourceLimits {
    /// Largest value of any single size key (N, T, trajectories, widths, layers, …): 2³⁰.
    public static let maxSize = 1 << 30
    /// Largest number of runs one sweep file may expand to.
    public static let maxSweepRuns = 100_000

    /// Bytes this process may plan to use.
    public static func memoryLimit() -> Double {
        if let text = ProcessInfo.processInfo.environment["SYMDP_MAX_MEMORY_GB"], let gb = Double(text), gb > 0 {
            return gb * 1e9
        }
        if let info = try? String(contentsOfFile: "/proc/meminfo", encoding: .utf8) {
            for line in info.split(separator: "\n") where line.hasPrefix("MemAvailable:") {
                let parts = line.split(separator: " ")
                if parts.count >= 2, let kb = Double(parts[1]) { return kb * 1024 }
            }
        }
        return Double(ProcessInfo.processInfo.physicalMemory)
    }

    /// The size keys of a config and their values.
    static func sizes(_ c: RunConfig) -> [(String, Int)] {
        let m = c.method, n = c.network, x = c.extensions
        let n0 = c.modelFile != nil ? ((try? c.compiledModel())?.N ?? c.model.N) : c.model.N
        return [("model.N", n0), ("method.T", m.T), ("method.train_trajectories", m.trainTrajectories),
                ("method.val_trajectories", m.valTrajectories), ("method.test_trajectories", m.testTrajectories),
                ("method.train_points", m.trainPoints), ("method.batch_size", m.batchSize),
                ("method.firms_per_state", m.firmsPerState),
                ("network.moments", n.moments), ("network.L", n.L), ("network.phi_layers", n.phiLayers),
                ("network.phi_hidden", n.phiHidden), ("network.rho_layers", n.rhoLayers), ("network.rho_hidden", n.rhoHidden),
                ("network.outer_L", n.outerL), ("network.rho2_layers", n.rho2Layers), ("network.rho2_hidden", n.rho2Hidden),
                ("model.customers", x.customers), ("trainer.max_epochs", c.trainer.maxEpochs), ("trainer.patience", c.trainer.patience),
                ("optimizer.step_size", c.optimizer.stepSize), ("trainer.max_restarts", c.trainer.maxRestarts),
                ("trainer.own_path_refinements", c.trainer.ownPathRefinements)]
            + x.typeSizes.enumerated().map { ("model.type_sizes[\($0.offset)]", $0.element) }
    }

    /// A run's memory need, by part (bytes), estimated from the config alone.
    public struct Estimate: Sendable {
        /// (what, the keys that drive it, bytes)
        public var parts: [(what: String, keys: String, bytes: Double)]
        public var total: Double { parts.reduce(0) { $0 + $1.bytes } }
    }

    /// An upper-side estimate: simulated paths (training, validation, test, and the own-path
    /// data a refinement adds), the network rows of one chunk with what the backward pass keeps,
    /// and the parameters with Adam's state.
    public static func estimate(_ c: RunConfig) -> Estimate {
        let bytes = c.trainer.precision == 64 ? 8.0 : 4.0
        let m = c.method, n = c.network
        // a model file: its N and number of states (compiling it costs about a millisecond)
        let compiled = c.modelFile != nil ? try? c.compiledModel() : nil
        let N = Double(compiled?.N ?? c.model.N)
        let agentDim: Double = compiled.map { Double($0.states.count) }
            ?? (c.kind == .productivity ? 2 : c.kind == .customers ? 1 + Double(c.extensions.customers) : 1)
        let stateValues = N * agentDim
        let points = Double(m.T + 1)
        // data: the training and validation paths (a reshape shares them); a refinement appends
        // own paths of the same size (the concatenation holds old and new at once), new data
        // (`refresh_data_every`) are made before the old are released; the test paths and their
        // per-state rows
        let data = bytes * stateValues * points * Double(m.trainTrajectories + m.valTrajectories)
        let refinements = Double(c.trainer.verifyOwnPaths ? c.trainer.ownPathRefinements : 0) + (m.ownPathsAtEpoch > 0 ? 1 : 0)
        let paths = data * (1 + 2 * refinements) * (m.refreshDataEvery > 0 ? 2 : 1)
            + 1.5 * bytes * stateValues * points * Double(m.testTrajectories)
        // network rows of one chunk: max(2^18, rows of one state). The fused Deep Sets op keeps φ's
        // hidden layers within its activation budget (`PooledMLPSettings.activationBudgetBytes`,
        // 256 MB) per lane; each row keeps its pooled features and outputs (values, gradients)
        let customers = c.kind == .customers ? 1 + Double(c.extensions.customers) : 1
        let rowsPerState = N * customers * Double(m.omegaQuadratureNodes + 1) * Double(c.kind == .productivity ? m.ownShockNodes : 1)
        let rows = max(Double(1 << 18), rowsPerState)
        // a training step's rows: with pooled subsamples, pool_sample agents per state (validation and
        // test run forward only, where the fused op streams φ's hidden layers chunk by chunk)
        let pooled = m.poolSample > 0 && Double(m.poolSample) < N
        let trainingRowsPerState = pooled ? Double(m.poolSample) * customers * Double(m.omegaQuadratureNodes + 1) : rowsPerState
        let width = Double(n.L) + Double(n.moments) + Double(n.outerL) + 4
        let hiddenPerRow = Double(n.phiHidden) * Double(max(n.phiLayers, 1)) + Double(n.rho2Hidden) * Double(max(n.rho2Layers, 1))
        let fusedBudget = 2 * 256e6
        let activations = bytes * rows * width * 4 + min(fusedBudget, bytes * rows * hiddenPerRow * 4)
            + (trainingRowsPerState > Double(1 << 18) ? bytes * trainingRowsPerState * hiddenPerRow : 0)   // one state wider than a chunk
        let rho = Double(n.rhoHidden)
        let params = Double(n.phiHidden) * Double(n.phiHidden) * Double(max(n.phiLayers - 1, 0)) + Double(n.phiHidden) * Double(n.L + 2)
            + rho * rho * Double(max(n.rhoLayers - 1, 0)) + rho * Double(n.L + n.moments + 2)
            + Double(n.rho2Hidden) * Double(n.rho2Hidden) * Double(max(n.rho2Layers - 1, 0))
        let parameterBytes = bytes * params * 6 * Double(c.kind == .types ? max(c.extensions.typeSizes.count, 1) : 1)
        // a ρ batch holds batch_size (or every point) rows of every ρ layer
        let batch = Double(m.batchSize == 0 ? m.trainTrajectories * (m.T + 1) : m.batchSize)
        let rhoRows = bytes * batch * Double(m.omegaQuadratureNodes + 1) * rho * Double(max(n.rhoLayers, 1)) * 4
        return Estimate(parts: [
            ("simulated paths", "model.N, method.T, method.*_trajectories", paths),
            ("network rows of one chunk", "model.N, network.phi_hidden, network.phi_layers, network.L", activations),
            ("ρ rows of one batch", "method.batch_size, network.rho_hidden, network.rho_layers", rhoRows),
            ("parameters and Adam state", "network.phi_hidden, network.rho_hidden, network.*_layers", parameterBytes),
        ])
    }

    /// Throws a `ConfigError` naming the key when a size is beyond `maxSize` or the run's estimated
    /// memory exceeds the limit.
    public static func check(_ c: RunConfig) throws {
        for (key, v) in sizes(c) where v > maxSize {
            throw ConfigError(key: key, "\(v) is too large: sizes are limited to \(maxSize) (2^30) so that the arrays they multiply into can be allocated and indexed")
        }
        let e = estimate(c), limit = memoryLimit()
        guard e.total <= limit else {
            let parts = e.parts.sorted { $0.bytes > $1.bytes }
            let detail = parts.filter { $0.bytes > 0.01 * e.total }.map { "\($0.what) \(formatBytes($0.bytes))" }.joined(separator: ", ")
            // the key to blame: the one whose default value shrinks the estimate most
            let defaults = RunConfig()
            var blamed = parts[0].keys.components(separatedBy: ", ").first ?? "", best = e.total
            for (key, _) in sizes(c) where !key.contains("[") {
                var trial = c
                guard let value = defaults.value(of: key), (try? trial.apply(override: "\(key)=\(value)")) != nil else { continue }
                let total = estimate(trial).total
                if total < best { best = total; blamed = key }
            }
            throw ConfigError(key: blamed,
                              "\(c.value(of: blamed) ?? "this value") makes the run need about \(formatBytes(e.total)) of memory (\(detail)), "
                              + "more than the \(formatBytes(limit)) available; lower it (or set SYMDP_MAX_MEMORY_GB to allow more)")
        }
    }

    /// The process's peak resident memory so far (getrusage; Linux reports kilobytes).
    public static func peakResidentBytes() -> Int {
        var usage = rusage()
        guard getrusage(RUSAGE_SELF.rawValue, &usage) == 0 else { return 0 }
        return Int(usage.ru_maxrss) * 1024
    }

    public static func formatBytes(_ b: Double) -> String {
        let units = ["B", "kB", "MB", "GB", "TB", "PB", "EB"]
        var v = b, i = 0
        while v >= 1000 && i < units.count - 1 { v /= 1000; i += 1 }
        if i == units.count - 1 && v >= 1000 { return String(format: "%.1e B", b) }
        return String(format: v < 10 ? "%.1f" : "%.0f", v) + " " + units[i]
    }
}
