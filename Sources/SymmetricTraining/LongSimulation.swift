import Foundation
import SymmetricNumerics
import SymmetricNetworks
import SymmetricEconomics
import SymmetricModels

/// `symdp simulate`: a long simulation of a solved model file with its trained policy — one
/// path of the full cross-section — and the statistics economists judge a solution by.
public struct LongSimulation {
    public var periods = 10_000
    /// Periods dropped before the statistics (the path starts from the file's initial cross-section).
    public var burnIn: Int? = nil
    public var seed: UInt64 = 0
    /// Agents in the simulation (default: the run's N; the network does not depend on N).
    public var N: Int? = nil
    /// Euler errors are measured every this many periods (all agents, exact expectations).
    public var eulerEvery = 10
    public init() {}

    public struct Result {
        public var columns: [String]
        public var rows: [[Double]]
        public var summary: [String: Any]
    }

    /// Simulates the run in `folder` from its best checkpoint and writes `simulation.csv`,
    /// `simulation.json` and `simulation.svg` (the first agent state's mean along the path).
    public func run(folder: RunFolder, progress: ProgressReporter = ProgressReporter()) throws -> Result {
        guard FileManager.default.fileExists(atPath: folder.config.path) else {
            throw SolverError("'\(folder.url.path)' is not a run folder: it has no config.yaml")
        }
        var config = try RunConfig.load(path: folder.config.path)
        let checkpoint = FileManager.default.fileExists(atPath: folder.best.path) ? folder.best : folder.last
        guard FileManager.default.fileExists(atPath: checkpoint.path) else {
            throw SolverError("'\(folder.url.path)' has no checkpoint yet (best.safetensors or last.safetensors): nothing to simulate")
        }
        if let n = N {
            guard n >= 1 && n <= 10_000_000 else { throw ConfigError(key: "--N", "need 1 ≤ N ≤ 10^7, got \(n)") }
            try config.apply(override: "model.N=\(n)")
        }
        guard periods >= 2 && periods <= 100_000_000 else { throw ConfigError(key: "--periods", "need 2 ≤ periods ≤ 10^8, got \(periods)") }
        setBlasThreads(1)
        if config.trainer.threads > 0 { Parallelism.threads = config.trainer.threads }
        if config.trainer.precision == 64 { return try simulate(Double.self, config: config, checkpoint: checkpoint, folder: folder, progress: progress) }
        return try simulate(Float.self, config: config, checkpoint: checkpoint, folder: folder, progress: progress)
    }

