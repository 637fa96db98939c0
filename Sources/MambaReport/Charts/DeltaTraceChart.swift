// What selectivity looks like: the step sizes Δ a Mamba model chose along one input (`MambaModel.deltaTrace`),
// drawn under the input itself. One panel per mixer: the mean of Δ over all channels (black) and the few channels
// whose Δ varies most along the sequence (coloured), on a logarithmic axis because Δ spans decades. A large Δ means
// the channel takes in the current input and forgets its state; a small Δ means it ignores the input and keeps its
// memory. An S6 mixer's Δ moves with the input; an S4D mixer's is flat (the same at every position).
import Foundation
import MambaBackbone

/// The Δ of a model along one input (see the file header).
public struct DeltaTraceChart: SVGChart {
    /// What the trace was computed from, drawn in the top panel on the same x axis as Δ.
    public enum Input: Sendable, Equatable {
        /// A DNA (or any letter) sequence, one character per position: coloured tiles, letters when they fit.
        case bases(String)
        /// A waveform (mono samples at `sampleRate` Hz); the x axis is then time, and position t of the trace is
        /// drawn at `positionTimes[t]` seconds (e.g. the centre of an audio front end's frame t).
        case waveform(samples: [Float], sampleRate: Double, positionTimes: [Double])
        /// No input panel; the x axis is the position.
        case none
    }

    /// The title.
    public let title: String
    /// A line under the title; nil writes what Δ is.
    public let subtitle: String?
    /// The trace.
    public let trace: DeltaTrace
    /// The input.
    public let input: Input
    /// Indices into `trace.layers` of the mixers drawn, top to bottom.
    public let layers: [Int]
    /// Channels drawn per mixer besides the mean (the most varying ones in the shown positions).
    public let channels: Int
    /// The positions shown.
    public let positions: Range<Int>
    /// Whether each selective mixer also gets a heatmap of every channel: rows are channels (the most varying on
    /// top), colour is Δ divided by the channel's geometric mean over the shown positions (blue: the channel
    /// keeps its state there, red: it takes the input in), so positions where many channels open show as red
    /// columns.
    public let channelHeatmap: Bool
    /// The picture's width in px.
    public let width: Double

    /// A chart. `layers` nil draws every mixer of the trace (at most 8 are allowed); `positions` nil shows all.
    /// Throws when the input does not match the trace (one base or one time per position, times increasing), or a
    /// layer index or the position range is out of bounds.
    public init(title: String, subtitle: String? = nil, trace: DeltaTrace, input: Input, layers: [Int]? = nil,
                channels: Int = 3, positions: Range<Int>? = nil, channelHeatmap: Bool = false,
                width: Double = 900) throws {
        guard trace.length >= 1, !trace.layers.isEmpty else {
            throw ReportError("Δ chart '\(title)': expected a trace with at least one position and one layer, found \(trace.length) positions and \(trace.layers.count) layers")
        }
        let layers = layers ?? Array(trace.layers.indices)
        guard !layers.isEmpty, layers.count <= 8, layers.allSatisfy({ trace.layers.indices.contains($0) }) else {
            throw ReportError("Δ chart '\(title)': expected 1 ... 8 layer indices in 0..<\(trace.layers.count), found \(layers)")
        }
        let positions = positions ?? 0..<trace.length
        guard positions.lowerBound >= 0, positions.upperBound <= trace.length, positions.count >= 2 else {
            throw ReportError("Δ chart '\(title)': expected at least two positions within 0..<\(trace.length), found \(positions)")
        }
        guard channels >= 0, channels <= 8 else {
            throw ReportError("Δ chart '\(title)': expected 0 ... 8 channels per layer, found \(channels)")
        }
        guard width >= 400, width <= 10_000 else {
            throw ReportError("Δ chart '\(title)': expected a width of 400 ... 10000 px, found \(width)")
        }
        switch input {
        case .bases(let text):
            guard text.count == trace.length else {
                throw ReportError("Δ chart '\(title)': expected one base per position (\(trace.length)), found \(text.count)")
            }
        case .waveform(let samples, let rate, let times):
            try WaveformChart.check(samples: samples, sampleRate: rate, what: "Δ chart '\(title)'")
            guard times.count == trace.length else {
                throw ReportError("Δ chart '\(title)': expected one time per position (\(trace.length)), found \(times.count)")
            }
            if let bad = times.indices.dropFirst().first(where: { !(times[$0] > times[$0 - 1]) || !times[$0].isFinite }) {
                throw ReportError("Δ chart '\(title)': expected increasing finite position times, found \(times[bad]) after \(times[bad - 1]) at position \(bad)")
            }
        case .none:
            break
        }
        self.title = title
        self.subtitle = subtitle
        self.trace = trace
        self.input = input
        self.layers = layers
        self.channels = channels
        self.positions = positions
        self.channelHeatmap = channelHeatmap
        self.width = width
    }

