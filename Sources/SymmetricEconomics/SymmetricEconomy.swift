import SymmetricNumerics
import SymmetricNetworks

/// An economy with many exchangeable agents that the trainer can solve: what a model implements
/// to be solved by symmetric deep learning (see docs/custom-economy.md for a worked example).
///
/// A *state* is everything the agents need to know, one row per point, shape `stateShape`
/// (e.g. [N] when each agent has one number, [N, d] for d numbers). The trainer simulates
/// states with `nextState`, fits the policy network by minimising the mean squared
/// `eulerResidual`, and checks the fit on paths simulated with the network itself.
public protocol SymmetricEconomy {
    associatedtype Scalar: TensorScalar
    associatedtype Policy: ParameterizedModel where Policy.Scalar == Scalar

    /// Shape of one state, e.g. [N].
    var stateShape: [Int] { get }

    /// A freshly initialised policy network.
    func makePolicy(generator: inout SeededGenerator) -> Policy

    /// Euler residuals of a batch of states `X` [b, stateShape…]: shape [b, r], one column per
    /// equation (per firm type, per firm of interest, …). Differentiable in the policy's
    /// parameters, through the next-period states too. In training `subsample` seeds a random
    /// choice of equations where an economy estimates the loss on a subset; nil means all.
    func eulerResidual(_ X: Variable<Scalar>, policy: Policy, subsample: UInt64?) -> Variable<Scalar>

    /// The common initial state of every simulated path, shape `stateShape`.
    func initialState(generator: inout SeededGenerator) -> Tensor<Scalar>

    /// One period of the law of motion for a batch of states with fresh shocks, under `policy`,
    /// or under the data-generating policy (e.g. the LQ solution) when `policy` is nil.
    func nextState(_ X: Tensor<Scalar>, policy: Policy?, generator: inout SeededGenerator) -> Tensor<Scalar>

    /// The agents' mean policy at each state, [b] (results and plots).
    func meanPolicy(_ X: Tensor<Scalar>, policy: Policy) -> Tensor<Scalar>

    /// The exact mean policy when the model has a closed form (LQ), else nil.
    func referenceMeanPolicy(_ X: Tensor<Scalar>) -> Tensor<Scalar>?

    /// Per state, the agents' mean absolute and mean relative policy error against the exact
    /// policy, when there is one.
    func policyErrors(_ X: Tensor<Scalar>, policy: Policy) -> PolicyErrors?

    /// One number per state that stays bounded along an equilibrium path (mean capital, say):
    /// the own-path check rejects solutions whose paths leave the band the data span.
    func aggregate(_ X: Tensor<Scalar>) -> [Double]

    /// Per state, the agents' mean relative deviation from a benchmark policy that is not exact
    /// (e.g. the LQ policy as μ → 0), when the model has one (`benchmark_policy_rel_deviation`).
    func benchmarkDeviations(_ X: Tensor<Scalar>, policy: Policy) -> [Double]?

    /// Extra per-state columns of `test_results.csv` (e.g. `mean_x`, the exact control).
    func reportColumns(_ X: Tensor<Scalar>) -> [(name: String, values: [Double])]

    /// Network rows one state costs (sizes evaluation chunks).
    var rowsPerState: Int { get }

    /// The same economy (same draws) with another Gauss–Hermite rule over the aggregate shock.
    func withAggregateQuadrature(nodes: Int) -> Self

    /// Agents in the economy (the first axis of a state).
    var agentCount: Int { get }

    /// Per state: the mean policy, the policy errors against the exact policy and the deviations
    /// from the benchmark policy (nil where there is none) — what the test phase reports, from one
    /// evaluation of the network where the economy can share it.
    func policySummary(_ X: Tensor<Scalar>, policy: Policy) -> PolicySummary

    /// The economy whose agents are `subset` of this one's (sorted, distinct; same draws and
    /// parameters), or nil when the economy cannot be restricted: cheap validation estimates.
    func restricted(toAgents subset: [Int]) -> Self?

