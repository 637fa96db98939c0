// Several series of (x, y) points as lines, against a linear, logarithmic or categorical x axis: loss against step,
// accuracy against sample rate. Non-finite points (and non-positive ones on a logarithmic axis) leave a gap.
import Foundation

/// A line chart (see the file header). Build it with `init`, then call `svg()` or `write(to:)`.
public struct LineChart: SVGChart {
    /// How an axis maps values.
    public enum Scale: Sendable, Equatable {
        /// Evenly spaced values, ticks at 1, 2 or 5 × 10^k.
        case linear
        /// Powers of ten evenly spaced (values must be positive).
        case logarithmic
        /// One evenly spaced band per label; a point's x is the label's index (0, 1, ...).
        case categorical([String])
    }

    /// An axis: its title (with the unit, e.g. "time (s)"), scale and optional fixed range.
    public struct Axis: Sendable, Equatable {
        /// The axis title, with the unit in parentheses.
        public var title: String
        /// The scale.
        public var scale: Scale
        /// A fixed data range; nil fits the data and rounds the ends to ticks.
        public var range: ClosedRange<Double>?

        /// An axis.
        public init(title: String, scale: Scale = .linear, range: ClosedRange<Double>? = nil) {
            self.title = title
            self.scale = scale
            self.range = range
        }
    }

    /// The stroke of a series.
    public enum LineStyle: Sendable, Equatable {
        /// A continuous line.
        case solid
        /// Dashes.
        case dashed
        /// Dots.
        case dotted
    }

    /// One named series of points.
    public struct Series: Sendable, Equatable {
        /// The legend text.
        public var name: String
        /// The x values (for a categorical axis, label indices).
        public var x: [Double]
        /// The y values, one per x.
        public var y: [Double]
        /// The stroke.
        public var style: LineStyle
        /// Whether each point gets a dot; nil: dots when the series has at most 40 points.
        public var markers: Bool?
        /// "#rrggbb"; nil takes the next colour of a colour-blind-safe palette.
        public var color: String?
        /// Line width in px.
        public var lineWidth: Double

        /// A series; throws unless `x` and `y` have the same count.
        public init(name: String, x: [Double], y: [Double], style: LineStyle = .solid, markers: Bool? = nil,
                    color: String? = nil, lineWidth: Double = 2.2) throws {
            guard x.count == y.count else {
                throw ReportError("series '\(name)': expected as many y values as x values (\(x.count)), found \(y.count)")
            }
            if let color, !LineChart.isHexColor(color) {
                throw ReportError("series '\(name)': expected a colour as #rrggbb, found '\(color)'")
            }
            self.name = name
            self.x = x
            self.y = y
            self.style = style
            self.markers = markers
            self.color = color
            self.lineWidth = lineWidth
        }
    }

    /// A horizontal line across the plot at a y value, labelled (e.g. chance accuracy).
    public struct ReferenceLine: Sendable, Equatable {
        /// The y value.
        public var y: Double
        /// The label, drawn above the line's right end.
        public var label: String

        /// A reference line.
        public init(y: Double, label: String) {
            self.y = y
            self.label = label
        }
    }

    /// The title.
    public let title: String
    /// A line under the title (e.g. the data and the run); nil for none.
    public let subtitle: String?
    /// The x axis.
    public let xAxis: Axis
    /// The y axis.
    public let yAxis: Axis
    /// The series, drawn in order (the last on top).
    public let series: [Series]
    /// Horizontal reference lines.
    public let referenceLines: [ReferenceLine]
    /// The picture's width in px.
    public let width: Double
    /// The picture's height in px.
    public let height: Double

    /// A chart; throws when no series has a point that the axes can show, when a categorical point is not a label
    /// index, or when a fixed range is empty (or not positive on a logarithmic axis).
    public init(title: String, subtitle: String? = nil, xAxis: Axis, yAxis: Axis, series: [Series],
                referenceLines: [ReferenceLine] = [], width: Double = 760, height: Double = 460) throws {
        guard width >= 240, height >= 180, width <= 10_000, height <= 10_000 else {
            throw ReportError("chart '\(title)': expected a size within 240 × 180 ... 10000 × 10000 px, found \(width) × \(height)")
        }
        for axis in [xAxis, yAxis] {
            if let range = axis.range {
                guard range.lowerBound.isFinite, range.upperBound.isFinite, range.upperBound > range.lowerBound else {
                    throw ReportError("chart '\(title)', axis '\(axis.title)': expected a non-empty finite range, found \(range)")
                }
                if axis.scale == .logarithmic && range.lowerBound <= 0 {
                    throw ReportError("chart '\(title)', axis '\(axis.title)': a logarithmic axis needs a positive range, found \(range)")
                }
            }
            if case .categorical(let labels) = axis.scale, labels.isEmpty {
                throw ReportError("chart '\(title)', axis '\(axis.title)': expected at least one category label")
            }
        }
        if case .categorical = yAxis.scale {
            throw ReportError("chart '\(title)': the y axis cannot be categorical")
        }
        if case .categorical(let labels) = xAxis.scale {
            for s in series {
                if let bad = s.x.first(where: { $0 != $0.rounded() || $0 < 0 || Int($0) >= labels.count }) {
                    throw ReportError("chart '\(title)', series '\(s.name)': on a categorical axis x must be a label index in 0..<\(labels.count), found \(bad)")
                }
            }
        }
        self.title = title
        self.subtitle = subtitle
        self.xAxis = xAxis
        self.yAxis = yAxis
        self.series = series
        self.referenceLines = referenceLines
        self.width = width
        self.height = height
        guard series.contains(where: { !visiblePoints($0).isEmpty }) else {
            throw ReportError("chart '\(title)': expected at least one finite point (positive on a logarithmic axis), found none in \(series.count) series")
        }
    }

