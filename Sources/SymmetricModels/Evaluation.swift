import RealModule
import SymmetricNumerics

/// Evaluates a compiled model's expressions for a batch of states on the autodiff tape.
///
/// Every value has the layout [B, K, J, A] (any axis may be 1 and broadcasts): B states of the
/// batch, K nodes of the aggregate-shock grid, J nodes of the own-shock grid of the agent of
/// interest, A agents — all N agents (`mean`, next-period states of everybody) or the F agents
/// of interest (bare agent-level symbols in equations). Parameters stay numbers.
final class Evaluation<T: TensorScalar> {
    enum Period: Int { case current = 0, next = 1 }
    enum View: Int { case all = 0, interest = 1 }

    enum Value {
        case constant(Double)
        case tensor(Variable<T>)
    }

    /// Where next period's randomness comes from: the expectation's grids and fixed draws, or
    /// fresh draws (simulation).
    struct ShockSource {
        /// Per shock: the values seen by all agents ([1,K,1,1] aggregate grid, [1,1,1,N] the fixed
        /// draw; [B,1,1,1] / [B,1,1,N] fresh draws) and by the agents of interest.
        var all: [Variable<T>]
        var interest: [Variable<T>]
        /// Per Markov state: next period's index for all agents ([1,K,1,1], [B,K,1,N]; fresh
        /// [B,1,1,1] / [B,1,1,N]) and for the agents of interest ([1,1,J,1] own grid).
        var markovAll: [Int: Variable<T>] = [:]
        var markovInterest: [Int: Variable<T>] = [:]
        var isExpectation: Bool
        /// Quadrature weights [B|1, K, J, F|1] when they depend on the state (Markov chains).
        var weights: Variable<T>? = nil

        static func expectation(all: [Variable<T>], interest: [Variable<T>]) -> ShockSource {
            ShockSource(all: all, interest: interest, isExpectation: true)
        }
        static func simulation(_ draws: [Variable<T>]) -> ShockSource {
            ShockSource(all: draws, interest: draws, isExpectation: false)
        }
    }

    /// Computes a control's raw network output at (period, view), given the evaluation (for inputs).
    typealias NetworkOutput = (_ control: Int, _ period: Period, _ view: View, _ evaluation: Evaluation) -> Variable<T>

    let model: CompiledModel
    let batch: Int
    /// Current-period states as stored, one tensor per state: [B, 1, 1, N] for agent states,
    /// [B, 1, 1, 1] for economy-level ones (Markov states as their index).
    let currentStates: [Variable<T>]
    let agentsOfInterest: [Int]
    let shocks: ShockSource
    /// Size of the aggregate-shock grid (K) and the own-shock grid (J).
    let aggregateNodes: Int, ownNodes: Int
    /// nil: controls follow the file's `simulate` rules.
    let network: NetworkOutput?
    /// Current-period states of hypothetical agents of interest ([1, 1, 1, F] each), replacing
    /// the gathered ones (policy functions on a grid of own states).
    var interestOverride: [Int: Variable<T>] = [:]
    var cache: [Int: Value] = [:]

    init(model: CompiledModel, states: [Variable<T>], agentsOfInterest: [Int], shocks: ShockSource,
         aggregateNodes: Int, ownNodes: Int, network: NetworkOutput?) {
        self.model = model
        self.currentStates = states
        batch = states[0].shape[0]
        self.agentsOfInterest = agentsOfInterest
        self.shocks = shocks
        self.aggregateNodes = aggregateNodes
        self.ownNodes = ownNodes
        self.network = network
    }

    var N: Int { model.N }

    // MARK: Values as tensors

    func tensor(_ v: Value) -> Variable<T> {
        switch v {
        case .tensor(let t): return t
        case .constant(let c): return Variable(Tensor<T>(shape: [1, 1, 1, 1], repeating: T(c)))
        }
    }

    /// A value as a tensor of exactly `shape` (broadcast when needed).
    func tensor(_ v: Value, shape: [Int]) -> Variable<T> {
        switch v {
        case .tensor(let t): return t.expanded(to: shape)
        case .constant(let c): return Variable(Tensor<T>(shape: shape, repeating: T(c)))
        }
    }

    // MARK: Named quantities (memoised per period and view)

    private func key(_ kind: Int, _ index: Int, _ period: Period, _ view: View) -> Int {
        ((index * 8 + kind) * 2 + period.rawValue) * 2 + view.rawValue
    }