    static let baseColors: [Character: String] = ["A": "#009E73", "C": "#0072B2", "G": "#E69F00", "T": "#D55E00",
                                                  "U": "#D55E00"]
    static let panelHeight = 150.0
    static let panelGap = 34.0
    static let stripHeight = 112.0

    /// The SVG document.
    public func svg() -> String {
        let inputHeight: Double
        switch input {
        case .bases: inputHeight = 46
        case .waveform: inputHeight = 110
        case .none: inputHeight = 0
        }
        let explanation = subtitle ?? "Δ = softplus(dt_proj(x) + bias), dimensionless: large Δ takes in the input and forgets the state, small Δ keeps it"
        // x axis: positions (bases / tokens) or time (s).
        let xTitle: String
        let xAxis: ResolvedAxis
        let xOf: (Int) -> Double
        switch input {
        case .waveform(_, _, let times):
            let hop = positions.count > 1 ? (times[positions.upperBound - 1] - times[positions.lowerBound]) / Double(positions.count - 1) : 0
            xAxis = .fixed(low: max(0, times[positions.lowerBound] - hop / 2), high: times[positions.upperBound - 1] + hop / 2,
                           target: max(3, Int((width - 200) / 100)))
            xTitle = "time (s)"
            xOf = { times[$0] }
        case .bases, .none:
            xAxis = .fixed(low: Double(positions.lowerBound) - 0.5, high: Double(positions.upperBound) - 0.5,
                           target: max(3, Int((width - 200) / 100)))
            if case .bases = input { xTitle = "position in the sequence (bases)" } else { xTitle = "position (tokens)" }
            xOf = { Double($0) }
        }
        // Per panel: the series and a logarithmic y axis fitted to them.
        struct Panel {
            var label: String
            var lines: [(name: String, color: String, width: Double, values: [Float])]
            var axis: ResolvedAxis
            var shown: DeltaTrace.Layer
        }
        let panels: [Panel] = layers.map { index in
            let layer = trace.layers[index]
            let shown = DeltaTrace.Layer(layer: layer.layer, direction: layer.direction, selective: layer.selective,
                                         length: positions.count,
                                         values: Array(layer.values[(positions.lowerBound * trace.channels)..<(positions.upperBound * trace.channels)]))
            var lines: [(String, String, Double, [Float])] = []
            if layer.selective {
                for (k, c) in shown.mostVaryingChannels(channels).enumerated() {
                    lines.append(("channel \(c)", seriesPalette[k % (seriesPalette.count - 1)], 1.3, shown.channel(c)))
                }
            }
            lines.append(("mean of \(trace.channels) channels", "#000000", 2.4, shown.meanOverChannels))
            let all = lines.flatMap { $0.3 }.filter { $0 > 0 && $0.isFinite }.map(Double.init)
            let kind = layer.selective ? "S6 (selective)" : "S4D (time-invariant: Δ constant)"
            let direction = layer.direction == .reverse ? ", reverse direction" : ""
            return Panel(label: "layer \(layer.layer) · \(kind)\(direction)", lines: lines,
                         axis: .logarithmic(low: all.min() ?? 0.01, high: all.max() ?? 1), shown: shown)
        }

        let strips = channelHeatmap ? panels.filter(\.shown.selective).count : 0
        let headerBottom = 56.0
        let height = headerBottom + 12 + (inputHeight > 0 ? inputHeight + 28 : 0)
            + Double(panels.count) * (Self.panelHeight + Self.panelGap) + Double(strips) * (Self.stripHeight + 10) + 48
        // One colour scale for every strip: ratios to each channel's geometric mean, symmetric on a log scale, up to
        // the 98th percentile of |log ratio| (a few extreme cells would otherwise leave the rest pale); beyond it
        // the colours saturate.
        let ratios = panels.filter { channelHeatmap && $0.shown.selective }.map { Self.relativeDelta($0.shown) }
        let spreads = ratios.flatMap(\.values).map { abs(Foundation.log($0)) }.filter(\.isFinite).sorted()
        let typical = spreads.isEmpty ? 0 : spreads[min(spreads.count - 1, Int(Double(spreads.count) * 0.98))]
        let stripAxis = Self.ratioAxis(limit: Foundation.exp(max(typical, Foundation.log(1.1))),
                                       pixels: Self.stripHeight - 16)
        var stripIndex = 0
        var canvas = SVGCanvas(width: width, height: height)
        _ = canvas.header(title: title, subtitle: explanation)
        let labelWidth = max(panels.map { SVGCanvas.tickLabelWidth($0.axis) }.max() ?? 0,
                             inputHeight > 0 ? SVGCanvas.textWidth("-0.25", size: FontSize.tick) : 0)
        let left = 20 + 22 + labelWidth + 14
        let plotWidth = width - left - 24 - (strips > 0 ? SVGCanvas.colorBarWidth(stripAxis) + 14 : 0)
        var top = headerBottom + 12
        let gridX = xAxis.ticks.compactMap { xAxis.fraction($0.value) }.filter { $0 >= 0 && $0 <= 1 }

        func panelTitle(_ text: String, at y: Double) {
            canvas.text(text, x: left, y: y - 8, size: FontSize.legend, bold: true)
        }

        switch input {
        case .bases(let text):
            let area = PlotArea(x: left, y: top + 18, width: plotWidth, height: inputHeight - 18)
            panelTitle("input", at: area.y)
            let letters = Array(text)
            let cell = area.width / Double(positions.count)
            for t in positions {
                let base = Character(letters[t].uppercased())
                let x = area.px(xAxis.fraction(Double(t) - 0.5)!)
                canvas.rect(x: x, y: area.y, width: cell + 0.3, height: area.height,
                            fill: Self.baseColors[base] ?? "#999999")
                if cell >= 9 {
                    canvas.text(String(base), x: x + cell / 2, y: area.y + area.height / 2 + 4.5,
                                size: min(13, cell * 0.9), anchor: .middle, bold: true, fill: "#ffffff")
                }
            }
            canvas.rect(x: area.x, y: area.y, width: area.width, height: area.height, fill: "none", stroke: "#444444")
            // Base colour key, right-aligned above the panel.
            var keyX = area.right
            for base in ["T", "G", "C", "A"] {
                keyX -= 44
                canvas.rect(x: keyX, y: area.y - 20, width: 14, height: 14, fill: Self.baseColors[Character(base)]!)
                canvas.text(base, x: keyX + 19, y: area.y - 8.5, size: FontSize.legend)
            }
            top = area.bottom + 28
        case .waveform(let samples, let rate, _):
            let area = PlotArea(x: left, y: top + 18, width: plotWidth, height: inputHeight - 18)
            panelTitle("input waveform", at: area.y)
            let first = max(0, Int((xAxis.lower * rate).rounded(.down)))
            let last = min(samples.count, Int((xAxis.upper * rate).rounded(.up)))
            let shown = first < last ? Array(samples[first..<last]) : [0]
            let yAxis = WaveformChart.amplitudeAxis(shown, range: nil)
            let reduced = ResolvedAxis(kind: .linear, lower: yAxis.lower, upper: yAxis.upper,
                                       ticks: yAxis.ticks.filter { $0.value == yAxis.lower || $0.value == 0 || $0.value == yAxis.upper })
            for f in gridX { canvas.line(area.px(f), area.y, area.px(f), area.bottom, stroke: "#e4e4e4") }
            canvas.axes(area, x: nil, y: reduced, xTitle: nil, yTitle: "amplitude", grid: false)
            // The waveform panel's x axis starts at xAxis.lower: shift the samples' times by `first`.
            let shifted = ResolvedAxis(kind: .linear, lower: xAxis.lower - Double(first) / rate,
                                       upper: xAxis.upper - Double(first) / rate, ticks: [])
            canvas.waveform(shown, sampleRate: rate, area: area, x: shifted, y: yAxis, color: "#555555")
            top = area.bottom + 28
        case .none:
            break
        }

        for (k, panel) in panels.enumerated() {
            let area = PlotArea(x: left, y: top + 20, width: plotWidth, height: Self.panelHeight)
            panelTitle(panel.label, at: area.y)
            // Legend, right-aligned on the panel title's line.
            var legendX = area.right
            for line in panel.lines.reversed() {
                let w = SVGCanvas.textWidth(line.name, size: 12) + 30
                legendX -= w
                canvas.line(legendX, area.y - 12, legendX + 20, area.y - 12, stroke: line.color, width: line.width)
                canvas.text(line.name, x: legendX + 24, y: area.y - 8, size: 12)
            }
            let last = k == panels.count - 1
            let stripBelow = channelHeatmap && panel.shown.selective
            canvas.axes(area, x: xAxis, y: panel.axis, xTitle: last && !stripBelow ? xTitle : nil,
                        yTitle: "Δ (dimensionless)", grid: true, xLabels: last && !stripBelow)
            let clip = canvas.clipRect(x: area.x, y: area.y, width: area.width, height: area.height)
            for line in panel.lines {
                let points: [(Double, Double)] = positions.enumerated().compactMap { i, t in
                    guard let fx = xAxis.fraction(xOf(t)), let fy = panel.axis.fraction(Double(line.values[i])) else {
                        return nil
                    }
                    return (area.px(fx), area.py(fy))
                }
                canvas.polyline(points, stroke: line.color, width: line.width, clip: clip)
            }
            top = area.bottom + Self.panelGap - 20
            if stripBelow {
                let strip = PlotArea(x: left, y: area.bottom + 26, width: plotWidth, height: Self.stripHeight - 16)
                drawStrip(ratios[stripIndex], in: strip, axis: stripAxis, xAxis: xAxis, xOf: xOf, canvas: &canvas)
                stripIndex += 1
                top = strip.bottom + Self.panelGap - 20
                if last {
                    canvas.axes(strip, x: xAxis, y: nil, xTitle: xTitle, yTitle: nil, grid: false)
                } else {
                    canvas.axes(strip, x: xAxis, y: nil, xTitle: nil, yTitle: nil, grid: false, xLabels: false)
                }
            }
        }
        return canvas.render(title: title, description: explanation)
    }

