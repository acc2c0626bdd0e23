import RealModule
import SymmetricNumerics
import SymmetricNetworks
import SymmetricEconomics

/// One control's network: ρ(own, mean_i φ(·)), or with groups of agents the block-symmetric
/// ρ(own, onehot(group), mean φ_1(group 1), …, mean φ_K(group K)) (paper §6.2).
public enum PolicyNetwork<T: TensorScalar> {
    case symmetric(SymmetricNetwork<T>)
    case blocks(BlockSymmetricNetwork<T>)

    public func pooled(_ X: Variable<T>) -> Variable<T> {
        switch self { case .symmetric(let n): return n.pooled(X); case .blocks(let n): return n.pooled(X) }
    }
    public func policy(own x: Variable<T>, pooled z: Variable<T>) -> Variable<T> {
        switch self { case .symmetric(let n): return n.policy(own: x, pooled: z); case .blocks(let n): return n.policy(own: x, pooled: z) }
    }
    public var rho: MLP<T> {
        switch self { case .symmetric(let n): return n.rho; case .blocks(let n): return n.rho }
    }
    public var namedParameters: [(String, Variable<T>)] {
        switch self { case .symmetric(let n): return n.namedParameters; case .blocks(let n): return n.namedParameters }
    }
}

/// The policy networks of a model file: one per control. With one control the parameter names
/// are the network's own (`phi.…`, `rho.…`).
public struct ModelPolicy<T: TensorScalar>: ParameterizedModel {
    public let names: [String]
    public let networks: [PolicyNetwork<T>]

    public var namedParameters: [(String, Variable<T>)] {
        if networks.count == 1 { return networks[0].namedParameters }
        return zip(names, networks).flatMap { name, net in net.namedParameters.map { ("\(name).\($0.0)", $0.1) } }
    }
}

/// A model file as a `SymmetricEconomy`: the engine behind every model the language can express.
///
/// The expectation follows the paper: Gauss–Hermite over the aggregate (`per: economy`) shocks,
/// Gauss–Hermite over the agent of interest's own shocks where its equations depend on them, and
/// ONE draw of everybody else's shocks, fixed for the run and normalised to mean 0, std 1.
public struct ModelEconomy<T: TensorScalar>: SymmetricEconomy {
    public private(set) var model: CompiledModel
    public let architecture: SymmetricArchitecture
    public let expectation: ExpectationSettings
    /// The one draw of each agent shock [N] (nil for economy shocks), by shock index.
    public internal(set) var draws: [Tensor<T>?]
    public private(set) var aggregateRule: GaussHermite
    public let ownRule: GaussHermite
    /// Per agent-level Markov state: the fixed uniforms of the one draw of everybody else's next
    /// value, and the agents' order by them (ascending) — matched shares, see `matchedShares`.
    public internal(set) var markovUniforms: [Int: [Double]]
    public internal(set) var markovOrder: [Int: [Int]]
    /// Share of the agents of interest whose own `agents.interest` states are drawn afresh in each
    /// residual evaluation with a subsample seed (the training economy; 0 elsewhere).
    public private(set) var interestShare = 0.0
    /// Parameter values by name, for the draws of `agents.initial` and `agents.interest`.
    let drawConstants: [String: Double]

    /// Agents in ascending order of their uniforms.
    static func order(_ u: [Double]) -> [Int] { Array(u.indices).sorted { u[$0] < u[$1] } }

    public init(model: CompiledModel, architecture: SymmetricArchitecture = SymmetricArchitecture(),
                expectation: ExpectationSettings = ExpectationSettings(), generator g: inout SeededGenerator) {
        self.model = model
        self.architecture = architecture
        self.expectation = expectation
        drawConstants = Dictionary(uniqueKeysWithValues: model.values.map { ($0.name, $0.value) })
        draws = model.shocks.map { s in
            s.perAgent ? shockDraw(count: model.N, normalize: expectation.normalizeDraw, generator: &g) : nil
        }
        aggregateRule = GaussHermite(nodes: expectation.aggregateNodes)
        ownRule = GaussHermite(nodes: expectation.ownNodes)
        var uniforms: [Int: [Double]] = [:]
        for s in model.states.indices where model.chain(s)?.perAgent == true {
            uniforms[s] = (0..<model.N).map { _ in g.uniform() }
        }
        markovUniforms = uniforms
        markovOrder = uniforms.mapValues(Self.order)
    }

