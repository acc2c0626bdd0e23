import RealModule

// Differentiable operations. Each op computes its forward value and records, next to it, the
// local backward rule: given ∂L/∂out, return ∂L/∂input for each input.

extension Variable {
    // MARK: Broadcasting arithmetic

    @inlinable public static func + (a: Variable, b: Variable) -> Variable {
        Variable(value: a.value + b.value, parents: [a, b]) { g in
            [g.sumToShape(a.shape), g.sumToShape(b.shape)]
        }
    }

    @inlinable public static func - (a: Variable, b: Variable) -> Variable {
        Variable(value: a.value - b.value, parents: [a, b]) { g in
            [g.sumToShape(a.shape), (-g).sumToShape(b.shape)]
        }
    }

    @inlinable public static func * (a: Variable, b: Variable) -> Variable {
        Variable(value: a.value * b.value, parents: [a, b]) { g in
            [a.requiresGrad ? (g * b.value).sumToShape(a.shape) : nil,
             b.requiresGrad ? (g * a.value).sumToShape(b.shape) : nil]
        }
    }

    @inlinable public static func / (a: Variable, b: Variable) -> Variable {
        Variable(value: a.value / b.value, parents: [a, b]) { g in
            [a.requiresGrad ? (g / b.value).sumToShape(a.shape) : nil,
             b.requiresGrad ? Tensor.broadcast(g * a.value, b.value) { ga, bv in -ga / (bv * bv) }.sumToShape(b.shape) : nil]
        }
    }

    @inlinable public static prefix func - (a: Variable) -> Variable {
        Variable(value: -a.value, parents: [a]) { g in [-g] }
    }

    @inlinable public static func + (a: Variable, s: T) -> Variable {
        Variable(value: a.value + s, parents: [a]) { g in [g] }
    }
    @inlinable public static func + (s: T, a: Variable) -> Variable { a + s }
    @inlinable public static func - (a: Variable, s: T) -> Variable { a + (-s) }
    @inlinable public static func - (s: T, a: Variable) -> Variable { (-a) + s }

    @inlinable public static func * (a: Variable, s: T) -> Variable {
        Variable(value: a.value * s, parents: [a]) { g in [g * s] }
    }
    @inlinable public static func * (s: T, a: Variable) -> Variable { a * s }
    @inlinable public static func / (a: Variable, s: T) -> Variable { a * (1 / s) }

    // MARK: Elementwise functions

    /// `x^p` for a constant exponent (x > 0 where p is not an integer).
    @inlinable public func pow(_ p: T) -> Variable {
        let x = value
        return Variable(value: x.map { T.pow($0, p) }, parents: [self]) { g in
            [g.zipMap(x) { gi, xi in xi == 0 ? 0 : gi * p * T.pow(xi, p - 1) }]
        }
    }

    @inlinable public func exp() -> Variable {
        let y = value.map { T.exp($0) }
        return Variable(value: y, parents: [self]) { g in [g.zipMap(y, *)] }
    }

    @inlinable public func log() -> Variable {
        let x = value
        return Variable(value: x.map { T.log($0) }, parents: [self]) { g in [g.zipMap(x, /)] }
    }

    @inlinable public func relu() -> Variable {
        let y = value.map { $0 > 0 ? $0 : 0 }
        return Variable(value: y, parents: [self]) { g in [g.zipMap(y) { gi, yi in yi > 0 ? gi : 0 }] }
    }

    /// `max(x, 0)`, the positive part (same rule as relu; named as in eq. 9).
    @inlinable public func positivePart() -> Variable { relu() }

    /// `log(1 + eˣ)`, computed stably.
    @inlinable public func softplus() -> Variable {
        let x = value
        let y = x.map { $0 > 20 ? $0 : T.log(onePlus: T.exp($0)) }
        return Variable(value: y, parents: [self]) { g in
            [g.zipMap(x) { gi, xi in gi / (1 + T.exp(-xi)) }]
        }
    }

