// Vectorised elementwise functions for the scan and the layers. glibc's expf is never vectorised (shared/PLATFORM.md)
// and the exp is most of the selective scan's time, so exp is a polynomial on 16 lanes at once.
//
// exp(x): n = round(x / ln 2), r = x − n·ln 2 (two-part ln 2, with FMA) so |r| <= ln(2)/2; exp(r) ≈ 1 + r + … + c6·r⁶
// (coefficients fitted here for minimax relative error on [−ln2/2, ln2/2]: 3.1e-9 in exact arithmetic); the result is
// p · 2ⁿ, made by adding n to p's exponent bits.
// Maximum relative error against Double exp, measured over 2²⁰ evenly spaced points of [−87.33, 88.72] and every Float
// in [0.5, 0.5 + 2⁻¹⁰] (MambaTensorTests.VectorMathTests): 7.6e-8 (0.64 ulp); the tested bound is
// `VectorMath.expMaximumRelativeError` = 1.5e-7.
// Results that would be subnormal (x < ln(FLT_MIN) ≈ −87.3365) are flushed to +0, so the absolute error there is
// below FLT_MIN = 1.18e-38; x > ln(FLT_MAX) ≈ 88.7228 gives +inf; NaN gives NaN; finite input never gives NaN.

/// Elementwise exp, softplus, silu and sigmoid on `SIMD16<Float>`, on `Float`, and over buffers.
public enum VectorMath {
    /// The maximum relative error of `exp` (SIMD and scalar) for x in [ln(FLT_MIN), ln(FLT_MAX)], as tested.
    public static let expMaximumRelativeError: Double = 1.5e-7

    /// The maximum relative error of `softplus`, `sigmoid` and `silu` where their results are normal Floats, as tested
    /// (measured: softplus 2.6e-7, sigmoid 1.4e-7, silu 1.6e-7).
    public static let activationMaximumRelativeError: Double = 5e-7

    /// PyTorch's default softplus threshold: above it softplus(x) returns x itself.
    public static let softplusThreshold: Float = 20

    // MARK: exp

    /// eˣ on 16 lanes (see the file header for the method and the error bound).
    @inlinable @inline(__always)
    public static func exp(_ x: SIMD16<Float>) -> SIMD16<Float> {
        typealias V = SIMD16<Float>
        typealias I = SIMD16<Int32>
        // k = x·log2(e) + 1.5·2²³: the addition rounds to an integer, left in k's low mantissa bits.
        let shifter = V(repeating: ExpConstants.shifter)
        let k = shifter.addingProduct(x, V(repeating: ExpConstants.log2e))
        let n = k - shifter
        var r = x.addingProduct(n, V(repeating: -ExpConstants.ln2High))
        r = r.addingProduct(n, V(repeating: -ExpConstants.ln2Low))
        var p = V(repeating: ExpConstants.c6)
        p = V(repeating: ExpConstants.c5).addingProduct(p, r)
        p = V(repeating: ExpConstants.c4).addingProduct(p, r)
        p = V(repeating: ExpConstants.c3).addingProduct(p, r)
        p = V(repeating: ExpConstants.c2).addingProduct(p, r)
        p = V(repeating: 1).addingProduct(p, r)
        p = V(repeating: 1).addingProduct(p, r)
        // p · 2ⁿ: add n to the biased exponent. Out-of-range lanes hold garbage here and are replaced below.
        let exponent = (unsafeBitCast(k, to: I.self) &- I(repeating: ExpConstants.shifterBits)) &<< 23
        var result = unsafeBitCast(unsafeBitCast(p, to: I.self) &+ exponent, to: V.self)
        result.replace(with: 0, where: x .< V(repeating: ExpConstants.lowest))
        result.replace(with: .infinity, where: x .> V(repeating: ExpConstants.highest))
        result.replace(with: x, where: x .!= x)
        return result
    }