    /// The economy for training steps, whose agents of interest have their own states drawn from
    /// the model's training distribution with probability `share` (model files with
    /// `agents.interest`); validation and test keep the economy itself. Others return themselves.
    func drawingInterestStates(share: Double) -> Self

    /// The states of the agents `subset` in the rows `rows` of X (all rows when nil),
    /// [rows, subset.count, …] from [b, stateShape…].
    func restrictedStates(_ X: Tensor<Scalar>, rows: [Int]?, toAgents subset: [Int]) -> Tensor<Scalar>
}

/// Per state, the agents' mean policy error against an exact policy u*, with the same weights:
/// |u − u*| (`absolute`), |u − u*|/|u*| (`relative`, the paper's ε_rel) and |u*| (`scale`).
/// The paper's mean of `relative` is ill-conditioned where u* crosses zero (steeper demand moves
/// the steady state below the start, so investment changes sign along every path); mean
/// `absolute` / mean `scale` is the error relative to the policy's size and stays well defined.
public struct PolicyErrors: Sendable {
    public var absolute: [Double]
    public var relative: [Double]
    public var scale: [Double]
    public init(absolute: [Double], relative: [Double], scale: [Double]) {
        self.absolute = absolute; self.relative = relative; self.scale = scale
    }
}

/// See `SymmetricEconomy.policySummary`.
public struct PolicySummary {
    public var mean: [Double]
    public var errors: PolicyErrors?
    public var deviations: [Double]?
    public init(mean: [Double], errors: PolicyErrors?, deviations: [Double]?) {
        self.mean = mean; self.errors = errors; self.deviations = deviations
    }
}

extension SymmetricEconomy {
    public var agentCount: Int { stateShape[0] }
    public func policySummary(_ X: Tensor<Scalar>, policy: Policy) -> PolicySummary {
        PolicySummary(mean: meanPolicy(X, policy: policy).scalars.map(Double.init), errors: policyErrors(X, policy: policy),
                      deviations: benchmarkDeviations(X, policy: policy))
    }
    public func restricted(toAgents subset: [Int]) -> Self? { nil }
    public func drawingInterestStates(share: Double) -> Self { self }
    public func restrictedStates(_ X: Tensor<Scalar>, rows: [Int]?, toAgents subset: [Int]) -> Tensor<Scalar> {
        let n = stateShape[0], inner = stateShape.dropFirst().reduce(1, *)
        let rows = rows ?? Array(0..<X.shape[0])
        let out = Tensor<Scalar>(uninitializedShape: [rows.count, subset.count] + stateShape.dropFirst())
        for (k, r) in rows.enumerated() {
            precondition(r >= 0 && r < X.shape[0], "restrictedStates: row \(r) out of range 0..<\(X.shape[0])")
            for (c, i) in subset.enumerated() {
                (out.pointer + (k * subset.count + c) * inner).update(from: X.pointer + (r * n + i) * inner, count: inner)
            }
        }
        return out
    }
    public func restrictedStates(_ X: Tensor<Scalar>, toAgents subset: [Int]) -> Tensor<Scalar> {
        restrictedStates(X, rows: nil, toAgents: subset)
    }
    /// Per row `rows` of X, a systematic sample of `size` of its agents, [rows.count, size, …]:
    /// the row's agents sorted by their state, read from its last component to its first (for
    /// model files the agent-level Markov states, then the continuous ones), and every
    /// (n/size)-th of them from a random start (`seed` and the row). Each Markov state's share of
    /// the sample is the row's to within one agent, and the sample's mean state is close to the
    /// row's, where a random subset's varies by about std/√size (stratified sampling;
    /// `method.pool_stratified`). Slot j of the sample holds the j-th sampled agent.
    public func stratifiedStates(_ X: Tensor<Scalar>, rows: [Int], size: Int, seed: UInt64) -> Tensor<Scalar> {
        let n = stateShape[0], inner = stateShape.dropFirst().reduce(1, *)
        precondition(size > 0 && size <= n, "stratifiedStates: size \(size) outside 1...\(n)")
        let out = Tensor<Scalar>(uninitializedShape: [rows.count, size] + stateShape.dropFirst())
        let step = Double(n) / Double(size)
        // the keys as a concrete [Double] (one buffer for every row): a comparator on the generic
        // scalar is not specialised across modules and sorting a row took milliseconds
        var keys = [Double](repeating: 0, count: n * inner)
        for (k, r) in rows.enumerated() {
            precondition(r >= 0 && r < X.shape[0], "stratifiedStates: row \(r) out of range 0..<\(X.shape[0])")
            let row = X.pointer + r * n * inner
            for i in 0..<(n * inner) { keys[i] = Double(row[i]) }
            let sorted = keys.withUnsafeBufferPointer { key in
                (0..<n).sorted { a, b in
                    var c = inner - 1
                    while c >= 0 {
                        let x = key[a * inner + c], y = key[b * inner + c]
                        if x != y { return x < y }
                        c -= 1
                    }
                    return a < b
                }
            }
            var g = SeededGenerator(seed: seed &+ UInt64(r) &* 0x9E37_79B9_7F4A_7C15)
            let start = Double.random(in: 0..<1, using: &g)
            for j in 0..<size {
                let i = sorted[min(n - 1, Int((Double(j) + start) * step))]
                (out.pointer + (k * size + j) * inner).update(from: row + i * inner, count: inner)
            }
        }
        return out
    }
    public func referenceMeanPolicy(_ X: Tensor<Scalar>) -> Tensor<Scalar>? { nil }
    public func policyErrors(_ X: Tensor<Scalar>, policy: Policy) -> PolicyErrors? { nil }
    public func reportColumns(_ X: Tensor<Scalar>) -> [(name: String, values: [Double])] { [] }
    public func benchmarkDeviations(_ X: Tensor<Scalar>, policy: Policy) -> [Double]? { nil }

