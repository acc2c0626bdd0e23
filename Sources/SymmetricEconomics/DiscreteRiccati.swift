import CBLAS

/// A dense `rows × columns` matrix of Doubles in column-major order (LAPACK's layout):
/// element (i, j) lives at `pointer[i + j·rows]`. A reference type so that BLAS and LAPACK
/// can work in place on preallocated storage.
public final class DenseMatrix {
    public let rows: Int, columns: Int
    public let pointer: UnsafeMutablePointer<Double>

    /// A matrix of zeros.
    public init(rows: Int, columns: Int) {
        precondition(rows >= 0 && columns >= 0, "DenseMatrix: negative size \(rows)×\(columns)")
        self.rows = rows; self.columns = columns
        pointer = .allocate(capacity: max(1, rows * columns))
        pointer.initialize(repeating: 0, count: max(1, rows * columns))
    }

    /// A square matrix of zeros.
    public convenience init(size n: Int) { self.init(rows: n, columns: n) }

    deinit { pointer.deallocate() }

    public var count: Int { rows * columns }

    public subscript(i: Int, j: Int) -> Double {
        get { pointer[i + j * rows] }
        set { pointer[i + j * rows] = newValue }
    }

    /// The n × n identity.
    public static func identity(_ n: Int) -> DenseMatrix {
        let m = DenseMatrix(size: n)
        for i in 0..<n { m[i, i] = 1 }
        return m
    }

    /// Overwrites this matrix with `other` (same shape).
    public func assign(_ other: DenseMatrix) {
        precondition(rows == other.rows && columns == other.columns, "assign: shape \(other.rows)×\(other.columns) into \(rows)×\(columns)")
        pointer.update(from: other.pointer, count: count)
    }

    /// A new matrix with the same entries.
    public func copy() -> DenseMatrix {
        let m = DenseMatrix(rows: rows, columns: columns)
        m.assign(self)
        return m
    }

    /// Largest absolute entry (NaN if any entry is NaN).
    public var maxAbs: Double { SymmetricEconomics.maxAbs(whole) }

    /// True when every entry is finite.
    public var isFinite: Bool { (0..<count).allSatisfy { pointer[$0].isFinite } }

    /// Replaces a square matrix by (M + Mᵀ)/2.
    public func symmetrize() { SymmetricEconomics.symmetrize(whole) }

    /// Rows as nested arrays (for printing and tests).
    public var rowArrays: [[Double]] { (0..<rows).map { i in (0..<columns).map { self[i, $0] } } }
}

/// A block of consecutive columns of a column-major matrix (leading dimension = rows), so that
/// BLAS and LAPACK can work on the halves of an n × 2n pair such as [A | G].
struct ColumnBlock {
    let pointer: UnsafeMutablePointer<Double>
    let rows: Int, columns: Int
    var count: Int { rows * columns }
}

extension DenseMatrix {
    var whole: ColumnBlock { ColumnBlock(pointer: pointer, rows: rows, columns: columns) }
    /// Columns `range` as a block.
    func columns(_ range: Range<Int>) -> ColumnBlock {
        precondition(range.lowerBound >= 0 && range.upperBound <= columns, "columns \(range) of a \(rows)×\(columns) matrix")
        return ColumnBlock(pointer: pointer + range.lowerBound * rows, rows: rows, columns: range.count)
    }
}