    public func drawingInterestStates(share: Double) -> ModelEconomy {
        guard !model.interest.isEmpty, model.perAgentResiduals else { return self }
        var copy = self
        copy.interestShare = min(max(share, 0), 1)
        return copy
    }

    /// The agents of interest's states that `agents.interest` redraws, [B, 1, 1, F] per state:
    /// with probability `interestShare` a fresh draw of the state's expression, else the agent's
    /// own value in X. Deterministic in `seed`.
    public func interestDraws(_ X: Tensor<T>, agents: [Int], seed: UInt64) -> [Int: Variable<T>] {
        let b = X.shape[0], d = model.states.count, f = agents.count
        var g = SeededGenerator(seed: seed ^ 0x6A09_E667_F3BC_C908)
        var out: [Int: Variable<T>] = [:]
        for (s, expression) in model.interest {
            let t = Tensor<T>(uninitializedShape: [b, 1, 1, f])
            for r in 0..<b {
                for (c, i) in agents.enumerated() {
                    let draw = g.uniform() < interestShare
                    t.pointer[r * f + c] = draw ? T(ModelCompiler.drawInitial(expression, constants: drawConstants, generator: &g))
                        : X.pointer[(r * N + i) * d + s]
                }
            }
            out[s] = Variable(t)
        }
        return out
    }

    public func withAggregateQuadrature(nodes: Int) -> ModelEconomy {
        var copy = self
        copy.aggregateRule = GaussHermite(nodes: nodes)
        return copy
    }

    public var N: Int { model.N }
    public var stateShape: [Int] { model.states.count == 1 ? [N] : [N, model.states.count] }
    /// Nodes of the aggregate-shock grid (tensor product over the economy shocks).
    public var aggregateGridSize: Int { aggregateAxes.reduce(1) { $0 * $1.size } }
    public var ownGridSize: Int { ownAxes.reduce(1) { $0 * $1.size } }

    /// One axis of a quadrature grid: a normal shock's Gauss–Hermite nodes, or a Markov state's values.
    enum Axis { case shock(Int), markov(Int) }
    /// The aggregate grid: economy-level Markov states (next values), then economy shocks.
    var aggregateAxes: [(axis: Axis, size: Int)] {
        model.states.indices.filter { model.isEconomyLevel($0) }.map { (Axis.markov($0), model.chain($0)!.values.count) }
            + model.economyShocks.map { (Axis.shock($0), aggregateRule.nodes.count) }
    }
    /// The own grid of the agent of interest: its Markov states and shocks that its equations depend on.
    var ownAxes: [(axis: Axis, size: Int)] {
        model.ownQuadratureShocks.map { id in
            id < model.shocks.count ? (Axis.shock(id), ownRule.nodes.count) : (Axis.markov(id - model.shocks.count), model.chain(id - model.shocks.count)!.values.count)
        }
    }
    /// Grid point p of axes → the coordinate on each axis (first axis slowest).
    static func coordinates(_ p: Int, _ sizes: [Int]) -> [Int] {
        var rest = p, out = [Int](repeating: 0, count: sizes.count)
        for a in stride(from: sizes.count - 1, through: 0, by: -1) { out[a] = rest % sizes[a]; rest /= sizes[a] }
        return out
    }
    /// Network rows of one state: every agent now and at each aggregate node, and (residuals per
    /// agent) each agent of interest at each node of both grids — all N of them in the test phase.
    public var rowsPerState: Int { N * (aggregateGridSize + 1) + (model.perAgentResiduals ? ownGridSize * N * aggregateGridSize : 0) }

    /// The first agent of each group.
    static func groupRepresentatives(_ sizes: [Int]) -> [Int] {
        var start = 0
        return sizes.map { n in defer { start += n }; return start }
    }

    public func makePolicy(generator g: inout SeededGenerator) -> ModelPolicy<T> {
        ModelPolicy(names: model.controls.map(\.name), networks: model.controls.map { c in
            model.groupSizes.isEmpty
                ? .symmetric(SymmetricNetwork(architecture, agentDimension: c.distribution.count, ownStateDimension: c.own.count + c.aggregate.count, generator: &g))
                : .blocks(BlockSymmetricNetwork(architecture, blockSizes: model.groupSizes, agentDimension: c.distribution.count,
                                                ownStateDimension: c.own.count + c.aggregate.count + model.groupSizes.count, generator: &g))
        })
    }

    // MARK: Grids

