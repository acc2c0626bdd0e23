import Foundation
import Yams

/// A model file as written (docs/model-files.md): sections `parameters`, `derived`, `agents`,
/// `shocks`, `policy`, `definitions`, `transition`, `equations`, `simulate`, `exact`,
/// `statistics`, every entry with its location. `ModelCompiler` checks and compiles it.
public struct ModelFile: Sendable {
    public struct Parameter: Sendable {
        public var name: String
        public var value: Double
        public var min: Double?, max: Double?
        /// The comment written beside it (shown by `symdp config` and `symdp check`).
        public var help: String
        public var location: SourceLocation
    }
    public struct Named: Sendable {
        public var name: String
        public var expression: Expression
        public var location: SourceLocation
    }
    public enum ShockScope: String, Sendable { case agent, economy }
    public struct Shock: Sendable {
        public var name: String
        public var scope: ShockScope
        public var location: SourceLocation
    }
    /// A discrete state with a Markov chain (extension): economy-level (`per: economy`, e.g.
    /// aggregate productivity z) or agent-level (`per: agent`, e.g. employment e), the latter
    /// possibly jointly with an economy-level chain (`joint: {with: z, matrix: …}`).
    public struct Markov: Sendable {
        public var name: String
        public var perAgent: Bool
        public var values: [Double]
        public var transition: [[Double]]?
        public var jointWith: (String, SourceLocation)?
        public var joint: [[Double]]?
        /// Economy-level: the initial value; agent-level: initial shares of each value.
        public var initialValue: Double?
        public var initialShares: [Double]?
        public var location: SourceLocation
    }
    public struct Policy: Sendable {
        public var name: String
        public var own: [(String, SourceLocation)]
        public var distribution: [(String, SourceLocation)]
        public var aggregate: [(String, SourceLocation)]
        public var transform: Expression?
        /// Network input scales by state name (`scale: {k: 0.025}`): the networks see state × scale.
        public var scale: [(String, Double, SourceLocation)] = []
        public var location: SourceLocation
    }

    public var path: String
    public var name: String
    public var description: String
    public var parameters: [Parameter] = []
    public var derived: [Named] = []
    public var states: [(String, SourceLocation)] = []
    /// Groups of agents (extension): contiguous blocks with their sizes and per-group attributes.
    public var groupSizes: [Expression] = []
    public var groupAttributes: [(name: String, values: [Expression], location: SourceLocation)] = []
    public var groupsLocation: SourceLocation?
    public var initial: [Named] = []
    /// `agents.interest`: own states of the agents of interest in training steps, drawn afresh.
    public var interest: [Named] = []
    public var shocks: [Shock] = []
    public var markov: [Markov] = []
    public var policies: [Policy] = []
    public var definitions: [Named] = []
    public var transitions: [Named] = []
    public var equations: [Named] = []
    public var simulate: [Named] = []
    public var exact: [Named] = []
    /// Conditions on the parameters under which `exact` holds (`exact: {valid_if: [nu == 1], …}`).
    public var exactValidIf: [(lhs: Expression, op: String, rhs: Expression, location: SourceLocation)] = []
    /// A reference policy that is not exact (e.g. the LQ policy as μ → 0): its mean relative
    /// deviation is reported, not a policy error.
    public var benchmark: [Named] = []
    public var benchmarkValidIf: [(lhs: Expression, op: String, rhs: Expression, location: SourceLocation)] = []
    public var statistics: [Named] = []
    /// Where a section starts (for errors about a missing entry).
    public var sectionLocations: [String: SourceLocation] = [:]

    static let sections = ["name", "description", "parameters", "derived", "agents", "shocks", "markov", "policy", "definitions",
                           "transition", "equations", "simulate", "exact", "benchmark", "statistics"]

    /// Reads and parses a model file.
    public static func load(path: String) throws -> ModelFile {
        guard let data = FileManager.default.contents(atPath: path) else {
            throw ModelFileError(nil, "cannot read model file '\(path)': no such file or not readable")
        }
        guard let text = String(data: data, encoding: .utf8) else {
            throw ModelFileError(SourceLocation(file: path, line: 1, column: 1), "the model file is not UTF-8 text")
        }
        return try parse(yaml: text, path: path)
    }

