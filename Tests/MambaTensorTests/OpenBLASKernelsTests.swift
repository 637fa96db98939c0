import MambaTensor
import Testing

@Suite struct OpenBLASKernelsTests {
    let zen5: Set<String> = ["sse3", "avx", "avx2", "fma", "avx512f", "avx512cd", "avx512bw", "avx512dq", "avx512vl"]
    let haswell: Set<String> = ["sse3", "avx", "avx2", "fma"]

    @Test func recommendsTheWidestFamilyTheCPUHas() {
        #expect(OpenBLASKernels.recommendedCoreType(cpuFlags: zen5) == "SkylakeX")
        #expect(OpenBLASKernels.recommendedCoreType(cpuFlags: haswell) == "Haswell")
        #expect(OpenBLASKernels.recommendedCoreType(cpuFlags: ["sse3", "avx"]) == nil)
    }

    @Test func replacesOnlyAFallbackTheUserDidNotChoose() {
        #expect(OpenBLASKernels.betterCoreType(current: "Prescott", cpuFlags: zen5, userChoice: nil) == "SkylakeX")
        #expect(OpenBLASKernels.betterCoreType(current: "Prescott", cpuFlags: haswell, userChoice: nil) == "Haswell")
        #expect(OpenBLASKernels.betterCoreType(current: "Prescott", cpuFlags: zen5, userChoice: "Haswell") == nil)
        #expect(OpenBLASKernels.betterCoreType(current: "Haswell", cpuFlags: zen5, userChoice: nil) == nil)
        #expect(OpenBLASKernels.betterCoreType(current: "SkylakeX", cpuFlags: zen5, userChoice: nil) == nil)
        #expect(OpenBLASKernels.betterCoreType(current: "Prescott", cpuFlags: ["sse3"], userChoice: nil) == nil)
    }

    @Test func readsThisMachinesFlags() {
        #if os(Linux) && arch(x86_64)
        #expect(OpenBLASKernels.cpuFlags().contains("sse2"))
        #endif
        #expect(OpenBLASKernels.coreName != nil)
    }
}
