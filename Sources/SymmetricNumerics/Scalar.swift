import CBLAS
import SymmetricKernels
import RealModule

/// The floating-point types a tensor can hold: `Float` (training default) and `Double`
/// (finite-difference checks, LQ algebra). Each conformance routes matrix products to BLAS.
public protocol TensorScalar: BinaryFloatingPoint, Real, Codable, Sendable
where Self.RawSignificand: FixedWidthInteger {
    /// Name in the safetensors dtype vocabulary ("F32", "F64").
    static var dtypeName: String { get }
    /// `C = alpha·op(A)·op(B) + beta·C`, row-major, through `cblas_?gemm`.
    static func gemm(transA: Bool, transB: Bool, m: Int, n: Int, k: Int, alpha: Self,
                     a: UnsafePointer<Self>, lda: Int, b: UnsafePointer<Self>, ldb: Int,
                     beta: Self, c: UnsafeMutablePointer<Self>, ldc: Int)

    // Vectorised elementwise kernels (C, see SymmetricKernels.h).
    /// `y ← max(y, 0)`.
    static func reluKernel(_ y: UnsafeMutablePointer<Self>, count: Int)
    /// `d ← y > 0 ? d : 0`.
    static func reluBackwardKernel(_ d: UnsafeMutablePointer<Self>, output y: UnsafePointer<Self>, count: Int)
    /// `y[r, :] ← b` for each of `rows` rows.
    static func fillRowsKernel(_ y: UnsafeMutablePointer<Self>, _ b: UnsafePointer<Self>, rows: Int, cols: Int)
    /// `acc[c] += Σ_r d[r, c]`.
    static func columnSumsKernel(_ acc: UnsafeMutablePointer<Self>, _ d: UnsafePointer<Self>, rows: Int, cols: Int)
    /// `y ← y + x`.
    static func addKernel(_ y: UnsafeMutablePointer<Self>, _ x: UnsafePointer<Self>, count: Int)
    /// `y[r, o] += Σ_k a[r, k]·wt[k, o]` for a small inner size `inner` (weight transposed).
    static func thinAffineKernel(_ y: UnsafeMutablePointer<Self>, _ a: UnsafePointer<Self>, transposedWeight wt: UnsafePointer<Self>,
                                 rows: Int, inner: Int, outer: Int)
    /// `t[r, k] = Σ_o d[r, o]·wt[k, o]` for a small `inner` (weight transposed, [inner, outer]).
    static func thinAffineBackwardKernel(_ t: UnsafeMutablePointer<Self>, _ d: UnsafePointer<Self>, transposedWeight wt: UnsafePointer<Self>,
                                         rows: Int, inner: Int, outer: Int)
    /// `sums[s, :] += x[i, :]` with `s = (first + i) / setSize`.
    static func poolRowsKernel(_ sums: UnsafeMutablePointer<Self>, _ x: UnsafePointer<Self>, rows: Int, cols: Int, first: Int, setSize: Int)
    /// `x[i, :] = scale·g[s, :]` with `s = (first + i) / setSize`.
    static func unpoolRowsKernel(_ x: UnsafeMutablePointer<Self>, _ g: UnsafePointer<Self>, rows: Int, cols: Int, first: Int, setSize: Int, scale: Self)
    /// One Adam update of `count` parameters (PyTorch semantics).
    static func adamKernel(_ p: UnsafeMutablePointer<Self>, _ m: UnsafeMutablePointer<Self>, _ v: UnsafeMutablePointer<Self>,
                           _ g: UnsafePointer<Self>, count: Int, beta1: Self, beta2: Self, step: Self, sqrtBiasCorrection2: Self, epsilon: Self)
}

@inlinable func cblasTrans(_ t: Bool) -> CBLAS_TRANSPOSE { t ? CblasTrans : CblasNoTrans }

