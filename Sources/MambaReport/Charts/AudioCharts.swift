// Pictures of audio: the waveform (amplitude against seconds) and the spectrogram (level in dBFS over time in s and
// frequency in kHz).
import Foundation

/// A waveform: amplitude (full scale, ±1) against time (s). Dense signals are drawn as the minimum-maximum envelope
/// of the samples under each px column, so peaks are never lost and the SVG stays small.
public struct WaveformChart: SVGChart {
    /// The title.
    public let title: String
    /// A line under the title; nil for none.
    public let subtitle: String?
    /// The samples (mono).
    public let samples: [Float]
    /// The sample rate (Hz).
    public let sampleRate: Double
    /// The amplitude axis range; nil: symmetric about 0, rounded up from the peak (at most ±1 unless the signal
    /// exceeds full scale).
    public let amplitudeRange: ClosedRange<Double>?
    /// The picture's width in px.
    public let width: Double
    /// The picture's height in px.
    public let height: Double

    /// A waveform chart; throws on no samples, non-finite samples, or a rate outside 1 Hz ... 1 MHz.
    public init(title: String, subtitle: String? = nil, samples: [Float], sampleRate: Double,
                amplitudeRange: ClosedRange<Double>? = nil, width: Double = 760, height: Double = 300) throws {
        try Self.check(samples: samples, sampleRate: sampleRate, what: "waveform '\(title)'")
        guard width >= 240, height >= 160, width <= 10_000, height <= 10_000 else {
            throw ReportError("waveform '\(title)': expected a size within 240 × 160 ... 10000 × 10000 px, found \(width) × \(height)")
        }
        if let range = amplitudeRange, !(range.lowerBound.isFinite && range.upperBound.isFinite && range.upperBound > range.lowerBound) {
            throw ReportError("waveform '\(title)': expected a non-empty finite amplitude range, found \(range)")
        }
        self.title = title
        self.subtitle = subtitle
        self.samples = samples
        self.sampleRate = sampleRate
        self.amplitudeRange = amplitudeRange
        self.width = width
        self.height = height
    }

    static func check(samples: [Float], sampleRate: Double, what: String) throws {
        guard !samples.isEmpty else { throw ReportError("\(what): expected at least one sample, found none") }
        guard sampleRate >= 1, sampleRate <= 1_000_000 else {
            throw ReportError("\(what): expected a sample rate in 1 ... 1000000 Hz, found \(sampleRate)")
        }
        if let bad = samples.firstIndex(where: { !$0.isFinite }) {
            throw ReportError("\(what): expected finite samples, found \(samples[bad]) at sample \(bad)")
        }
    }

    /// The amplitude axis for `samples`: ±(the peak rounded up to a tick), at least ±0.1.
    static func amplitudeAxis(_ samples: [Float], range: ClosedRange<Double>?) -> ResolvedAxis {
        if let range { return .fixed(low: range.lowerBound, high: range.upperBound, target: 4) }
        let peak = Double(samples.map { abs($0) }.max() ?? 0)
        let limit = peak > 1 ? peak : min(1, max(0.1, peak))
        return .linear(low: -limit, high: limit, target: 3)
    }

    /// The SVG document.
    public func svg() -> String {
        var canvas = SVGCanvas(width: width, height: height)
        let top = canvas.header(title: title, subtitle: subtitle) + 10
        let yAxis = Self.amplitudeAxis(samples, range: amplitudeRange)
        let duration = Double(samples.count) / sampleRate
        let left = 20 + 22 + SVGCanvas.tickLabelWidth(yAxis) + 14
        let plotWidth = width - left - 28
        let xAxis = ResolvedAxis.fixed(low: 0, high: duration, target: max(3, Int(plotWidth / 95)))
        let area = PlotArea(x: left, y: top, width: plotWidth,
                            height: max(40, height - top - SVGCanvas.xAxisDepth(xAxis, plotWidth: plotWidth, title: true) - 10))
        canvas.axes(area, x: xAxis, y: yAxis, xTitle: "time (s)", yTitle: "amplitude (full scale)")
        canvas.waveform(samples, sampleRate: sampleRate, area: area, x: xAxis, y: yAxis, color: "#0072B2")
        return canvas.render(title: title, description: subtitle)
    }
}

