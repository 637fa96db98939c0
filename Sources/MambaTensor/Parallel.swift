// One process-wide pool for data-parallel loops, and the rule that keeps OpenBLAS's own threads from multiplying with it.
//
// The pool is libdispatch's global pool (`DispatchQueue.concurrentPerform`): threads live for the whole process and
// are shared with everything else that uses Dispatch, so there is exactly one set of worker threads. `forEach` splits
// its range into at most `threadCount` contiguous parts, one per worker.
//
// BLAS threads: OpenBLAS keeps its own pthread pool whose size is a process-wide setting. Outside parallel regions it
// is `threadCount` (a single big gemm uses every core); while any `forEach` region with more than one worker is
// running it is 1, so a gemm called from inside a worker runs on that worker alone and the machine is never asked for
// threadCount² threads. Nested `forEach` calls (from inside a worker) run inline for the same reason.
import Dispatch
import Foundation
#if canImport(Accelerate)
import Accelerate
#else
import CBLAS
#endif

/// Data-parallel loops on one process-wide pool of threads.
public enum Parallel {
    /// The number of workers `forEach` uses (>= 1), also the OpenBLAS thread count outside parallel regions.
    ///
    /// Default: the environment variable `MAMBAKIT_THREADS` when it holds a positive integer, otherwise the number of
    /// active processors. Setting it takes effect for the next `forEach` and `BLAS.gemm`.
    public static var threadCount: Int {
        get { state.withLock { $0.threadCount } }
        set {
            precondition(newValue >= 1, "Parallel.threadCount must be >= 1, got \(newValue)")
            state.withLock { state in
                state.threadCount = newValue
                if state.activeRegions == 0 { setBLASThreads(newValue) }
            }
        }
    }

    /// Runs `body(i)` for every i in 0..<count, each exactly once, on up to `threadCount` threads, and returns when
    /// all are done. Runs inline (in order, on the calling thread) when threadCount == 1, count <= 1, or when called
    /// from inside another `forEach`. `body` must not depend on the order or on which thread runs it.
    public static func forEach(_ count: Int, _ body: @Sendable (Int) -> Void) {
        if count <= 0 { return }
        let workers = min(threadCount, count)
        if workers <= 1 || isInsideRegion {
            for index in 0..<count { body(index) }
            return
        }
        enterRegion()
        DispatchQueue.concurrentPerform(iterations: workers) { worker in
            setInsideRegion(true)
            // Contiguous parts: neighbouring indices (e.g. adjacent channel blocks) stay on one core's cache.
            let start = worker * count / workers
            let end = (worker + 1) * count / workers
            for index in start..<end { body(index) }
            setInsideRegion(false)
        }
        exitRegion()
    }

    /// True on a thread that is running a `forEach` body with more than one worker.
    public static var isInsideRegion: Bool { pthread_getspecific(regionKey) != nil }

    /// Makes sure OpenBLAS's thread count has been synchronised with `threadCount` once (called by `BLAS.gemm`).
    static func prepareBLAS() { _ = state }

    /// (threadCount, BLAS thread count) read together while no parallel region runs anywhere in the process, or nil
    /// while one does (for tests, which share the process with other tests using `forEach`).
    static func idleThreadCounts() -> (pool: Int, blas: Int?)? {
        state.withLock { state in
            state.activeRegions == 0 ? (state.threadCount, BLAS.threadCount) : nil
        }
    }

    // MARK: - State

    private struct State {
        var threadCount: Int
        /// Parallel regions (with more than one worker) now running, from any thread.
        var activeRegions = 0
    }

    private final class Locked: @unchecked Sendable {
        private let lock = NSLock()
        private var state: State
        init(_ state: State) { self.state = state }
        func withLock<R>(_ body: (inout State) -> R) -> R {
            lock.lock()
            defer { lock.unlock() }
            return body(&state)
        }
    }

    private static let state: Locked = {
        let initial = defaultThreadCount()
        setBLASThreads(initial)
        return Locked(State(threadCount: initial))
    }()

    private static func defaultThreadCount() -> Int {
        if let text = ProcessInfo.processInfo.environment["MAMBAKIT_THREADS"], let value = Int(text), value >= 1 {
            return value
        }
        return max(1, ProcessInfo.processInfo.activeProcessorCount)
    }

    private static func enterRegion() {
        state.withLock { state in
            state.activeRegions += 1
            if state.activeRegions == 1 { setBLASThreads(1) }
        }
    }

    private static func exitRegion() {
        state.withLock { state in
            state.activeRegions -= 1
            if state.activeRegions == 0 { setBLASThreads(state.threadCount) }
        }
    }

    private static func setBLASThreads(_ count: Int) {
        #if !canImport(Accelerate)
        openblas_set_num_threads(Int32(count))
        #endif
    }

    // A thread-specific flag (pthread key) marks the threads running a region's bodies.
    private static let regionKey: pthread_key_t = {
        var key = pthread_key_t()
        let status = pthread_key_create(&key, nil)
        precondition(status == 0, "Parallel: pthread_key_create failed with \(status)")
        return key
    }()

    private static func setInsideRegion(_ inside: Bool) {
        pthread_setspecific(regionKey, inside ? UnsafeRawPointer(bitPattern: 1) : nil)
    }
}
