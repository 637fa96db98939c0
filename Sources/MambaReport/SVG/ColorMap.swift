// Colour scales of the heatmaps, and the line colours of the series.
import Foundation

/// A continuous colour scale from 0 to 1, by linear interpolation between evenly spaced stops (sRGB).
public struct ColorMap: Sendable, Equatable {
    /// The stops, low to high, as (red, green, blue) in 0 ... 255.
    let stops: [(UInt8, UInt8, UInt8)]

    /// Whether two scales have the same stops.
    public static func == (a: ColorMap, b: ColorMap) -> Bool {
        a.stops.count == b.stops.count && zip(a.stops, b.stops).allSatisfy { $0 == $1 }
    }

    /// Dark purple through blue and green to yellow: perceptually ordered, readable in grey and by most colour-blind
    /// readers (the stops are those of matplotlib's viridis at 0, 1/8, ..., 1). For spectrograms and Δ.
    public static let viridis = ColorMap(stops: [
        (68, 1, 84), (71, 44, 122), (59, 81, 139), (44, 113, 142), (33, 144, 141), (39, 173, 129),
        (92, 200, 99), (170, 220, 50), (253, 231, 37),
    ])
    /// White to dark blue: for counts, where zero should look empty (confusion matrices).
    public static let blues = ColorMap(stops: [
        (247, 251, 255), (222, 235, 247), (198, 219, 239), (158, 202, 225), (107, 174, 214), (66, 146, 198),
        (33, 113, 181), (8, 81, 156), (8, 48, 107),
    ])
    /// Blue below the middle, near-white at it, red above: for values about a reference (a ratio to a mean). The
    /// stops are ColorBrewer's RdBu, reversed.
    public static let diverging = ColorMap(stops: [
        (33, 102, 172), (103, 169, 207), (209, 229, 240), (247, 247, 247), (253, 219, 199), (239, 138, 98),
        (178, 24, 43),
    ])

    /// The colour at `t` (clamped to 0 ... 1) as (red, green, blue).
    func rgb(_ t: Double) -> (UInt8, UInt8, UInt8) {
        let t = t.isFinite ? min(1, max(0, t)) : 0
        let position = t * Double(stops.count - 1)
        let i = min(stops.count - 2, Int(position))
        let f = position - Double(i)
        func mix(_ a: UInt8, _ b: UInt8) -> UInt8 { UInt8((Double(a) + (Double(b) - Double(a)) * f).rounded()) }
        let (a, b) = (stops[i], stops[i + 1])
        return (mix(a.0, b.0), mix(a.1, b.1), mix(a.2, b.2))
    }

    /// The colour at `t` as "#rrggbb".
    func hex(_ t: Double) -> String {
        let (r, g, b) = rgb(t)
        return String(format: "#%02x%02x%02x", r, g, b)
    }

    /// Whether text on the colour at `t` should be white (the background's relative luminance is low).
    func wantsLightText(_ t: Double) -> Bool {
        let (r, g, b) = rgb(t)
        func linear(_ c: UInt8) -> Double {
            let v = Double(c) / 255
            return v <= 0.04045 ? v / 12.92 : pow((v + 0.055) / 1.055, 2.4)
        }
        return 0.2126 * linear(r) + 0.7152 * linear(g) + 0.0722 * linear(b) < 0.25
    }
}

/// Line colours of successive series: the Okabe–Ito palette (distinguishable with the common colour-vision
/// deficiencies), yellow left out (too light on white).
let seriesPalette = ["#0072B2", "#D55E00", "#009E73", "#CC79A7", "#E69F00", "#56B4E9", "#000000"]
