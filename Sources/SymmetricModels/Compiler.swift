import Foundation
import RealModule
import SymmetricNumerics

/// A checked model with its parameter values, ready to be evaluated on the autodiff tape.
///
/// Everything here is resolved: symbols are indices, parameters and derived parameters are
/// folded into the expressions, and the analyses the evaluator needs are done once
/// (which controls depend on the agent's own states, which own shocks the expectation
/// integrates by quadrature, whether residuals are per agent of interest).
public struct CompiledModel: Sendable {
    public struct Control: Sendable {
        public var name: String
        /// Own states fed to ρ next to the pooled distribution (after pruning, see `ownDropped`).
        public var own: [Int]
        /// Agent states pooled as mean_i φ(·).
        public var distribution: [Int]
        public var transform: IR?
        /// Own states declared in the file but dropped because no equation depends on the agent's
        /// own states except through the controls (e.g. μ = 0 folds x'^(−μ) to 1).
        public var ownDropped: [Int]
        /// Whether the control differs across agents (own inputs, or a transform of own states).
        public var perAgent: Bool
        /// Economy-level (Markov) states fed to ρ, after the own states.
        public var aggregate: [Int] = []
        /// Network input scale of each state (1 unless the file's `scale:` says otherwise).
        public var inputScale: [Double] = []
    }
    /// A discrete state with its Markov chain (extension; docs/model-files.md).
    public struct Chain: Sendable {
        public var name: String
        public var perAgent: Bool
        public var values: [Double]
        /// Economy-level: P[z][z'].
        public var economyTransition: [[Double]]
        /// Agent-level: P[z][z'][e][e'] given the economy-level chain `given` (z dimensions 1 without one).
        public var agentTransition: [[[[Double]]]]
        /// State index of the economy-level chain an agent-level chain depends on.
        public var given: Int?
        /// Economy-level: the initial index; agent-level: initial shares of each value.
        public var initialIndex: Int
        public var initialShares: [Double]
    }
    public struct Shock: Sendable {
        public var name: String
        public var perAgent: Bool
    }

    public let file: ModelFile
    /// Parameters then derived parameters, with their values.
    public let values: [(name: String, value: Double)]
    /// Agents in the economy (a pooled subsample's size in `ModelEconomy.restricted(toAgents:)`).
    public internal(set) var N: Int
    /// Agent states, then the Markov states (agent- and economy-level), in the order of the
    /// state tensor's columns.
    public let states: [String]
    /// The first `continuousStates` states have transitions; the rest are Markov states.
    public let continuousStates: Int
    /// Chains of the Markov states, by `state index − continuousStates`.
    public let chains: [Chain]
    public let shocks: [Shock]
    /// Groups of agents (contiguous blocks; empty without `agents.groups`), the group of each
    /// agent, and each attribute's value per group.
    public let groupSizes: [Int]
    public let groupOf: [Int]
    public let attributes: [(name: String, values: [Double])]
    /// With groups, and equations that see the agent only through its group: one residual per
    /// group (its first agent represents it) instead of per sampled agent.
    public let residualsPerGroup: Bool
    public let controls: [Control]
    public let definitions: [(name: String, ir: IR)]
    /// Next-period value of each state, by state index.
    public let transitions: [IR]
    public let equations: [(name: String, ir: IR)]
    /// Data-generating rule of each control.
    public let simulate: [IR]
    /// Exact policy of each control, when the file gives one.
    public let exact: [IR?]
    /// Benchmark (not exact) policy of each control, when the file gives one.
    public let benchmark: [IR?]
    public let statistics: [(name: String, ir: IR)]
    /// Initial value of each state, drawn per agent (`normal`, `uniform` allowed).
    public let initial: [Expression]
    /// `agents.interest`: states whose values for the agents of interest in training are drawn
    /// afresh (same rules as `initial`), with their expressions.
    public let interest: [(state: Int, expression: Expression)]
    /// Residuals are per agent of interest (some equation depends on the agent's own states or shocks).
    public let perAgentResiduals: Bool
    /// Agent shocks the expectation integrates by Gauss–Hermite for the agent of interest.
    public let ownQuadratureShocks: [Int]

    public func chain(_ state: Int) -> Chain? { state >= continuousStates ? chains[state - continuousStates] : nil }
    /// Whether a state is the same for every agent (an economy-level Markov state).
    public func isEconomyLevel(_ state: Int) -> Bool { chain(state).map { !$0.perAgent } ?? false }
    public var economyShocks: [Int] { shocks.indices.filter { !shocks[$0].perAgent } }
    public var agentShocks: [Int] { shocks.indices.filter { shocks[$0].perAgent } }
    public func value(of name: String) -> Double? { values.first { $0.name == name }?.value }
}

/// Checks a model file and compiles it for given parameter values (docs/model-files.md lists
/// the checks; every error names the file, line and column).
public enum ModelCompiler {
    static let reserved: Set<String> = Set(BuiltinFunction.allCases.map(\.rawValue) + ["mean", "E", "net", "normal", "uniform"])

