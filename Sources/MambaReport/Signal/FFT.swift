// The discrete Fourier transform for spectrograms: an iterative radix-2 Cooley–Tukey FFT in Double (bit-reversal
// permutation, then log2(n) passes of butterflies with precomputed twiddles), O(n log n). Convention:
//   X[k] = Σ_t x[t] · exp(−2πi · k · t / n),  k = 0 ..< n   (no scaling; numpy.fft.fft's).
// Tests compare it with the O(n²) sum written straight from this formula.
import Foundation

/// A radix-2 FFT of one size, with its twiddle factors and bit-reversal table computed once.
struct FFTPlan {
    /// The transform size, a power of two.
    let size: Int
    private let cosines: [Double]
    private let sines: [Double]
    private let reversed: [Int]

    /// A plan for `size` (a power of two, at least 1).
    init(size: Int) {
        precondition(size >= 1 && size & (size - 1) == 0, "FFTPlan: size \(size) is not a power of two")
        self.size = size
        let half = max(1, size / 2)
        cosines = (0..<half).map { Foundation.cos(-2 * Double.pi * Double($0) / Double(size)) }
        sines = (0..<half).map { Foundation.sin(-2 * Double.pi * Double($0) / Double(size)) }
        var bits = 0
        while 1 << bits < size { bits += 1 }
        reversed = (0..<size).map { i in
            var r = 0
            for b in 0..<bits where i & (1 << b) != 0 { r |= 1 << (bits - 1 - b) }
            return r
        }
    }

    /// X = DFT(x) in place: `real` and `imaginary` hold x on entry (size values each), X on return.
    func transform(real: inout [Double], imaginary: inout [Double]) {
        precondition(real.count == size && imaginary.count == size, "FFTPlan: expected \(size) values")
        for i in 0..<size where reversed[i] > i {
            real.swapAt(i, reversed[i])
            imaginary.swapAt(i, reversed[i])
        }
        var span = 1
        while span < size {
            // Butterflies of width 2·span; twiddle w^j = exp(−2πi · j / (2·span)) = table[j · size / (2·span)].
            let stride = size / (2 * span)
            var start = 0
            while start < size {
                for j in 0..<span {
                    let wr = cosines[j * stride], wi = sines[j * stride]
                    let a = start + j, b = a + span
                    let tr = real[b] * wr - imaginary[b] * wi
                    let ti = real[b] * wi + imaginary[b] * wr
                    real[b] = real[a] - tr
                    imaginary[b] = imaginary[a] - ti
                    real[a] += tr
                    imaginary[a] += ti
                }
                start += 2 * span
            }
            span *= 2
        }
    }
}