    /// `trajectories` paths of `steps + 1` states from the common `initial` state; returns
    /// [trajectories, steps + 1, stateShape…].
    public func simulate(from initial: Tensor<Scalar>, trajectories: Int, steps: Int, policy: Policy?,
                         generator g: inout SeededGenerator) -> Tensor<Scalar> {
        let size = initial.count
        let starts = Tensor<Scalar>(uninitializedShape: [trajectories] + stateShape)
        for r in 0..<trajectories { (starts.pointer + r * size).update(from: initial.pointer, count: size) }
        return simulate(fromEach: starts, steps: steps, policy: policy, generator: &g)
    }

    /// One path of `steps + 1` states from each row of `starts` ([trajectories, stateShape…]);
    /// returns [trajectories, steps + 1, stateShape…].
    public func simulate(fromEach starts: Tensor<Scalar>, steps: Int, policy: Policy?,
                         generator g: inout SeededGenerator) -> Tensor<Scalar> {
        let trajectories = starts.shape[0], size = starts.count / max(trajectories, 1)
        let paths = Tensor<Scalar>(uninitializedShape: [trajectories, steps + 1] + stateShape)
        var X = starts.copy()
        for t in 0...steps {
            for r in 0..<trajectories { (paths.pointer + (r * (steps + 1) + t) * size).update(from: X.pointer + r * size, count: size) }
            if t == steps { break }
            X = withoutGradients { nextState(X, policy: policy, generator: &g) }
        }
        return paths
    }
}

/// Row means of a [b, …] tensor (one mean per state).
public func stateMeans<T: TensorScalar>(_ X: Tensor<T>, columns: Range<Int>? = nil, stride: Int = 1) -> [Double] {
    let b = X.shape[0], size = X.count / max(b, 1)
    return (0..<b).map { r in
        let row = X.pointer + r * size
        var s = 0.0, n = 0
        var i = columns?.lowerBound ?? 0
        let end = columns?.upperBound ?? size
        while i < end { s += Double(row[i]); n += 1; i += stride }
        return s / Double(max(n, 1))
    }
}