    /// Compiles `file` with the parameter `overrides` (name → value) applied first.
    public static func compile(_ file: ModelFile, overrides: [String: Double] = [:]) throws -> CompiledModel {
        let path = file.path
        let top = SourceLocation(file: path, line: 1, column: 1)
        func section(_ s: String) -> SourceLocation { file.sectionLocations[s] ?? top }

        // Declarations: one kind per name.
        var declared: [String: (kind: String, location: SourceLocation)] = [:]
        func declare(_ name: String, _ kind: String, _ at: SourceLocation) throws {
            if reserved.contains(name) {
                throw ModelFileError(at, "'\(name)' is a built-in name of the language; choose another name for this \(kind)")
            }
            if let previous = declared[name] {
                throw ModelFileError(at, "'\(name)' is declared twice: as a \(previous.kind) (line \(previous.location.line)) and as a \(kind)")
            }
            declared[name] = (kind, at)
        }

        // Parameters (with overrides and bounds) and derived parameters.
        guard file.parameters.contains(where: { $0.name == "N" }) else {
            throw ModelFileError(section("parameters"), "the parameters need N, the number of agents (e.g. N: 128)")
        }
        let parameterNames = file.parameters.map(\.name)
        for key in overrides.keys.sorted() where !parameterNames.contains(key) {
            let hint = closestName(key, in: parameterNames).map { " Did you mean '\($0)'?" } ?? ""
            throw ModelFileError(nil, "model parameter '\(key)' is not declared in \(path).\(hint) Parameters: \(parameterNames.joined(separator: ", "))")
        }
        var values: [(name: String, value: Double)] = []
        var constants: [String: Double] = [:]
        for p in file.parameters {
            try declare(p.name, "parameter", p.location)
            let v = overrides[p.name] ?? p.value
            let source = overrides[p.name] != nil ? "model.\(p.name) = \(v)" : "\(p.name) = \(v)"
            if let lo = p.min, v < lo { throw ModelFileError(p.location, "\(source) is below its minimum \(lo)") }
            if let hi = p.max, v > hi { throw ModelFileError(p.location, "\(source) is above its maximum \(hi)") }
            if p.name == "N" {
                guard v >= 1, v == v.rounded(), v <= 1e9 else {
                    throw ModelFileError(p.location, "N = \(v): the number of agents must be a whole number from 1 to 10^9")
                }
            }
            values.append((p.name, v)); constants[p.name] = v
        }
        for d in file.derived {
            try declare(d.name, "derived parameter", d.location)
            let v = try evaluateConstant(d.expression, constants: constants, context: "a derived parameter")
            guard v.isFinite else {
                throw ModelFileError(d.location, "derived parameter \(d.name) = \(v) with these parameter values (a square root or logarithm of a negative number, or a division by zero?)")
            }
            values.append((d.name, v)); constants[d.name] = v
        }
        let N = Int(constants["N"]!)

        // Agents, shocks, controls, definitions.
        guard !file.states.isEmpty else {
            throw ModelFileError(section("agents"), "agents.states must name at least one agent state, e.g. states: [x]")
        }
        for (s, at) in file.states { try declare(s, "state", at) }
        for m in file.markov { try declare(m.name, "Markov state", m.location) }
        for a in file.groupAttributes { try declare(a.name, "group attribute", a.location) }
        for s in file.shocks { try declare(s.name, "shock", s.location) }
        guard !file.policies.isEmpty else {
            throw ModelFileError(section("policy"), "the model needs a policy: at least one control, e.g. policy: {u: {own: [], distribution: [x]}}")
        }
        for p in file.policies { try declare(p.name, "control", p.location) }
        for d in file.definitions { try declare(d.name, "definition", d.location) }
        let continuousStates = file.states.count
        let states = file.states.map(\.0) + file.markov.map(\.name)
        let chains = try compileChains(file, continuousStates: continuousStates)
        var groupSizes: [Int] = [], attributes: [(name: String, values: [Double])] = []
        if let at = file.groupsLocation {
            groupSizes = try file.groupSizes.map { e in
                let v = try evaluateConstant(e, constants: constants, context: "agents.groups.sizes")
                guard v >= 1, v == v.rounded() else { throw ModelFileError(e.location, "a group size must be a whole number ≥ 1, got \(v)") }
                return Int(v)
            }
            guard groupSizes.reduce(0, +) == N else {
                throw ModelFileError(at, "the group sizes \(groupSizes) add up to \(groupSizes.reduce(0, +)), but N = \(N)")
            }
            for a in file.groupAttributes {
                guard a.values.count == groupSizes.count else {
                    throw ModelFileError(a.location, "attribute '\(a.name)' has \(a.values.count) values for \(groupSizes.count) groups")
                }
                attributes.append((a.name, try a.values.map { try evaluateConstant($0, constants: constants, context: "a group attribute") }))
            }
        }
        let attributeNames = attributes.map(\.name)
        let shocks = file.shocks.map { CompiledModel.Shock(name: $0.name, perAgent: $0.scope == .agent) }
        let controlNames = file.policies.map(\.name)
        let definitionNames = file.definitions.map(\.name)

        // Resolution of one expression in one context.
        struct Context {
            var what: String
            var definitionsVisible = 0
            var allowStates = true, allowShocks = false, allowControls = false, allowPrimes = false
            var allowExpectation = false, allowMean = true, allowNet = false
            var definitionsWithoutControlsOrShocks = false
        }
        var definitionUsesControls = [Bool](), definitionUsesShocks = [Bool](), definitionIRs = [IR]()

        func resolve(_ e: Expression, _ c: Context, insideE: Bool = false) throws -> IR {
            switch e {
            case .number(let v, _): return .constant(v)
            case .negate(let a, _): return IR.negated(try resolve(a, c, insideE: insideE))
            case .binary(let op, let a, let b, _):
                return IR.combine(op, try resolve(a, c, insideE: insideE), try resolve(b, c, insideE: insideE))
            case .call(let name, let args, let at):
                if name == "E" {
                    guard c.allowExpectation else {
                        throw ModelFileError(at, "E[...] is allowed only in equations, not in \(c.what)")
                    }
                    if insideE { throw ModelFileError(at, "E[...] inside E[...]: the expectation is over one period; write one E") }
                    return .expectation(try resolve(args[0], c, insideE: true))
                }
                if name == "mean" {
                    guard c.allowMean else { throw ModelFileError(at, "mean(...) is not allowed in \(c.what)") }
                    guard args.count == 1 else { throw ModelFileError(at, "mean takes one argument, got \(args.count)") }
                    let inner = try resolve(args[0], c, insideE: insideE)
                    if inner.constantValue != nil { return inner }
                    return .mean(inner)
                }
                guard let f = BuiltinFunction(rawValue: name) else {
                    if name == "normal" || name == "uniform" {
                        throw ModelFileError(at, "\(name)(...) draws random numbers and is allowed only in agents.initial; model shocks in 'shocks'")
                    }
                    let hint = closestName(name, in: BuiltinFunction.allCases.map(\.rawValue) + ["mean"]).map { " Did you mean '\($0)'?" } ?? ""
                    throw ModelFileError(at, "unknown function '\(name)'.\(hint) Functions: \(BuiltinFunction.allCases.map(\.rawValue).joined(separator: ", ")), mean, E[...]")
                }
                guard args.count == f.arity else {
                    throw ModelFileError(at, "\(name) takes \(f.arity) argument\(f.arity == 1 ? "" : "s"), got \(args.count): \(f.summary)")
                }
                return IR.call(f, try args.map { try resolve($0, c, insideE: insideE) })
            case .symbol(let name, let prime, let at):
                if let v = constants[name] {
                    if prime { throw ModelFileError(at, "\(name)' : \(name) is a parameter, constant over time; drop the '") }
                    return .constant(v)
                }
                if name == "net" {
                    guard c.allowNet else { throw ModelFileError(at, "'net' (the raw network output) exists only in a policy's transform") }
                    if prime { throw ModelFileError(at, "net' is not defined; write the control's name with ' instead") }
                    return .net
                }
                if prime && !c.allowPrimes {
                    throw ModelFileError(at, "\(name)' (a next-period value) is allowed only in equations, not in \(c.what)")
                }
                if let i = attributeNames.firstIndex(of: name) { return .attribute(i) }
                if let i = states.firstIndex(of: name) {
                    guard c.allowStates else { throw ModelFileError(at, "agent state '\(name)' cannot be used in \(c.what)") }
                    return .state(i, next: prime)
                }
                if let i = shocks.firstIndex(where: { $0.name == name }) {
                    if prime {
                        throw ModelFileError(at, "\(name)' : a shock has no next-period value; \(name) already is the shock between t and t+1 (use it inside E[...])")
                    }
                    if c.allowExpectation && !insideE {
                        throw ModelFileError(at, "shock '\(name)' is a next-period shock outside E[...]: put the expression that depends on it inside E[...]")
                    }
                    guard c.allowShocks || insideE else { throw ModelFileError(at, "shock '\(name)' cannot be used in \(c.what)") }
                    return .shock(i)
                }
                if let i = controlNames.firstIndex(of: name) {
                    guard c.allowControls else {
                        throw ModelFileError(at, "control '\(name)' cannot be used in \(c.what)")
                    }
                    return .control(i, next: prime)
                }
                if let i = definitionNames.firstIndex(of: name) {
                    guard i < c.definitionsVisible else {
                        if c.what.hasPrefix("definition '\(name)'") {
                            throw ModelFileError(at, "definition '\(name)' refers to itself: a cycle among definitions")
                        }
                        throw ModelFileError(at, "definition '\(name)' is used before it is defined (line \(file.definitions[i].location.line)); definitions are evaluated in order: move it up, and avoid cycles")
                    }
                    if c.definitionsWithoutControlsOrShocks && (definitionUsesControls[i] || definitionUsesShocks[i]) {
                        throw ModelFileError(at, "definition '\(name)' depends on a control or a shock and cannot be used in \(c.what)")
                    }
                    if prime && definitionUsesShocks[i] {
                        throw ModelFileError(at, "\(name)' : definition \(name) uses a shock, so its next-period value would need the shock after next")
                    }
                    return .definition(i, next: prime)
                }
                var candidates = Array(constants.keys) + states + shocks.map(\.name) + controlNames + attributeNames
                candidates += definitionNames.prefix(c.definitionsVisible)
                if c.allowNet { candidates.append("net") }
                let hint = closestName(name, in: candidates).map { " Did you mean '\($0)'?" } ?? ""
                throw ModelFileError(at, "unknown symbol '\(name)'.\(hint)")
            }
        }

        for (i, d) in file.definitions.enumerated() {
            var c = Context(what: "definition '\(d.name)'")
            c.definitionsVisible = i
            c.allowShocks = true; c.allowControls = true
            let ir = try resolve(d.expression, c)
            definitionIRs.append(ir)
            definitionUsesControls.append(ir.anyNode {
                if case .control = $0 { return true }
                if case .definition(let j, _) = $0 { return definitionUsesControls[j] }
                return false
            })
            definitionUsesShocks.append(ir.anyNode {
                if case .shock = $0 { return true }
                if case .definition(let j, _) = $0 { return definitionUsesShocks[j] }
                return false
            })
        }
        let allDefinitions = definitionNames.count

        // Policies.
        var controls: [CompiledModel.Control] = []
        for p in file.policies {
            func stateIndices(_ list: [(String, SourceLocation)], _ field: String) throws -> [Int] {
                var seen = Set<Int>()
                return try list.map { name, at in
                    guard let i = states.firstIndex(of: name) else {
                        let kind = declared[name].map { "a \($0.kind)" } ?? "not declared"
                        let hint = closestName(name, in: states).map { " Did you mean '\($0)'?" } ?? ""
                        throw ModelFileError(at, "policy input '\(name)' in \(p.name).\(field) is \(kind); inputs must be agent states (\(states.joined(separator: ", "))).\(hint)")
                    }
                    guard seen.insert(i).inserted else { throw ModelFileError(at, "'\(name)' is listed twice in \(p.name).\(field)") }
                    return i
                }
            }
            let own = try stateIndices(p.own, "own")
            let distribution = try stateIndices(p.distribution, "distribution")
            let aggregate = try stateIndices(p.aggregate, "aggregate")
            for (i, (name, at)) in zip(own + distribution, p.own + p.distribution) where chains.indices.contains(i - continuousStates) && !chains[i - continuousStates].perAgent {
                throw ModelFileError(at, "'\(name)' is an economy-level state: list it under aggregate: [\(name)], not among the agent's own or pooled states")
            }
            for (i, (name, at)) in zip(aggregate, p.aggregate) where !(i >= continuousStates && !chains[i - continuousStates].perAgent) {
                throw ModelFileError(at, "aggregate: [\(name)] must name economy-level (per: economy) Markov states; agent states go in own or distribution")
            }
            guard !distribution.isEmpty else {
                throw ModelFileError(p.location, "policy '\(p.name)' needs distribution: [...], the agent states pooled as mean_i φ(...)")
            }
            var transform: IR?
            if let t = p.transform {
                var c = Context(what: "the transform of '\(p.name)'")
                c.allowNet = true; c.definitionsVisible = allDefinitions; c.definitionsWithoutControlsOrShocks = true
                transform = try resolve(t, c)
            }
            var inputScale = [Double](repeating: 1, count: states.count)
            for (name, x, at) in p.scale {
                guard let i = states.firstIndex(of: name) else {
                    let hint = closestName(name, in: states).map { " Did you mean '\($0)'?" } ?? ""
                    throw ModelFileError(at, "scale of '\(name)': not a state of the model.\(hint)")
                }
                inputScale[i] = x
            }
            controls.append(.init(name: p.name, own: own, distribution: distribution, transform: transform, ownDropped: [], perAgent: false,
                                  aggregate: aggregate, inputScale: inputScale))
        }

        // Transitions: one per state.
        var transitions = [IR?](repeating: nil, count: states.count)
        for t in file.transitions {
            if let m = file.markov.first(where: { $0.name == t.name }) {
                throw ModelFileError(t.location, "'\(t.name)' is a Markov state (line \(m.location.line)): it moves by its chain; remove its transition")
            }
            guard let i = states.firstIndex(of: t.name) else {
                let hint = closestName(t.name, in: states).map { " Did you mean '\($0)'?" } ?? ""
                throw ModelFileError(t.location, "transition for '\(t.name)', which is not an agent state.\(hint) States: \(states.joined(separator: ", "))")
            }
            var c = Context(what: "a transition")
            c.allowShocks = true; c.allowControls = true; c.definitionsVisible = allDefinitions
            transitions[i] = try resolve(t.expression, c)
        }
        for (i, s) in states.enumerated() where transitions[i] == nil && i < continuousStates {
            throw ModelFileError(file.states[i].1, "state '\(s)' has no transition: add '\(s): <next-period value>' under transition:")
        }
        // a Markov state's "transition" is its chain; the placeholder is never evaluated
        let transitionIRs = transitions.enumerated().map { $1 ?? .state($0, next: false) }

        // Equations.
        guard !file.equations.isEmpty else {
            throw ModelFileError(section("equations"), "the model needs equations: one residual per control, e.g. euler: gamma * u = beta * E[...]")
        }
        guard file.equations.count == controls.count else {
            throw ModelFileError(section("equations"), "\(file.equations.count) equation\(file.equations.count == 1 ? "" : "s") for \(controls.count) control\(controls.count == 1 ? "" : "s") (\(controlNames.joined(separator: ", "))): give one equation per control")
        }
        var equations: [(name: String, ir: IR)] = []
        for eq in file.equations {
            var c = Context(what: "an equation")
            c.allowControls = true; c.allowPrimes = true; c.allowExpectation = true; c.definitionsVisible = allDefinitions
            equations.append((eq.name, try resolve(eq.expression, c)))
        }

        // Simulation and exact rules.
        func rules(_ list: [ModelFile.Named], _ sectionName: String, required: Bool) throws -> [IR?] {
            var out = [IR?](repeating: nil, count: controls.count)
            for r in list {
                guard let i = controlNames.firstIndex(of: r.name) else {
                    let hint = closestName(r.name, in: controlNames).map { " Did you mean '\($0)'?" } ?? ""
                    throw ModelFileError(r.location, "'\(r.name)' in \(sectionName) is not a control.\(hint) Controls: \(controlNames.joined(separator: ", "))")
                }
                var c = Context(what: sectionName)
                c.definitionsVisible = allDefinitions; c.definitionsWithoutControlsOrShocks = true
                out[i] = try resolve(r.expression, c)
            }
            if required, let missing = out.firstIndex(where: { $0 == nil }) {
                throw ModelFileError(section(sectionName), "\(sectionName) needs a rule for every control: '\(controlNames[missing])' is missing (the policy that simulates the training paths)")
            }
            return out
        }
        guard file.sectionLocations["simulate"] != nil else {
            throw ModelFileError(top, "the model needs a 'simulate' section: a rule for each control that simulates the training and validation paths")
        }
        let simulate = try rules(file.simulate, "simulate", required: true).map { $0! }
        func holds(_ conditions: [(lhs: Expression, op: String, rhs: Expression, location: SourceLocation)], _ what: String) throws -> Bool {
            try conditions.allSatisfy { condition in
                let a = try evaluateConstant(condition.lhs, constants: constants, context: what)
                let b = try evaluateConstant(condition.rhs, constants: constants, context: what)
                switch condition.op {
                case "==": return a == b
                case "!=": return a != b
                case "<": return a < b
                case "<=": return a <= b
                case ">": return a > b
                default: return a >= b
                }
            }
        }
        var exact = try rules(file.exact, "exact", required: false)
        if try !holds(file.exactValidIf, "exact.valid_if") { exact = exact.map { _ in nil } }
        var benchmark = try rules(file.benchmark, "benchmark", required: false)
        if try !holds(file.benchmarkValidIf, "benchmark.valid_if") { benchmark = benchmark.map { _ in nil } }

        var statistics: [(name: String, ir: IR)] = []
        for s in file.statistics {
            var c = Context(what: "a statistic")
            c.allowControls = true; c.definitionsVisible = allDefinitions
            statistics.append((s.name, try resolve(s.expression, c)))
        }

        // Initial cross-section.
        var initial = [Expression?](repeating: nil, count: continuousStates)
        for d in file.initial {
            guard let i = states.firstIndex(of: d.name), i < continuousStates else {
                if file.markov.contains(where: { $0.name == d.name }) {
                    throw ModelFileError(d.location, "'\(d.name)' is a Markov state: give its initial value or shares in markov.\(d.name).initial")
                }
                throw ModelFileError(d.location, "initial value for '\(d.name)', which is not an agent state. States: \(states.joined(separator: ", "))")
            }
            try checkInitial(d.expression, constants: constants, section: "agents.initial")
            initial[i] = d.expression
        }
        for (i, s) in states.enumerated() where i < continuousStates && initial[i] == nil {
            throw ModelFileError(file.states[i].1, "state '\(s)' has no initial value: add '\(s): <expression>' under agents.initial (e.g. abs(normal(1, 0.1)))")
        }

        // Own states of the agents of interest in training (optional).
        var interest: [(state: Int, expression: Expression)] = []
        for d in file.interest {
            guard let i = states.firstIndex(of: d.name), i < continuousStates else {
                if file.markov.contains(where: { $0.name == d.name }) {
                    throw ModelFileError(d.location, "'\(d.name)' is a Markov state: agents.interest draws continuous agent states only (the agents of interest keep their Markov states)")
                }
                throw ModelFileError(d.location, "agents.interest gives '\(d.name)', which is not an agent state. States: \(states[..<continuousStates].joined(separator: ", "))")
            }
            guard !interest.contains(where: { $0.state == i }) else { throw ModelFileError(d.location, "'\(d.name)' appears twice in agents.interest") }
            try checkInitial(d.expression, constants: constants, section: "agents.interest")
            interest.append((i, d.expression))
        }

        // Analyses.
        let analysis = Analysis(states: states.count, shocks: shocks, definitions: definitionIRs, transitions: transitionIRs,
                                stateNames: states, definitionNames: definitionNames, continuousStates: continuousStates,
                                stateIsAgentLevel: states.indices.map { $0 < continuousStates || chains[$0 - continuousStates].perAgent })
        // Outside E, a next-period value that depends on shocks is an error.
        for (k, eq) in equations.enumerated() {
            if let name = analysis.stochasticOutsideExpectation(eq.ir, controls: controls) {
                throw ModelFileError(file.equations[k].location,
                                     "equation '\(eq.name)': \(name) depends on next-period shocks and must be inside E[...]")
            }
        }
        // Own states the equations never see except through the controls are dropped from ρ.
        var pruned = controls
        for i in pruned.indices {
            pruned[i].ownDropped = pruned[i].own
            pruned[i].own = []
            pruned[i].perAgent = pruned[i].transform.map { analysis.isAgentLevel($0, controlsPerAgent: []) } ?? false
        }
        let prunedPerAgent = pruned.map(\.perAgent)
        var beyondGroup = analysis
        beyondGroup.attributesAreAgentLevel = false
        if equations.contains(where: { beyondGroup.isAgentLevel($0.ir, controlsPerAgent: prunedPerAgent) }) {
            for i in controls.indices {
                controls[i].perAgent = !controls[i].own.isEmpty
                    || (controls[i].transform.map { analysis.isAgentLevel($0, controlsPerAgent: []) } ?? false)
            }
        } else {
            controls = pruned
        }
        if !groupSizes.isEmpty { for i in controls.indices { controls[i].perAgent = true } }   // ρ sees the agent's group
        let perAgentFlags = controls.map(\.perAgent)
        let perAgentResiduals = equations.contains { analysis.isAgentLevel($0.ir, controlsPerAgent: perAgentFlags) }
        // the equations see the agent only through its group when, with every control and attribute
        // taken as the same for all, none depends on the agent
        let residualsPerGroup = !groupSizes.isEmpty && controls.allSatisfy { $0.own.isEmpty }
            && !equations.contains { beyondGroup.isAgentLevel($0.ir, controlsPerAgent: controls.map { _ in false }) }
        var ownShocks = Set<Int>()
        for eq in equations { ownShocks.formUnion(analysis.ownShocks(eq.ir, next: false, controls: controls)) }

        return CompiledModel(file: file, values: values, N: N, states: states, continuousStates: continuousStates, chains: chains,
                             shocks: shocks, groupSizes: groupSizes,
                             groupOf: groupSizes.enumerated().flatMap { g, n in Array(repeating: g, count: n) },
                             attributes: attributes, residualsPerGroup: residualsPerGroup, controls: controls,
                             definitions: zip(definitionNames, definitionIRs).map { ($0, $1) }, transitions: transitionIRs,
                             equations: equations, simulate: simulate, exact: exact, benchmark: benchmark, statistics: statistics,
                             initial: initial.map { $0! }, interest: interest, perAgentResiduals: perAgentResiduals,
                             ownQuadratureShocks: ownShocks.sorted())
    }

