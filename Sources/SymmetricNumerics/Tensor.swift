import RealModule

/// A dense, row-major tensor of `Float` or `Double`.
///
/// The buffer is shared between copies (reference semantics for the storage): operations
/// never mutate their inputs, they return fresh tensors. Optimisers update parameters in place
/// through `withMutablePointer`.
public struct Tensor<T: TensorScalar> {
    public let shape: [Int]
    @usableFromInline package let storage: TensorStorage<T>

    @inlinable public var count: Int { storage.count }
    @inlinable public var rank: Int { shape.count }
    /// Raw access to the elements: package-internal (numerics, networks, economies, training);
    /// code outside this package reads `scalars` and builds tensors from values.
    @inlinable package var pointer: UnsafeMutablePointer<T> { storage.pointer }

    /// An uninitialised tensor (callers fill every element).
    @inlinable
    public init(uninitializedShape shape: [Int]) {
        precondition(shape.allSatisfy { $0 >= 0 }, "Tensor shape must be non-negative, got \(shape)")
        self.shape = shape
        self.storage = TensorStorage(count: shape.reduce(1, *))
    }

    @inlinable
    public init(shape: [Int], repeating value: T) {
        self.init(uninitializedShape: shape)
        pointer.update(repeating: value, count: count)
    }

    @inlinable
    public init(zeros shape: [Int]) { self.init(shape: shape, repeating: 0) }

    @inlinable
    public init(shape: [Int], scalars: [T]) {
        self.init(uninitializedShape: shape)
        precondition(scalars.count == count, "Tensor(shape: \(shape)) needs \(count) scalars, got \(scalars.count)")
        scalars.withUnsafeBufferPointer { pointer.update(from: $0.baseAddress!, count: count) }
    }

    /// A rank-0 tensor holding one value.
    @inlinable
    public init(scalar: T) { self.init(shape: [], scalars: [scalar]) }

    /// Shares `storage` under a new shape (no copy).
    @inlinable
    init(shape: [Int], storage: TensorStorage<T>) {
        self.shape = shape
        self.storage = storage
    }

    @inlinable public var scalars: [T] { Array(UnsafeBufferPointer(start: pointer, count: count)) }
    @inlinable public var scalar: T { precondition(count == 1, "scalar of a tensor with \(count) elements"); return pointer[0] }

    @inlinable
    public subscript(_ indices: Int...) -> T {
        var flat = 0
        for (i, index) in indices.enumerated() { flat = flat * shape[i] + index }
        return pointer[flat]
    }

    /// Same data viewed with another shape; one dimension may be -1.
    @inlinable
    public func reshaped(_ newShape: [Int]) -> Tensor {
        var s = newShape
        if let k = s.firstIndex(of: -1) {
            let known = s.enumerated().filter { $0.offset != k }.map(\.element).reduce(1, *)
            s[k] = known == 0 ? 0 : count / known
        }
        precondition(s.reduce(1, *) == count, "cannot reshape \(shape) to \(newShape)")
        return Tensor(shape: s, storage: storage)
    }

    /// Deep copy.
    @inlinable
    public func copy() -> Tensor {
        let r = Tensor(uninitializedShape: shape)
        r.pointer.update(from: pointer, count: count)
        return r
    }

    @inlinable
    public func withMutablePointer<R>(_ body: (UnsafeMutablePointer<T>) throws -> R) rethrows -> R {
        try body(pointer)
    }

    /// Converts to another precision.
    @inlinable
    public func cast<U: TensorScalar>(to: U.Type) -> Tensor<U> {
        let r = Tensor<U>(uninitializedShape: shape)
        for i in 0..<count { r.pointer[i] = U(pointer[i]) }
        return r
    }
}

extension Tensor: CustomStringConvertible {
    public var description: String { "Tensor\(shape)(\(scalars.prefix(8).map { "\($0)" }.joined(separator: ", "))\(count > 8 ? ", …" : ""))" }
}

// MARK: - Elementwise kernels

extension Tensor {
    /// Applies `f` elementwise.
    @inlinable
    public func map(_ f: (T) -> T) -> Tensor {
        let r = Tensor(uninitializedShape: shape)
        let s = pointer, d = r.pointer
        for i in 0..<count { d[i] = f(s[i]) }
        return r
    }

    /// Elementwise `f(self, other)` for tensors of identical shape.
    @inlinable
    public func zipMap(_ other: Tensor, _ f: (T, T) -> T) -> Tensor {
        precondition(shape == other.shape, "zipMap needs equal shapes, got \(shape) and \(other.shape)")
        let r = Tensor(uninitializedShape: shape)
        let a = pointer, b = other.pointer, d = r.pointer
        for i in 0..<count { d[i] = f(a[i], b[i]) }
        return r
    }

    /// Shape of the NumPy-style broadcast of two shapes.
    @inlinable
    public static func broadcastShape(_ a: [Int], _ b: [Int]) -> [Int] {
        let n = max(a.count, b.count)
        let pa = Array(repeating: 1, count: n - a.count) + a
        let pb = Array(repeating: 1, count: n - b.count) + b
        return (0..<n).map { i in
            precondition(pa[i] == pb[i] || pa[i] == 1 || pb[i] == 1, "shapes \(a) and \(b) do not broadcast")
            return max(pa[i], pb[i])
        }
    }

