// Axis ticks at round values, as people draw them by hand: a linear axis steps by 1, 2 or 5 × 10^k and its ends are
// multiples of the step; a logarithmic axis ticks the powers of ten (and 2 and 5 times them over short ranges).
import Foundation

/// One tick: a data value and its label.
struct Tick: Equatable {
    var value: Double
    var label: String
}

/// An axis resolved for drawing: its domain (data units), its kind and its ticks.
struct ResolvedAxis {
    enum Kind: Equatable { case linear, logarithmic, categorical(Int) }
    let kind: Kind
    /// The data range the axis spans (for a logarithmic axis, positive; for a categorical one, −0.5 ... count − 0.5).
    let lower: Double
    let upper: Double
    let ticks: [Tick]

    /// The fraction 0 ... 1 of the axis at `value`, or nil where the value cannot be placed (non-finite, or not
    /// positive on a logarithmic axis).
    func fraction(_ value: Double) -> Double? {
        guard value.isFinite else { return nil }
        switch kind {
        case .linear, .categorical:
            return (value - lower) / (upper - lower)
        case .logarithmic:
            guard value > 0 else { return nil }
            return (log10(value) - log10(lower)) / (log10(upper) - log10(lower))
        }
    }

    /// A linear axis over the data range [low, high], widened to round ends; about `target` intervals.
    static func linear(low: Double, high: Double, target: Int) -> ResolvedAxis {
        var low = low, high = high
        if !(low.isFinite && high.isFinite) { (low, high) = (0, 1) }
        if high < low { swap(&low, &high) }
        if high == low {
            let pad = low == 0 ? 1 : abs(low) * 0.1
            low -= pad
            high += pad
        }
        let step = NiceStep(roughly: (high - low) / Double(max(1, target)))
        let first = Int((low / step.value + 1e-9).rounded(.down))
        let last = Int((high / step.value - 1e-9).rounded(.up))
        let ticks = (first...max(first + 1, last)).map { k -> Tick in
            let value = step.multiple(k)
            return Tick(value: value, label: step.label(value))
        }
        return ResolvedAxis(kind: .linear, lower: ticks.first!.value, upper: ticks.last!.value, ticks: ticks)
    }

    /// A linear axis over exactly [low, high] (a fixed range), ticked at the round values inside it.
    static func fixed(low: Double, high: Double, target: Int) -> ResolvedAxis {
        let step = NiceStep(roughly: (high - low) / Double(max(1, target)))
        let first = Int((low / step.value - 1e-9).rounded(.up))
        let last = Int((high / step.value + 1e-9).rounded(.down))
        let ticks = first <= last ? (first...last).map { k -> Tick in
            let value = step.multiple(k)
            return Tick(value: value, label: step.label(value))
        } : []
        return ResolvedAxis(kind: .linear, lower: low, upper: high, ticks: ticks)
    }

    /// A logarithmic axis over the positive data range [low, high], widened to powers of ten.
    static func logarithmic(low: Double, high: Double) -> ResolvedAxis {
        var low = low, high = high
        if !(low > 0 && low.isFinite) { low = 1 }
        if !(high > 0 && high.isFinite) { high = low * 10 }
        if high < low { swap(&low, &high) }
        var first = Int(log10(low).rounded(.down))
        var last = Int(log10(high).rounded(.up))
        if last == first { last += 1 }
        // Very wide ranges: at most about eight labelled decades.
        let decadeStep = max(1, (last - first + 7) / 8)
        first = first - ((first % decadeStep) + decadeStep) % decadeStep
        var ticks: [Tick] = []
        for exponent in stride(from: first, through: last, by: decadeStep) {
            ticks.append(Tick(value: Self.power(exponent), label: Self.decadeLabel(exponent)))
            // A range of one decade also ticks 2 and 5 times its power.
            if last - first <= 1 && exponent < last {
                for factor in [2, 5] {
                    let step = NiceStep(mantissa: factor, exponent: exponent)
                    let value = step.multiple(1)
                    ticks.append(Tick(value: value, label: step.label(value)))
                }
            }
        }
        let top = ticks.map(\.value).max()!
        return ResolvedAxis(kind: .logarithmic, lower: Self.power(first), upper: max(top, Self.power(last)),
                            ticks: ticks.sorted { $0.value < $1.value })
    }