    @inlinable public func tanh() -> Variable {
        let y = value.map { T.tanh($0) }
        return Variable(value: y, parents: [self]) { g in [g.zipMap(y) { gi, yi in gi * (1 - yi * yi) }] }
    }

    @inlinable public func sigmoid() -> Variable {
        let y = value.map { 1 / (1 + T.exp(-$0)) }
        return Variable(value: y, parents: [self]) { g in [g.zipMap(y) { gi, yi in gi * yi * (1 - yi) }] }
    }

    @inlinable public func squared() -> Variable {
        let x = value
        return Variable(value: x.map { $0 * $0 }, parents: [self]) { g in [g.zipMap(x) { gi, xi in 2 * gi * xi }] }
    }

    // MARK: Reductions

    @inlinable public func sum(axis: Int, keepingDims: Bool = false) -> Variable {
        let inShape = shape
        let ax = axis < 0 ? axis + inShape.count : axis
        return Variable(value: value.sum(axis: ax, keepingDims: keepingDims), parents: [self]) { g in
            var kept = inShape; kept[ax] = 1
            return [Tensor(zeros: inShape) + g.reshaped(kept)]
        }
    }

    @inlinable public func mean(axis: Int, keepingDims: Bool = false) -> Variable {
        let ax = axis < 0 ? axis + shape.count : axis
        return sum(axis: ax, keepingDims: keepingDims) * (1 / T(shape[ax]))
    }

    /// Sum of all elements (rank-0 result).
    @inlinable public func sumAll() -> Variable {
        let inShape = shape
        return Variable(value: Tensor(scalar: value.sumAll()), parents: [self]) { g in
            [Tensor(shape: inShape, repeating: g.scalar)]
        }
    }

    @inlinable public func meanAll() -> Variable { sumAll() * (1 / T(value.count)) }

    // MARK: Shape

    @inlinable public func reshaped(_ newShape: [Int]) -> Variable {
        let inShape = shape
        return Variable(value: value.reshaped(newShape), parents: [self]) { g in [g.reshaped(inShape)] }
    }

    @inlinable public static func concat(_ parts: [Variable], axis: Int) -> Variable {
        let sizes = parts.map { $0.shape[axis < 0 ? axis + $0.shape.count : axis] }
        return Variable(value: Tensor.concat(parts.map(\.value), axis: axis), parents: parts) { g in
            var start = 0
            return sizes.map { n in defer { start += n }; return g.slice(axis: axis, start..<(start + n)) }
        }
    }

    @inlinable public func slice(axis: Int, _ range: Range<Int>) -> Variable {
        let inShape = shape
        let ax = axis < 0 ? axis + inShape.count : axis
        return Variable(value: value.slice(axis: ax, range), parents: [self]) { g in
            var parts: [Tensor<T>] = []
            var before = inShape; before[ax] = range.lowerBound
            var after = inShape; after[ax] = inShape[ax] - range.upperBound
            if range.lowerBound > 0 { parts.append(Tensor(zeros: before)) }
            parts.append(g)
            if after[ax] > 0 { parts.append(Tensor(zeros: after)) }
            return [Tensor.concat(parts, axis: ax)]
        }
    }

    /// Rows `indices` along axis 0 (a repeated index accumulates its gradient).
    @inlinable public func gather(_ indices: [Int]) -> Variable {
        let inShape = shape
        return Variable(value: value.gather(indices), parents: [self]) { g in
            let r = Tensor<T>(zeros: inShape)
            let row = inShape.dropFirst().reduce(1, *)
            for (k, i) in indices.enumerated() {
                let d = r.pointer + i * row, s = g.pointer + k * row
                for j in 0..<row { d[j] += s[j] }
            }
            return [r]
        }
    }

    // MARK: Linear algebra

