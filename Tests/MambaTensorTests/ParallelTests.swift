import Testing
@testable import MambaTensor

/// Serialized: these tests change the process-wide thread count.
@Suite(.serialized) struct ParallelTests {
    /// A counter per index; each index is touched by one worker only, unless `forEach` is wrong.
    final class Counts: @unchecked Sendable {
        let values: UnsafeMutablePointer<Int>
        let count: Int
        init(_ count: Int) {
            self.count = count
            values = .allocate(capacity: max(count, 1))
            values.initialize(repeating: 0, count: max(count, 1))
        }
        deinit { values.deallocate() }
        var all: [Int] { Array(UnsafeBufferPointer(start: values, count: count)) }
    }

    @Test func everyIndexExactlyOnce() {
        let saved = Parallel.threadCount
        defer { Parallel.threadCount = saved }
        for threads in [1, 2, 3, 8] {
            Parallel.threadCount = threads
            for count in [0, 1, 2, 5, 1000] {
                let counts = Counts(count)
                Parallel.forEach(count) { index in counts.values[index] += 1 }
                #expect(counts.all == [Int](repeating: 1, count: count), "threads=\(threads) count=\(count)")
            }
        }
    }

    @Test func nestedLoopsRunInlineAndCoverEverything() {
        let saved = Parallel.threadCount
        defer { Parallel.threadCount = saved }
        Parallel.threadCount = 2
        let counts = Counts(6 * 7)
        let insideFlags = Counts(6)
        Parallel.forEach(6) { outer in
            if Parallel.isInsideRegion { insideFlags.values[outer] = 1 }
            Parallel.forEach(7) { inner in counts.values[outer * 7 + inner] += 1 }
        }
        #expect(counts.all == [Int](repeating: 1, count: 42))
        #expect(insideFlags.all == [Int](repeating: 1, count: 6))
        #expect(!Parallel.isInsideRegion)
    }

    @Test func blasIsSingleThreadedInsideRegionsOnly() async throws {
        #if !canImport(Accelerate)
        let saved = Parallel.threadCount
        defer { Parallel.threadCount = saved }
        Parallel.threadCount = 2
        let inside = Counts(4)
        Parallel.forEach(4) { index in inside.values[index] = BLAS.threadCount ?? -1 }
        #expect(inside.all == [1, 1, 1, 1])
        // Outside every region BLAS gets threadCount threads. Other tests in this process may be inside a region at
        // any moment, so read both counts atomically at a moment when none is.
        for expected in [2, 1] {
            Parallel.threadCount = expected
            var observed: (pool: Int, blas: Int?)?
            for _ in 0..<500 where observed == nil {
                observed = Parallel.idleThreadCounts()
                if observed == nil { try await Task.sleep(nanoseconds: 10_000_000) }
            }
            let counts = try #require(observed, "no moment without a parallel region in 5 s")
            #expect(counts.pool == expected && counts.blas == expected)
        }
        #endif
    }

    @Test func gemmInsideWorkersMatchesReference() {
        let saved = Parallel.threadCount
        defer { Parallel.threadCount = saved }
        Parallel.threadCount = 2
        // Four independent (8, 6) · (6, 5) products, one per index.
        var generator = Xoshiro256StarStar(seed: 5)
        let a = Tensor(shape: [4, 8, 6], values: (0..<192).map { _ in generator.nextUniform() - 0.5 })
        let b = Tensor(shape: [4, 6, 5], values: (0..<120).map { _ in generator.nextUniform() - 0.5 })
        let fast = Tensor(zeros: [4, 8, 5]), reference = Tensor(zeros: [4, 8, 5])
        Parallel.forEach(4) { index in
            BLAS.gemm(transA: false, transB: false, m: 8, n: 5, k: 6, alpha: 1, a: a.pointer + index * 48, lda: 6,
                      b: b.pointer + index * 30, ldb: 5, beta: 0, c: fast.pointer + index * 40, ldc: 5)
        }
        for index in 0..<4 {
            BLAS.gemmReference(transA: false, transB: false, m: 8, n: 5, k: 6, alpha: 1, a: a.pointer + index * 48,
                               lda: 6, b: b.pointer + index * 30, ldb: 5, beta: 0,
                               c: reference.pointer + index * 40, ldc: 5)
        }
        let worst = zip(fast.array, reference.array).map { abs($0 - $1) }.max() ?? 0
        #expect(worst < 1e-5)
    }
}