    /// Checks the Markov chains and derives what the evaluator needs: P(z'|z) for economy-level
    /// states, P(e'|e, z, z') for agent-level ones (from a joint matrix over (z, e) pairs, z
    /// slowest, or from the agent's own matrix), and initial values and shares.
    static func compileChains(_ file: ModelFile, continuousStates: Int) throws -> [CompiledModel.Chain] {
        func checkMatrix(_ m: [[Double]], size: Int, _ what: String, _ at: SourceLocation) throws -> [[Double]] {
            guard m.count == size, m.allSatisfy({ $0.count == size }) else {
                throw ModelFileError(at, "\(what) must be \(size)×\(size), got \(m.count) rows of \(m.map { "\($0.count)" }.joined(separator: "/"))")
            }
            return try m.enumerated().map { r, row in
                guard row.allSatisfy({ $0 >= 0 }) else { throw ModelFileError(at, "\(what): row \(r + 1) has a negative probability") }
                let sum = row.reduce(0, +)
                guard abs(sum - 1) < 1e-5 else { throw ModelFileError(at, "\(what): row \(r + 1) sums to \(sum), not 1") }
                return row.map { $0 / sum }
            }
        }
        func stationary(_ P: [[Double]]) -> [Double] {
            var p = [Double](repeating: 1 / Double(P.count), count: P.count)
            for _ in 0..<20_000 {
                var q = [Double](repeating: 0, count: P.count)
                for i in P.indices { for j in P.indices { q[j] += p[i] * P[i][j] } }
                p = q
            }
            return p
        }
        var chains: [CompiledModel.Chain] = []
        var economyTransitions: [String: [[Double]]] = [:]
        // economy-level chains first (agent-level ones refer to them)
        for m in file.markov where !m.perAgent {
            if m.jointWith != nil { throw ModelFileError(m.location, "joint belongs to the agent-level chain; give the economy-level '\(m.name)' its values (and optionally its transition)") }
            var P = try m.transition.map { try checkMatrix($0, size: m.values.count, "transition of '\(m.name)'", m.location) }
            if P == nil, let agent = file.markov.first(where: { $0.jointWith?.0 == m.name }), let joint = agent.joint {
                let ne = agent.values.count, nz = m.values.count
                let J = try checkMatrix(joint, size: nz * ne, "joint matrix of '\(agent.name)' with '\(m.name)'", agent.location)
                P = (0..<nz).map { z in (0..<nz).map { z2 in (0..<ne).reduce(0) { $0 + J[z * ne][z2 * ne + $1] } } }
            }
            guard let P else { throw ModelFileError(m.location, "Markov state '\(m.name)' needs transition: [[...]] (or an agent-level chain joint with it)") }
            economyTransitions[m.name] = P
        }
        let economyIndex = Dictionary(uniqueKeysWithValues: file.markov.enumerated().map { ($1.name, continuousStates + $0) })
        for m in file.markov {
            if !m.perAgent {
                let P = economyTransitions[m.name]!
                var index = 0
                if let v = m.initialValue {
                    guard let i = m.values.firstIndex(of: v) else { throw ModelFileError(m.location, "initial \(v) of '\(m.name)' is not one of its values \(m.values)") }
                    index = i
                }
                chains.append(.init(name: m.name, perAgent: false, values: m.values, economyTransition: P, agentTransition: [],
                                    given: nil, initialIndex: index, initialShares: []))
                continue
            }
            let ne = m.values.count
            var conditional: [[[[Double]]]]
            var given: Int? = nil
            var shares: [Double]
            if let (with, at) = m.jointWith {
                guard let z = file.markov.first(where: { $0.name == with && !$0.perAgent }), let Pz = economyTransitions[with] else {
                    throw ModelFileError(at, "joint.with: '\(with)' must be an economy-level Markov state declared under markov")
                }
                guard let joint = m.joint else { throw ModelFileError(m.location, "joint needs matrix: [[...]] over (\(with), \(m.name)) pairs") }
                let nz = z.values.count
                let J = try checkMatrix(joint, size: nz * ne, "joint matrix of '\(m.name)' with '\(with)'", m.location)
                conditional = Array(repeating: Array(repeating: Array(repeating: Array(repeating: 0, count: ne), count: ne), count: nz), count: nz)
                for zi in 0..<nz { for zj in 0..<nz { for ei in 0..<ne {
                    let pz = (0..<ne).reduce(0) { $0 + J[zi * ne + ei][zj * ne + $1] }
                    guard abs(pz - Pz[zi][zj]) < 1e-4 else {
                        throw ModelFileError(m.location, "the joint matrix implies P(\(with)' = \(z.values[zj]) | \(with) = \(z.values[zi]), \(m.name) = \(m.values[ei])) = \(pz), but \(with)'s chain gives \(Pz[zi][zj]): the aggregate chain must not depend on \(m.name)")
                    }
                    for ej in 0..<ne { conditional[zi][zj][ei][ej] = pz > 0 ? J[zi * ne + ei][zj * ne + ej] / pz : (ei == ej ? 1 : 0) }
                } } }
                given = economyIndex[with]
                // initial shares: the joint chain's stationary distribution given the initial z
                let zi0 = z.initialValue.flatMap { z.values.firstIndex(of: $0) } ?? 0
                let pi = stationary(J)
                let block = (0..<ne).map { pi[zi0 * ne + $0] }
                shares = block.map { $0 / block.reduce(0, +) }
            } else {
                guard let T = m.transition else { throw ModelFileError(m.location, "agent-level Markov state '\(m.name)' needs transition: [[...]] or joint: {with: Z, matrix: [[...]]}") }
                let P = try checkMatrix(T, size: ne, "transition of '\(m.name)'", m.location)
                conditional = [[P]]
                shares = stationary(P)
            }
            if let given = m.initialShares {
                guard given.count == ne, abs(given.reduce(0, +) - 1) < 1e-6, given.allSatisfy({ $0 >= 0 }) else {
                    throw ModelFileError(m.location, "initial shares of '\(m.name)' must be \(ne) non-negative numbers that sum to 1")
                }
                shares = given
            }
            chains.append(.init(name: m.name, perAgent: true, values: m.values, economyTransition: [], agentTransition: conditional,
                                given: given, initialIndex: 0, initialShares: shares))
        }
        return chains
    }

