// The parts every chart with axes shares: the plot rectangle, the mapping of data to px, grid lines, tick marks
// and labels, axis titles, the chart title, legends and colour bars. Sizes in px; fonts large enough to read when the
// SVG is shown at its natural size (ticks 13 px, axis titles 14 px, titles 17 px bold).
import Foundation

enum FontSize {
    static let title = 17.0
    static let subtitle = 13.0
    static let axisTitle = 14.0
    static let tick = 13.0
    static let legend = 13.0
    static let cell = 13.0
}

/// The rectangle that data is drawn in.
struct PlotArea {
    var x: Double
    var y: Double
    var width: Double
    var height: Double

    var right: Double { x + width }
    var bottom: Double { y + height }

    /// The px x of a fraction of the width.
    func px(_ fraction: Double) -> Double { x + fraction * width }
    /// The px y of a fraction of the height, 0 at the bottom.
    func py(_ fraction: Double) -> Double { bottom - fraction * height }
}

extension SVGCanvas {
    /// The chart's title (and an optional subtitle under it); returns the y below them.
    mutating func header(title: String, subtitle: String?) -> Double {
        text(title, x: width / 2, y: 26, size: FontSize.title, anchor: .middle, bold: true)
        guard let subtitle, !subtitle.isEmpty else { return 38 }
        text(subtitle, x: width / 2, y: 46, size: FontSize.subtitle, anchor: .middle, fill: "#555555")
        return 56
    }

    /// The width taken by the y tick labels of `axis`.
    static func tickLabelWidth(_ axis: ResolvedAxis) -> Double {
        axis.ticks.map { textWidth($0.label, size: FontSize.tick) }.max() ?? 0
    }

    /// Grid lines, the frame, tick marks and labels, and axis titles. `xTitle` sits below the x tick labels,
    /// `yTitle` is turned to read upwards left of the y tick labels. Returns the y below the x axis title.
    @discardableResult
    mutating func axes(_ area: PlotArea, x xAxis: ResolvedAxis?, y yAxis: ResolvedAxis?, xTitle: String?,
                       yTitle: String?, grid: Bool = true, xLabels: Bool = true) -> Double {
        var below = area.bottom
        if let yAxis {
            for tick in yAxis.ticks {
                guard let f = yAxis.fraction(tick.value), f >= -1e-9, f <= 1 + 1e-9 else { continue }
                let y = area.py(f)
                if grid { line(area.x, y, area.right, y, stroke: "#e4e4e4") }
                line(area.x - 5, y, area.x, y, stroke: "#444444")
                text(tick.label, x: area.x - 8, y: y + 4.5, size: FontSize.tick, anchor: .end)
            }
            if let yTitle {
                let x = area.x - 8 - Self.tickLabelWidth(yAxis) - 12
                text(yTitle, x: x, y: area.y + area.height / 2, size: FontSize.axisTitle, anchor: .middle,
                     rotation: -90)
            }
        }
        if let xAxis {
            let rotate: Bool
            if case .categorical(let count) = xAxis.kind {
                let band = area.width / Double(max(1, count))
                rotate = xAxis.ticks.contains { Self.textWidth($0.label, size: FontSize.tick) > band - 6 }
            } else {
                rotate = false
            }
            var labelDepth = 18.0
            for tick in xAxis.ticks {
                guard let f = xAxis.fraction(tick.value), f >= -1e-9, f <= 1 + 1e-9 else { continue }
                let x = area.px(f)
                if grid { line(x, area.y, x, area.bottom, stroke: "#e4e4e4") }
                line(x, area.bottom, x, area.bottom + 5, stroke: "#444444")
                guard xLabels else { continue }
                if rotate {
                    text(tick.label, x: x + 4, y: area.bottom + 14, size: FontSize.tick, anchor: .end, rotation: -40)
                    labelDepth = max(labelDepth, 14 + Self.textWidth(tick.label, size: FontSize.tick) * 0.65)
                } else {
                    text(tick.label, x: x, y: area.bottom + 19, size: FontSize.tick, anchor: .middle)
                }
            }
            below = area.bottom + (xLabels ? labelDepth : 6)
            if let xTitle {
                text(xTitle, x: area.x + area.width / 2, y: below + 22, size: FontSize.axisTitle, anchor: .middle)
                below += 28
            }
        }
        rect(x: area.x, y: area.y, width: area.width, height: area.height, fill: "none", stroke: "#444444")
        return below
    }

