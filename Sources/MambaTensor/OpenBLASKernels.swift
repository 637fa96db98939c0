// Which OpenBLAS kernels run, and a fix for CPUs that OpenBLAS does not recognise.
//
// OpenBLAS built with DYNAMIC_ARCH (Debian's libopenblas0-pthread) picks its kernels once, when the library loads,
// from cpuid or from the environment variable OPENBLAS_CORETYPE. Debian 12's OpenBLAS 0.3.21 does not know AMD Zen 4
// and Zen 5 and falls back to "Prescott" (SSE3) kernels there: on this project's 2-core Zen 5 machines sgemm then ran
// at 31 GFLOP/s on one core, 139 GFLOP/s two-core with "SkylakeX" (AVX-512) kernels, and the model forward at 7,600
// vs 22,000 tokens/s (`mambakit bench forward`, issue 4's shape). Since the choice is made at load time, a program can
// only fix it by setting OPENBLAS_CORETYPE and starting again: `OpenBLASKernels.restartWithBetterKernelsIfNeeded()`.
#if canImport(Glibc)
import Glibc
#endif
#if !canImport(Accelerate)
import CBLAS
#endif

/// OpenBLAS's kernel family, and the choice of a better one where OpenBLAS fell back to an old one.
public enum OpenBLASKernels {
    /// OpenBLAS's kernel family in use (`openblas_get_corename`), e.g. "Haswell", "SkylakeX", "Prescott"; nil with
    /// Accelerate.
    public static var coreName: String? {
        #if canImport(Accelerate)
        return nil
        #else
        guard let name = openblas_get_corename() else { return nil }
        return String(cString: name)
        #endif
    }

    /// Kernel families older than AVX2 + FMA: a fallback on a modern CPU.
    static let preAVX2Cores: Set<String> = [
        "prescott", "core2", "penryn", "dunnington", "nehalem", "atom", "katmai", "coppermine", "northwood",
        "banias", "sandybridge", "bulldozer", "piledriver", "steamroller", "excavator", "opteron", "barcelona",
        "bobcat", "unknown",
    ]

    /// The best OpenBLAS core type for a CPU with these feature flags (as /proc/cpuinfo's "flags" line lists them):
    /// "SkylakeX" with AVX-512 F, CD, BW, DQ and VL; "Haswell" with AVX2 and FMA; nil otherwise.
    public static func recommendedCoreType(cpuFlags: Set<String>) -> String? {
        if ["avx512f", "avx512cd", "avx512bw", "avx512dq", "avx512vl"].allSatisfy(cpuFlags.contains) {
            return "SkylakeX"
        }
        if ["avx2", "fma"].allSatisfy(cpuFlags.contains) { return "Haswell" }
        return nil
    }

    /// The core type to ask for: a recommendation when OpenBLAS runs a pre-AVX2 family on a CPU that has AVX2, nil
    /// when the kernels in use are fine or the user chose them (OPENBLAS_CORETYPE set).
    public static func betterCoreType(current: String?, cpuFlags: Set<String>, userChoice: String?) -> String? {
        guard userChoice == nil, let current, preAVX2Cores.contains(current.lowercased()) else { return nil }
        return recommendedCoreType(cpuFlags: cpuFlags)
    }

    /// The CPU's feature flags from /proc/cpuinfo (empty where that file does not exist).
    public static func cpuFlags() -> Set<String> {
        #if os(Linux)
        guard let file = fopen("/proc/cpuinfo", "r") else { return [] }
        defer { fclose(file) }
        var line: UnsafeMutablePointer<CChar>? = nil
        var capacity = 0
        defer { free(line) }
        while getline(&line, &capacity, file) > 0 {
            guard let line else { break }
            let text = String(cString: line)
            if text.hasPrefix("flags") || text.hasPrefix("Features"), let colon = text.firstIndex(of: ":") {
                return Set(text[text.index(after: colon)...].split(whereSeparator: { $0 == " " || $0 == "\n" })
                    .map(String.init))
            }
        }
        #endif
        return []
    }

    /// If OpenBLAS fell back to pre-AVX2 kernels on a CPU that has AVX2 or AVX-512, and OPENBLAS_CORETYPE is not set,
    /// sets it to the recommended family and restarts this program with the same arguments (execv of
    /// /proc/self/exe), so the kernels are chosen again at load. Returns normally when nothing needs doing or the
    /// restart is not possible. Call it first thing in `main`, before any other work. The variable is then set, so
    /// the new process does not restart again.
    public static func restartWithBetterKernelsIfNeeded() {
        #if os(Linux) && !canImport(Accelerate)
        let userChoice = getenv("OPENBLAS_CORETYPE").map { String(cString: $0) }
        guard getenv("MAMBAKIT_KEEP_OPENBLAS_CORE") == nil,
              let better = betterCoreType(current: coreName, cpuFlags: cpuFlags(), userChoice: userChoice)
        else { return }
        setenv("OPENBLAS_CORETYPE", better, 1)
        let arguments = CommandLine.arguments.map { strdup($0) } + [nil]
        defer { arguments.forEach { free($0) } }
        execv("/proc/self/exe", arguments)
        // execv returned: the restart failed; carry on with the kernels we have.
        unsetenv("OPENBLAS_CORETYPE")
        #endif
    }
}
