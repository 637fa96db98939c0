// A matrix drawn as coloured cells with labelled rows and columns, a colour bar with its unit, and optional texts in
// the cells; and the confusion matrix built on it.
import Foundation

/// A heatmap of a matrix (row 0 at the top). Up to 2,500 cells are drawn as SVG rectangles (with cell texts if
/// given); larger matrices as one embedded PNG image, without texts.
public struct Heatmap: SVGChart {
    /// The title.
    public let title: String
    /// A line under the title; nil for none.
    public let subtitle: String?
    /// The values, `values[row][column]`; non-finite cells are drawn grey.
    public let values: [[Double]]
    /// One label per row, drawn left of the rows.
    public let rowLabels: [String]
    /// One label per column, drawn under the columns.
    public let columnLabels: [String]
    /// The title of the rows (left, turned), with its unit if any.
    public let rowTitle: String
    /// The title of the columns (bottom), with its unit if any.
    public let columnTitle: String
    /// The colour bar's title, with the values' unit (e.g. "share of the true class (%)").
    public let colorBarTitle: String
    /// The colour scale.
    public let colorMap: ColorMap
    /// The values mapped to the colour scale's ends; nil: the finite values' minimum and maximum.
    public let range: ClosedRange<Double>?
    /// Texts drawn in the cells (same shape as `values`); nil for none.
    public let cellTexts: [[String]]?

    /// A heatmap; throws when shapes disagree, the matrix is empty, or the range is empty.
    public init(title: String, subtitle: String? = nil, values: [[Double]], rowLabels: [String],
                columnLabels: [String], rowTitle: String, columnTitle: String, colorBarTitle: String,
                colorMap: ColorMap = .viridis, range: ClosedRange<Double>? = nil,
                cellTexts: [[String]]? = nil) throws {
        guard !values.isEmpty, !values[0].isEmpty else {
            throw ReportError("heatmap '\(title)': expected at least one row and one column, found \(values.count) rows")
        }
        let columns = values[0].count
        if let bad = values.firstIndex(where: { $0.count != columns }) {
            throw ReportError("heatmap '\(title)': expected \(columns) values in every row (as row 0), found \(values[bad].count) in row \(bad)")
        }
        guard rowLabels.count == values.count, columnLabels.count == columns else {
            throw ReportError("heatmap '\(title)': expected \(values.count) row labels and \(columns) column labels, found \(rowLabels.count) and \(columnLabels.count)")
        }
        if let cellTexts {
            guard cellTexts.count == values.count, cellTexts.allSatisfy({ $0.count == columns }) else {
                throw ReportError("heatmap '\(title)': expected cell texts of shape \(values.count) × \(columns)")
            }
        }
        if let range, !(range.lowerBound.isFinite && range.upperBound.isFinite && range.upperBound > range.lowerBound) {
            throw ReportError("heatmap '\(title)': expected a non-empty finite colour range, found \(range)")
        }
        self.title = title
        self.subtitle = subtitle
        self.values = values
        self.rowLabels = rowLabels
        self.columnLabels = columnLabels
        self.rowTitle = rowTitle
        self.columnTitle = columnTitle
        self.colorBarTitle = colorBarTitle
        self.colorMap = colorMap
        self.range = range
        self.cellTexts = cellTexts
    }