extension Float: TensorScalar {
    public static var dtypeName: String { "F32" }
    @inlinable
    public static func gemm(transA: Bool, transB: Bool, m: Int, n: Int, k: Int, alpha: Float,
                            a: UnsafePointer<Float>, lda: Int, b: UnsafePointer<Float>, ldb: Int,
                            beta: Float, c: UnsafeMutablePointer<Float>, ldc: Int) {
        cblas_sgemm(CblasRowMajor, cblasTrans(transA), cblasTrans(transB), Int32(m), Int32(n), Int32(k),
                    alpha, a, Int32(lda), b, Int32(ldb), beta, c, Int32(ldc))
    }
    @inlinable public static func reluKernel(_ y: UnsafeMutablePointer<Float>, count: Int) { sdk_relu_f32(y, count) }
    @inlinable public static func reluBackwardKernel(_ d: UnsafeMutablePointer<Float>, output y: UnsafePointer<Float>, count: Int) { sdk_relu_backward_f32(d, y, count) }
    @inlinable public static func fillRowsKernel(_ y: UnsafeMutablePointer<Float>, _ b: UnsafePointer<Float>, rows: Int, cols: Int) { sdk_fill_rows_f32(y, b, rows, cols) }
    @inlinable public static func columnSumsKernel(_ acc: UnsafeMutablePointer<Float>, _ d: UnsafePointer<Float>, rows: Int, cols: Int) { sdk_column_sums_f32(acc, d, rows, cols) }
    @inlinable public static func addKernel(_ y: UnsafeMutablePointer<Float>, _ x: UnsafePointer<Float>, count: Int) { sdk_add_f32(y, x, count) }
    @inlinable public static func thinAffineKernel(_ y: UnsafeMutablePointer<Float>, _ a: UnsafePointer<Float>, transposedWeight wt: UnsafePointer<Float>,
                                                   rows: Int, inner: Int, outer: Int) { sdk_thin_affine_f32(y, a, wt, rows, inner, outer) }
    @inlinable public static func thinAffineBackwardKernel(_ t: UnsafeMutablePointer<Float>, _ d: UnsafePointer<Float>, transposedWeight wt: UnsafePointer<Float>,
                                                           rows: Int, inner: Int, outer: Int) { sdk_thin_affine_backward_f32(t, d, wt, rows, inner, outer) }
    @inlinable public static func poolRowsKernel(_ sums: UnsafeMutablePointer<Float>, _ x: UnsafePointer<Float>, rows: Int, cols: Int, first: Int, setSize: Int) {
        sdk_pool_rows_f32(sums, x, rows, cols, first, setSize)
    }
    @inlinable public static func unpoolRowsKernel(_ x: UnsafeMutablePointer<Float>, _ g: UnsafePointer<Float>, rows: Int, cols: Int, first: Int, setSize: Int, scale: Float) {
        sdk_unpool_rows_f32(x, g, rows, cols, first, setSize, scale)
    }
    @inlinable public static func adamKernel(_ p: UnsafeMutablePointer<Float>, _ m: UnsafeMutablePointer<Float>, _ v: UnsafeMutablePointer<Float>,
                                             _ g: UnsafePointer<Float>, count: Int, beta1: Float, beta2: Float, step: Float, sqrtBiasCorrection2: Float, epsilon: Float) {
        sdk_adam_f32(p, m, v, g, count, beta1, beta2, step, sqrtBiasCorrection2, epsilon)
    }
}

extension Double: TensorScalar {
    public static var dtypeName: String { "F64" }
    @inlinable
    public static func gemm(transA: Bool, transB: Bool, m: Int, n: Int, k: Int, alpha: Double,
                            a: UnsafePointer<Double>, lda: Int, b: UnsafePointer<Double>, ldb: Int,
                            beta: Double, c: UnsafeMutablePointer<Double>, ldc: Int) {
        cblas_dgemm(CblasRowMajor, cblasTrans(transA), cblasTrans(transB), Int32(m), Int32(n), Int32(k),
                    alpha, a, Int32(lda), b, Int32(ldb), beta, c, Int32(ldc))
    }
    @inlinable public static func reluKernel(_ y: UnsafeMutablePointer<Double>, count: Int) { sdk_relu_f64(y, count) }
    @inlinable public static func reluBackwardKernel(_ d: UnsafeMutablePointer<Double>, output y: UnsafePointer<Double>, count: Int) { sdk_relu_backward_f64(d, y, count) }
    @inlinable public static func fillRowsKernel(_ y: UnsafeMutablePointer<Double>, _ b: UnsafePointer<Double>, rows: Int, cols: Int) { sdk_fill_rows_f64(y, b, rows, cols) }
    @inlinable public static func columnSumsKernel(_ acc: UnsafeMutablePointer<Double>, _ d: UnsafePointer<Double>, rows: Int, cols: Int) { sdk_column_sums_f64(acc, d, rows, cols) }
    @inlinable public static func addKernel(_ y: UnsafeMutablePointer<Double>, _ x: UnsafePointer<Double>, count: Int) { sdk_add_f64(y, x, count) }
    @inlinable public static func thinAffineKernel(_ y: UnsafeMutablePointer<Double>, _ a: UnsafePointer<Double>, transposedWeight wt: UnsafePointer<Double>,
                                                   rows: Int, inner: Int, outer: Int) { sdk_thin_affine_f64(y, a, wt, rows, inner, outer) }
    @inlinable public static func thinAffineBackwardKernel(_ t: UnsafeMutablePointer<Double>, _ d: UnsafePointer<Double>, transposedWeight wt: UnsafePointer<Double>,
                                                           rows: Int, inner: Int, outer: Int) { sdk_thin_affine_backward_f64(t, d, wt, rows, inner, outer) }
    @inlinable public static func poolRowsKernel(_ sums: UnsafeMutablePointer<Double>, _ x: UnsafePointer<Double>, rows: Int, cols: Int, first: Int, setSize: Int) {
        sdk_pool_rows_f64(sums, x, rows, cols, first, setSize)
    }
    @inlinable public static func unpoolRowsKernel(_ x: UnsafeMutablePointer<Double>, _ g: UnsafePointer<Double>, rows: Int, cols: Int, first: Int, setSize: Int, scale: Double) {
        sdk_unpool_rows_f64(x, g, rows, cols, first, setSize, scale)
    }
    @inlinable public static func adamKernel(_ p: UnsafeMutablePointer<Double>, _ m: UnsafeMutablePointer<Double>, _ v: UnsafeMutablePointer<Double>,
                                             _ g: UnsafePointer<Double>, count: Int, beta1: Double, beta2: Double, step: Double, sqrtBiasCorrection2: Double, epsilon: Double) {
        sdk_adam_f64(p, m, v, g, count, beta1, beta2, step, sqrtBiasCorrection2, epsilon)
    }
}

/// Number of threads OpenBLAS uses (all cores by default).
public func blasThreads() -> Int { Int(openblas_get_num_threads()) }
/// Sets the number of OpenBLAS threads (e.g. 1 per worker in a sweep).
public func setBlasThreads(_ n: Int) { openblas_set_num_threads(Int32(n)) }