    /// Each channel's Δ divided by its geometric mean over the positions, {channels}{positions} with the rows in
    /// drawing order (the largest spread of log Δ first).
    static func relativeDelta(_ layer: DeltaTrace.Layer) -> (rows: [Int], values: [Double], length: Int) {
        let e = layer.channels, l = layer.length
        var values = [Double](repeating: 1, count: e * l)
        var spread = [Double](repeating: 0, count: e)
        for c in 0..<e {
            let logs = (0..<l).map { Foundation.log(Double(max(layer.values[$0 * e + c], .leastNormalMagnitude))) }
            let mean = logs.reduce(0, +) / Double(l)
            for t in 0..<l { values[c * l + t] = Foundation.exp(logs[t] - mean) }
            spread[c] = logs.map { ($0 - mean) * ($0 - mean) }.reduce(0, +)
        }
        let rows = (0..<e).sorted { spread[$0] > spread[$1] || (spread[$0] == spread[$1] && $0 < $1) }
        return (rows, values, l)
    }

    /// A logarithmic colour axis over [1 / limit, limit] with round ratio ticks inside it, at least 16 px apart on a
    /// bar `pixels` tall.
    static func ratioAxis(limit: Double, pixels: Double) -> ResolvedAxis {
        let inside = { (values: [Double]) in values.filter { $0 >= 1 / limit * 0.999 && $0 <= limit * 1.001 } }
        let candidates: [[Double]] = [
            [0.8, 0.9, 1, 1.1, 1.25], [0.8, 1, 1.25], [0.5, 0.67, 1, 1.5, 2], [0.5, 1, 2], [0.2, 0.5, 1, 2, 5],
            [0.2, 1, 5], [0.1, 0.3, 1, 3, 10], [0.1, 1, 10], [0.01, 0.1, 1, 10, 100], [0.01, 1, 100],
            [0.001, 0.01, 0.1, 1, 10, 100, 1000], [0.001, 1, 1000], [1e-4, 0.01, 1, 100, 1e4], [1e-4, 1, 1e4],
            [1e-6, 1e-3, 1, 1e3, 1e6], [1e-6, 1, 1e6],
        ]
        // Px between neighbouring ticks of a set (they are evenly spaced in log within each set's halves).
        func gap(_ ticks: [Double]) -> Double {
            zip(ticks, ticks.dropFirst()).map { Foundation.log($1 / $0) }.min().map {
                $0 / (2 * Foundation.log(limit)) * pixels
            } ?? .infinity
        }
        // The finest set with three ticks or more whose outermost tick covers at least half the log range.
        let ticks = candidates.map(inside).first { $0.count >= 3 && $0.last! >= limit.squareRoot() && gap($0) >= 16 }
            ?? [1 / limit, 1, limit]
        return ResolvedAxis(kind: .logarithmic, lower: 1 / limit, upper: limit,
                            ticks: ticks.map { Tick(value: $0, label: compactNumber($0, decimals: $0 < 0.01 ? 6 : 2) + "×") })
    }