    /// Strides of `shape` read as if broadcast to `out` (0 along broadcast axes).
    @inlinable
    static func broadcastStrides(_ shape: [Int], to out: [Int]) -> [Int] {
        let padded = Array(repeating: 1, count: out.count - shape.count) + shape
        var strides = Array(repeating: 0, count: out.count)
        var s = 1
        for i in stride(from: out.count - 1, through: 0, by: -1) {
            strides[i] = padded[i] == 1 ? 0 : s
            s *= padded[i]
        }
        return strides
    }

    /// Elementwise `f(a, b)` with NumPy broadcasting.
    @inlinable
    public static func broadcast(_ a: Tensor, _ b: Tensor, _ f: (T, T) -> T) -> Tensor {
        if a.shape == b.shape { return a.zipMap(b, f) }
        let out = broadcastShape(a.shape, b.shape)
        let r = Tensor(uninitializedShape: out)
        let pa = a.pointer, pb = b.pointer, d = r.pointer
        if b.count == 1 && r.count == a.count { let v = pb[0]; for i in 0..<r.count { d[i] = f(pa[i], v) }; return r }
        if a.count == 1 && r.count == b.count { let v = pa[0]; for i in 0..<r.count { d[i] = f(v, pb[i]) }; return r }
        let sa = broadcastStrides(a.shape, to: out), sb = broadcastStrides(b.shape, to: out)
        let rank = out.count
        guard rank > 0 else { d[0] = f(pa[0], pb[0]); return r }
        let inner = out[rank - 1], ia = sa[rank - 1], ib = sb[rank - 1]
        let outer = inner == 0 ? 0 : r.count / inner
        var index = Array(repeating: 0, count: rank)
        var oa = 0, ob = 0
        for o in 0..<outer {
            let base = o * inner
            for j in 0..<inner { d[base + j] = f(pa[oa + j * ia], pb[ob + j * ib]) }
            // advance the multi-index over the outer axes
            var axis = rank - 2
            while axis >= 0 {
                index[axis] += 1; oa += sa[axis]; ob += sb[axis]
                if index[axis] < out[axis] { break }
                oa -= sa[axis] * out[axis]; ob -= sb[axis] * out[axis]; index[axis] = 0
                axis -= 1
            }
        }
        return r
    }

    /// Sums over the axes along which `self` was broadcast from `target` (gradient of a broadcast).
    @inlinable
    public func sumToShape(_ target: [Int]) -> Tensor {
        if shape == target { return self }
        var t = self
        while t.rank > target.count { t = t.sum(axis: 0, keepingDims: false) }
        for axis in 0..<target.count where target[axis] == 1 && t.shape[axis] != 1 {
            t = t.sum(axis: axis, keepingDims: true)
        }
        return t.reshaped(target)
    }

    // MARK: Reductions

    /// Sum over one axis.
    @inlinable
    public func sum(axis: Int, keepingDims: Bool = false) -> Tensor {
        let ax = axis < 0 ? axis + rank : axis
        precondition(ax >= 0 && ax < rank, "axis \(axis) out of range for shape \(shape)")
        let outer = shape[..<ax].reduce(1, *), n = shape[ax], inner = shape[(ax + 1)...].reduce(1, *)
        var outShape = shape
        if keepingDims { outShape[ax] = 1 } else { outShape.remove(at: ax) }
        let r = Tensor(zeros: outShape)
        let s = pointer, d = r.pointer
        for o in 0..<outer {
            let dst = d + o * inner
            for k in 0..<n {
                let src = s + (o * n + k) * inner
                for i in 0..<inner { dst[i] += src[i] }
            }
        }
        return r
    }

    @inlinable
    public func mean(axis: Int, keepingDims: Bool = false) -> Tensor {
        let ax = axis < 0 ? axis + rank : axis
        let n = T(shape[ax])
        return sum(axis: ax, keepingDims: keepingDims).map { $0 / n }
    }

    /// Sum of every element, accumulated in Double.
    @inlinable
    public func sumAll() -> T {
        var acc = 0.0
        for i in 0..<count { acc += Double(pointer[i]) }
        return T(acc)
    }

    @inlinable public func meanAll() -> T { count == 0 ? 0 : sumAll() / T(count) }

    // MARK: Shape ops

    /// Concatenation along `axis`.
    @inlinable
    public static func concat(_ parts: [Tensor], axis: Int) -> Tensor {
        precondition(!parts.isEmpty, "concat of no tensors")
        let rank = parts[0].rank
        let ax = axis < 0 ? axis + rank : axis
        var outShape = parts[0].shape
        outShape[ax] = parts.map { $0.shape[ax] }.reduce(0, +)
        for p in parts {
            precondition(p.rank == rank && (0..<rank).allSatisfy { $0 == ax || p.shape[$0] == outShape[$0] },
                         "concat: shapes \(parts.map(\.shape)) differ off axis \(ax)")
        }
        let outer = outShape[..<ax].reduce(1, *), inner = outShape[(ax + 1)...].reduce(1, *)
        let r = Tensor(uninitializedShape: outShape)
        let rowOut = outShape[ax] * inner
        var offset = 0
        for p in parts {
            let rowIn = p.shape[ax] * inner
            for o in 0..<outer { (r.pointer + o * rowOut + offset).update(from: p.pointer + o * rowIn, count: rowIn) }
            offset += rowIn
        }
        return r
    }

