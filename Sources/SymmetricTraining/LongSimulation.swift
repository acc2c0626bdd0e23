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
    /// Grid of the first agent state for `policy_grid.csv` (default: quantiles of the last cross-section).
    public var policyGrid: [Double]? = nil
    /// Evaluate `policy_grid.csv` at this mean of the first agent state (e.g. another solution's
    /// mean capital, to compare policies at the same aggregate): the kept cross-section closest to
    /// it, scaled so that its mean is exactly this. Default: the ergodic mean of the simulation.
    public var policyGridMean: Double? = nil
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
        guard let compiled = try c.engineModel() else {
            throw SolverError("symdp simulate works on model-file runs (model.file or model.kind investment/productivity); this run is model.kind \(c.kind.rawValue)")
        }
        var e = c.method.expectation
        e.aggregateNodes = c.method.testQuadratureNodes; e.firmsPerState = 0
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
        // inequality of each continuous agent state across agents, per period
        let continuous = agentStates.filter { m.chain($0) == nil }
        columns += continuous.map { "gini_" + m.states[$0] }
        var g = SeededGenerator(seed: seed)
        var X = economy.initialState(generator: &g).reshaped([1] + economy.stateShape)
        var rows: [[Double]] = []
        rows.reserveCapacity(periods)
        var eulerLog: [Double] = [], eulerAt: [Double] = []
        let burn = burnIn ?? periods / 10
        // states kept for the policy functions: every 10th period after the burn-in (bounded memory)
        var snapshots: [(t: Int, X: Tensor<T>)] = []
        let snapshotEvery = max(10, (periods - burn) / 200)
        let start = DispatchTime.now().uptimeNanoseconds
        for t in 0..<periods {
            var row = [Double(t)]
            let report = economy.reportColumns(X)
            for s in economyStates { row.append(report[s].values[0]) }
            for s in agentStates { row.append(report[s].values[0]) }
            for stat in m.statistics { row.append(economy.statistic(stat.ir, X, policy: policy)) }
            for s in continuous { row.append(Self.gini((0..<N).map { Double(X.pointer[$0 * d + s]) })) }
            rows.append(row)
            if t >= burn && (t - burn) % max(1, eulerEvery) == 0 {
                let r = withoutGradients { economy.eulerResidual(Variable(X), policy: policy, subsample: nil).value }
                for i in 0..<r.count { eulerLog.append(Foundation.log10(max(abs(Double(r.pointer[i])), 1e-300))) }
                // one equation per agent: where along the first agent state the errors are
                if r.count == N { for i in 0..<N { eulerAt.append(Double(X.pointer[i * d + agentStates[0]])) } }
            }
            if t >= burn && (t - burn) % snapshotEvery == 0 { snapshots.append((t, X)) }
            if t + 1 < periods { X = economy.nextState(X, policy: policy, generator: &g) }
            if t % 500 == 0 || t == periods - 1 {
                let elapsed = Double(DispatchTime.now().uptimeNanoseconds - start) / 1e9
                progress.message(String(format: "simulated %d of %d periods (%.1f s)", t + 1, periods, elapsed))
            }
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
        if !eulerAt.isEmpty && eulerAt.count == eulerLog.count {
            summary["euler_error_log10_by_" + m.states[agentStates[0]]] = Self.byDecile(of: eulerAt, eulerLog)
        }
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
        // the law of motion iterated alone along the simulated aggregate path (Den Haan's accuracy test)
        if let s0 = economyStates.first, let law = summary["law_of_motion_\(columns[first])_by_\(m.states[s0])"] as? [String: Any], !law.isEmpty {
            let k = columns.firstIndex(of: m.states[s0])!
            var predicted: [Double] = [], m̂ = rows[burn][first]
            var errors: [Double] = []
            for t in burn..<rows.count {
                predicted.append(m̂)
                errors.append(abs(m̂ - rows[t][first]) / rows[t][first])
                if let fit = law[formatDouble(rows[t][k])] as? [String: Any], let a = fit["intercept"] as? Double, let b = fit["slope"] as? Double {
                    m̂ = Foundation.exp(a + b * Foundation.log(m̂))
                }
            }
            summary["den_haan_error_percent_mean"] = 100 * errors.reduce(0, +) / Double(max(errors.count, 1))
            summary["den_haan_error_percent_max"] = 100 * (errors.max() ?? 0)
            var plot = LinePlot(title: "\(columns[first]): simulated vs the law of motion iterated alone", xLabel: "t", yLabel: columns[first])
            let shown = min(predicted.count, 2000)
            plot.series = [Series(x: (burn..<(burn + shown)).map(Double.init), y: rows[burn..<(burn + shown)].map { $0[first] }, label: "simulated"),
                           Series(x: (burn..<(burn + shown)).map(Double.init), y: Array(predicted.prefix(shown)), label: "law of motion", dashed: true)]
            try plot.write(to: folder.url.appendingPathComponent("law_of_motion.svg"))
        }
        try writePolicyGrid(economy: economy, policy: policy, snapshots: snapshots, first: agentStates[0], folder: folder)
        try write(columns: columns, rows: rows, summary: summary, folder: folder, first: first)
        return Result(columns: columns, rows: rows, summary: summary)
    }

    /// Mean and max of `values` in the ten deciles of `at` (ties kept together in the lower one):
    /// `[{"from", "to", "points", "mean", "max"}]`, from the smallest `at` up.
    public static func byDecile(of at: [Double], _ values: [Double]) -> [[String: Double]] {
        let order = at.indices.sorted { at[$0] < at[$1] }
        var out: [[String: Double]] = []
        var start = 0
        for q in 1...10 {
            var end = order.count * q / 10
            guard end > start else { continue }
            while end < order.count && at[order[end]] == at[order[end - 1]] { end += 1 }
            let part = order[start..<end].map { values[$0] }
            out.append(["from": at[order[start]], "to": at[order[end - 1]], "points": Double(part.count),
                        "mean": part.reduce(0, +) / Double(part.count), "max": part.max()!])
            start = end
        }
        return out
    }

    /// `policy_grid.csv` and `policy.svg`: each control on a grid of the first agent state, for every
    /// value of the agent's Markov states and of the economy's, at the kept state (for each
    /// economy value) whose mean of the first state is closest to the ergodic mean; `wealth.svg`:
    /// the distribution of the first state over the kept states.
    func writePolicyGrid<T: TensorScalar>(economy: ModelEconomy<T>, policy: ModelPolicy<T>, snapshots: [(t: Int, X: Tensor<T>)],
                                          first: Int, folder: RunFolder) throws {
        guard !snapshots.isEmpty else { return }
        let m = economy.model, N = m.N, d = m.states.count
        func values(_ X: Tensor<T>, _ s: Int) -> [Double] { (0..<N).map { Double(X.pointer[$0 * d + s]) } }
        let means = snapshots.map { values($0.X, first).reduce(0, +) / Double(N) }
        let ergodicMean = policyGridMean ?? means.reduce(0, +) / Double(means.count)
        let all = snapshots.flatMap { values($0.X, first) }.sorted()
        let grid = policyGrid ?? [0.001, 0.01, 0.05, 0.1, 0.25, 0.5, 0.75, 0.9, 0.95, 0.99].map { all[min(all.count - 1, Int($0 * Double(all.count)))] }
        let economyStates = m.states.indices.filter { m.isEconomyLevel($0) }
        let agentMarkov = m.states.indices.filter { m.chain($0)?.perAgent == true }
        // one kept state per combination of economy-level values (or just one)
        var cases: [(label: String, X: Tensor<T>)] = []
        if let z = economyStates.first {
            for (v, value) in m.chain(z)!.values.enumerated() {
                let candidates = snapshots.indices.filter { Int(Double(snapshots[$0].X.pointer[z]).rounded()) == v }
                guard let best = candidates.min(by: { abs(means[$0] - ergodicMean) < abs(means[$1] - ergodicMean) }) else { continue }
                cases.append(("\(m.states[z])=\(formatDouble(value))", rescaled(snapshots[best].X, mean: means[best])))
            }
        } else {
            let best = means.indices.min { abs(means[$0] - ergodicMean) < abs(means[$1] - ergodicMean) }!
            cases.append(("", rescaled(snapshots[best].X, mean: means[best])))
        }
        /// With `policyGridMean`, the kept state's first agent state scaled to that mean.
        func rescaled(_ X: Tensor<T>, mean: Double) -> Tensor<T> {
            guard let target = policyGridMean, mean != 0 else { return X }
            var scalars = X.scalars
            for i in 0..<N { scalars[i * d + first] = T(Double(scalars[i * d + first]) * target / mean) }
            return Tensor(shape: X.shape, scalars: scalars)
        }
        let markovCombos: [[Int]] = agentMarkov.reduce([[]]) { acc, s in acc.flatMap { c in (0..<m.chain(s)!.values.count).map { c + [$0] } } }
        var header = ["case", "mean_" + m.states[first]] + agentMarkov.map { m.states[$0] } + [m.states[first]]
        header += m.controls.map(\.name)
        // next period's first state (e.g. savings k'), where the transition needs no shock draw
        let hasNext = m.shocks.isEmpty
        if hasNext { header.append("next_" + m.states[first]) }
        var savings = LinePlot(title: "Next period's \(m.states[first]) by \(m.states[first])", xLabel: m.states[first], yLabel: m.states[first] + "'")
        var csv = header.joined(separator: ",") + "\n"
        var plot = LinePlot(title: "Policy \(m.controls[0].name) by \(m.states[first])", xLabel: m.states[first], yLabel: m.controls[0].name)
        for c in cases {
            let meanFirst = values(c.X, first).reduce(0, +) / Double(N)
            for combo in markovCombos {
                let ownStates = [first] + agentMarkov
                let own = grid.map { [$0] + combo.map(Double.init) }
                let controls = m.controls.indices.map { economy.policy(at: c.X.reshaped([1] + economy.stateShape), control: $0, states: ownStates, own: own, policy: policy) }
                let next = hasNext ? economy.nextState(at: c.X.reshaped([1] + economy.stateShape), state: first, states: ownStates, own: own, policy: policy) : nil
                for (p, x) in grid.enumerated() {
                    let markovValues = zip(agentMarkov, combo).map { formatDouble(m.chain($0)!.values[$1]) }
                    csv += ([c.label, "\(meanFirst)"] + markovValues + ["\(x)"] + controls.map { "\($0[p])" } + (next.map { ["\($0[p])"] } ?? [])).joined(separator: ",") + "\n"
                }
                let label = ([c.label] + zip(agentMarkov, combo).map { "\(m.states[$0])=\(formatDouble(m.chain($0)!.values[$1]))" }).filter { !$0.isEmpty }.joined(separator: ", ")
                plot.series.append(Series(x: grid, y: controls[0], label: label.isEmpty ? m.controls[0].name : label))
                if let next { savings.series.append(Series(x: grid, y: next, label: label.isEmpty ? m.states[first] + "'" : label)) }
            }
        }
        try AtomicFile.write(csv, to: folder.url.appendingPathComponent("policy_grid.csv"))
        try plot.write(to: folder.url.appendingPathComponent("policy.svg"))
        if hasNext {
            savings.series.append(Series(x: [grid.first ?? 0, grid.last ?? 1], y: [grid.first ?? 0, grid.last ?? 1], label: "45°", dashed: true))
            try savings.write(to: folder.url.appendingPathComponent("savings.svg"))
        }
        // the cross-section's distribution: a histogram over the kept states
        let bins = 40, lo = all.first ?? 0, hi = max(all.last ?? 1, lo + 1e-12)
        var counts = [Double](repeating: 0, count: bins)
        for v in all { counts[min(bins - 1, Int((v - lo) / (hi - lo) * Double(bins)))] += 1 }
        var histogram = LinePlot(title: "Distribution of \(m.states[first]) (\(snapshots.count) kept periods)", xLabel: m.states[first], yLabel: "share")
        histogram.series = [Series(x: (0..<bins).map { lo + (Double($0) + 0.5) * (hi - lo) / Double(bins) }, y: counts.map { $0 / Double(all.count) }, label: "share of agents")]
        try histogram.write(to: folder.url.appendingPathComponent("distribution.svg"))
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

extension LongSimulation {
    /// Gini coefficient of `values`: Σ_i (2i − n − 1) x_(i) / (n Σ x) over the sorted values
    /// (0 for equal values; nan when the sum is not positive).
    public static func gini(_ values: [Double]) -> Double {
        let x = values.sorted(), n = Double(x.count), total = x.reduce(0, +)
        guard total > 0 else { return .nan }
        var weighted = 0.0
        for (i, v) in x.enumerated() { weighted += (2 * Double(i + 1) - n - 1) * v }
        return weighted / (n * total)
    }
}