    /// eˣ for one Float, by the same polynomial as the SIMD16 version (bitwise equal results).
    @inlinable @inline(__always)
    public static func exp(_ x: Float) -> Float {
        if x.isNaN { return x }
        if x < ExpConstants.lowest { return 0 }
        if x > ExpConstants.highest { return .infinity }
        let k = ExpConstants.shifter.addingProduct(x, ExpConstants.log2e)
        let n = k - ExpConstants.shifter
        var r = x.addingProduct(n, -ExpConstants.ln2High)
        r = r.addingProduct(n, -ExpConstants.ln2Low)
        var p = ExpConstants.c6
        p = ExpConstants.c5.addingProduct(p, r)
        p = ExpConstants.c4.addingProduct(p, r)
        p = ExpConstants.c3.addingProduct(p, r)
        p = ExpConstants.c2.addingProduct(p, r)
        p = Float(1).addingProduct(p, r)
        p = Float(1).addingProduct(p, r)
        let exponent = (Int32(bitPattern: k.bitPattern) &- ExpConstants.shifterBits) &<< 23
        return Float(bitPattern: UInt32(bitPattern: Int32(bitPattern: p.bitPattern) &+ exponent))
    }

    // MARK: softplus, sigmoid, silu

    /// log(1 + eˣ), and x itself above `softplusThreshold` (as torch.nn.functional.softplus).
    ///
    /// Computed as max(x, 0) + log1p(e^−|x|) with log1p(y) = 2·atanh(y / (2 + y)) (no cancellation for small y);
    /// atanh(s) = s·(1 + s²/3 + … + s¹²/13) for s <= 1/3 (truncation error < 1.5e-8 relative).
    @inlinable @inline(__always)
    public static func softplus(_ x: SIMD16<Float>) -> SIMD16<Float> {
        typealias V = SIMD16<Float>
        let negativeMagnitude = unsafeBitCast(
            unsafeBitCast(x, to: SIMD16<UInt32>.self) | SIMD16<UInt32>(repeating: 0x8000_0000), to: V.self)
        let y = exp(negativeMagnitude)
        let s = y / (y + 2)
        let s2 = s * s
        var atanhSeries = V(repeating: 1 / 13)
        atanhSeries = V(repeating: 1 / 11).addingProduct(atanhSeries, s2)
        atanhSeries = V(repeating: 1 / 9).addingProduct(atanhSeries, s2)
        atanhSeries = V(repeating: 1 / 7).addingProduct(atanhSeries, s2)
        atanhSeries = V(repeating: 1 / 5).addingProduct(atanhSeries, s2)
        atanhSeries = V(repeating: 1 / 3).addingProduct(atanhSeries, s2)
        atanhSeries = V(repeating: 1).addingProduct(atanhSeries, s2)
        let log1pY = (s + s) * atanhSeries
        var positivePart = x
        positivePart.replace(with: 0, where: x .< 0)
        var result = positivePart + log1pY
        result.replace(with: x, where: x .> V(repeating: softplusThreshold))
        return result
    }

    /// log(1 + eˣ) for one Float (same method as the SIMD16 version).
    @inlinable @inline(__always)
    public static func softplus(_ x: Float) -> Float {
        if x > softplusThreshold || x.isNaN { return x }
        let y = exp(-abs(x))
        let s = y / (y + 2)
        let s2 = s * s
        var atanhSeries: Float = 1 / 13
        atanhSeries = (1 / 11 as Float).addingProduct(atanhSeries, s2)
        atanhSeries = (1 / 9 as Float).addingProduct(atanhSeries, s2)
        atanhSeries = (1 / 7 as Float).addingProduct(atanhSeries, s2)
        atanhSeries = (1 / 5 as Float).addingProduct(atanhSeries, s2)
        atanhSeries = (1 / 3 as Float).addingProduct(atanhSeries, s2)
        atanhSeries = (1 as Float).addingProduct(atanhSeries, s2)
        return (x < 0 ? 0 : x) + (s + s) * atanhSeries
    }

    /// 1 / (1 + e⁻ˣ).
    @inlinable @inline(__always)
    public static func sigmoid(_ x: SIMD16<Float>) -> SIMD16<Float> {
        1 / (1 + exp(-x))
    }