    func simulate<T: TensorScalar>(_: T.Type, config c: RunConfig, checkpoint: URL, folder: RunFolder,
                                   progress: ProgressReporter) throws -> Result {
        guard let compiled = try c.modelFile != nil ? c.compiledModel() : ShippedModels.compile(c) else {
            throw SolverError("symdp simulate works on model-file runs (model.file or model.kind investment/productivity); this run is model.kind \(c.kind.rawValue)")
        }
        var e = ExpectationSettings()
        e.aggregateNodes = c.method.testQuadratureNodes; e.ownNodes = c.method.ownShockNodes
        e.normalizeDraw = c.method.normalizeShockVector; e.firmsPerState = 0
        // the run's streams: the same one draw of everybody else's shocks as in training
        var root = SeededGenerator(seed: c.seed)
        var netRNG = root.fork(), shockRNG = root.fork()
        let economy = ModelEconomy<T>(model: compiled, architecture: c.network, expectation: e, generator: &shockRNG)
        let policy = economy.makePolicy(generator: &netRNG)
        let file = try Safetensors.read(from: checkpoint)
        for (name, p) in policy.namedParameters {
            guard let t = file.tensors[name] else { throw SolverError("checkpoint \(checkpoint.path) has no tensor '\(name)' for this model's network") }
            let value: Tensor<T> = t.tensor()
            guard value.shape == p.shape else { throw SolverError("checkpoint tensor '\(name)' has shape \(value.shape), the network expects \(p.shape)") }
            p.value.pointer.update(from: value.pointer, count: value.count)
        }
        let m = compiled, N = m.N, d = m.states.count
        let economyStates = m.states.indices.filter { m.isEconomyLevel($0) }
        let agentStates = m.states.indices.filter { !m.isEconomyLevel($0) }
        var columns = ["t"] + economyStates.map { m.states[$0] } + agentStates.map { "mean_" + m.states[$0] }
        columns += m.statistics.map(\.name)
        var g = SeededGenerator(seed: seed)
        var X = economy.initialState(generator: &g).reshaped([1] + economy.stateShape)
        var rows: [[Double]] = []
        rows.reserveCapacity(periods)
        var eulerLog: [Double] = []
        let burn = burnIn ?? periods / 10
        let start = DispatchTime.now().uptimeNanoseconds
        for t in 0..<periods {
            var row = [Double(t)]
            let report = economy.reportColumns(X)
            for s in economyStates { row.append(report[s].values[0]) }
            for s in agentStates { row.append(report[s].values[0]) }
            for stat in m.statistics { row.append(economy.statistic(stat.ir, X, policy: policy)) }
            rows.append(row)
            if t >= burn && (t - burn) % max(1, eulerEvery) == 0 {
                let r = withoutGradients { economy.eulerResidual(Variable(X), policy: policy, subsample: nil).value }
                for i in 0..<r.count { eulerLog.append(Foundation.log10(max(abs(Double(r.pointer[i])), 1e-300))) }
            }
            if t + 1 < periods { X = economy.nextState(X, policy: policy, generator: &g) }
            if t % 500 == 0 || t == periods - 1 {
                let elapsed = Double(DispatchTime.now().uptimeNanoseconds - start) / 1e9
                progress.message(String(format: "simulated %d of %d periods (%.1f s)", t + 1, periods, elapsed))
            }
            _ = d
        }
        let seconds = Double(DispatchTime.now().uptimeNanoseconds - start) / 1e9
        let kept = Array(rows.dropFirst(burn))
        func stats(_ values: [Double]) -> [String: Double] {
            let n = Double(max(values.count, 1)), mean = values.reduce(0, +) / n
            return ["mean": mean, "std": (values.map { ($0 - mean) * ($0 - mean) }.reduce(0, +) / n).squareRoot()]
        }
        var summary: [String: Any] = ["periods": periods, "burn_in": burn, "N": N, "seed": seed, "seconds": seconds,
                                      "model": m.file.name, "run_folder": folder.url.path,
                                      "euler_error_log10_mean": eulerLog.isEmpty ? NSNull() : eulerLog.reduce(0, +) / Double(eulerLog.count) as Any,
                                      "euler_error_log10_max": eulerLog.max() ?? NSNull() as Any,
                                      "euler_error_points": eulerLog.count, "euler_every": eulerEvery]
        var overall: [String: Any] = [:]
        for (k, name) in columns.enumerated().dropFirst() { overall[name] = stats(kept.map { $0[k] }) }
        summary["overall"] = overall
        // by value of each economy-level Markov state, and the aggregate law of motion of the
        // first agent state's mean: ln m' = b0 + b1 ln m, regressed separately by value
        let first = columns.firstIndex(of: "mean_" + m.states[agentStates[0]])!
        for s in economyStates {
            let k = columns.firstIndex(of: m.states[s])!
            var by: [String: Any] = [:], law: [String: Any] = [:]
            for v in m.chain(s)!.values {
                let rowsAt = kept.filter { $0[k] == v }
                var part: [String: Any] = ["periods": rowsAt.count]
                for (j, name) in columns.enumerated().dropFirst() where j != k { part[name] = stats(rowsAt.map { $0[j] }) }
                by[formatDouble(v)] = part
                var xs: [Double] = [], ys: [Double] = []
                for t in burn..<(rows.count - 1) where rows[t][k] == v && rows[t][first] > 0 && rows[t + 1][first] > 0 {
                    xs.append(Foundation.log(rows[t][first])); ys.append(Foundation.log(rows[t + 1][first]))
                }
                if let fit = Self.regression(xs, ys) { law[formatDouble(v)] = ["intercept": fit.0, "slope": fit.1, "r2": fit.2, "points": xs.count] }
            }
            summary["by_\(m.states[s])"] = by
            summary["law_of_motion_\(columns[first])_by_\(m.states[s])"] = law
        }
        try write(columns: columns, rows: rows, summary: summary, folder: folder, first: first)
        return Result(columns: columns, rows: rows, summary: summary)
    }

    /// Least squares y = a + b x: (a, b, R²).
    static func regression(_ x: [Double], _ y: [Double]) -> (Double, Double, Double)? {
        guard x.count >= 3 else { return nil }
        let n = Double(x.count), mx = x.reduce(0, +) / n, my = y.reduce(0, +) / n
        let sxx = zip(x, x).map { ($0 - mx) * ($1 - mx) }.reduce(0, +), sxy = zip(x, y).map { ($0 - mx) * ($1 - my) }.reduce(0, +)
        guard sxx > 0 else { return nil }
        let b = sxy / sxx, a = my - b * mx
        let sse = zip(x, y).map { (xi: Double, yi: Double) -> Double in let e = yi - a - b * xi; return e * e }.reduce(0.0, +)
        let sst = y.map { ($0 - my) * ($0 - my) }.reduce(0, +)
        return (a, b, sst > 0 ? 1 - sse / sst : 1)
    }

    func write(columns: [String], rows: [[Double]], summary: [String: Any], folder: RunFolder, first: Int) throws {
        var csv = columns.joined(separator: ",") + "\n"
        csv.reserveCapacity(rows.count * 16 * columns.count)
        for r in rows { csv += r.map { "\($0)" }.joined(separator: ",") + "\n" }
        try AtomicFile.write(csv, to: folder.url.appendingPathComponent("simulation.csv"))
        func clean(_ v: Any) -> Any {
            if let x = v as? Double { return x.isFinite ? x : NSNull() }
            if let d = v as? [String: Any] { return d.mapValues(clean) }
            if let d = v as? [String: Double] { return d.mapValues { $0.isFinite ? $0 as Any : NSNull() } }
            return v
        }
        let data = try JSONSerialization.data(withJSONObject: clean(summary), options: [.prettyPrinted, .sortedKeys])
        try AtomicFile.write(String(decoding: data, as: UTF8.self) + "\n", to: folder.url.appendingPathComponent("simulation.json"))
        var plot = LinePlot(title: "Simulated path: \(columns[first])", xLabel: "t", yLabel: columns[first])
        let shown = rows.count > 4000 ? Array(rows.prefix(4000)) : rows
        plot.series = [Series(x: shown.map { $0[0] }, y: shown.map { $0[first] }, label: columns[first])]
        try plot.write(to: folder.url.appendingPathComponent("simulation.svg"))
    }
}

