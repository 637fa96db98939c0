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
        private var largestMagnitude: Float = 0
        private var sumOfSquares: Double = 0
        private var count = 0

        mutating func add(_ samples: UnsafeBufferPointer<Float>) {
            // Four partial sums keep the Double additions from forming one long dependency chain.
            var sums = SIMD4<Double>.zero
            var largest: Float = largestMagnitude
            var i = 0
            while i + 4 <= samples.count {
                let x = SIMD4<Double>(Double(samples[i]), Double(samples[i + 1]),
                                      Double(samples[i + 2]), Double(samples[i + 3]))
                sums += x * x
                largest = max(largest, abs(samples[i]), abs(samples[i + 1]),
                              abs(samples[i + 2]), abs(samples[i + 3]))
                i += 4
            }
            while i < samples.count {
                sums[0] += Double(samples[i]) * Double(samples[i])
                largest = max(largest, abs(samples[i]))
                i += 1
            }
            sumOfSquares += sums.sum()
            largestMagnitude = largest
            count += samples.count
        }

        var result: AudioStatistics {
            // NaN² is NaN, so the sum is NaN exactly when a sample was; `max` alone would skip NaNs.
            AudioStatistics(
                peak: sumOfSquares.isNaN ? .nan : largestMagnitude,
                rms: count == 0 ? 0 : (sumOfSquares / Double(count)).squareRoot(),
                sampleCount: count)
        }
    }
}