    /// 1 / (1 + e⁻ˣ) for one Float.
    @inlinable @inline(__always)
    public static func sigmoid(_ x: Float) -> Float {
        1 / (1 + exp(-x))
    }

    /// x · sigmoid(x) (SiLU, also called swish).
    @inlinable @inline(__always)
    public static func silu(_ x: SIMD16<Float>) -> SIMD16<Float> {
        x / (1 + exp(-x))
    }

    /// x · sigmoid(x) for one Float.
    @inlinable @inline(__always)
    public static func silu(_ x: Float) -> Float {
        x / (1 + exp(-x))
    }

    // MARK: Buffers

    /// output[i] = exp(input[i]) for i in 0..<count; `output` may equal `input`.
    public static func exp(_ input: UnsafePointer<Float>, into output: UnsafeMutablePointer<Float>, count: Int) {
        apply(input, output, count, exp, exp)
    }

    /// output[i] = softplus(input[i]) for i in 0..<count; `output` may equal `input`.
    public static func softplus(_ input: UnsafePointer<Float>, into output: UnsafeMutablePointer<Float>, count: Int) {
        apply(input, output, count, softplus, softplus)
    }

    /// output[i] = sigmoid(input[i]) for i in 0..<count; `output` may equal `input`.
    public static func sigmoid(_ input: UnsafePointer<Float>, into output: UnsafeMutablePointer<Float>, count: Int) {
        apply(input, output, count, sigmoid, sigmoid)
    }

    /// output[i] = silu(input[i]) for i in 0..<count; `output` may equal `input`.
    public static func silu(_ input: UnsafePointer<Float>, into output: UnsafeMutablePointer<Float>, count: Int) {
        apply(input, output, count, silu, silu)
    }

    @inline(__always)
    static func apply(
        _ input: UnsafePointer<Float>, _ output: UnsafeMutablePointer<Float>, _ count: Int,
        _ vector: (SIMD16<Float>) -> SIMD16<Float>, _ scalar: (Float) -> Float
    ) {
        var index = 0
        while index + 16 <= count {
            let value = UnsafeRawPointer(input + index).loadUnaligned(as: SIMD16<Float>.self)
            UnsafeMutableRawPointer(output + index).storeBytes(of: vector(value), as: SIMD16<Float>.self)
            index += 16
        }
        while index < count {
            output[index] = scalar(input[index])
            index += 1
        }
    }
}

/// The constants of `VectorMath.exp` (computed properties, so they fold into the inlined code).
@usableFromInline
enum ExpConstants {
    /// 1.5 · 2²³: adding it to |t| < 2²² rounds t to an integer held in the low mantissa bits.
    @usableFromInline static var shifter: Float { 0x1.8p23 }
    @usableFromInline static var shifterBits: Int32 { 0x4B40_0000 }
    @usableFromInline static var log2e: Float { 0x1.715476p+0 }
    /// ln 2 = ln2High + ln2Low, ln2High being ln 2 rounded to Float.
    @usableFromInline static var ln2High: Float { 0x1.62e430p-1 }
    @usableFromInline static var ln2Low: Float { -0x1.05c610p-29 }
    /// Minimax (relative) coefficients of r², …, r⁶ for exp(r), |r| <= ln(2)/2.
    @usableFromInline static var c2: Float { 0x1.fffffcp-2 }
    @usableFromInline static var c3: Float { 0x1.555492p-3 }
    @usableFromInline static var c4: Float { 0x1.5558f2p-5 }
    @usableFromInline static var c5: Float { 0x1.1239d4p-7 }
    @usableFromInline static var c6: Float { 0x1.6a244cp-10 }
    /// The smallest x whose exp is a normal Float (ln(FLT_MIN) rounded up) and the largest whose exp is finite.
    @usableFromInline static var lowest: Float { -0x1.5d589ep+6 }
    @usableFromInline static var highest: Float { 0x1.62e42ep+6 }
}