    /// Value of a constant expression (derived parameters).
    static func evaluateConstant(_ e: Expression, constants: [String: Double], context: String) throws -> Double {
        switch e {
        case .number(let v, _): return v
        case .negate(let a, _): return -(try evaluateConstant(a, constants: constants, context: context))
        case .binary(let op, let a, let b, _):
            return IR.combine(op, .constant(try evaluateConstant(a, constants: constants, context: context)),
                              .constant(try evaluateConstant(b, constants: constants, context: context))).constantValue!
        case .symbol(let name, let prime, let at):
            guard let v = constants[name] else {
                let hint = closestName(name, in: Array(constants.keys)).map { " Did you mean '\($0)'?" } ?? ""
                throw ModelFileError(at, "'\(name)' is not a parameter or an earlier derived parameter; \(context) may use only those.\(hint)")
            }
            if prime { throw ModelFileError(at, "\(name)' : \(name) is a parameter, constant over time; drop the '") }
            return v
        case .call(let name, let args, let at):
            guard let f = BuiltinFunction(rawValue: name) else {
                throw ModelFileError(at, "\(name)(...) is not allowed in \(context); functions: \(BuiltinFunction.allCases.map(\.rawValue).joined(separator: ", "))")
            }
            guard args.count == f.arity else { throw ModelFileError(at, "\(name) takes \(f.arity) argument(s), got \(args.count)") }
            return f.apply(try args.map { try evaluateConstant($0, constants: constants, context: context) })
        }
    }