    /// `op(a)·op(b)` through BLAS; gradients are two more gemms.
    @inlinable public static func matmul(_ a: Variable, _ b: Variable, transposeA: Bool = false, transposeB: Bool = false) -> Variable {
        Variable(value: Tensor.matmul(a.value, b.value, transposeA: transposeA, transposeB: transposeB), parents: [a, b]) { g in
            // C = op(A)·op(B): dA = g·op(B)ᵀ (transposed back if A was), dB likewise.
            let da: Tensor<T>? = a.requiresGrad
                ? (transposeA ? Tensor.matmul(b.value, g, transposeA: transposeB, transposeB: true)
                              : Tensor.matmul(g, b.value, transposeA: false, transposeB: !transposeB))
                : nil
            let db: Tensor<T>? = b.requiresGrad
                ? (transposeB ? Tensor.matmul(g, a.value, transposeA: true, transposeB: transposeA)
                              : Tensor.matmul(a.value, g, transposeA: !transposeA, transposeB: false))
                : nil
            return [da, db]
        }
    }

    /// Affine map of a layer, `x·Wᵀ + b` with `W` of shape [out, in] (PyTorch layout),
    /// fused: the bias is written first and gemm accumulates onto it (beta = 1).
    @inlinable public static func affine(_ x: Variable, weight: Variable, bias: Variable?) -> Variable {
        precondition(x.value.rank == 2, "affine expects [rows, features], got \(x.shape)")
        let rows = x.shape[0], outF = weight.shape[0]
        let y = Tensor<T>(uninitializedShape: [rows, outF])
        if let bias {
            let b = bias.value.pointer
            for r in 0..<rows { (y.pointer + r * outF).update(from: b, count: outF) }
        }
        Tensor.gemm(x.value, weight.value, into: y, transposeB: true, beta: bias == nil ? 0 : 1)
        let parents = bias.map { [x, weight, $0] } ?? [x, weight]
        return Variable(value: y, parents: parents) { g in
            var grads: [Tensor<T>?] = [
                x.requiresGrad ? Tensor.matmul(g, weight.value) : nil,
                weight.requiresGrad ? Tensor.matmul(g, x.value, transposeA: true) : nil,
            ]
            if let bias { grads.append(bias.requiresGrad ? g.sum(axis: 0) : nil) }
            return grads
        }
    }
}

/// Free-function spellings used in model code.
@inlinable public func matmul<T>(_ a: Variable<T>, _ b: Variable<T>) -> Variable<T> { Variable.matmul(a, b) }

extension Variable {
    /// Elements `indices` along axis 1 of a [b, n, …] tensor → [b, k, …] (a repeated index
    /// accumulates its gradient).
    @inlinable public func gather(axis1 indices: [Int]) -> Variable {
        let inShape = shape
        precondition(inShape.count >= 2, "gather(axis1:) needs rank ≥ 2, got \(inShape)")
        let b = inShape[0], n = inShape[1], inner = inShape.dropFirst(2).reduce(1, *), k = indices.count
        precondition(indices.allSatisfy { $0 >= 0 && $0 < n }, "gather(axis1:) index out of range 0..<\(n)")
        let out = Tensor<T>(uninitializedShape: [b, k] + Array(inShape.dropFirst(2)))
        for r in 0..<b {
            for (c, i) in indices.enumerated() {
                (out.pointer + (r * k + c) * inner).update(from: value.pointer + (r * n + i) * inner, count: inner)
            }
        }
        return Variable(value: out, parents: [self]) { g in
            let gx = Tensor<T>(zeros: inShape)
            for r in 0..<b {
                for (c, i) in indices.enumerated() {
                    let d = gx.pointer + (r * n + i) * inner, s = g.pointer + (r * k + c) * inner
                    for j in 0..<inner { d[j] += s[j] }
                }
            }
            return [gx]
        }
    }

    /// `max(x, lower)` elementwise; the gradient passes where x > lower (a guard before x^(−μ)).
    @inlinable public func clamped(min lower: T) -> Variable {
        let x = value
        return Variable(value: x.map { $0 > lower ? $0 : lower }, parents: [self]) { g in
            [g.zipMap(x) { gi, xi in xi > lower ? gi : 0 }]
        }
    }
}