    /// A categorical axis: one band per label, ticks at the band centres 0, 1, ..., count − 1.
    static func categorical(_ labels: [String]) -> ResolvedAxis {
        ResolvedAxis(kind: .categorical(labels.count), lower: -0.5, upper: Double(labels.count) - 0.5,
                     ticks: labels.enumerated().map { Tick(value: Double($0.offset), label: $0.element) })
    }

    /// 10^exponent, exact for the exponents axes use (division for negative ones, so 10^−1 is the double nearest 0.1).
    static func power(_ exponent: Int) -> Double {
        exponent >= 0 ? pow(10, Double(exponent)) : 1 / pow(10, Double(-exponent))
    }

    static func decadeLabel(_ exponent: Int) -> String {
        if exponent >= 0 && exponent <= 6 { return String(Int(power(exponent))) }
        if exponent < 0 && exponent >= -4 { return String(format: "%.\(-exponent)f", power(exponent)) }
        return "1e\(exponent)"
    }
}

/// A step of mantissa × 10^exponent with mantissa 1, 2 or 5: its multiples are round numbers.
struct NiceStep: Equatable {
    let mantissa: Int
    let exponent: Int

    init(mantissa: Int, exponent: Int) {
        self.mantissa = mantissa
        self.exponent = exponent
    }

    /// The step of 1, 2 or 5 × 10^k nearest `rough` on a log scale (thresholds at the geometric means √2, √10,
    /// √50, as d3's ticks), so an axis gets about as many intervals as asked.
    init(roughly rough: Double) {
        let rough = rough > 0 && rough.isFinite ? rough : 1
        var exponent = Int(log10(rough).rounded(.down))
        let fraction = rough / ResolvedAxis.power(exponent)
        let mantissa: Int
        if fraction < 2.0.squareRoot() { mantissa = 1 }
        else if fraction < 10.0.squareRoot() { mantissa = 2 }
        else if fraction < 50.0.squareRoot() { mantissa = 5 }
        else { mantissa = 1; exponent += 1 }
        self.init(mantissa: mantissa, exponent: exponent)
    }

    var value: Double { Double(mantissa) * ResolvedAxis.power(exponent) }

    /// k steps, computed as an integer over a power of ten so 3 × 0.1 is 0.3, not 0.30000000000000004.
    func multiple(_ k: Int) -> Double {
        exponent >= 0 ? Double(k * mantissa) * ResolvedAxis.power(exponent)
            : Double(k * mantissa) / ResolvedAxis.power(-exponent)
    }

    /// The label of a multiple: as many decimals as the step has, no more.
    func label(_ value: Double) -> String {
        let decimals = max(0, -exponent)
        if abs(value) >= 1e7 {
            let e = Int(log10(abs(value)).rounded(.down))
            return compactNumber(value / ResolvedAxis.power(e), decimals: 2) + "e\(e)"
        }
        let text = String(format: "%.\(decimals)f", value)
        return Double(text) == 0 ? "0" : text
    }
}

/// A number written with as few digits as it needs, at most `decimals` after the point ("22.05", "48", "0.125").
func compactNumber(_ value: Double, decimals: Int = 3) -> String {
    guard value.isFinite else { return value.isNaN ? "NaN" : (value > 0 ? "∞" : "−∞") }
    var text = String(format: "%.\(decimals)f", value)
    if text.contains(".") {
        while text.hasSuffix("0") { text.removeLast() }
        if text.hasSuffix(".") { text.removeLast() }
    }
    return text == "-0" ? "0" : text
}