    private func memo(_ kind: Int, _ index: Int, _ period: Period, _ view: View, _ make: () -> Value) -> Value {
        let k = key(kind, index, period, view)
        if let v = cache[k] { return v }
        let v = make()
        cache[k] = v
        return v
    }

    /// State `s` at `period` for the agents of `view` (a Markov state's value, not its index).
    func state(_ s: Int, _ period: Period, _ view: View) -> Value {
        guard let chain = model.chain(s) else { return rawState(s, period, view) }
        return memo(3, s, period, view) {
            let index = tensor(rawState(s, period, view))
            let values = chain.values
            return .tensor(Variable(index.value.map { T(values[min(values.count - 1, max(0, Int(Double($0).rounded())))]) }))
        }
    }

    /// State `s` as stored (a Markov state's index): what the networks see.
    func rawState(_ s: Int, _ period: Period, _ view: View) -> Value {
        memo(0, s, period, view) {
            let economyLevel = model.isEconomyLevel(s)
            switch period {
            case .current:
                let x = currentStates[s]
                guard view == .interest, !economyLevel else { return .tensor(x) }
                if let o = interestOverride[s] { return .tensor(o) }
                return .tensor(x.reshaped([batch, N]).gather(axis1: agentsOfInterest).reshaped([batch, 1, 1, agentsOfInterest.count]))
            case .next:
                if model.chain(s) != nil {
                    return .tensor(view == .interest && !economyLevel ? shocks.markovInterest[s]! : shocks.markovAll[s]!)
                }
                let next = evaluate(model.transitions[s], .current, view)
                // a time-iteration step that holds next period's aggregates fixed
                // (`method.hold_next_aggregates`): everybody's next states are data; the agents of
                // interest's own (view .interest) still carry the gradient
                if view == .all, !nextPolicyGradient, !nextAggregateGradient, case .tensor(let v) = next { return .tensor(v.detached()) }
                return next
            }
        }
    }

    /// Control `c` at `period` for the agents of `view`.
    func control(_ c: Int, _ period: Period, _ view: View) -> Value {
        memo(1, c, period, view) {
            let ctl = model.controls[c]
            guard let network else { return evaluate(model.simulate[c], period, view) }
            let raw: Variable<T>
            if view == .interest && period == .current && ctl.perAgent && ctl.transform == nil && interestOverride.isEmpty {
                // the agents of interest are some of all agents: read their controls off
                let all = tensor(control(c, .current, .all))
                return .tensor(all.reshaped([batch, N]).gather(axis1: agentsOfInterest).reshaped([batch, 1, 1, agentsOfInterest.count]))
            }
            raw = network(c, period, view, self)
            guard let t = ctl.transform else { return .tensor(raw) }
            let saved = netValue
            netValue = .tensor(raw)
            defer { netValue = saved }
            return evaluate(t, period, view)
        }
    }

    /// The raw network output while a transform is evaluated.
    var netValue: Value?

    func definition(_ d: Int, _ period: Period, _ view: View) -> Value {
        memo(2, d, period, view) { evaluate(model.definitions[d].ir, period, view) }
    }

    func shock(_ i: Int, _ view: View) -> Value { .tensor(view == .all ? shocks.all[i] : shocks.interest[i]) }

    // MARK: Expressions

    func evaluate(_ ir: IR, _ period: Period, _ view: View) -> Value {
        switch ir {
        case .constant(let c): return .constant(c)
        case .state(let s, let n): return state(s, n ? .next : period, view)
        case .control(let c, let n): return control(c, n ? .next : period, view)
        case .definition(let d, let n): return definition(d, n ? .next : period, view)
        case .shock(let i): return shock(i, view)
        case .net: return netValue ?? .constant(.nan)
        case .attribute(let i):
            let values = model.attributes[i].values, groupOf = model.groupOf
            if view == .all { return .tensor(Variable(Tensor<T>(shape: [1, 1, 1, N], scalars: groupOf.map { T(values[$0]) }))) }
            return .tensor(Variable(Tensor<T>(shape: [1, 1, 1, agentsOfInterest.count], scalars: agentsOfInterest.map { T(values[groupOf[$0]]) })))
        case .negate(let a):
            switch evaluate(a, period, view) {
            case .constant(let c): return .constant(-c)
            case .tensor(let t): return .tensor(-t)
            }
        case .binary(let op, let a, let b): return binary(op, evaluate(a, period, view), evaluate(b, period, view))
        case .function(let f, let args): return function(f, args.map { evaluate($0, period, view) })
        case .mean(let a):
            switch evaluate(a, period, .all) {
            case .constant(let c): return .constant(c)
            case .tensor(let t): return .tensor(t.shape[3] == 1 ? t : t.mean(axis: 3, keepingDims: true))
            }
        case .expectation(let a):
            switch evaluate(a, period, view) {
            case .constant(let c): return .constant(c)
            case .tensor(let t): return .tensor(expectation(t))
            }
        }
    }

