import Testing
import _MambaTestSupport
@testable import MambaTensor

@Suite struct BLASTests {
    struct Case: CustomTestStringConvertible, Sendable {
        let m: Int, n: Int, k: Int
        var testDescription: String { "m=\(m) n=\(n) k=\(k)" }
    }

    static let sizes: [Case] = [
        Case(m: 1, n: 1, k: 1), Case(m: 3, n: 5, k: 7), Case(m: 17, n: 13, k: 33),
        Case(m: 64, n: 31, k: 9), Case(m: 2, n: 97, k: 65),
    ]

    /// A `rows` × `ld` buffer of uniforms in [-1, 1): the padding beyond the used columns is random too, so reading it
    /// by mistake changes the result.
    static func randomMatrix(rows: Int, ld: Int, generator: inout Xoshiro256StarStar) -> [Float] {
        (0..<(rows * ld)).map { _ in generator.nextUniform() * 2 - 1 }
    }

    @Test(arguments: sizes, [(false, false), (false, true), (true, false), (true, true)])
    func gemmMatchesReference(size: Case, transposes: (Bool, Bool)) {
        let (transA, transB) = transposes
        var generator = Xoshiro256StarStar(seed: 42)
        let (m, n, k) = (size.m, size.n, size.k)
        // Stored shapes: A is (m, k) or (k, m); B is (k, n) or (n, k). Leading dimensions padded by 3.
        let aRows = transA ? k : m, aColumns = transA ? m : k
        let bRows = transB ? n : k, bColumns = transB ? k : n
        let lda = aColumns + 3, ldb = bColumns + 3, ldc = n + 3
        let a = Self.randomMatrix(rows: aRows, ld: lda, generator: &generator)
        let b = Self.randomMatrix(rows: bRows, ld: ldb, generator: &generator)
        let c0 = Self.randomMatrix(rows: m, ld: ldc, generator: &generator)
        for beta: Float in [0, 1.25] {
            var fast = c0, reference = c0
            if beta == 0 {
                // beta = 0 must not read C: NaN in the (m, n) block must not leak into the result.
                for i in 0..<m { for j in 0..<n { fast[i * ldc + j] = .nan; reference[i * ldc + j] = .nan } }
            }
            BLAS.gemm(transA: transA, transB: transB, m: m, n: n, k: k, alpha: 0.75, a: a, lda: lda,
                      b: b, ldb: ldb, beta: beta, c: &fast, ldc: ldc)
            BLAS.gemmReference(transA: transA, transB: transB, m: m, n: n, k: k, alpha: 0.75, a: a, lda: lda,
                               b: b, ldb: ldb, beta: beta, c: &reference, ldc: ldc)
            // Compare the (m, n) block; the padding columns must be untouched by both.
            var fastBlock: [Float] = [], referenceBlock: [Float] = []
            for i in 0..<m {
                for j in 0..<ldc {
                    if j < n {
                        fastBlock.append(fast[i * ldc + j])
                        referenceBlock.append(reference[i * ldc + j])
                    } else {
                        #expect(fast[i * ldc + j] == c0[i * ldc + j])
                        #expect(reference[i * ldc + j] == c0[i * ldc + j])
                    }
                }
            }
            #expect(fastBlock.allSatisfy { $0.isFinite })
            #expect(relativeError(fastBlock, reference: referenceBlock) < 1e-5, "beta=\(beta)")
        }
    }

    @Test func referenceMatchesHandComputedProduct() {
        // [[1, 2], [3, 4]] · [[5, 6], [7, 8]] = [[19, 22], [43, 50]]; then 2·that + 1·C.
        let a: [Float] = [1, 2, 3, 4], b: [Float] = [5, 6, 7, 8]
        var c: [Float] = [1, 1, 1, 1]
        BLAS.gemmReference(transA: false, transB: false, m: 2, n: 2, k: 2, alpha: 2, a: a, lda: 2, b: b, ldb: 2,
                           beta: 1, c: &c, ldc: 2)
        #expect(c == [39, 45, 87, 101])
        var ct: [Float] = [0, 0, 0, 0]
        // Aᵀ · B with A = [[1, 2], [3, 4]]: [[1, 3], [2, 4]] · B = [[26, 30], [38, 44]].
        BLAS.gemm(transA: true, transB: false, m: 2, n: 2, k: 2, alpha: 1, a: a, lda: 2, b: b, ldb: 2,
                  beta: 0, c: &ct, ldc: 2)
        #expect(ct == [26, 30, 38, 44])
    }

    @Test func emptyInnerDimensionScalesC() {
        let a: [Float] = [0], b: [Float] = [0, 0, 0]
        var fast: [Float] = [1, 2, 3, 4, 5, 6], reference = fast
        BLAS.gemm(transA: false, transB: false, m: 2, n: 3, k: 0, alpha: 1, a: a, lda: 1, b: b, ldb: 3,
                  beta: 0.5, c: &fast, ldc: 3)
        BLAS.gemmReference(transA: false, transB: false, m: 2, n: 3, k: 0, alpha: 1, a: a, lda: 1, b: b, ldb: 3,
                           beta: 0.5, c: &reference, ldc: 3)
        #expect(fast == [0.5, 1, 1.5, 2, 2.5, 3])
        #expect(reference == fast)
    }
}