    /// Checks an initial-value expression: parameters, numbers, functions, `normal(m, s)`, `uniform(a, b)`.
    static func checkInitial(_ e: Expression, constants: [String: Double], section: String = "agents.initial") throws {
        switch e {
        case .number: return
        case .negate(let a, _): try checkInitial(a, constants: constants, section: section)
        case .binary(_, let a, let b, _): try checkInitial(a, constants: constants, section: section); try checkInitial(b, constants: constants, section: section)
        case .symbol(let name, _, let at):
            guard constants[name] != nil else {
                let hint = closestName(name, in: Array(constants.keys)).map { " Did you mean '\($0)'?" } ?? ""
                throw ModelFileError(at, "'\(name)' is not a parameter; \(section) may use parameters, numbers, normal(m, s) and uniform(a, b).\(hint)")
            }
        case .call(let name, let args, let at):
            if name == "normal" || name == "uniform" {
                guard args.count == 2 else { throw ModelFileError(at, "\(name) takes 2 arguments, got \(args.count)") }
            } else if let f = BuiltinFunction(rawValue: name) {
                guard args.count == f.arity else { throw ModelFileError(at, "\(name) takes \(f.arity) argument(s), got \(args.count)") }
            } else {
                throw ModelFileError(at, "\(name)(...) is not allowed in \(section); use normal(m, s), uniform(a, b) and \(BuiltinFunction.allCases.map(\.rawValue).joined(separator: ", "))")
            }
            for a in args { try checkInitial(a, constants: constants, section: section) }
        }
    }