    /// Node values of each listed shock on a tensor-product grid (first shock slowest), and the weights.
    static func grid(_ rule: GaussHermite, shocks: Int) -> (values: [[Double]], weights: [Double]) {
        let n = rule.nodes.count, size = Int(Double.pow(Double(n), Double(shocks)).rounded())
        var values = Array(repeating: [Double](repeating: 0, count: size), count: shocks), weights = [Double](repeating: 1, count: size)
        for p in 0..<size {
            var rest = p
            for s in stride(from: shocks - 1, through: 0, by: -1) {
                let k = rest % n
                rest /= n
                values[s][p] = rule.nodes[k]
                weights[p] *= rule.weights[k]
            }
        }
        return (values, weights)
    }

    /// Per-state tensors [B, 1, 1, N], one per agent state.
    func stateTensors(_ X: Variable<T>) -> [Variable<T>] {
        let b = X.shape[0], d = model.states.count
        if d == 1 { return [X.reshaped([b, 1, 1, N])] }
        return (0..<d).map { s in
            // an economy-level state is stored in every agent's column; agent 0's is the value
            model.isEconomyLevel(s) ? Variable(X.value.slice(axis: 1, 0..<1).slice(axis: 2, s..<(s + 1)).reshaped([b, 1, 1, 1]))
                : X.slice(axis: 2, s..<(s + 1)).reshaped([b, 1, 1, N])
        }
    }

    static func scaled(_ v: Variable<T>, _ x: Double) -> Variable<T> { x == 1 ? v : v * T(x) }

    /// The network output of control `c` for the agents of `view` at `period`, [B, K, J, A].
    func networkOutput(policy: ModelPolicy<T>, X: Variable<T>) -> Evaluation<T>.NetworkOutput {
        var pooledCache: [Int: Variable<T>] = [:]
        return { c, period, view, ev in
            func output() -> Variable<T> {
                let net = policy.networks[c], ctl = ev.model.controls[c]
                let b = ev.batch, k = period == .next ? ev.aggregateNodes : 1
                let key = c * 2 + period.rawValue
                let z: Variable<T>
                if let cached = pooledCache[key] { z = cached } else {
                    let input: Variable<T>
                    let d = ctl.distribution.count
                    let scaled = ctl.inputScale.contains { $0 != 1 }
                    if period == .current && ctl.distribution == Array(0..<model.states.count) && !scaled {
                        input = X  // the states as stored: [B, N] or [B, N, d]
                    } else {
                        let parts = ctl.distribution.map { s in
                            Self.scaled(ev.tensor(ev.rawState(s, period, .all), shape: [b, k, 1, N]), ctl.inputScale[s]).reshaped([b * k, N, 1])
                        }
                        input = d == 1 ? parts[0].reshaped([b * k, N]) : Variable.concat(parts, axis: 2)
                    }
                    z = net.pooled(input)
                    pooledCache[key] = z
                }
                let groups = model.groupSizes.count
                if ctl.own.isEmpty && ctl.aggregate.isEmpty && groups == 0 { return net.rho(z).reshaped([b, k, 1, 1]) }
                let j = view == .interest && period == .next && !ctl.own.isEmpty ? ev.ownNodes : 1
                let a = ctl.own.isEmpty && groups == 0 ? 1 : (view == .all ? N : ev.agentsOfInterest.count)
                var own = (ctl.own + ctl.aggregate).map { s in
                    Self.scaled(ev.tensor(ev.rawState(s, period, view), shape: [b, k, j, a]), ctl.inputScale[s]).reshaped([b * k, j * a, 1])
                }
                if groups > 0 {
                    // the agent's group, one-hot, after its own and aggregate inputs
                    let agents = view == .all ? Array(0..<N) : ev.agentsOfInterest
                    let onehot = Tensor<T>(zeros: [1, 1, a, groups])
                    for (c, i) in agents.enumerated() { onehot.pointer[c * groups + model.groupOf[i]] = 1 }
                    own.append(Variable(onehot).reshaped([1, 1, 1, a, groups]).expanded(to: [b, k, j, a, groups]).reshaped([b * k, j * a, groups]))
                }
                let ownInput = own.count == 1 ? own[0] : Variable.concat(own, axis: 2)
                return net.policy(own: ownInput, pooled: z).reshaped([b, k, j, a])
            }
            // the next period's policy: fixed within a time-iteration step (`nextPeriodPolicy`)
            return period == .next ? nextPeriodPolicy(output) : output()
        }
    }

    // MARK: SymmetricEconomy