    /// The SVG document.
    public func svg() -> String {
        let rows = values.count, columns = values[0].count
        let finite = values.flatMap { $0 }.filter(\.isFinite)
        let low = range?.lowerBound ?? finite.min() ?? 0
        var high = range?.upperBound ?? finite.max() ?? 1
        if high <= low { high = low + 1 }
        let colorAxis = ResolvedAxis.fixed(low: low, high: high, target: 5)
        let dense = rows * columns > 2500
        // Cells: square, as large as fits a picture of about 620 × 520 px, within 4 ... 72 px.
        let cell = max(dense ? 1 : 4, min(72, min(620 / Double(columns), 520 / Double(rows))))
        let rowLabelWidth = rowLabels.map { SVGCanvas.textWidth($0, size: FontSize.tick) }.max() ?? 0
        let showRowLabels = cell >= 12, showColumnLabels = cell >= 12
        let left = 20 + 22 + (showRowLabels ? rowLabelWidth + 10 : 0)
        let gridWidth = cell * Double(columns), gridHeight = cell * Double(rows)
        let columnAxis = ResolvedAxis.categorical(showColumnLabels ? columnLabels : [])
        let bottom = (showColumnLabels ? SVGCanvas.xAxisDepth(columnAxis, plotWidth: gridWidth, title: true) : 40) + 14
        let titleWidth = SVGCanvas.textWidth(title, size: FontSize.title) + 40
        let contentWidth = left + gridWidth + 28 + SVGCanvas.colorBarWidth(colorAxis) + 10
        let width = max(contentWidth, titleWidth, SVGCanvas.textWidth(subtitle ?? "", size: FontSize.subtitle) + 40)
        let top0 = subtitle == nil ? 38.0 : 56.0
        let height = top0 + 14 + max(gridHeight, 160) + bottom
        var canvas = SVGCanvas(width: width, height: height)
        _ = canvas.header(title: title, subtitle: subtitle)
        // Centre the content horizontally when the title is the widest part.
        let shift = (width - contentWidth) / 2
        let area = PlotArea(x: left + shift, y: top0 + 14, width: gridWidth, height: gridHeight)

        func fraction(_ v: Double) -> Double { (v - low) / (high - low) }
        if dense {
            var rgb = [UInt8](repeating: 0, count: rows * columns * 3)
            for r in 0..<rows {
                for c in 0..<columns {
                    let v = values[r][c]
                    let (red, green, blue) = v.isFinite ? colorMap.rgb(fraction(v)) : (200, 200, 200)
                    let i = (r * columns + c) * 3
                    (rgb[i], rgb[i + 1], rgb[i + 2]) = (red, green, blue)
                }
            }
            canvas.image(png: PNGEncoder.encode(width: columns, height: rows, rgb: rgb), x: area.x, y: area.y,
                         width: gridWidth, height: gridHeight)
        } else {
            for r in 0..<rows {
                for c in 0..<columns {
                    let v = values[r][c]
                    let x = area.x + Double(c) * cell, y = area.y + Double(r) * cell
                    canvas.rect(x: x, y: y, width: cell, height: cell, fill: v.isFinite ? colorMap.hex(fraction(v)) : "#c8c8c8",
                                stroke: "#ffffff", strokeWidth: cell >= 12 ? 1 : 0)
                    if let text = cellTexts?[r][c], !text.isEmpty {
                        let size = min(FontSize.cell, cell * 0.42, (cell - 4) / max(1, Double(text.count) * 0.6))
                        guard size >= 7 else { continue }
                        canvas.text(text, x: x + cell / 2, y: y + cell / 2 + size * 0.35, size: size, anchor: .middle,
                                    fill: v.isFinite && colorMap.wantsLightText(fraction(v)) ? "#ffffff" : "#222222")
                    }
                }
            }
        }
        canvas.rect(x: area.x, y: area.y, width: gridWidth, height: gridHeight, fill: "none", stroke: "#444444")
        if showRowLabels {
            for (r, label) in rowLabels.enumerated() {
                canvas.text(label, x: area.x - 8, y: area.y + (Double(r) + 0.5) * cell + 4.5, size: FontSize.tick,
                            anchor: .end)
            }
        }
        canvas.text(rowTitle, x: area.x - (showRowLabels ? rowLabelWidth + 10 : 0) - 14,
                    y: area.y + gridHeight / 2, size: FontSize.axisTitle, anchor: .middle, rotation: -90)
        if showColumnLabels {
            canvas.axes(area, x: columnAxis, y: nil, xTitle: columnTitle, yTitle: nil, grid: false)
        } else {
            canvas.text(columnTitle, x: area.x + gridWidth / 2, y: area.bottom + 28, size: FontSize.axisTitle,
                        anchor: .middle)
        }
        let barArea = PlotArea(x: area.right + 28, y: area.y, width: 16, height: max(gridHeight, 160))
        canvas.colorBar(x: barArea.x, area: barArea, map: colorMap, axis: colorAxis, title: colorBarTitle)
        return canvas.render(title: title, description: subtitle)
    }
}

/// A confusion matrix: rows are the true classes, columns the predicted ones, each cell shows its count and is
/// coloured by the share of its row (the fraction of that true class predicted as the column's class), so classes
/// of different sizes compare at a glance.
public struct ConfusionMatrixChart: SVGChart {
    /// The class names, in index order.
    public let classes: [String]
    /// counts[true][predicted].
    public let counts: [[Int]]
    /// The picture.
    public let heatmap: Heatmap

    /// A confusion matrix; `subtitle` nil writes the accuracy ("accuracy 87.5 % (175 of 200)"). Throws unless
    /// `counts` is classes × classes of non-negative counts.
    public init(title: String, classes: [String], counts: [[Int]], subtitle: String? = nil) throws {
        let k = classes.count
        guard k >= 1, counts.count == k, counts.allSatisfy({ $0.count == k }) else {
            throw ReportError("confusion matrix '\(title)': expected \(k) × \(k) counts (true × predicted), found \(counts.count) rows of \(counts.map(\.count))")
        }
        if let row = counts.firstIndex(where: { $0.contains { $0 < 0 } }) {
            throw ReportError("confusion matrix '\(title)': expected non-negative counts, found a negative count in row \(row) (\(classes[row]))")
        }
        let total = counts.joined().reduce(0, +)
        let correct = (0..<k).reduce(0) { $0 + counts[$1][$1] }
        let accuracy = total > 0 ? 100 * Double(correct) / Double(total) : 0
        let shares: [[Double]] = counts.map { row in
            let sum = row.reduce(0, +)
            return row.map { sum > 0 ? 100 * Double($0) / Double(sum) : 0 }
        }
        self.classes = classes
        self.counts = counts
        heatmap = try Heatmap(
            title: title,
            subtitle: subtitle ?? "accuracy \(String(format: "%.1f", accuracy)) % (\(correct) of \(total)); colour: share of each true class",
            values: shares, rowLabels: classes, columnLabels: classes, rowTitle: "true class",
            columnTitle: "predicted class", colorBarTitle: "share of the true class (%)", colorMap: .blues,
            range: 0...100, cellTexts: counts.map { $0.map(String.init) })
    }

    /// The SVG document.
    public func svg() -> String { heatmap.svg() }
}