    /// Draws one agent's initial value (`normal` and `uniform` draw from `g`, left to right).
    static func drawInitial(_ e: Expression, constants: [String: Double], generator g: inout SeededGenerator) -> Double {
        switch e {
        case .number(let v, _): return v
        case .negate(let a, _): return -drawInitial(a, constants: constants, generator: &g)
        case .binary(let op, let a, let b, _):
            let x = drawInitial(a, constants: constants, generator: &g), y = drawInitial(b, constants: constants, generator: &g)
            return IR.combine(op, .constant(x), .constant(y)).constantValue!
        case .symbol(let name, _, _): return constants[name] ?? .nan
        case .call(let name, let args, _):
            let v = args.map { drawInitial($0, constants: constants, generator: &g) }
            if name == "normal" { return v[0] + v[1] * g.normal() }
            if name == "uniform" { return g.uniform(v[0], v[1]) }
            return BuiltinFunction(rawValue: name)!.apply(v)
        }
    }
}

/// Dependency analyses over compiled expressions.
struct Analysis {
    let states: Int
    let shocks: [CompiledModel.Shock]
    let definitions: [IR]
    let transitions: [IR]
    var stateNames: [String] = []
    var definitionNames: [String] = []
    var continuousStates = Int.max
    var stateIsAgentLevel: [Bool] = []
    /// Whether group attributes count as depending on the agent (false: when asking whether the
    /// equations see the agent beyond its group).
    var attributesAreAgentLevel = true