    /// The economy restricted to the agents `subset` (sorted, distinct): its cross-section is
    /// theirs, so every mean over agents, every pooled feature and every next-period state uses
    /// only them — a Monte Carlo estimate of the N-agent economy's residuals (`method.pool_sample`).
    /// Their part of the one draw of idiosyncratic shocks is normalised again, and the matched-share
    /// order of agent-level Markov states keeps their relative order.
    /// nil for a model with `agents.groups` (its block networks need every group's agents).
    public func restricted(toAgents subset: [Int]) -> ModelEconomy? {
        guard model.groupSizes.isEmpty, !subset.isEmpty else { return nil }
        var copy = self
        copy.model.N = subset.count
        copy.draws = draws.map { draw in
            draw.map { d in
                let w = subset.map { Double(d.pointer[$0]) }
                return Tensor<T>(shape: [subset.count], scalars: (expectation.normalizeDraw ? standardized(w) : w).map { T($0) })
            }
        }
        // O(K log K) per step, whatever N: the subset's own uniforms, in their order
        copy.markovUniforms = markovUniforms.mapValues { u in subset.map { u[$0] } }
        copy.markovOrder = copy.markovUniforms.mapValues(Self.order)
        return copy
    }

    /// One residual per equation (and per agent of interest when the equations are per agent):
    /// shape [B, equations·F]. Differentiable in the policy's parameters, through X' too.
    public func eulerResidual(_ X: Variable<T>, policy: ModelPolicy<T>, subsample: UInt64?) -> Variable<T> {
        let b = X.shape[0]
        let firms = model.residualsPerGroup ? Self.groupRepresentatives(model.groupSizes)
            : model.perAgentResiduals ? agentsOfInterest(count: N, perState: expectation.firmsPerState, subsample: subsample) : [0]
        let a = model.perAgentResiduals ? firms.count : 1
        let draws = interestShare > 0 ? subsample.map { interestDraws(X.value, agents: firms, seed: $0) } : nil
        let ev = expectationEvaluation(X, policy: policy, agentsOfInterest: firms, interestStates: draws ?? [:])
        let parts = model.equations.map { eq in
            ev.tensor(ev.evaluate(eq.ir, .current, .interest), shape: [b, 1, 1, a]).reshaped([b, a])
        }
        return parts.count == 1 ? parts[0] : Variable.concat(parts, axis: 1)
    }

    /// The common initial cross-section: each agent state drawn per agent from `agents.initial`
    /// (state by state, agent by agent).
    public func initialState(generator g: inout SeededGenerator) -> Tensor<T> {
        let d = model.states.count
        let out = Tensor<T>(uninitializedShape: stateShape)
        for s in 0..<model.continuousStates {
            for i in 0..<N { out.pointer[i * d + s] = T(ModelCompiler.drawInitial(model.initial[s], constants: drawConstants, generator: &g)) }
        }
        for s in model.continuousStates..<d {
            let chain = model.chain(s)!
            if !chain.perAgent { for i in 0..<N { out.pointer[i * d + s] = T(chain.initialIndex) }; continue }
            // exactly round(N · share) agents in each state, at random
            var labels: [Int] = []
            var cumulative = 0.0
            for (e, share) in chain.initialShares.enumerated() {
                cumulative += share
                let upTo = e == chain.initialShares.count - 1 ? N : Int((cumulative * Double(N)).rounded())
                labels += Array(repeating: e, count: max(0, upTo - labels.count))
            }
            labels.seededShuffle(using: &g)
            for i in 0..<N { out.pointer[i * d + s] = T(labels[i]) }
        }
        return out
    }

    /// Every agent's value of control `c` at each state, [B, A] (A = 1 when it is the same for all).
    public func controlValues(_ X: Tensor<T>, policy: ModelPolicy<T>?, control c: Int = 0) -> Tensor<T> {
        withoutGradients {
            let ev = Evaluation<T>(model: model, states: stateTensors(Variable(X)), agentsOfInterest: [], shocks: .simulation([]),
                                   aggregateNodes: 1, ownNodes: 1, network: policy.map { networkOutput(policy: $0, X: Variable(X)) })
            return Self.perState(ev.evaluate(policy == nil ? model.simulate[c] : .control(c, next: false), .current, .all), ev, X.shape[0])
        }
    }

    /// The exact policy of control `c` at each state, [B, A], when the file gives one.
    public func exactValues(_ X: Tensor<T>, control c: Int = 0) -> Tensor<T>? {
        guard let exact = model.exact[c] else { return nil }
        return withoutGradients {
            let ev = Evaluation<T>(model: model, states: stateTensors(Variable(X)), agentsOfInterest: [], shocks: .simulation([]),
                                   aggregateNodes: 1, ownNodes: 1, network: nil)
            return Self.perState(ev.evaluate(exact, .current, .all), ev, X.shape[0])
        }
    }