    static func isHexColor(_ text: String) -> Bool {
        text.count == 7 && text.first == "#" && text.dropFirst().allSatisfy(\.isHexDigit)
    }

    /// The points the axes can show (finite; positive on logarithmic axes).
    private func visiblePoints(_ s: Series) -> [(Double, Double)] {
        zip(s.x, s.y).filter { x, y in
            x.isFinite && y.isFinite && (xAxis.scale != .logarithmic || x > 0) && (yAxis.scale != .logarithmic || y > 0)
        }
    }

    private static func resolve(_ axis: Axis, values: [Double], target: Int) -> ResolvedAxis {
        switch axis.scale {
        case .categorical(let labels):
            return .categorical(labels)
        case .logarithmic:
            if let range = axis.range {
                let fitted = ResolvedAxis.logarithmic(low: range.lowerBound, high: range.upperBound)
                return ResolvedAxis(kind: .logarithmic, lower: range.lowerBound, upper: range.upperBound,
                                    ticks: fitted.ticks.filter { $0.value >= range.lowerBound * (1 - 1e-9) && $0.value <= range.upperBound * (1 + 1e-9) })
            }
            return .logarithmic(low: values.min() ?? 1, high: values.max() ?? 10)
        case .linear:
            if let range = axis.range { return .fixed(low: range.lowerBound, high: range.upperBound, target: target) }
            return .linear(low: values.min() ?? 0, high: values.max() ?? 1, target: target)
        }
    }

    /// The SVG document.
    public func svg() -> String {
        var canvas = SVGCanvas(width: width, height: height)
        let visible = series.map(visiblePoints)
        let xs = visible.flatMap { $0.map(\.0) }
        let ys = visible.flatMap { $0.map(\.1) } + referenceLines.map(\.y).filter(\.isFinite)
        let entries = series.enumerated().map { index, s in
            LegendEntry(name: s.name, color: s.color ?? seriesPalette[index % seriesPalette.count],
                        dash: Self.dash(s.style), width: s.lineWidth, marker: s.markers ?? (s.x.count <= 40))
        }
        var top = canvas.header(title: title, subtitle: subtitle)
        let legendRows = series.count > 1 || !(series.first?.name.isEmpty ?? true)
            ? SVGCanvas.legendRows(entries, available: width - 40) : []
        top = canvas.legend(legendRows, centerX: width / 2, top: top + 4) + 8
        let yResolved = Self.resolve(yAxis, values: ys, target: max(3, Int((height - top - 70) / 60)))
        let left = 20 + 22 + SVGCanvas.tickLabelWidth(yResolved) + 14
        let plotWidth = width - left - 28
        let xResolved = Self.resolve(xAxis, values: xs, target: max(3, Int(plotWidth / 95)))
        let bottom = SVGCanvas.xAxisDepth(xResolved, plotWidth: plotWidth, title: true) + 10
        let area = PlotArea(x: left, y: top, width: plotWidth, height: max(40, height - top - bottom))
        canvas.axes(area, x: xResolved, y: yResolved, xTitle: xAxis.title, yTitle: yAxis.title)
        let clip = canvas.clipRect(x: area.x - 4, y: area.y - 4, width: area.width + 8, height: area.height + 8)

        for rule in referenceLines {
            guard let f = yResolved.fraction(rule.y), f >= 0, f <= 1 else { continue }
            let y = area.py(f)
            canvas.line(area.x, y, area.right, y, stroke: "#777777", width: 1.4, dash: .dashed)
            canvas.text(rule.label, x: area.right - 6, y: y - 6, size: FontSize.legend, anchor: .end, fill: "#555555")
        }
        for (index, s) in series.enumerated() {
            let entry = entries[index]
            // Split into runs of drawable points: a non-finite value breaks the line.
            var runs: [[(Double, Double)]] = [[]]
            for (x, y) in zip(s.x, s.y) {
                if let fx = xResolved.fraction(x), let fy = yResolved.fraction(y) {
                    runs[runs.count - 1].append((area.px(fx), area.py(fy)))
                } else if !runs[runs.count - 1].isEmpty {
                    runs.append([])
                }
            }
            for run in runs {
                canvas.polyline(run, stroke: entry.color, width: s.lineWidth, dash: entry.dash, clip: clip)
                if entry.marker || run.count == 1 {
                    for (x, y) in run { canvas.circle(cx: x, cy: y, r: 3.5, fill: entry.color, clip: clip) }
                }
            }
        }
        return canvas.render(title: title, description: subtitle)
    }

    static func dash(_ style: LineStyle) -> Dash {
        switch style {
        case .solid: return .solid
        case .dashed: return .dashed
        case .dotted: return .dotted
        }
    }
}