/// `C ← α·op(A)·op(B) + β·C` through `cblas_dgemm`, op = transpose when the flag is set.
@inline(__always)
func gemm(_ a: ColumnBlock, transposeA: Bool = false, _ b: ColumnBlock, transposeB: Bool = false,
          into c: ColumnBlock, alpha: Double = 1, beta: Double = 0) {
    let m = transposeA ? a.columns : a.rows, k = transposeA ? a.rows : a.columns
    let kb = transposeB ? b.columns : b.rows, n = transposeB ? b.rows : b.columns
    precondition(k == kb && c.rows == m && c.columns == n,
                 "gemm: op(A) \(m)×\(k), op(B) \(kb)×\(n) into C \(c.rows)×\(c.columns)")
    func overlaps(_ x: ColumnBlock, _ y: ColumnBlock) -> Bool {
        x.pointer < y.pointer + y.count && y.pointer < x.pointer + x.count
    }
    precondition(!overlaps(c, a) && !overlaps(c, b), "gemm: output overlaps an input")
    cblas_dgemm(CblasColMajor, transposeA ? CblasTrans : CblasNoTrans, transposeB ? CblasTrans : CblasNoTrans,
                Int32(m), Int32(n), Int32(k), alpha, a.pointer, Int32(max(1, a.rows)),
                b.pointer, Int32(max(1, b.rows)), beta, c.pointer, Int32(max(1, c.rows)))
}

@inline(__always)
func gemm(_ a: DenseMatrix, transposeA: Bool = false, _ b: DenseMatrix, transposeB: Bool = false,
          into c: DenseMatrix, alpha: Double = 1, beta: Double = 0) {
    gemm(a.whole, transposeA: transposeA, b.whole, transposeB: transposeB, into: c.whole, alpha: alpha, beta: beta)
}

/// Replaces the square block M by (M + Mᵀ)/2.
func symmetrize(_ m: ColumnBlock) {
    precondition(m.rows == m.columns, "symmetrize: not square")
    let n = m.rows, p = m.pointer
    for j in 0..<n {
        for i in 0..<j {
            let s = 0.5 * (p[i + j * n] + p[j + i * n])
            p[i + j * n] = s; p[j + i * n] = s
        }
    }
}

/// Largest absolute entry of a block (NaN if any entry is NaN).
func maxAbs(_ m: ColumnBlock) -> Double {
    var r = 0.0
    for i in 0..<m.count {
        let a = Swift.abs(m.pointer[i])
        if !(a <= r) { r = a }
    }
    return r
}

/// Runs `body` with OpenBLAS on one thread. OpenBLAS's threaded LU (`dgetrf_parallel`)
/// spin-waits between its threads; for the sizes of the Riccati route the serial LU is faster,
/// several times so when another process shares the cores. The previous count is restored.
@inline(__always)
func serialBLAS<R>(_ body: () throws -> R) rethrows -> R {
    let threads = openblas_get_num_threads()
    if threads > 1 { openblas_set_num_threads(1) }
    defer { if threads > 1 { openblas_set_num_threads(threads) } }
    return try body()
}

/// Solves `A·X = B` in place (B becomes X) with LAPACK's `dgesv`; A is overwritten by its LU factors.
/// Returns false when A is exactly singular.
func solveInPlace(_ a: DenseMatrix, _ b: DenseMatrix) -> Bool {
    precondition(a.rows == a.columns && b.rows == a.rows, "solve: A \(a.rows)×\(a.columns), B \(b.rows)×\(b.columns)")
    var n = Int32(a.rows), nrhs = Int32(b.columns), lda = Int32(max(1, a.rows)), ldb = Int32(max(1, b.rows)), info: Int32 = 0
    var pivots = [Int32](repeating: 0, count: max(1, a.rows))
    dgesv_(&n, &nrhs, a.pointer, &lda, &pivots, b.pointer, &ldb, &info)
    return info == 0
}

/// Preallocated storage for the doubling algorithm on n × n matrices; reuse one across solves
/// of the same size so that nothing is allocated inside the iteration.
public final class RiccatiWorkspace {
    public let n: Int
    /// [Aₖ | Gₖ], the solves [K⁻¹Aₖ | K⁻¹Gₖ], and the products Aₖ·[K⁻¹Aₖ | K⁻¹GₖAₖᵀ] (n × 2n each).
    var ag: DenseMatrix, solved: DenseMatrix, products: DenseMatrix
    /// Hₖ, K = I + GₖHₖ (then its LU factors), and an n × n temporary.
    let h: DenseMatrix, k: DenseMatrix, t: DenseMatrix
    var pivots: [Int32]

