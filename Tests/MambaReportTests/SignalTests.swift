import CZlib
import Foundation
import Testing
@testable import MambaReport

/// X[k] = Σ_t x[t] exp(−2πi k t / n), written straight from the definition, O(n²).
private func naiveDFT(_ re: [Double], _ im: [Double]) -> ([Double], [Double]) {
    let n = re.count
    var outRe = [Double](repeating: 0, count: n), outIm = [Double](repeating: 0, count: n)
    for k in 0..<n {
        for t in 0..<n {
            let angle = -2 * Double.pi * Double(k * t % n) / Double(n)
            outRe[k] += re[t] * cos(angle) - im[t] * sin(angle)
            outIm[k] += re[t] * sin(angle) + im[t] * cos(angle)
        }
    }
    return (outRe, outIm)
}

@Test func fftMatchesTheNaiveDFT() {
    var generator = SystemRandomNumberGenerator()
    for size in [1, 2, 4, 8, 16, 64, 256, 512] {
        let re = (0..<size).map { _ in Double.random(in: -1...1, using: &generator) }
        let im = (0..<size).map { _ in Double.random(in: -1...1, using: &generator) }
        var fastRe = re, fastIm = im
        FFTPlan(size: size).transform(real: &fastRe, imaginary: &fastIm)
        let (slowRe, slowIm) = naiveDFT(re, im)
        let error = zip(fastRe + fastIm, slowRe + slowIm).map { abs($0 - $1) }.max()!
        #expect(error < 1e-9 * Double(size), "size \(size): max error \(error)")
    }
}

@Test func aFullScaleSineReadsZeroDecibelsAtItsFrequency() throws {
    let rate = 16_000.0
    // 1 kHz = bin 32 of a 512-point FFT at 16 kHz (window 0.032 s = 512 samples).
    let samples = (0..<16_000).map { Float(sin(2 * Double.pi * 1000 * Double($0) / rate)) }
    let s = try Spectrogram(samples: samples, sampleRate: rate, windowSeconds: 0.032, hopSeconds: 0.01)
    #expect(s.fftSize == 512 && s.windowLength == 512 && s.hop == 160)
    #expect(s.times.count == 1 + (16_000 - 512) / 160)
    #expect(s.frequencies.count == 257 && s.frequencies[32] == 1000 && s.frequencies.last == 8000)
    #expect(abs(s.times[0] - 0.016) < 1e-12)
    for k in [0, s.times.count / 2, s.times.count - 1] {
        let row = (0..<257).map { s.level(frame: k, bin: $0) }
        let peak = row.indices.max { row[$0] < row[$1] }!
        #expect(peak == 32)
        #expect(abs(row[32]) < 0.01, "peak level \(row[32]) dBFS")
        // Hann's sidelobes: 3 bins away the level is far below the peak.
        #expect(row[35] < -60)
    }
    // Half amplitude reads −6.02 dB.
    let half = try Spectrogram(samples: samples.map { $0 / 2 }, sampleRate: rate, windowSeconds: 0.032)
    #expect(abs(half.level(frame: 3, bin: 32) + 6.0206) < 0.01)
}

@Test func spectrogramRefusesBadInput() {
    #expect(throws: ReportError.self) { try Spectrogram(samples: [], sampleRate: 16_000) }
    #expect(throws: ReportError.self) { try Spectrogram(samples: [0, .nan], sampleRate: 16_000) }
    #expect(throws: ReportError.self) { try Spectrogram(samples: [0], sampleRate: 0) }
    #expect(throws: ReportError.self) { try Spectrogram(samples: [0], sampleRate: 16_000, windowSeconds: 0.0001) }
    #expect(throws: ReportError.self) { try Spectrogram(samples: [0], sampleRate: 16_000, hopSeconds: 0) }
    // Shorter than a window: one zero-padded frame.
    #expect((try? Spectrogram(samples: [1, 0, 0], sampleRate: 16_000))?.times.count == 1)
}