extension SVGCanvas {
    /// Draws `samples` in `area` (time on `x` in s, amplitude on `y`): a line when there are few samples per px,
    /// else the filled min-max envelope per px column. A zero line is drawn first.
    mutating func waveform(_ samples: [Float], sampleRate: Double, area: PlotArea, x: ResolvedAxis,
                           y: ResolvedAxis, color: String) {
        let clip = clipRect(x: area.x, y: area.y, width: area.width, height: area.height)
        if let zero = y.fraction(0), zero > 0, zero < 1 {
            line(area.x, area.py(zero), area.right, area.py(zero), stroke: "#bbbbbb")
        }
        func px(_ sample: Double) -> Double { area.px(x.fraction(sample / sampleRate) ?? 0) }
        func py(_ v: Float) -> Double { area.py(y.fraction(Double(v)) ?? 0.5) }
        let columns = max(1, Int(area.width.rounded(.up)))
        if samples.count <= 2 * columns {
            polyline(samples.enumerated().map { (px(Double($0.offset)), py($0.element)) }, stroke: color, width: 1.4,
                     clip: clip)
            return
        }
        // Column c covers the samples whose time falls in its px; draw max along the top, min back along the bottom.
        var upper: [(Double, Double)] = [], lower: [(Double, Double)] = []
        let samplesPerColumn = Double(samples.count) / Double(columns)
        for c in 0..<columns {
            let start = Int(Double(c) * samplesPerColumn)
            let end = min(samples.count, max(start + 1, Int(Double(c + 1) * samplesPerColumn)))
            guard start < end else { continue }
            var low = samples[start], high = samples[start]
            for i in start..<end {
                low = min(low, samples[i])
                high = max(high, samples[i])
            }
            let xCenter = px((Double(start) + Double(end)) / 2)
            upper.append((xCenter, py(high) - 0.4))
            lower.append((xCenter, py(low) + 0.4))
        }
        polygon(upper + lower.reversed(), fill: color, clip: clip)
    }
}

/// A spectrogram picture: time (s) across, frequency (kHz) up, level (dBFS) as colour, with a colour bar.
public struct SpectrogramChart: SVGChart {
    /// The title.
    public let title: String
    /// A line under the title; nil for none.
    public let subtitle: String?
    /// The data.
    public let spectrogram: Spectrogram
    /// The highest frequency shown (Hz).
    public let maxFrequency: Double
    /// The levels shown span this many dB below the top of the colour bar (the loudest level rounded up to 10 dB).
    public let dynamicRange: Double
    /// The picture's width in px.
    public let width: Double
    /// The picture's height in px.
    public let height: Double

    /// A chart; `maxFrequency` nil shows up to the Nyquist frequency. `dynamicRange` in dB, typically 60-100.
    public init(title: String, subtitle: String? = nil, spectrogram: Spectrogram, maxFrequency: Double? = nil,
                dynamicRange: Double = 80, width: Double = 760, height: Double = 420) throws {
        let nyquist = spectrogram.sampleRate / 2
        let top = maxFrequency ?? nyquist
        guard top > 0, top <= nyquist else {
            throw ReportError("spectrogram '\(title)': expected a highest frequency in (0, \(nyquist)] Hz, found \(top)")
        }
        guard dynamicRange >= 10, dynamicRange <= 200 else {
            throw ReportError("spectrogram '\(title)': expected a dynamic range of 10 ... 200 dB, found \(dynamicRange)")
        }
        guard width >= 320, height >= 200, width <= 10_000, height <= 10_000 else {
            throw ReportError("spectrogram '\(title)': expected a size within 320 × 200 ... 10000 × 10000 px, found \(width) × \(height)")
        }
        self.title = title
        self.subtitle = subtitle
        self.spectrogram = spectrogram
        self.maxFrequency = top
        self.dynamicRange = dynamicRange
        self.width = width
        self.height = height
    }

