import RealModule

/// The built-in functions of the language (docs/model-files.md). `mean` and `E` are not here:
/// they change which agents and which period an expression is evaluated for.
public enum BuiltinFunction: String, CaseIterable, Sendable {
    case exp, log, sqrt, abs, max, min, sigmoid, tanh, softplus, relu, fb, step

    public var arity: Int {
        switch self {
        case .max, .min, .fb: return 2
        default: return 1
        }
    }

    public var summary: String {
        switch self {
        case .exp: return "exp(x)"
        case .log: return "log(x), natural logarithm"
        case .sqrt: return "sqrt(x)"
        case .abs: return "abs(x)"
        case .max: return "max(a, b), elementwise"
        case .min: return "min(a, b), elementwise"
        case .sigmoid: return "sigmoid(x) = 1 / (1 + exp(-x))"
        case .tanh: return "tanh(x)"
        case .softplus: return "softplus(x) = log(1 + exp(x))"
        case .relu: return "relu(x) = max(x, 0)"
        case .fb: return "fb(a, b) = a + b - sqrt(a^2 + b^2), Fischer-Burmeister: 0 iff a >= 0, b >= 0, a*b = 0"
        case .step: return "step(x) = 1 if x > 0 else 0 (no gradient): indicators in statistics"
        }
    }

    /// The function on numbers (constant folding, derived parameters, initial draws).
    public func apply(_ a: [Double]) -> Double {
        switch self {
        case .exp: return Double.exp(a[0])
        case .log: return Double.log(a[0])
        case .sqrt: return a[0].squareRoot()
        case .abs: return Swift.abs(a[0])
        case .max: return Swift.max(a[0], a[1])
        case .min: return Swift.min(a[0], a[1])
        case .sigmoid: return 1 / (1 + Double.exp(-a[0]))
        case .tanh: return Double.tanh(a[0])
        case .softplus: return a[0] > 20 ? a[0] : Double.log(onePlus: Double.exp(a[0]))
        case .relu: return Swift.max(a[0], 0)
        case .fb: return a[0] + a[1] - (a[0] * a[0] + a[1] * a[1]).squareRoot()
        case .step: return a[0] > 0 ? 1 : 0
        }
    }
}

/// A compiled expression: names resolved, parameters folded into constants.
///
/// `next` on a symbol shifts it one period ahead of where the expression is evaluated (`x'`).
public indirect enum IR: Sendable, CustomStringConvertible {
    case constant(Double)
    case state(Int, next: Bool)
    /// A shock realised between t and t+1 (in a transition, or inside `E[·]`).
    case shock(Int)
    case control(Int, next: Bool)
    case definition(Int, next: Bool)
    /// The raw network output, inside a policy's `transform`.
    case net
    /// A group attribute: the value of the agent's group (agents.groups).
    case attribute(Int)
    case negate(IR)
    case binary(BinaryOperator, IR, IR)
    case function(BuiltinFunction, [IR])
    /// `mean(·)` over all N agents.
    case mean(IR)
    /// `E[·]` over next-period shocks.
    case expectation(IR)

    public var constantValue: Double? { if case .constant(let v) = self { return v }; return nil }

    public var description: String {
        switch self {
        case .constant(let v): return "\(v)"
        case .state(let i, let n): return "state\(i)\(n ? "'" : "")"
        case .shock(let i): return "shock\(i)"
        case .control(let i, let n): return "control\(i)\(n ? "'" : "")"
        case .definition(let i, let n): return "def\(i)\(n ? "'" : "")"
        case .net: return "net"
        case .attribute(let i): return "attribute\(i)"
        case .negate(let a): return "-(\(a))"
        case .binary(let op, let a, let b): return "(\(a) \(op.rawValue) \(b))"
        case .function(let f, let args): return "\(f.rawValue)(\(args.map(\.description).joined(separator: ", ")))"
        case .mean(let a): return "mean(\(a))"
        case .expectation(let a): return "E[\(a)]"
        }
    }

    // MARK: Smart constructors that fold constants

    static func negated(_ a: IR) -> IR {
        if let v = a.constantValue { return .constant(-v) }
        return .negate(a)
    }

    /// `a op b`, folding constants and the identities x+0, x−0, x·1, x/1, x^1, x^0.
    static func combine(_ op: BinaryOperator, _ a: IR, _ b: IR) -> IR {
        let ca = a.constantValue, cb = b.constantValue
        if let x = ca, let y = cb {
            switch op {
            case .add: return .constant(x + y)
            case .subtract: return .constant(x - y)
            case .multiply: return .constant(x * y)
            case .divide: return .constant(x / y)
            case .power: return .constant(power(x, y))
            }
        }
        switch op {
        case .add:
            if ca == 0 { return b }
            if cb == 0 { return a }
        case .subtract:
            if cb == 0 { return a }
            if ca == 0 { return negated(b) }
        case .multiply:
            if ca == 1 { return b }
            if cb == 1 { return a }
        case .divide:
            if cb == 1 { return a }
        case .power:
            if cb == 1 { return a }
            if cb == 0 { return .constant(1) }
        }
        return .binary(op, a, b)
    }

    /// `x^y`, exact for integer exponents of negative bases.
    static func power(_ x: Double, _ y: Double) -> Double {
        if y == y.rounded() && Swift.abs(y) <= 64 { return Double.pow(x, Int(y)) }
        return Double.pow(x, y)
    }

    static func call(_ f: BuiltinFunction, _ args: [IR]) -> IR {
        let values = args.compactMap(\.constantValue)
        if values.count == args.count { return .constant(f.apply(values)) }
        return .function(f, args)
    }

    /// Applies `body` to every node, children first (for analyses).
    func anyNode(_ body: (IR) -> Bool) -> Bool {
        if body(self) { return true }
        switch self {
        case .negate(let a), .mean(let a), .expectation(let a): return a.anyNode(body)
        case .binary(_, let a, let b): return a.anyNode(body) || b.anyNode(body)
        case .function(_, let args): return args.contains { $0.anyNode(body) }
        default: return false
        }
    }
}