    /// The depth below the plot that `axes` needs for x tick labels and the x title.
    static func xAxisDepth(_ axis: ResolvedAxis, plotWidth: Double, title: Bool) -> Double {
        var depth = 24.0
        if case .categorical(let count) = axis.kind {
            let band = plotWidth / Double(max(1, count))
            let widest = axis.ticks.map { textWidth($0.label, size: FontSize.tick) }.max() ?? 0
            if widest > band - 6 { depth = 18 + widest * 0.65 }
        }
        return depth + (title ? 30 : 0)
    }

    /// A vertical colour bar at (x, area.y ... area.bottom) with ticks of `axis` and a title turned to read upwards.
    mutating func colorBar(x: Double, area: PlotArea, map: ColorMap, axis: ResolvedAxis, title: String) {
        let barWidth = 16.0
        let steps = 64
        for i in 0..<steps {
            let f0 = Double(i) / Double(steps), f1 = Double(i + 1) / Double(steps)
            let y1 = area.py(f1), y0 = area.py(f0)
            // Slight overlap so no hairline gaps show between the slices.
            rect(x: x, y: y1, width: barWidth, height: y0 - y1 + 0.6, fill: map.hex((f0 + f1) / 2))
        }
        rect(x: x, y: area.y, width: barWidth, height: area.height, fill: "none", stroke: "#444444")
        for tick in axis.ticks {
            guard let f = axis.fraction(tick.value), f >= -1e-9, f <= 1 + 1e-9 else { continue }
            let y = area.py(f)
            line(x + barWidth, y, x + barWidth + 4, y, stroke: "#444444")
            text(tick.label, x: x + barWidth + 7, y: y + 4.5, size: FontSize.tick)
        }
        let labelWidth = Self.tickLabelWidth(axis)
        text(title, x: x + barWidth + 7 + labelWidth + 16, y: area.y + area.height / 2, size: FontSize.axisTitle,
             anchor: .middle, rotation: -90)
    }

    /// The width a colour bar with these tick labels takes, bar, labels and title included.
    static func colorBarWidth(_ axis: ResolvedAxis) -> Double {
        16 + 7 + tickLabelWidth(axis) + 16 + 12
    }
}

/// A legend entry: a line sample (with a marker if asked) and a name.
struct LegendEntry {
    var name: String
    var color: String
    var dash: Dash
    var width: Double
    var marker: Bool
}

extension SVGCanvas {
    /// The rows a legend needs within `available` px (entries laid left to right, wrapping).
    static func legendRows(_ entries: [LegendEntry], available: Double) -> [[LegendEntry]] {
        var rows: [[LegendEntry]] = [[]]
        var used = 0.0
        for entry in entries {
            let w = legendEntryWidth(entry)
            if used + w > available, !rows[rows.count - 1].isEmpty {
                rows.append([])
                used = 0
            }
            rows[rows.count - 1].append(entry)
            used += w
        }
        return rows.filter { !$0.isEmpty }
    }

    static func legendEntryWidth(_ entry: LegendEntry) -> Double {
        28 + 6 + textWidth(entry.name, size: FontSize.legend) + 20
    }

    /// Draws legend rows centred on `centerX` from `top`; returns the y below them.
    mutating func legend(_ rows: [[LegendEntry]], centerX: Double, top: Double) -> Double {
        var y = top
        for row in rows {
            let total = row.map(Self.legendEntryWidth).reduce(0, +) - 20
            var x = centerX - total / 2
            for entry in row {
                line(x, y + 10, x + 28, y + 10, stroke: entry.color, width: entry.width, dash: entry.dash)
                if entry.marker { circle(cx: x + 14, cy: y + 10, r: 3.5, fill: entry.color) }
                text(entry.name, x: x + 34, y: y + 14.5, size: FontSize.legend)
                x += Self.legendEntryWidth(entry)
            }
            y += 22
        }
        return y
    }
}