    /// The SVG document.
    public func svg() -> String {
        let s = spectrogram
        let bins = s.frequencies.count
        let shownBins = min(bins, s.frequencies.lastIndex(where: { $0 <= maxFrequency * (1 + 1e-9) })! + 1)
        let loudest = Double(s.levels.max() ?? 0)
        let ceiling = (loudest / 10).rounded(.up) * 10
        let floor = ceiling - dynamicRange
        let colorAxis = ResolvedAxis.fixed(low: floor, high: ceiling, target: 5)

        let hopSeconds = Double(s.hop) / s.sampleRate
        let note = "Hann window \(compactNumber(Double(s.windowLength) / s.sampleRate * 1000, decimals: 1)) ms, hop \(compactNumber(hopSeconds * 1000, decimals: 1)) ms, sample rate \(compactNumber(s.sampleRate / 1000, decimals: 3)) kHz"
        var canvas = SVGCanvas(width: width, height: height)
        let top = canvas.header(title: title, subtitle: subtitle.map { "\($0); \(note)" } ?? note) + 10
        let yAxis = ResolvedAxis.fixed(low: 0, high: maxFrequency / 1000, target: 5)
        let left = 20 + 22 + SVGCanvas.tickLabelWidth(yAxis) + 14
        let plotWidth = width - left - 24 - SVGCanvas.colorBarWidth(colorAxis) - 10
        let xAxis = ResolvedAxis.fixed(low: 0, high: s.duration, target: max(3, Int(plotWidth / 95)))
        let area = PlotArea(x: left, y: top, width: plotWidth,
                            height: max(40, height - top - SVGCanvas.xAxisDepth(xAxis, plotWidth: plotWidth, title: true) - 10))

        // The image: one column per frame (max-pooled to at most 1600), one row per bin, highest frequency on top.
        let frames = s.times.count
        let group = max(1, (frames + 1599) / 1600)
        let columns = (frames + group - 1) / group
        var rgb = [UInt8](repeating: 0, count: columns * shownBins * 3)
        for c in 0..<columns {
            for f in 0..<shownBins {
                var level = -Float.infinity
                for k in (c * group)..<min(frames, (c + 1) * group) { level = max(level, s.level(frame: k, bin: f)) }
                let (r, g, b) = ColorMap.viridis.rgb((Double(level) - floor) / dynamicRange)
                let i = ((shownBins - 1 - f) * columns + c) * 3
                (rgb[i], rgb[i + 1], rgb[i + 2]) = (r, g, b)
            }
        }
        // Column c spans its frames' centres ± hop / 2; row f spans its bin's frequency ± half a bin.
        let binHz = s.sampleRate / Double(s.fftSize)
        let t0 = s.times[0] - hopSeconds / 2, t1 = s.times[frames - 1] + hopSeconds / 2
        let f0 = -binHz / 2, f1 = s.frequencies[shownBins - 1] + binHz / 2
        let x0 = area.px(xAxis.fraction(t0)!), x1 = area.px(xAxis.fraction(t1)!)
        let yTop = area.py(yAxis.fraction(f1 / 1000)!), yBottom = area.py(yAxis.fraction(f0 / 1000)!)
        let clip = canvas.clipRect(x: area.x, y: area.y, width: area.width, height: area.height)
        canvas.rect(x: area.x, y: area.y, width: area.width, height: area.height, fill: ColorMap.viridis.hex(0))
        canvas.image(png: PNGEncoder.encode(width: columns, height: shownBins, rgb: rgb), x: x0, y: yTop,
                     width: x1 - x0, height: yBottom - yTop, clip: clip)
        canvas.axes(area, x: xAxis, y: yAxis, xTitle: "time (s)", yTitle: "frequency (kHz)", grid: false)
        canvas.colorBar(x: area.right + 24, area: area, map: .viridis, axis: colorAxis, title: "level (dBFS)")
        return canvas.render(title: title, description: subtitle.map { "\($0); \(note)" } ?? note)
    }
}