    public init(n: Int) {
        self.n = n
        ag = DenseMatrix(rows: n, columns: 2 * n); solved = DenseMatrix(rows: n, columns: 2 * n)
        products = DenseMatrix(rows: n, columns: 2 * n)
        h = DenseMatrix(size: n); k = DenseMatrix(size: n); t = DenseMatrix(size: n)
        pivots = [Int32](repeating: 0, count: max(1, n))
    }

    /// Bytes the workspace holds (nine n × n matrices).
    public static func bytes(n: Int) -> Int { 9 * n * n * MemoryLayout<Double>.size }
}

/// The discounted algebraic Riccati equation of eq. (D.6),
/// `P = R + βAᵀPA − β²AᵀPB(Q + βBᵀPB)⁻¹BᵀPA`,
/// solved by the structure-preserving doubling algorithm (Chu, Fan & Lin 2005; with the shift of
/// Chiang, Fan & Lin 2010), the method of QuantEcon's `solve_discrete_riccati`.
///
/// With `Â = √β·A`, `B̂ = √β·B` the equation is the standard DARE
/// `P = R + ÂᵀPÂ − ÂᵀPB̂(Q + B̂ᵀPB̂)⁻¹B̂ᵀPÂ`. Writing `P = Y + s·I` (shift s ≥ 0),
/// `Q̂ = Q + s·B̂ᵀB̂`, the iteration starts from
/// `G₀ = B̂Q̂⁻¹B̂ᵀ`, `A₀ = (I − sG₀)Â`, `H₀ = s·ÂᵀA₀ + R − s·I` and doubles
/// ```
/// K = I + GₖHₖ
/// Aₖ₊₁ = Aₖ K⁻¹ Aₖ
/// Gₖ₊₁ = Gₖ + Aₖ K⁻¹ Gₖ Aₖᵀ
/// Hₖ₊₁ = Hₖ + (K⁻¹Aₖ)ᵀ Hₖ Aₖ
/// ```
/// until Hₖ stops changing; then `P = H + s·I`. Each step costs about 17n³ flops (one LU, one
/// solve with 2n right-hand sides, products through dgemm, the A and G updates batched into one
/// n × 2n product and skipped on the last step); the error falls like ρ^(2^k), ρ the spectral
/// radius of the discounted closed loop, so about ten steps suffice. Here R is the state and Q
/// the control weight, as in the paper (QuantEcon swaps the letters).
public enum DiscreteRiccati {
    public struct Options: Sendable {
        /// Stop when max|Hₖ₊₁ − Hₖ| ≤ tolerance·max|Hₖ₊₁|. Convergence is quadratic, so the
        /// error left is about the square of the last change.
        public var tolerance = 1e-10
        public var maxIterations = 60
        /// The shift s (0: plain doubling; needed only when Q is singular or ill-conditioned).
        public var shift = 0.0
        public init() {}
    }

    public struct Solution {
        /// The symmetric solution P (n × n).
        public let P: DenseMatrix
        /// Doubling steps taken.
        public let iterations: Int
    }