    /// The heatmap of every channel's relative Δ in `strip` (one image row per channel, one column per position,
    /// placed on the x axis as the positions are) with its colour bar.
    private func drawStrip(_ relative: (rows: [Int], values: [Double], length: Int), in strip: PlotArea,
                           axis: ResolvedAxis, xAxis: ResolvedAxis, xOf: (Int) -> Double, canvas: inout SVGCanvas) {
        let l = relative.length, e = relative.rows.count
        var rgb = [UInt8](repeating: 0, count: e * l * 3)
        for (row, c) in relative.rows.enumerated() {
            for t in 0..<l {
                let (r, g, b) = ColorMap.diverging.rgb(axis.fraction(relative.values[c * l + t]) ?? 0.5)
                let i = (row * l + t) * 3
                (rgb[i], rgb[i + 1], rgb[i + 2]) = (r, g, b)
            }
        }
        // Positions are evenly spaced (bases, or frames at a fixed hop): column t spans x(t) ± half a spacing.
        let first = xOf(positions.lowerBound), lastX = xOf(positions.upperBound - 1)
        let spacing = l > 1 ? (lastX - first) / Double(l - 1) : 1
        let x0 = strip.px(xAxis.fraction(first - spacing / 2) ?? 0)
        let x1 = strip.px(xAxis.fraction(lastX + spacing / 2) ?? 1)
        let clip = canvas.clipRect(x: strip.x, y: strip.y, width: strip.width, height: strip.height)
        canvas.image(png: PNGEncoder.encode(width: l, height: e, rgb: rgb), x: x0, y: strip.y, width: x1 - x0,
                     height: strip.height, clip: clip)
        canvas.text("all \(e) channels (most varying on top): Δ ÷ the channel's geometric mean", x: strip.x,
                    y: strip.y - 6, size: 12, fill: "#444444")
        canvas.text("channel", x: strip.x - 10, y: strip.y + strip.height / 2, size: FontSize.tick, anchor: .middle,
                    rotation: -90)
        canvas.colorBar(x: strip.right + 14, area: strip, map: .diverging, axis: axis, title: "ratio")
    }
}