    /// A current-period value as [B, A].
    static func perState(_ v: Evaluation<T>.Value, _ ev: Evaluation<T>, _ b: Int) -> Tensor<T> {
        var t = ev.tensor(v)
        if t.shape[0] != b { t = t.expanded(to: [b] + t.shape.dropFirst()) }
        return t.value.reshaped([b, t.value.count / b])
    }

    public func meanPolicy(_ X: Tensor<T>, policy: ModelPolicy<T>) -> Tensor<T> {
        Tensor(shape: [X.shape[0]], scalars: stateMeans(controlValues(X, policy: policy)).map { T($0) })
    }

    public func referenceMeanPolicy(_ X: Tensor<T>) -> Tensor<T>? {
        exactValues(X).map { Tensor(shape: [X.shape[0]], scalars: stateMeans($0).map { T($0) }) }
    }

    /// The mean policy, the policy errors and the benchmark deviations from one evaluation of
    /// each control's network.
    public func policySummary(_ X: Tensor<T>, policy: ModelPolicy<T>) -> PolicySummary {
        var values: [Int: Tensor<T>] = [:]
        func value(_ c: Int) -> Tensor<T> {
            if let v = values[c] { return v }
            let v = controlValues(X, policy: policy, control: c)
            values[c] = v
            return v
        }
        return PolicySummary(mean: stateMeans(value(0)), errors: policyErrors(X, values: value), deviations: benchmarkDeviations(X, u: value(0)))
    }

    /// Per state, the mean over agents (and over controls with an exact policy) of |u − u*| and |u − u*|/|u*|.
    public func policyErrors(_ X: Tensor<T>, policy: ModelPolicy<T>) -> PolicyErrors? {
        policyErrors(X) { controlValues(X, policy: policy, control: $0) }
    }

    func policyErrors(_ X: Tensor<T>, values: (Int) -> Tensor<T>) -> PolicyErrors? {
        let b = X.shape[0]
        let zeros = [Double](repeating: 0, count: b)
        var sums = PolicyErrors(absolute: zeros, relative: zeros, scale: zeros), counted = 0
        for c in model.controls.indices {
            guard let exact = exactValues(X, control: c) else { continue }
            let u = values(c)
            let per = Swift.max(u.count, exact.count) / b, pu = u.count / b, pe = exact.count / b
            for r in 0..<b {
                var a = 0.0, rel = 0.0, scale = 0.0
                for i in 0..<per {
                    let ui = Double(u.pointer[r * pu + (pu == 1 ? 0 : i)]), ei = Double(exact.pointer[r * pe + (pe == 1 ? 0 : i)])
                    a += Swift.abs(ui - ei); rel += Swift.abs(ui - ei) / Swift.abs(ei); scale += Swift.abs(ei)
                }
                sums.absolute[r] += a / Double(per); sums.relative[r] += rel / Double(per); sums.scale[r] += scale / Double(per)
            }
            counted += 1
        }
        guard counted > 0 else { return nil }
        let n = Double(counted)
        return PolicyErrors(absolute: sums.absolute.map { $0 / n }, relative: sums.relative.map { $0 / n }, scale: sums.scale.map { $0 / n })
    }

    /// Mean over agents of |u − u_b|/|u_b| against the file's `benchmark` policy of the first control.
    public func benchmarkDeviations(_ X: Tensor<T>, policy: ModelPolicy<T>) -> [Double]? {
        guard model.benchmark.first ?? nil != nil else { return nil }
        return benchmarkDeviations(X, u: controlValues(X, policy: policy))
    }

    func benchmarkDeviations(_ X: Tensor<T>, u: @autoclosure () -> Tensor<T>) -> [Double]? {
        guard let benchmark = model.benchmark.first ?? nil else { return nil }
        let b = X.shape[0]
        let ref = withoutGradients {
            let ev = Evaluation<T>(model: model, states: stateTensors(Variable(X)), agentsOfInterest: [], shocks: .simulation([]),
                                   aggregateNodes: 1, ownNodes: 1, network: nil)
            return Self.perState(ev.evaluate(benchmark, .current, .all), ev, b)
        }
        let u = u()
        let pu = u.count / b, pr = ref.count / b, per = Swift.max(pu, pr)
        return (0..<b).map { r in
            (0..<per).reduce(0.0) { s, i in
                let ui = Double(u.pointer[r * pu + (pu == 1 ? 0 : i)]), ri = Double(ref.pointer[r * pr + (pr == 1 ? 0 : i)])
                return s + Swift.abs(ui - ri) / Swift.abs(ri)
            } / Double(per)
        }
    }