    /// Elements `range` along `axis`.
    @inlinable
    public func slice(axis: Int, _ range: Range<Int>) -> Tensor {
        let ax = axis < 0 ? axis + rank : axis
        precondition(range.lowerBound >= 0 && range.upperBound <= shape[ax], "slice \(range) out of bounds for axis \(ax) of \(shape)")
        var outShape = shape
        outShape[ax] = range.count
        let outer = shape[..<ax].reduce(1, *), inner = shape[(ax + 1)...].reduce(1, *)
        let r = Tensor(uninitializedShape: outShape)
        let rowIn = shape[ax] * inner, rowOut = range.count * inner
        for o in 0..<outer { (r.pointer + o * rowOut).update(from: pointer + o * rowIn + range.lowerBound * inner, count: rowOut) }
        return r
    }

    /// Rows `indices` along axis 0.
    @inlinable
    public func gather(_ indices: [Int]) -> Tensor {
        var outShape = shape
        outShape[0] = indices.count
        let row = shape.dropFirst().reduce(1, *)
        let r = Tensor(uninitializedShape: outShape)
        for (k, i) in indices.enumerated() {
            precondition(i >= 0 && i < shape[0], "gather index \(i) out of range 0..<\(shape[0])")
            (r.pointer + k * row).update(from: pointer + i * row, count: row)
        }
        return r
    }

    /// Transpose of a matrix.
    @inlinable
    public func transposed() -> Tensor {
        precondition(rank == 2, "transposed() needs a matrix, got \(shape)")
        let m = shape[0], n = shape[1]
        let r = Tensor(uninitializedShape: [n, m])
        for i in 0..<m { for j in 0..<n { r.pointer[j * m + i] = pointer[i * n + j] } }
        return r
    }
}

// MARK: - Matrix products (BLAS)

extension Tensor {
    /// `op(a)·op(b)` through BLAS gemm; `a`, `b` are matrices.
    @inlinable
    public static func matmul(_ a: Tensor, _ b: Tensor, transposeA: Bool = false, transposeB: Bool = false) -> Tensor {
        precondition(a.rank == 2 && b.rank == 2, "matmul needs matrices, got \(a.shape) and \(b.shape)")
        let m = transposeA ? a.shape[1] : a.shape[0], k = transposeA ? a.shape[0] : a.shape[1]
        let k2 = transposeB ? b.shape[1] : b.shape[0], n = transposeB ? b.shape[0] : b.shape[1]
        precondition(k == k2, "matmul inner dimensions differ: \(a.shape)\(transposeA ? "ᵀ" : "") · \(b.shape)\(transposeB ? "ᵀ" : "")")
        let r = Tensor(uninitializedShape: [m, n])
        gemm(a, b, into: r, transposeA: transposeA, transposeB: transposeB, beta: 0)
        return r
    }

    /// `c = alpha·op(a)·op(b) + beta·c` in place.
    @inlinable
    public static func gemm(_ a: Tensor, _ b: Tensor, into c: Tensor, transposeA: Bool = false, transposeB: Bool = false,
                            alpha: T = 1, beta: T) {
        let m = transposeA ? a.shape[1] : a.shape[0], k = transposeA ? a.shape[0] : a.shape[1]
        let n = transposeB ? b.shape[0] : b.shape[1]
        if m == 0 || n == 0 { return }
        if k == 0 { for i in 0..<c.count { c.pointer[i] *= beta }; return }
        T.gemm(transA: transposeA, transB: transposeB, m: m, n: n, k: k, alpha: alpha,
               a: a.pointer, lda: a.shape[1], b: b.pointer, ldb: b.shape[1], beta: beta, c: c.pointer, ldc: n)
    }
}

// MARK: - Arithmetic operators on plain tensors (no gradient)

extension Tensor {
    @inlinable public static func + (a: Tensor, b: Tensor) -> Tensor { broadcast(a, b, +) }
    @inlinable public static func - (a: Tensor, b: Tensor) -> Tensor { broadcast(a, b, -) }
    @inlinable public static func * (a: Tensor, b: Tensor) -> Tensor { broadcast(a, b, *) }
    @inlinable public static func / (a: Tensor, b: Tensor) -> Tensor { broadcast(a, b, /) }
    @inlinable public static func + (a: Tensor, s: T) -> Tensor { a.map { $0 + s } }
    @inlinable public static func * (a: Tensor, s: T) -> Tensor { a.map { $0 * s } }
    @inlinable public static func - (a: Tensor, s: T) -> Tensor { a.map { $0 - s } }
    @inlinable public static prefix func - (a: Tensor) -> Tensor { a.map { -$0 } }
}