// MARK: Ops of the model-file language (docs/model-files.md)

extension Variable {
    /// `√x` (gradient 1/(2√x); 0 at x = 0, where √ has no derivative).
    @inlinable public func sqrt() -> Variable {
        let y = value.map { T.sqrt($0) }
        return Variable(value: y, parents: [self]) { g in [g.zipMap(y) { gi, yi in yi > 0 ? gi / (2 * yi) : 0 }] }
    }

    /// `|x|` (gradient sign(x); 0 at x = 0).
    @inlinable public func abs() -> Variable {
        let x = value
        return Variable(value: x.map { Swift.abs($0) }, parents: [self]) { g in
            [g.zipMap(x) { gi, xi in xi > 0 ? gi : (xi < 0 ? -gi : 0) }]
        }
    }

    /// Elementwise `max(a, b)` with broadcasting; the gradient goes to `a` where a > b, else to `b`.
    @inlinable public static func maximum(_ a: Variable, _ b: Variable) -> Variable {
        let mask = Tensor.broadcast(a.value, b.value) { x, y in x > y ? 1 : 0 }
        return Variable(value: Tensor.broadcast(a.value, b.value) { x, y in x > y ? x : y }, parents: [a, b]) { g in
            [a.requiresGrad ? (g * mask).sumToShape(a.shape) : nil,
             b.requiresGrad ? (g * mask.map { 1 - $0 }).sumToShape(b.shape) : nil]
        }
    }

    /// Elementwise `min(a, b)` with broadcasting; the gradient goes to `a` where a < b, else to `b`.
    @inlinable public static func minimum(_ a: Variable, _ b: Variable) -> Variable {
        -maximum(-a, -b)
    }

    /// Fischer–Burmeister `a + b − √(a² + b²)`: zero iff a ≥ 0, b ≥ 0, ab = 0 (complementarity).
    /// At a = b = 0 the gradient is the limit along a = b, (1 − 1/√2) for each argument.
    @inlinable public static func fischerBurmeister(_ a: Variable, _ b: Variable) -> Variable {
        let r = Tensor.broadcast(a.value, b.value) { x, y in (x * x + y * y).squareRoot() }
        let y = Tensor.broadcast(a.value, b.value, +) - r
        let av = a.value, bv = b.value
        return Variable(value: y, parents: [a, b]) { g in
            let half = 1 - 1 / T(2).squareRoot()
            let da = Tensor.broadcast(av, bv) { x, y in let n = (x * x + y * y).squareRoot(); return n > 0 ? 1 - x / n : half }
            let db = Tensor.broadcast(av, bv) { x, y in let n = (x * x + y * y).squareRoot(); return n > 0 ? 1 - y / n : half }
            return [a.requiresGrad ? (g * da).sumToShape(a.shape) : nil, b.requiresGrad ? (g * db).sumToShape(b.shape) : nil]
        }
    }

    /// The value broadcast to `shape` (NumPy rules); the gradient sums back.
    @inlinable public func expanded(to target: [Int]) -> Variable {
        if shape == target { return self }
        let inShape = shape
        return Variable(value: Tensor.broadcast(value, Tensor<T>(zeros: target), +), parents: [self]) { g in [g.sumToShape(inShape)] }
    }

    /// `c / x` for a constant c.
    @inlinable public static func / (c: T, x: Variable) -> Variable {
        let y = x.value.map { c / $0 }, xv = x.value
        return Variable(value: y, parents: [x]) { g in [g.zipMap(xv) { gi, xi in -gi * c / (xi * xi) }] }
    }
}

extension Variable {
    /// `xⁿ` for an integer n (defined for negative x too, unlike `pow(_: T)`).
    @inlinable public func pow(integer n: Int) -> Variable {
        let x = value
        return Variable(value: x.map { T.pow($0, n) }, parents: [self]) { g in
            [g.zipMap(x) { gi, xi in n == 0 ? 0 : gi * T(n) * T.pow(xi, n - 1) }]
        }
    }
}