    /// Solves eq. (D.6) for P.
    /// - Parameters:
    ///   - A: n × n transition; B: n × m control loading; R: n × n symmetric state weight;
    ///     Q: m × m symmetric control weight (Q + s·βBᵀB must be invertible).
    ///   - workspace: reusable storage for n (allocated when nil).
    /// - Throws: `LQError` when the iteration breaks down (singular I + GH, non-finite values) or
    ///   does not converge, e.g. when the discounted system has an uncontrollable mode with
    ///   √β|λ| ≥ 1.
    public static func solve(A: DenseMatrix, B: DenseMatrix, R: DenseMatrix, Q: DenseMatrix, beta: Double,
                             options: Options = Options(), workspace: RiccatiWorkspace? = nil) throws -> Solution {
        let n = A.rows, m = B.columns
        precondition(A.columns == n && B.rows == n && R.rows == n && R.columns == n && Q.rows == m && Q.columns == m,
                     "DiscreteRiccati: A \(A.rows)×\(A.columns), B \(B.rows)×\(B.columns), R \(R.rows)×\(R.columns), Q \(Q.rows)×\(Q.columns)")
        let w = workspace ?? RiccatiWorkspace(n: n)
        precondition(w.n == n, "DiscreteRiccati: workspace for n = \(w.n), problem n = \(n)")
        let rootBeta = beta.squareRoot(), s = options.shift

        // Â = √β A, B̂ = √β B; Aₖ and Gₖ live side by side in w.ag = [Aₖ | Gₖ]
        var a = w.ag.columns(0..<n), g = w.ag.columns(n..<(2 * n))
        let bHat = DenseMatrix(rows: n, columns: m)
        for i in 0..<(n * m) { bHat.pointer[i] = rootBeta * B.pointer[i] }
        for i in 0..<(n * n) { a.pointer[i] = rootBeta * A.pointer[i] }
        // G₀ = B̂ Q̂⁻¹ B̂ᵀ with Q̂ = Q + s B̂ᵀB̂
        let qHat = Q.copy()
        if s != 0 { gemm(bHat, transposeA: true, bHat, into: qHat, alpha: s, beta: 1) }
        let qInvBt = DenseMatrix(rows: m, columns: n)
        for j in 0..<n { for i in 0..<m { qInvBt[i, j] = bHat[j, i] } }
        guard solveInPlace(qHat, qInvBt) else {
            throw LQError("the control weight Q + s·βBᵀB is singular; use a positive adjustment cost (model.gamma > 0) or a shift")
        }
        gemm(bHat.whole, qInvBt.whole, into: g)
        symmetrize(g)
        // A₀ = (I − sG₀)Â, H₀ = s ÂᵀA₀ + R − sI
        w.h.assign(R)
        if s != 0 {
            let aHat = w.k
            aHat.pointer.update(from: a.pointer, count: n * n)
            gemm(g, aHat.whole, into: w.t.whole)                                   // G₀Â
            for i in 0..<(n * n) { a.pointer[i] -= s * w.t.pointer[i] }            // A₀
            gemm(aHat.whole, transposeA: true, a, into: w.h.whole, alpha: s, beta: 1)
            for i in 0..<n { w.h[i, i] -= s }
        }
        w.h.symmetrize()

        var n32 = Int32(n), twoN = Int32(2 * n), lda = Int32(max(1, n)), info: Int32 = 0
        var trans = Int8(UInt8(ascii: "N"))
        let y = w.solved.columns(0..<n), z = w.solved.columns(n..<(2 * n))
        for iteration in 1...options.maxIterations {
            // K = I + G H, factored once
            gemm(g, w.h.whole, into: w.k.whole)
            for i in 0..<n { w.k[i, i] += 1 }
            serialBLAS { dgetrf_(&n32, &n32, w.k.pointer, &lda, &w.pivots, &info) }
            guard info == 0 else {
                throw LQError("doubling algorithm for eq. (D.6): I + G·H is singular at step \(iteration) (LAPACK dgetrf info \(info))")
            }
            // [Y | Z] = K⁻¹[A | G], one solve with 2n right-hand sides
            w.solved.assign(w.ag)
            dgetrs_(&trans, &n32, &twoN, w.k.pointer, &lda, &w.pivots, w.solved.pointer, &lda, &info)
            // H ← H + Yᵀ (H A); the change measures convergence
            gemm(w.h.whole, a, into: w.t.whole)
            gemm(y, transposeA: true, w.t.whole, into: w.k.whole)                  // K's factors are spent
            let change = w.k.maxAbs
            for i in 0..<(n * n) { w.h.pointer[i] += w.k.pointer[i] }
            w.h.symmetrize()
            let scale = w.h.maxAbs
            guard change.isFinite, scale.isFinite else {
                throw LQError("doubling algorithm for eq. (D.6) produced non-finite values at step \(iteration): "
                              + "the discounted system has no stabilising solution (an uncontrolled mode with √β|λ| ≥ 1?)")
            }
            if change <= options.tolerance * max(scale, .leastNormalMagnitude) {
                let P = w.h.copy()
                if s != 0 { for i in 0..<n { P[i, i] += s } }
                return Solution(P: P, iterations: iteration)
            }
            // [A' | G' − G] = A·[Y | Z Aᵀ], one product with 2n columns
            gemm(z, a, transposeB: true, into: w.t.whole)
            z.pointer.update(from: w.t.pointer, count: n * n)
            gemm(a, w.solved.whole, into: w.products.whole)
            let newG = w.products.columns(n..<(2 * n))
            for i in 0..<(n * n) { newG.pointer[i] += g.pointer[i] }
            symmetrize(newG)
            swap(&w.ag, &w.products)
            a = w.ag.columns(0..<n); g = w.ag.columns(n..<(2 * n))
        }
        throw LQError("doubling algorithm for eq. (D.6) did not converge in \(options.maxIterations) steps "
                      + "(an uncontrolled mode with √β|λ| close to or above 1?)")
    }