    /// The random source of a Markov state in the own-quadrature set: `shocks.count + state`.
    func markovSource(_ s: Int) -> Int { shocks.count + s }

    /// Whether an expression depends on the agent of interest (its states, its shocks, or a
    /// control that differs across agents), given which controls differ across agents.
    func isAgentLevel(_ ir: IR, controlsPerAgent: [Bool]) -> Bool {
        switch ir {
        case .constant, .net, .mean: return false
        case .attribute: return attributesAreAgentLevel
        case .state(let s, _): return s >= stateIsAgentLevel.count || stateIsAgentLevel[s]
        case .shock(let i): return shocks[i].perAgent
        case .control(let i, _): return i < controlsPerAgent.count && controlsPerAgent[i]
        case .definition(let i, _): return isAgentLevel(definitions[i], controlsPerAgent: controlsPerAgent)
        case .negate(let a), .expectation(let a): return isAgentLevel(a, controlsPerAgent: controlsPerAgent)
        case .binary(_, let a, let b): return isAgentLevel(a, controlsPerAgent: controlsPerAgent) || isAgentLevel(b, controlsPerAgent: controlsPerAgent)
        case .function(_, let args): return args.contains { isAgentLevel($0, controlsPerAgent: controlsPerAgent) }
        }
    }

    /// Shocks an expression evaluated at the current period depends on (directly or through definitions).
    func shocksUsed(_ ir: IR) -> Set<Int> {
        switch ir {
        case .shock(let i): return [i]
        case .definition(let i, false): return shocksUsed(definitions[i])
        case .negate(let a), .mean(let a), .expectation(let a): return shocksUsed(a)
        case .binary(_, let a, let b): return shocksUsed(a).union(shocksUsed(b))
        case .function(_, let args): return args.reduce(into: Set<Int>()) { $0.formUnion(shocksUsed($1)) }
        default: return []
        }
    }

