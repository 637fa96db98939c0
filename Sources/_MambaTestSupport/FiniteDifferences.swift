// Finite-difference gradient checks in Double (ggml's test-backend-ops grad mode): a Float backward is compared
// with central differences of a Double forward.

/// Central differences (f(x + ε·eᵢ) − f(x − ε·eᵢ)) / 2ε for each index i in `indices` (all of x when nil).
/// With ε = 1e-6 and f computed in Double, the truncation error (ε²·f‴/6) and the rounding error (~1e-16·|f|/ε)
/// both stay near 1e-10 relative for smooth f of moderate size.
public func centralDifferences(at x: [Double], indices: [Int]? = nil, epsilon: Double = 1e-6,
                               _ f: ([Double]) -> Double) -> [Double] {
    var point = x
    return (indices ?? Array(x.indices)).map { i in
        point[i] = x[i] + epsilon
        let plus = f(point)
        point[i] = x[i] - epsilon
        let minus = f(point)
        point[i] = x[i]
        return (plus - minus) / (2 * epsilon)
    }
}

/// The central difference of f along `direction`: (f(x + ε·v) − f(x − ε·v)) / 2ε, which approximates ⟨∇f, v⟩.
public func directionalDifference(at x: [Double], direction: [Double], epsilon: Double = 1e-6,
                                  _ f: ([Double]) -> Double) -> Double {
    precondition(x.count == direction.count, "directionalDifference: sizes differ")
    let plus = f(zip(x, direction).map { $0 + epsilon * $1 })
    let minus = f(zip(x, direction).map { $0 - epsilon * $1 })
    return (plus - minus) / (2 * epsilon)
}

/// Whether `analytic` matches `numeric`: ‖analytic − numeric‖₂ <= relative · ‖numeric‖₂ + absolute. Returns the
/// verdict and the two norms' ratio (for messages).
public func gradientsAgree<A: Collection>(_ analytic: A, _ numeric: [Double], relative: Double = 1e-4,
                                          absolute: Double = 1e-8) -> (agree: Bool, error: Double)
where A.Element: BinaryFloatingPoint {
    precondition(analytic.count == numeric.count, "gradientsAgree: sizes differ: \(analytic.count) vs \(numeric.count)")
    var difference = 0.0, reference = 0.0
    for (a, n) in zip(analytic, numeric) {
        difference += (Double(a) - n) * (Double(a) - n)
        reference += n * n
    }
    difference = difference.squareRoot()
    reference = reference.squareRoot()
    return (difference <= relative * reference + absolute, reference == 0 ? difference : difference / reference)
}