    /// Optimal feedback, eq. (D.8): `F = β(Q + βBᵀPB)⁻¹BᵀPA` (m × n), so that `u = −F x̄`.
    public static func feedback(P: DenseMatrix, A: DenseMatrix, B: DenseMatrix, Q: DenseMatrix, beta: Double) throws -> DenseMatrix {
        let n = A.rows, m = B.columns
        let pb = DenseMatrix(rows: n, columns: m)
        gemm(P, B, into: pb)                                      // PB
        let s = Q.copy()
        gemm(B, transposeA: true, pb, into: s, alpha: beta, beta: 1)   // Q + βBᵀPB
        let f = DenseMatrix(rows: m, columns: n)
        gemm(pb, transposeA: true, A, into: f, alpha: beta)           // βBᵀPA (P symmetric)
        guard solveInPlace(s, f) else { throw LQError("Q + βBᵀPB is singular in eq. (D.8)") }
        return f
    }

    /// Constant of the value function, eq. (D.7): `d = β/(1−β)·trace(P C Cᵀ)`.
    public static func constant(P: DenseMatrix, C: DenseMatrix, beta: Double) -> Double {
        let n = P.rows
        let cct = DenseMatrix(size: n)
        gemm(C, C, transposeB: true, into: cct)
        var trace = 0.0
        for i in 0..<(n * n) { trace += P.pointer[i] * cct.pointer[i] }   // Σ P_ij (CCᵀ)_ij, both symmetric
        return beta / (1 - beta) * trace
    }

    /// Largest absolute entry of `R + βAᵀPA − βAᵀPB·F − P` (eq. D.6 with F of eq. D.8), relative
    /// to the largest entry of P.
    public static func relativeResidual(P: DenseMatrix, F: DenseMatrix, A: DenseMatrix, B: DenseMatrix, R: DenseMatrix, beta: Double) -> Double {
        let n = A.rows, m = B.columns
        let pa = DenseMatrix(size: n), res = R.copy()
        gemm(P, A, into: pa)
        gemm(A, transposeA: true, pa, into: res, alpha: beta, beta: 1)          // R + βAᵀPA
        let bpa = DenseMatrix(rows: m, columns: n)
        gemm(B, transposeA: true, pa, into: bpa)                               // BᵀPA
        gemm(bpa, transposeA: true, F, into: res, alpha: -beta, beta: 1)       // − β(BᵀPA)ᵀF
        for i in 0..<(n * n) { res.pointer[i] -= P.pointer[i] }
        return res.maxAbs / max(P.maxAbs, .leastNormalMagnitude)
    }
}