    /// Mean of the first agent state (the own-path check's band).
    public func aggregate(_ X: Tensor<T>) -> [Double] {
        let d = model.states.count
        return d == 1 ? stateMeans(X) : stateMeans(X, columns: 0..<(d * N), stride: d)
    }

    /// `mean_<state>` for every agent state and `exact_<control>` (its mean over agents) where given.
    public func reportColumns(_ X: Tensor<T>) -> [(name: String, values: [Double])] {
        let d = model.states.count
        var out: [(String, [Double])] = (0..<d).map { s in
            guard let chain = model.chain(s) else {
                return ("mean_" + model.states[s], d == 1 ? stateMeans(X) : stateMeans(X, columns: s..<(d * N), stride: d))
            }
            // a Markov state's values (its index is stored): the mean over agents, or the economy's value
            let values = chain.values
            let perState = (0..<X.shape[0]).map { r in
                chain.perAgent ? (0..<N).reduce(0.0) { $0 + values[Int(Double(X.pointer[(r * N + $1) * d + s]).rounded())] } / Double(N)
                    : values[Int(Double(X.pointer[r * N * d + s]).rounded())]
            }
            return (chain.perAgent ? "mean_" + model.states[s] : model.states[s], perState)
        }
        for (c, ctl) in model.controls.enumerated() {
            if let e = exactValues(X, control: c) { out.append(("exact_" + ctl.name, stateMeans(e))) }
        }
        return out
    }
}

extension ModelEconomy {
    /// A statistic of the `statistics:` section at one state: its value, or its mean over agents.
    public func statistic(_ ir: IR, _ X: Tensor<T>, policy: ModelPolicy<T>) -> Double {
        withoutGradients {
            let Xv = Variable(X)
            let ev = Evaluation<T>(model: model, states: stateTensors(Xv), agentsOfInterest: [], shocks: .simulation([]),
                                   aggregateNodes: 1, ownNodes: 1, network: networkOutput(policy: policy, X: Xv))
            let v = ev.tensor(ev.evaluate(ir, .current, .all)).value
            return v.scalars.reduce(0.0) { $0 + Double($1) } / Double(max(v.count, 1))
        }
    }
}

extension ModelEconomy {
    /// Control `c` at one state `X` ([1, stateShape…]) for hypothetical agents whose own states
    /// are `own[p]` (one value per state of `states`, Markov states as indices): a policy function
    /// on a grid, with the distribution and prices of `X`.
    public func policy(at X: Tensor<T>, control c: Int, states: [Int], own: [[Double]], policy: ModelPolicy<T>) -> [Double] {
        evaluate(.control(c, next: false), at: X, states: states, own: own, policy: policy)
    }

    /// Next period's value of the continuous agent state `s` at one state `X` for hypothetical
    /// agents (as `policy(at:…)`), e.g. savings k'; nil when the model has shocks (the transition
    /// would need a draw).
    public func nextState(at X: Tensor<T>, state s: Int, states: [Int], own: [[Double]], policy: ModelPolicy<T>) -> [Double]? {
        guard model.shocks.isEmpty, s < model.continuousStates else { return nil }
        return evaluate(model.transitions[s], at: X, states: states, own: own, policy: policy)
    }

    /// `ir` for hypothetical agents of interest with own states `own[p]` at one state `X`.
    func evaluate(_ ir: IR, at X: Tensor<T>, states: [Int], own: [[Double]], policy: ModelPolicy<T>) -> [Double] {
        withoutGradients {
            let Xv = Variable(X)
            let ev = Evaluation<T>(model: model, states: stateTensors(Xv), agentsOfInterest: Array(repeating: 0, count: own.count),
                                   shocks: .simulation([]), aggregateNodes: 1, ownNodes: 1, network: networkOutput(policy: policy, X: Xv))
            for (k, s) in states.enumerated() {
                ev.interestOverride[s] = Variable(Tensor<T>(shape: [1, 1, 1, own.count], scalars: own.map { T($0[k]) }))
            }
            let v = ev.tensor(ev.evaluate(ir, .current, .interest)).expanded(to: [1, 1, 1, own.count]).value
            return v.scalars.map(Double.init)
        }
    }
}
