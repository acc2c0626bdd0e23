/// The expression language of model files: `+ − * / ^`, unary minus, parentheses, function
/// calls, `E[·]`, and `name'` for next-period values (docs/model-files.md).

/// A place in a model file: 1-based line and column.
public struct SourceLocation: Sendable, Equatable, CustomStringConvertible {
    public var file: String
    public var line: Int
    public var column: Int
    public init(file: String, line: Int, column: Int) { self.file = file; self.line = line; self.column = column }
    public var description: String { "\(file):\(line):\(column)" }
    func advanced(by columns: Int) -> SourceLocation { SourceLocation(file: file, line: line, column: column + columns) }
}

/// A model file that cannot be used: where, what, and (when known) the fix.
public struct ModelFileError: Error, CustomStringConvertible, Equatable {
    public let location: SourceLocation?
    public let message: String
    public init(_ location: SourceLocation?, _ message: String) { self.location = location; self.message = message }
    public var description: String { location.map { "\($0): error: \(message)" } ?? message }
}

public enum BinaryOperator: String, Sendable { case add = "+", subtract = "-", multiply = "*", divide = "/", power = "^" }

/// An expression as written, with the location of each node.
public indirect enum Expression: Sendable, CustomStringConvertible {
    case number(Double, SourceLocation)
    /// A name; `prime` for `name'` (next period).
    case symbol(String, prime: Bool, SourceLocation)
    case negate(Expression, SourceLocation)
    case binary(BinaryOperator, Expression, Expression, SourceLocation)
    /// `f(a, …)`, and `E[a]` as the call "E".
    case call(String, [Expression], SourceLocation)

    public var location: SourceLocation {
        switch self {
        case .number(_, let l), .symbol(_, _, let l), .negate(_, let l), .binary(_, _, _, let l), .call(_, _, let l): return l
        }
    }

    public var description: String {
        switch self {
        case .number(let v, _): return v == v.rounded() && abs(v) < 1e15 ? String(Int(v)) : "\(v)"
        case .symbol(let n, let p, _): return n + (p ? "'" : "")
        case .negate(let e, _): return "-(\(e))"
        case .binary(let op, let a, let b, _): return "(\(a) \(op.rawValue) \(b))"
        case .call("E", let args, _): return "E[\(args.map(\.description).joined(separator: ", "))]"
        case .call(let f, let args, _): return "\(f)(\(args.map(\.description).joined(separator: ", ")))"
        }
    }

    /// Every symbol the expression names, with its location.
    public var symbols: [(name: String, prime: Bool, location: SourceLocation)] {
        switch self {
        case .number: return []
        case .symbol(let n, let p, let l): return [(n, p, l)]
        case .negate(let e, _): return e.symbols
        case .binary(_, let a, let b, _): return a.symbols + b.symbols
        case .call(_, let args, _): return args.flatMap(\.symbols)
        }
    }
}

// MARK: - Tokens

enum Token: Equatable {
    case number(Double), name(String), op(Character), prime, end
}

struct Lexer {
    let chars: [Character]
    let start: SourceLocation
    var index = 0
    init(_ text: String, at start: SourceLocation) { chars = Array(text); self.start = start }

    func location(_ i: Int) -> SourceLocation { start.advanced(by: i) }

    /// All tokens with the column offset where each starts.
    mutating func tokens() throws -> [(Token, Int)] {
        var out: [(Token, Int)] = []
        while index < chars.count {
            let c = chars[index]
            if c == " " || c == "\t" { index += 1; continue }
            let begin = index
            if c.isNumber || (c == "." && index + 1 < chars.count && chars[index + 1].isNumber) {
                var s = ""
                while index < chars.count, chars[index].isNumber || chars[index] == "." { s.append(chars[index]); index += 1 }
                if index < chars.count, chars[index] == "e" || chars[index] == "E",
                   index + 1 < chars.count, chars[index + 1].isNumber || ((chars[index + 1] == "-" || chars[index + 1] == "+") && index + 2 < chars.count && chars[index + 2].isNumber) {
                    s.append("e"); index += 1
                    if chars[index] == "-" || chars[index] == "+" { s.append(chars[index]); index += 1 }
                    while index < chars.count, chars[index].isNumber { s.append(chars[index]); index += 1 }
                }
                guard let v = Double(s) else { throw ModelFileError(location(begin), "'\(s)' is not a number") }
                out.append((.number(v), begin))
            } else if c.isLetter || c == "_" {
                var s = ""
                while index < chars.count, chars[index].isLetter || chars[index].isNumber || chars[index] == "_" { s.append(chars[index]); index += 1 }
                out.append((.name(s), begin))
            } else if c == "'" || c == "′" {
                out.append((.prime, begin)); index += 1
            } else if c == "*" && index + 1 < chars.count && chars[index + 1] == "*" {
                out.append((.op("^"), begin)); index += 2
            } else if (c == "=" || c == "!" || c == "<" || c == ">") && index + 1 < chars.count && chars[index + 1] == "=" {
                out.append((.op(c == "=" ? "≡" : c == "!" ? "≠" : c == "<" ? "≤" : "≥"), begin)); index += 2
            } else if c == "≤" || c == "≥" || c == "≠" {
                out.append((.op(c), begin)); index += 1
            } else if "+-*/^()[],=<>".contains(c) {
                out.append((.op(c), begin)); index += 1
            } else if c == "−" {
                out.append((.op("-"), begin)); index += 1
            } else if c == "·" || c == "×" {
                out.append((.op("*"), begin)); index += 1
            } else {
                throw ModelFileError(location(begin), "unexpected character '\(c)' in an expression")
            }
        }
        out.append((.end, chars.count))
        return out
    }
}

// MARK: - Parser