    /// Σ_k Σ_j w_k w_j v[·, k, j, ·]: Gauss–Hermite over the aggregate grid, then the own grid.
    func expectation(_ v: Variable<T>) -> Variable<T> {
        guard shocks.isExpectation else { return v }
        let k = v.shape[1], j = v.shape[2]
        if k == 1 && j == 1 { return v }
        if let W = shocks.weights {
            // state-dependent weights (Markov chains): Σ over the aggregate grid, then the own grid
            return (v * W).sum(axis: 1, keepingDims: true).sum(axis: 2, keepingDims: true)
        }
        let w = weights(k, j)
        return (v * Variable(w)).sum(axis: 1, keepingDims: true).sum(axis: 2, keepingDims: true)
    }

    /// Quadrature weights [1, K, J, 1] (set by the economy).
    var weights: (_ k: Int, _ j: Int) -> Tensor<T> = { _, _ in Tensor<T>(zeros: [1]) }

    func binary(_ op: BinaryOperator, _ a: Value, _ b: Value) -> Value {
        switch (a, b) {
        case (.constant(let x), .constant(let y)): return .constant(IR.combine(op, .constant(x), .constant(y)).constantValue!)
        case (.tensor(let v), .constant(let c)):
            switch op {
            case .add: return .tensor(v + T(c))
            case .subtract: return .tensor(v - T(c))
            case .multiply: return .tensor(v * T(c))
            case .divide: return .tensor(v / T(c))
            case .power:
                if c == c.rounded() && abs(c) <= 64 { return .tensor(c == 2 ? v.squared() : v.pow(integer: Int(c))) }
                return .tensor(v.pow(T(c)))
            }
        case (.constant(let c), .tensor(let v)):
            switch op {
            case .add: return .tensor(T(c) + v)
            case .subtract: return .tensor(T(c) - v)
            case .multiply: return .tensor(v * T(c))
            case .divide: return .tensor(T(c) / v)
            case .power: return .tensor((v * T(Double.log(c))).exp())
            }
        case (.tensor(let u), .tensor(let v)):
            switch op {
            case .add: return .tensor(u + v)
            case .subtract: return .tensor(u - v)
            case .multiply: return .tensor(u * v)
            case .divide: return .tensor(u / v)
            case .power: return .tensor((u.log() * v).exp())
            }
        }
    }

    func function(_ f: BuiltinFunction, _ args: [Value]) -> Value {
        let constants = args.compactMap { if case .constant(let c) = $0 { return c } else { return nil } }
        if constants.count == args.count { return .constant(f.apply(constants)) }
        switch f {
        case .max, .min:
            // against a constant: a clamp (the gradient passes where the tensor is the larger / smaller)
            if case .tensor(let v) = args[0], case .constant(let c) = args[1] { return .tensor(clamp(v, c, f == .max)) }
            if case .constant(let c) = args[0], case .tensor(let v) = args[1] { return .tensor(clamp(v, c, f == .max)) }
            let a = tensor(args[0]), b = tensor(args[1])
            return .tensor(f == .max ? Variable.maximum(a, b) : Variable.minimum(a, b))
        case .fb: return .tensor(Variable.fischerBurmeister(tensor(args[0]), tensor(args[1])))
        default: break
        }
        let x = tensor(args[0])
        switch f {
        case .exp: return .tensor(x.exp())
        case .log: return .tensor(x.log())
        case .sqrt: return .tensor(x.sqrt())
        case .abs: return .tensor(x.abs())
        case .sigmoid: return .tensor(x.sigmoid())
        case .tanh: return .tensor(x.tanh())
        case .softplus: return .tensor(x.softplus())
        case .relu: return .tensor(x.relu())
        case .step: return .tensor(Variable(x.value.map { $0 > 0 ? 1 : 0 }))
        case .max, .min, .fb: fatalError("handled above")
        }
    }

    func clamp(_ v: Variable<T>, _ c: Double, _ isMax: Bool) -> Variable<T> {
        isMax ? v.clamped(min: T(c)) : -((-v).clamped(min: T(-c)))
    }
}