    /// Parses model-file text; `path` names the file in error messages.
    public static func parse(yaml text: String, path: String = "<model>") throws -> ModelFile {
        let lines = text.split(separator: "\n", omittingEmptySubsequences: false).map(String.init)
        func loc(_ n: Node) -> SourceLocation {
            SourceLocation(file: path, line: n.mark?.line ?? 1, column: n.mark?.column ?? 1)
        }
        let root: Node?
        do { root = try Yams.compose(yaml: text) } catch let e as YamlError {
            throw ModelFileError(SourceLocation(file: path, line: 1, column: 1), "not valid YAML: \(e)")
        } catch {
            throw ModelFileError(SourceLocation(file: path, line: 1, column: 1), "not valid YAML: \(error)")
        }
        guard let top = root?.mapping else {
            throw ModelFileError(SourceLocation(file: path, line: 1, column: 1),
                                 "a model file is a YAML mapping with sections \(sections.joined(separator: ", "))")
        }
        var file = ModelFile(path: path, name: URL(fileURLWithPath: path).deletingPathExtension().lastPathComponent, description: "")

        /// The comment on a node's line (text after an unquoted " #").
        func comment(_ n: Node) -> String {
            guard let line = n.mark?.line, line - 1 < lines.count else { return "" }
            let s = lines[line - 1]
            var quote: Character? = nil
            var previous: Character = " "
            for (i, c) in s.enumerated() {
                if let q = quote { if c == q { quote = nil } }
                else if c == "\"" || (c == "'" && previous == " ") { quote = c }
                else if c == "#" && (previous == " " || previous == "\t") {
                    return String(s.dropFirst(i + 1)).trimmingCharacters(in: .whitespaces)
                }
                previous = c
            }
            return ""
        }
        func string(_ n: Node, _ what: String) throws -> String {
            guard case .scalar(let s) = n else { throw ModelFileError(loc(n), "\(what) must be a single value, not a list or mapping") }
            return s.string
        }
        /// Where an expression's text starts (a quoted scalar starts one column later).
        func textStart(_ n: Node) -> SourceLocation {
            if case .scalar(let s) = n, s.style == .singleQuoted || s.style == .doubleQuoted { return loc(n).advanced(by: 1) }
            return loc(n)
        }
        func expression(_ n: Node, _ what: String) throws -> Expression {
            try ExpressionParser.parse(try string(n, what), at: textStart(n))
        }
        func mapping(_ n: Node, _ section: String) throws -> [(Node, Node)] {
            if case .scalar(let s) = n, ["", "~", "null"].contains(s.string) { return [] }
            guard let m = n.mapping else { throw ModelFileError(loc(n), "section '\(section)' must be a mapping of name: value entries") }
            var seen: [String: Int] = [:]
            for (k, _) in m {
                let name = k.string ?? ""
                if let first = seen[name] {
                    throw ModelFileError(loc(k), "'\(name)' appears twice in '\(section)' (first on line \(first)); give each entry once")
                }
                seen[name] = k.mark?.line ?? 0
            }
            return m.map { ($0.key, $0.value) }
        }
        func identifier(_ k: Node, in section: String) throws -> String {
            let name = k.string ?? ""
            guard let f = name.first, f.isLetter || f == "_", name.allSatisfy({ $0.isLetter || $0.isNumber || $0 == "_" }) else {
                throw ModelFileError(loc(k), "'\(name)' in '\(section)' is not a valid name (letters, digits and _, starting with a letter)")
            }
            return name
        }
        func names(_ n: Node, _ what: String) throws -> [(String, SourceLocation)] {
            if case .scalar(let s) = n {
                if ["", "~", "null", "[]"].contains(s.string) { return [] }
                return [(s.string, loc(n))]
            }
            guard let seq = n.sequence else { throw ModelFileError(loc(n), "\(what) must be a list of names, like [x, y]") }
            return try seq.map { item in (try string(item, what), loc(item)) }
        }
        func namedExpressions(_ n: Node, _ section: String, equation: Bool = false) throws -> [Named] {
            try mapping(n, section).map { k, v in
                let name = try identifier(k, in: section)
                let text = try string(v, "'\(name)' in '\(section)'")
                let e = equation ? try ExpressionParser.parseEquation(text, at: textStart(v))
                                 : try ExpressionParser.parse(text, at: textStart(v))
                return Named(name: name, expression: e, location: loc(k))
            }
        }

        var seenSections: [String: Int] = [:]
        for (k, v) in top {
            let section = k.string ?? ""
            if let first = seenSections[section] {
                throw ModelFileError(loc(k), "section '\(section)' appears twice (first on line \(first))")
            }
            seenSections[section] = k.mark?.line ?? 0
            file.sectionLocations[section] = loc(k)
            switch section {
            case "name": file.name = try string(v, "name")
            case "description": file.description = try string(v, "description")
            case "parameters":
                for (pk, pv) in try mapping(v, section) {
                    let name = try identifier(pk, in: section)
                    var p = Parameter(name: name, value: 0, min: nil, max: nil, help: comment(pk), location: loc(pk))
                    func number(_ n: Node, _ what: String) throws -> Double {
                        let s = try string(n, what)
                        guard let x = Double(s.replacingOccurrences(of: "_", with: "")), x.isFinite else {
                            throw ModelFileError(loc(n), "\(what) must be a finite number, got '\(s)'; computed values go in 'derived'")
                        }
                        return x
                    }
                    if let m = pv.mapping {
                        var hasValue = false
                        for (fk, fv) in m {
                            switch fk.string ?? "" {
                            case "value": p.value = try number(fv, "the value of '\(name)'"); hasValue = true
                            case "min": p.min = try number(fv, "the min of '\(name)'")
                            case "max": p.max = try number(fv, "the max of '\(name)'")
                            case "help", "description": p.help = try string(fv, "help")
                            case let other:
                                throw ModelFileError(loc(fk), "unknown field '\(other)' of parameter '\(name)'; use value, min, max, help")
                            }
                        }
                        if !hasValue { throw ModelFileError(loc(pk), "parameter '\(name)' needs a value: {value: …}") }
                    } else {
                        p.value = try number(pv, "parameter '\(name)'")
                    }
                    file.parameters.append(p)
                }
            case "derived": file.derived = try namedExpressions(v, section)
            case "definitions": file.definitions = try namedExpressions(v, section)
            case "transition": file.transitions = try namedExpressions(v, section)
            case "equations": file.equations = try namedExpressions(v, section, equation: true)
            case "simulate": file.simulate = try namedExpressions(v, section)
            case "exact", "benchmark":
                var entries: [(Node, Node)] = []
                var conditions: [(lhs: Expression, op: String, rhs: Expression, location: SourceLocation)] = []
                for (ek, ev) in try mapping(v, section) {
                    if ek.string == "valid_if" {
                        for (text, at) in try names(ev, "\(section).valid_if") {
                            let (l, op, r) = try ExpressionParser.parseCondition(text, at: at)
                            conditions.append((l, op, r, at))
                        }
                    } else { entries.append((ek, ev)) }
                }
                let named = try entries.map { k, v in
                    let name = try identifier(k, in: section)
                    return Named(name: name, expression: try expression(v, "'\(name)' in '\(section)'"), location: loc(k))
                }
                if section == "exact" { file.exact = named; file.exactValidIf = conditions } else { file.benchmark = named; file.benchmarkValidIf = conditions }
            case "statistics": file.statistics = try namedExpressions(v, section)
            case "agents":
                for (ak, av) in try mapping(v, section) {
                    switch ak.string ?? "" {
                    case "states": file.states = try names(av, "agents.states")
                    case "initial": file.initial = try namedExpressions(av, "agents.initial")
                    case "interest": file.interest = try namedExpressions(av, "agents.interest")
                    case "groups":
                        file.groupsLocation = loc(ak)
                        for (gk, gv) in try mapping(av, "agents.groups") {
                            let name = try identifier(gk, in: "agents.groups")
                            guard let seq = gv.sequence else {
                                throw ModelFileError(loc(gv), "agents.groups.\(name) must be a list with one value per group, like [1.0, 1.5]")
                            }
                            let values = try seq.map { item in try ExpressionParser.parse(try string(item, "a group value"), at: textStart(item)) }
                            if name == "sizes" { file.groupSizes = values } else { file.groupAttributes.append((name, values, loc(gk))) }
                        }
                        if file.groupSizes.isEmpty { throw ModelFileError(loc(ak), "agents.groups needs sizes: [n_1, n_2, …], the agents in each group") }
                    case let other:
                        let hint = closestName(other, in: ["states", "initial", "interest", "groups"]).map { " Did you mean '\($0)'?" } ?? ""
                        throw ModelFileError(loc(ak), "unknown key '\(other)' in 'agents'.\(hint) Keys: states, initial, interest, groups")
                    }
                }
            case "shocks":
                for (sk, sv) in try mapping(v, section) {
                    let name = try identifier(sk, in: section)
                    var scope: ShockScope?
                    var distribution = "normal"
                    guard let fields = sv.mapping else {
                        throw ModelFileError(loc(sv), "shock '\(name)' needs {distribution: normal, per: agent} or {distribution: normal, per: economy}")
                    }
                    for (fk, fv) in fields {
                        switch fk.string ?? "" {
                        case "distribution": distribution = try string(fv, "distribution")
                        case "per":
                            let s = try string(fv, "per")
                            guard let sc = ShockScope(rawValue: s) else {
                                throw ModelFileError(loc(fv), "per: '\(s)' is not allowed; use agent (idiosyncratic) or economy (aggregate)")
                            }
                            scope = sc
                        case let other:
                            throw ModelFileError(loc(fk), "unknown field '\(other)' of shock '\(name)'; use distribution, per")
                        }
                    }
                    guard distribution == "normal" else {
                        throw ModelFileError(loc(sv), "distribution '\(distribution)' of shock '\(name)' is not supported; shocks are standard normal (scale them in the transition)")
                    }
                    guard let scope else { throw ModelFileError(loc(sk), "shock '\(name)' needs per: agent or per: economy") }
                    file.shocks.append(Shock(name: name, scope: scope, location: loc(sk)))
                }
            case "markov":
                func numbers(_ n: Node, _ what: String) throws -> [Double] {
                    guard let seq = n.sequence else { throw ModelFileError(loc(n), "\(what) must be a list of numbers, like [0.99, 1.01]") }
                    return try seq.map { item in
                        let t = try string(item, what)
                        guard let x = Double(t), x.isFinite else { throw ModelFileError(loc(item), "\(what): '\(t)' is not a number") }
                        return x
                    }
                }
                func matrix(_ n: Node, _ what: String) throws -> [[Double]] {
                    guard let rows = n.sequence else { throw ModelFileError(loc(n), "\(what) must be a list of rows, like [[0.9, 0.1], [0.1, 0.9]]") }
                    return try rows.map { try numbers($0, what) }
                }
                for (mk, mv) in try mapping(v, section) {
                    let name = try identifier(mk, in: section)
                    guard let fields = mv.mapping else {
                        throw ModelFileError(loc(mv), "Markov state '\(name)' needs {per: economy | agent, values: [...], transition: [[...]]}")
                    }
                    var m = Markov(name: name, perAgent: false, values: [], transition: nil, jointWith: nil, joint: nil,
                                   initialValue: nil, initialShares: nil, location: loc(mk))
                    var perGiven = false
                    for (fk, fv) in fields {
                        switch fk.string ?? "" {
                        case "per":
                            let p = try string(fv, "per")
                            guard p == "agent" || p == "economy" else { throw ModelFileError(loc(fv), "per: '\(p)' is not allowed; use agent or economy") }
                            m.perAgent = p == "agent"; perGiven = true
                        case "values": m.values = try numbers(fv, "values of '\(name)'")
                        case "transition": m.transition = try matrix(fv, "transition of '\(name)'")
                        case "joint":
                            guard let jf = fv.mapping else { throw ModelFileError(loc(fv), "joint needs {with: Z, matrix: [[...]]}, the chain over (Z, \(name)) pairs, Z slowest") }
                            for (jk, jv) in jf {
                                switch jk.string ?? "" {
                                case "with": m.jointWith = (try string(jv, "joint.with"), loc(jv))
                                case "matrix": m.joint = try matrix(jv, "joint.matrix of '\(name)'")
                                case let other: throw ModelFileError(loc(jk), "unknown field '\(other)' of joint; use with, matrix")
                                }
                            }
                        case "initial":
                            if fv.sequence != nil { m.initialShares = try numbers(fv, "initial shares of '\(name)'") }
                            else {
                                let t = try string(fv, "initial")
                                guard let x = Double(t) else { throw ModelFileError(loc(fv), "initial of '\(name)' must be one of its values, or a list of shares") }
                                m.initialValue = x
                            }
                        case let other:
                            let hint = closestName(other, in: ["per", "values", "transition", "joint", "initial"]).map { " Did you mean '\($0)'?" } ?? ""
                            throw ModelFileError(loc(fk), "unknown field '\(other)' of Markov state '\(name)'.\(hint) Fields: per, values, transition, joint, initial")
                        }
                    }
                    guard perGiven else { throw ModelFileError(loc(mk), "Markov state '\(name)' needs per: economy or per: agent") }
                    guard m.values.count >= 2 else { throw ModelFileError(loc(mk), "Markov state '\(name)' needs values: a list of at least two numbers") }
                    file.markov.append(m)
                }
            case "policy":
                for (pk, pv) in try mapping(v, section) {
                    let name = try identifier(pk, in: section)
                    var p = Policy(name: name, own: [], distribution: [], aggregate: [], transform: nil, location: loc(pk))
                    guard let fields = pv.mapping else {
                        throw ModelFileError(loc(pv), "policy '\(name)' needs fields own: [...], distribution: [...]")
                    }
                    for (fk, fv) in fields {
                        switch fk.string ?? "" {
                        case "own": p.own = try names(fv, "own")
                        case "distribution": p.distribution = try names(fv, "distribution")
                        case "aggregate": p.aggregate = try names(fv, "aggregate")
                        case "transform": p.transform = try expression(fv, "transform")
                        case "scale":
                            for (sk, sv) in try mapping(fv, "scale") {
                                let t = try string(sv, "scale of '\(sk.string ?? "")'")
                                guard let x = Double(t), x.isFinite, x != 0 else {
                                    throw ModelFileError(loc(sv), "scale of '\(sk.string ?? "")' must be a non-zero number, got '\(t)'")
                                }
                                p.scale.append((sk.string ?? "", x, loc(sk)))
                            }
                        case let other:
                            let hint = closestName(other, in: ["own", "distribution", "aggregate", "transform", "scale"]).map { " Did you mean '\($0)'?" } ?? ""
                            throw ModelFileError(loc(fk), "unknown field '\(other)' of policy '\(name)'.\(hint) Fields: own, distribution, aggregate, transform, scale")
                        }
                    }
                    file.policies.append(p)
                }
            default:
                let hint = closestName(section, in: sections).map { " Did you mean '\($0)'?" } ?? ""
                throw ModelFileError(loc(k), "unknown section '\(section)'.\(hint) Sections: \(sections.joined(separator: ", "))")
            }
        }
        return file
    }
}

/// The closest name by edit distance, when it is close enough to be a likely typo.
public func closestName(_ s: String, in candidates: [String]) -> String? {
    func distance(_ a: String, _ b: String) -> Int {
        let a = Array(a.lowercased()), b = Array(b.lowercased())
        if a.isEmpty { return b.count }
        if b.isEmpty { return a.count }
        var row = Array(0...b.count)
        for i in 1...a.count {
            var previous = row[0]
            row[0] = i
            for j in 1...b.count {
                let current = row[j]
                row[j] = min(row[j] + 1, row[j - 1] + 1, previous + (a[i - 1] == b[j - 1] ? 0 : 1))
                previous = current
            }
        }
        return row[b.count]
    }
    guard let best = candidates.min(by: { distance(s, $0) < distance(s, $1) }) else { return nil }
    return distance(s, best) <= max(1, min(2, best.count / 3 + 1)) ? best : nil
}