    func stateIsStochastic(_ s: Int) -> Bool { s >= continuousStates || !shocksUsed(transitions[s]).isEmpty }

    /// The first next-period value outside `E[·]` that depends on shocks (its name for the message), if any.
    func stochasticOutsideExpectation(_ ir: IR, controls: [CompiledModel.Control]) -> String? {
        func controlStochastic(_ c: Int) -> Bool {
            let ctl = controls[c]
            let inputs = Set(ctl.own + ctl.distribution + ctl.ownDropped + ctl.aggregate)
            return inputs.contains { stateIsStochastic($0) } || (ctl.transform.map { usesStochasticNext($0) } ?? false)
        }
        func usesStochasticNext(_ ir: IR) -> Bool {
            switch ir {
            case .state(let s, _): return stateIsStochastic(s)
            case .control(let c, _): return controlStochastic(c)
            case .definition(let d, _): return usesStochasticNext(definitions[d])
            case .negate(let a), .mean(let a): return usesStochasticNext(a)
            case .binary(_, let a, let b): return usesStochasticNext(a) || usesStochasticNext(b)
            case .function(_, let args): return args.contains(where: usesStochasticNext)
            default: return false
            }
        }
        func find(_ ir: IR) -> String? {
            switch ir {
            case .expectation: return nil
            case .state(let s, true): return stateIsStochastic(s) ? "\(stateNames[s])'" : nil
            case .control(let c, true): return controlStochastic(c) ? "\(controls[c].name)'" : nil
            case .definition(let d, true): return usesStochasticNext(definitions[d]) ? "\(definitionNames[d])'" : nil
            case .negate(let a), .mean(let a): return find(a)
            case .binary(_, let a, let b): return find(a) ?? find(b)
            case .function(_, let args): return args.lazy.compactMap(find).first
            default: return nil
            }
        }
        return find(ir)
    }

    /// Agent shocks that the value of `ir` for the agent of interest depends on at the next
    /// period (the ones its expectation integrates by quadrature); `next` when `ir` is already
    /// evaluated one period ahead.
    func ownShocks(_ ir: IR, next: Bool, controls: [CompiledModel.Control]) -> Set<Int> {
        func agentShocksOfTransition(_ s: Int) -> Set<Int> {
            if s >= continuousStates { return stateIsAgentLevel[s] ? [markovSource(s)] : [] }
            return shocksUsed(transitions[s]).filter { shocks[$0].perAgent }
        }
        switch ir {
        case .constant, .net, .mean, .attribute: return []
        case .shock(let i): return shocks[i].perAgent ? [i] : []
        case .state(let s, let n): return (n || next) ? agentShocksOfTransition(s) : []
        case .control(let c, let n):
            guard n || next, controls[c].perAgent else { return [] }
            var inputs = Set(controls[c].own)
            if let t = controls[c].transform { inputs.formUnion(statesIn(t)) }
            return inputs.reduce(into: Set<Int>()) { $0.formUnion(agentShocksOfTransition($1)) }
        case .definition(let d, let n): return ownShocks(definitions[d], next: n || next, controls: controls)
        case .negate(let a), .expectation(let a): return ownShocks(a, next: next, controls: controls)
        case .binary(_, let a, let b): return ownShocks(a, next: next, controls: controls).union(ownShocks(b, next: next, controls: controls))
        case .function(_, let args): return args.reduce(into: Set<Int>()) { $0.formUnion(ownShocks($1, next: next, controls: controls)) }
        }
    }

    /// Agent states an expression reads outside `mean(·)`.
    func statesIn(_ ir: IR) -> Set<Int> {
        switch ir {
        case .state(let s, _): return [s]
        case .definition(let d, _): return statesIn(definitions[d])
        case .negate(let a), .expectation(let a): return statesIn(a)
        case .binary(_, let a, let b): return statesIn(a).union(statesIn(b))
        case .function(_, let args): return args.reduce(into: Set<Int>()) { $0.formUnion(statesIn($1)) }
        default: return []
        }
    }
}
