// Level statistics of a whole file, accumulated block by block: peak and RMS over all samples of all channels.

/// Peak and RMS level over every sample of every channel of a file.
public struct AudioStatistics: Sendable, Equatable {
    /// The largest |sample|; NaN if a sample was NaN (possible only when non-finite samples are allowed).
    public let peak: Float
    /// sqrt(mean of sample²), accumulated in Double.
    public let rms: Double
    /// Number of samples measured: frames × channels.
    public let sampleCount: Int

    /// Running sums over blocks of samples.
    struct Accumulator {
        /// The largest |x| as a bit pattern: for non-negative floats the integer order is the numeric order, and
        /// every NaN pattern is above +infinity's, so a NaN sample makes the peak NaN without a branch.
        private var largestMagnitudeBits: UInt32 = 0
        private var sumOfSquares: Double = 0
        private var count = 0

        mutating func add(_ samples: UnsafeBufferPointer<Float>) {
            // Four independent Double sums: one chain of dependent additions would bound the loop by add latency.
            // (Measured on baseline x86-64: 1.4 ns per sample, against 5.4 for SIMD4<Double> built lane by lane.)
            var s0 = 0.0, s1 = 0.0, s2 = 0.0, s3 = 0.0
            var m0: UInt32 = 0, m1: UInt32 = 0, m2: UInt32 = 0, m3: UInt32 = 0
            let magnitude: UInt32 = 0x7FFF_FFFF
            var i = 0
            while i + 4 <= samples.count {
                let a = samples[i], b = samples[i + 1], c = samples[i + 2], d = samples[i + 3]
                s0 += Double(a) * Double(a)
                s1 += Double(b) * Double(b)
                s2 += Double(c) * Double(c)
                s3 += Double(d) * Double(d)
                m0 = max(m0, a.bitPattern & magnitude)
                m1 = max(m1, b.bitPattern & magnitude)
                m2 = max(m2, c.bitPattern & magnitude)
                m3 = max(m3, d.bitPattern & magnitude)
                i += 4
            }
            while i < samples.count {
                s0 += Double(samples[i]) * Double(samples[i])
                m0 = max(m0, samples[i].bitPattern & magnitude)
                i += 1
            }
            sumOfSquares += (s0 + s1) + (s2 + s3)
            largestMagnitudeBits = max(largestMagnitudeBits, m0, m1, m2, m3)
            count += samples.count
        }

        var result: AudioStatistics {
            AudioStatistics(
                peak: Float(bitPattern: largestMagnitudeBits),
                rms: count == 0 ? 0 : (sumOfSquares / Double(count)).squareRoot(),
                sampleCount: count)
        }
    }
}