@Test func spectrogramOfThreeSecondsIsQuick() throws {
    let rate = 16_000.0
    var generator = SystemRandomNumberGenerator()
    let samples = (0..<48_000).map { _ in Float.random(in: -0.5...0.5, using: &generator) }
    let start = Date()
    let s = try Spectrogram(samples: samples, sampleRate: rate)
    let svg = try SpectrogramChart(title: "noise", spectrogram: s).svg()
    let seconds = Date().timeIntervalSince(start)
    // Debug build, shared 2-core machine: generous bound (about 0.3 s measured when idle).
    #expect(seconds < 5, "\(seconds) s")
    let parsed = try parseValidSVG(svg)
    #expect(parsed.images.count == 1)
    let texts = parsed.texts
    for text in ["time (s)", "frequency (kHz)", "level (dBFS)", "0", "1.0", "2.0", "3.0", "2", "4", "6", "8"] {
        #expect(texts.contains(text), "missing \(text)")
    }
    #expect(texts.contains("Hann window 25 ms, hop 10 ms, sample rate 16 kHz"))
}

@Test func pngDecodesWithZlibToTheSamePixels() throws {
    let width = 300, height = 250  // > 65535 bytes of scanlines: several stored blocks
    var generator = SystemRandomNumberGenerator()
    let rgb = (0..<(width * height * 3)).map { _ in UInt8.random(in: 0...255, using: &generator) }
    let png = [UInt8](PNGEncoder.encode(width: width, height: height, rgb: rgb))
    #expect(Array(png[0..<8]) == [0x89, 0x50, 0x4E, 0x47, 0x0D, 0x0A, 0x1A, 0x0A])
    // Walk the chunks, checking each CRC with zlib's crc32.
    var offset = 8
    var types: [String] = []
    var idat: [UInt8] = []
    func be32(_ i: Int) -> Int { Int(png[i]) << 24 | Int(png[i + 1]) << 16 | Int(png[i + 2]) << 8 | Int(png[i + 3]) }
    while offset < png.count {
        let length = be32(offset)
        let type = String(decoding: png[(offset + 4)..<(offset + 8)], as: UTF8.self)
        let body = Array(png[(offset + 4)..<(offset + 8 + length)])
        let crc = body.withUnsafeBufferPointer { CZlib.crc32(0, $0.baseAddress, uInt($0.count)) }
        #expect(UInt(crc) == UInt(be32(offset + 8 + length)), "CRC of \(type)")
        if type == "IDAT" { idat += body.dropFirst(4) }
        if type == "IHDR" {
            #expect(be32(offset + 8) == width && be32(offset + 12) == height)
            #expect(Array(body[12..<17]) == [8, 2, 0, 0, 0])
        }
        types.append(type)
        offset += 12 + length
    }
    #expect(types == ["IHDR", "IDAT", "IEND"])
    var raw = [UInt8](repeating: 0, count: height * (width * 3 + 1))
    var rawLength = uLongf(raw.count)
    let status = CZlib.uncompress(&raw, &rawLength, idat, uLong(idat.count))
    #expect(status == Z_OK && Int(rawLength) == raw.count)
    for row in 0..<height {
        #expect(raw[row * (width * 3 + 1)] == 0)
        #expect(Array(raw[(row * (width * 3 + 1) + 1)..<((row + 1) * (width * 3 + 1))])
                == Array(rgb[(row * width * 3)..<((row + 1) * width * 3)]))
    }
}

@Test func waveformDrawsAnEnvelopeWhenDenseAndALineWhenSparse() throws {
    let rate = 16_000.0
    let dense = (0..<32_000).map { Float(0.6 * sin(2 * Double.pi * 220 * Double($0) / rate)) }
    let chart = try WaveformChart(title: "A 220 Hz tone", samples: dense, sampleRate: rate)
    let parsed = try parseValidSVG(chart.svg())
    #expect(parsed.elementNames.contains("polygon") && !parsed.elementNames.contains("polyline"))
    for text in ["time (s)", "amplitude (full scale)", "0", "0.5", "1.0", "1.5", "2.0", "-1.0", "1.0"] {
        #expect(parsed.texts.contains(text), "missing \(text)")
    }
    let sparse = try WaveformChart(title: "few", samples: [0, 0.5, -0.25, 0.1], sampleRate: 8)
    #expect(try parseValidSVG(sparse.svg()).elementNames.contains("polyline"))
    #expect(throws: ReportError.self) { try WaveformChart(title: "t", samples: [], sampleRate: 8000) }
    #expect(throws: ReportError.self) { try WaveformChart(title: "t", samples: [.infinity], sampleRate: 8000) }
}
