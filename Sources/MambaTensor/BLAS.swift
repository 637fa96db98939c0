// Single-precision matrix multiply: cblas_sgemm from OpenBLAS on Linux (CBLAS system library target), Accelerate on
// Apple platforms, and a naive triple loop beside it as the test oracle.
#if canImport(Accelerate)
import Accelerate
#else
import CBLAS
#endif

/// Row-major single-precision GEMM.
public enum BLAS {
    /// C = alpha · op(A) · op(B) + beta · C, row-major, through `cblas_sgemm`.
    ///
    /// Shapes: op(A) is (m, k), op(B) is (k, n), C is (m, n). With `transA` the stored A is (k, m) and op(A) = Aᵀ;
    /// likewise B. `lda`, `ldb`, `ldc` are the row strides (in elements) of the stored matrices:
    /// lda >= (transA ? m : k), ldb >= (transB ? k : n), ldc >= n. When beta == 0, C is not read (may hold NaN).
    /// Threads: OpenBLAS uses `Parallel.threadCount` threads outside `Parallel.forEach`, one inside (see `Parallel`).
    public static func gemm(
        transA: Bool, transB: Bool, m: Int, n: Int, k: Int, alpha: Float,
        a: UnsafePointer<Float>, lda: Int, b: UnsafePointer<Float>, ldb: Int,
        beta: Float, c: UnsafeMutablePointer<Float>, ldc: Int
    ) {
        checkArguments(transA: transA, transB: transB, m: m, n: n, k: k, lda: lda, ldb: ldb, ldc: ldc)
        if m == 0 || n == 0 { return }
        Parallel.prepareBLAS()
        cblas_sgemm(
            CblasRowMajor, transA ? CblasTrans : CblasNoTrans, transB ? CblasTrans : CblasNoTrans,
            blasInt(m), blasInt(n), blasInt(k), alpha, a, blasInt(lda), b, blasInt(ldb), beta, c, blasInt(ldc))
    }

    /// The number of threads OpenBLAS will use for the next call from this thread (nil with Accelerate, which
    /// manages its own threads).
    public static var threadCount: Int? {
        #if canImport(Accelerate)
        return nil
        #else
        Parallel.prepareBLAS()
        return Int(openblas_get_num_threads())
        #endif
    }

    /// The same contract as `gemm`, computed with plain loops and Double accumulators: the oracle for tests.
    public static func gemmReference(
        transA: Bool, transB: Bool, m: Int, n: Int, k: Int, alpha: Float,
        a: UnsafePointer<Float>, lda: Int, b: UnsafePointer<Float>, ldb: Int,
        beta: Float, c: UnsafeMutablePointer<Float>, ldc: Int
    ) {
        checkArguments(transA: transA, transB: transB, m: m, n: n, k: k, lda: lda, ldb: ldb, ldc: ldc)
        for i in 0..<m {
            for j in 0..<n {
                var sum = 0.0
                for p in 0..<k {
                    let aValue = transA ? a[p * lda + i] : a[i * lda + p]
                    let bValue = transB ? b[j * ldb + p] : b[p * ldb + j]
                    sum += Double(aValue) * Double(bValue)
                }
                let previous = beta == 0 ? 0 : Double(beta) * Double(c[i * ldc + j])
                c[i * ldc + j] = Float(Double(alpha) * sum + previous)
            }
        }
    }

    /// Leading dimensions too small for the shapes are programming errors (they would read out of bounds).
    @inline(__always)
    private static func checkArguments(
        transA: Bool, transB: Bool, m: Int, n: Int, k: Int, lda: Int, ldb: Int, ldc: Int
    ) {
        precondition(m >= 0 && n >= 0 && k >= 0, "BLAS.gemm: negative size m=\(m) n=\(n) k=\(k)")
        precondition(lda >= max(1, transA ? m : k), "BLAS.gemm: lda=\(lda) < \(transA ? "m" : "k")=\(transA ? m : k)")
        precondition(ldb >= max(1, transB ? k : n), "BLAS.gemm: ldb=\(ldb) < \(transB ? "k" : "n")=\(transB ? k : n)")
        precondition(ldc >= max(1, n), "BLAS.gemm: ldc=\(ldc) < n=\(n)")
    }

    #if canImport(Accelerate)
    @inline(__always) private static func blasInt(_ value: Int) -> Int32 { Int32(value) }
    #else
    @inline(__always) private static func blasInt(_ value: Int) -> blasint { blasint(value) }
    #endif
}
