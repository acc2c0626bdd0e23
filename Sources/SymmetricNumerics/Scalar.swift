import CBLAS
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
}

/// Number of threads OpenBLAS uses (all cores by default).
public func blasThreads() -> Int { Int(openblas_get_num_threads()) }
/// Sets the number of OpenBLAS threads (e.g. 1 per worker in a sweep).
public func setBlasThreads(_ n: Int) { openblas_set_num_threads(Int32(n)) }