/// Recursive-descent parser; `^` binds tighter than unary minus (`-x^2` is `-(x^2)`) and is
/// right-associative.
public struct ExpressionParser {
    var tokens: [(Token, Int)]
    var position = 0
    let start: SourceLocation

    init(_ text: String, at start: SourceLocation) throws {
        var lexer = Lexer(text, at: start)
        tokens = try lexer.tokens()
        self.start = start
    }

    /// Parses one expression that must fill the whole text.
    public static func parse(_ text: String, at start: SourceLocation) throws -> Expression {
        var p = try ExpressionParser(text, at: start)
        guard p.peek != .end else { throw ModelFileError(start, "an expression is expected here") }
        let e = try p.expression()
        try p.expectEnd()
        return e
    }

    /// Parses `lhs = rhs` (the residual lhs − rhs) or a bare expression (the residual itself).
    public static func parseEquation(_ text: String, at start: SourceLocation) throws -> Expression {
        var p = try ExpressionParser(text, at: start)
        guard p.peek != .end else { throw ModelFileError(start, "an equation is expected here") }
        let lhs = try p.expression()
        if p.peek == .op("=") {
            let at = p.here
            p.position += 1
            guard p.peek != .end else { throw ModelFileError(p.here, "the right-hand side of '=' is missing") }
            let rhs = try p.expression()
            try p.expectEnd()
            return .binary(.subtract, lhs, rhs, at)
        }
        try p.expectEnd()
        return lhs
    }

    /// Parses a condition on parameters, `lhs OP rhs` with OP one of == != < <= > >=.
    public static func parseCondition(_ text: String, at start: SourceLocation) throws -> (Expression, String, Expression) {
        var p = try ExpressionParser(text, at: start)
        let lhs = try p.expression()
        let ops: [Character: String] = ["≡": "==", "≠": "!=", "<": "<", "≤": "<=", ">": ">", "≥": ">="]
        guard case .op(let c) = p.peek, let op = ops[c] else {
            throw ModelFileError(p.here, "a condition needs a comparison: ==, !=, <, <=, > or >= (e.g. nu == 1)")
        }
        p.position += 1
        let rhs = try p.expression()
        try p.expectEnd()
        return (lhs, op, rhs)
    }

    var peek: Token { tokens[position].0 }
    var here: SourceLocation { start.advanced(by: tokens[position].1) }

    mutating func expectEnd() throws {
        switch peek {
        case .end: return
        case .op("="): throw ModelFileError(here, "'=' is only allowed once, in an equation")
        case .op(")"), .op("]"): throw ModelFileError(here, "unbalanced '\(text(peek))': no matching opening bracket")
        default: throw ModelFileError(here, "unexpected '\(text(peek))': an operator (+ - * / ^) is missing before it")
        }
    }

    func text(_ t: Token) -> String {
        switch t {
        case .number(let v): return "\(v)"
        case .name(let n): return n
        case .op(let c): return String(c)
        case .prime: return "'"
        case .end: return "end of expression"
        }
    }

    mutating func expression() throws -> Expression {
        var lhs = try term()
        while case .op(let c) = peek, c == "+" || c == "-" {
            let at = here
            position += 1
            lhs = .binary(c == "+" ? .add : .subtract, lhs, try term(), at)
        }
        return lhs
    }

    mutating func term() throws -> Expression {
        var lhs = try unary()
        while case .op(let c) = peek, c == "*" || c == "/" {
            let at = here
            position += 1
            lhs = .binary(c == "*" ? .multiply : .divide, lhs, try unary(), at)
        }
        return lhs
    }

    mutating func unary() throws -> Expression {
        if peek == .op("-") { let at = here; position += 1; return .negate(try unary(), at) }
        if peek == .op("+") { position += 1; return try unary() }
        return try power()
    }

    mutating func power() throws -> Expression {
        let base = try primary()
        if peek == .op("^") {
            let at = here
            position += 1
            return .binary(.power, base, try unary(), at)
        }
        return base
    }

    mutating func primary() throws -> Expression {
        let at = here
        switch peek {
        case .number(let v):
            position += 1
            return .number(v, at)
        case .name(let n):
            position += 1
            if n == "E" && peek == .op("[") {
                position += 1
                let inner = try expression()
                guard peek == .op("]") else { throw ModelFileError(here, "']' expected to close E[ opened at column \(at.column)") }
                position += 1
                return .call("E", [inner], at)
            }
            if peek == .op("(") {
                position += 1
                var args: [Expression] = []
                if peek != .op(")") {
                    args.append(try expression())
                    while peek == .op(",") { position += 1; args.append(try expression()) }
                }
                guard peek == .op(")") else { throw ModelFileError(here, "')' expected to close the call of \(n)( opened at column \(at.column)") }
                position += 1
                if peek == .prime { throw ModelFileError(here, "' applies to a name (x', u'), not to a call: write \(n)(…) with primed arguments") }
                return .call(n, args, at)
            }
            if peek == .prime {
                position += 1
                if peek == .prime { throw ModelFileError(here, "\(n)'' is two periods ahead; the language has one-period-ahead values only") }
                return .symbol(n, prime: true, at)
            }
            return .symbol(n, prime: false, at)
        case .op("("):
            position += 1
            let e = try expression()
            guard peek == .op(")") else { throw ModelFileError(here, "')' expected to close '(' at column \(at.column)") }
            position += 1
            if peek == .prime { throw ModelFileError(here, "' applies to a name (x', u'), not to a parenthesised expression") }
            return e
        case .end:
            throw ModelFileError(at, "the expression ends too early: an operand is missing")
        case .prime:
            throw ModelFileError(at, "' must follow a name, as in x'")
        case .op(let c):
            throw ModelFileError(at, "unexpected '\(c)': an operand (number, name, call or '(') is expected")
        }
    }
}
