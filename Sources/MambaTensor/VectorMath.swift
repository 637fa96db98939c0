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
///
/// The SIMD16 forms are `@_transparent` (always inlined, also across modules): `@inline(__always)` was not enough, as
/// Swift's inliner stopped inlining them into the large scan kernels (each SIMD16 operation is 16 lanes in SIL until
/// LLVM vectorises it), and a call per exp cost the scan about 3x.
public enum VectorMath {
    /// The maximum relative error of `exp` (SIMD and scalar) for x in [ln(FLT_MIN), ln(FLT_MAX)], as tested.
    public static let expMaximumRelativeError: Double = 1.5e-7

    /// The maximum relative error of `softplus`, `sigmoid` and `silu` where their results are normal Floats, as tested
    /// (measured: softplus 2.6e-7, sigmoid 1.4e-7, silu 1.6e-7).
    public static let activationMaximumRelativeError: Double = 5e-7

    /// PyTorch's default softplus threshold: above it softplus(x) is x itself (here without a test: see `softplus`).
    public static let softplusThreshold: Float = 20

    // MARK: exp

    /// eˣ on 16 lanes (see the file header for the method and the error bound). The range fix-ups are integer
    /// masks from the bit pattern, as in `expNegativeMagnitude`.
    @_transparent
    public static func exp(_ x: SIMD16<Float>) -> SIMD16<Float> {
        typealias I = SIMD16<Int32>
        let bits = unsafeBitCast(x, to: I.self)
        let magnitude = bits & I(repeating: 0x7FFF_FFFF)
        let negative = bits &>> 31                                                              // sign bit set
        let beyondLowest = (I(repeating: ExpConstants.negativeLowestBits) &- magnitude) &>> 31  // |x| > −lowest
        let beyondHighest = (I(repeating: ExpConstants.highestBits) &- magnitude) &>> 31        // |x| > highest
        let notANumber = (I(repeating: 0x7F80_0000) &- magnitude) &>> 31
        let zero = negative & beyondLowest, infinite = ~negative & beyondHighest
        var result = unsafeBitCast(expCore(x), to: I.self) & ~(zero | infinite)
        result |= infinite & I(repeating: 0x7F80_0000)
        result = (result & ~notANumber) | (bits & notANumber)
        return unsafeBitCast(result, to: SIMD16<Float>.self)
    }

    /// e^(−|x|) on 16 lanes: eˣ for x <= 0 with the error bound of `exp`, for less work than `exp`: the result is
    /// always in [0, 1] (0 where e^(−|x|) < FLT_MIN, and for NaN), so there is no overflow or NaN handling.
    ///
    /// The selective scan's decay exp(Δ·A) has Δ >= 0 and A <= 0: this is its exp. The range test is integer
    /// arithmetic on the bit pattern, not a SIMD comparison: comparisons of bit-cast vectors were compiled to a
    /// lane-by-lane loop inside the large scan kernels (measured 10x slower), shifts and masks never are.
    @_transparent
    public static func expNegativeMagnitude(_ x: SIMD16<Float>) -> SIMD16<Float> {
        typealias I = SIMD16<Int32>
        let magnitude = unsafeBitCast(x, to: I.self) & I(repeating: 0x7FFF_FFFF)
        let negative = unsafeBitCast(magnitude | I(repeating: Int32(bitPattern: 0x8000_0000)), to: SIMD16<Float>.self)
        // All ones where |x| > −lowest (including NaN, whose magnitude bits exceed every finite one's).
        let underflow = (I(repeating: ExpConstants.negativeLowestBits) &- magnitude) &>> 31
        let result = unsafeBitCast(expCore(negative), to: I.self) & ~underflow
        return unsafeBitCast(result, to: SIMD16<Float>.self)
    }

    /// The polynomial and the scaling of `exp` without the range fix-ups: correct for x in [lowest, highest].
    @_transparent @usableFromInline
    static func expCore(_ x: SIMD16<Float>) -> SIMD16<Float> {
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
        // p · 2ⁿ: add n to the biased exponent (out-of-range lanes get garbage; the callers replace them).
        let exponent = (unsafeBitCast(k, to: I.self) &- I(repeating: ExpConstants.shifterBits)) &<< 23
        return unsafeBitCast(unsafeBitCast(p, to: I.self) &+ exponent, to: V.self)
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

    /// e^(−|x|) for one Float (same method as the SIMD16 version, bitwise equal results; 0 for NaN).
    @inlinable @inline(__always)
    public static func expNegativeMagnitude(_ x: Float) -> Float {
        x.isNaN ? 0 : exp(-abs(x))
    }

    // MARK: softplus, sigmoid, silu
    // All three are written from e = e^(−|x|) ∈ [0, 1] and the sign of x, selected with integer masks (no SIMD
    // comparisons, see `expNegativeMagnitude`), so that no exponential can overflow.

    /// log(1 + eˣ), which equals x itself above `softplusThreshold` in Float (as torch.nn.functional.softplus).
    ///
    /// Computed as max(x, 0) + log1p(e^−|x|) with log1p(y) = 2·atanh(y / (2 + y)) (no cancellation for small y);
    /// atanh(s) = s·(1 + s²/3 + … + s¹²/13) for s <= 1/3 (truncation error < 1.5e-8 relative). Above 20 the
    /// correction log1p(e^−x) < 2.1e-9 is below half an ulp of x, so the sum is x exactly, as PyTorch's threshold.
    @_transparent
    public static func softplus(_ x: SIMD16<Float>) -> SIMD16<Float> {
        typealias V = SIMD16<Float>
        typealias I = SIMD16<Int32>
        let y = expNegativeMagnitude(x)
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
        // max(x, 0): clear the lanes whose sign bit is set.
        let bits = unsafeBitCast(x, to: I.self)
        let positivePart = unsafeBitCast(bits & ~(bits &>> 31), to: V.self)
        return positivePart + log1pY
    }

    /// log(1 + eˣ) for one Float (same method as the SIMD16 version, bitwise equal results).
    @inlinable @inline(__always)
    public static func softplus(_ x: Float) -> Float {
        let y = expNegativeMagnitude(x)
        let s = y / (y + 2)
        let s2 = s * s
        var atanhSeries: Float = 1 / 13
        atanhSeries = (1 / 11 as Float).addingProduct(atanhSeries, s2)
        atanhSeries = (1 / 9 as Float).addingProduct(atanhSeries, s2)
        atanhSeries = (1 / 7 as Float).addingProduct(atanhSeries, s2)
        atanhSeries = (1 / 5 as Float).addingProduct(atanhSeries, s2)
        atanhSeries = (1 / 3 as Float).addingProduct(atanhSeries, s2)
        atanhSeries = (1 as Float).addingProduct(atanhSeries, s2)
        return (x.sign == .minus ? 0 : x) + (s + s) * atanhSeries
    }

    /// 1 / (1 + e⁻ˣ), computed as 1 / (1 + e) for x >= 0 and e / (1 + e) for x < 0 with e = e^(−|x|).
    /// (For NaN the result is 0 or 1.)
    @_transparent
    public static func sigmoid(_ x: SIMD16<Float>) -> SIMD16<Float> {
        let e = expNegativeMagnitude(x)
        return sigmoidNumerator(x, e) / (1 + e)
    }

    /// 1 / (1 + e⁻ˣ) for one Float (bitwise equal to the SIMD16 version).
    @inlinable @inline(__always)
    public static func sigmoid(_ x: Float) -> Float {
        let e = expNegativeMagnitude(x)
        return (x.sign == .minus ? e : 1) / (1 + e)
    }

    /// x · sigmoid(x) (SiLU, also called swish), as (x · numerator) / (1 + e) with sigmoid's numerator and e.
    @_transparent
    public static func silu(_ x: SIMD16<Float>) -> SIMD16<Float> {
        let e = expNegativeMagnitude(x)
        return x * sigmoidNumerator(x, e) / (1 + e)
    }

    /// x · sigmoid(x) for one Float (bitwise equal to the SIMD16 version).
    @inlinable @inline(__always)
    public static func silu(_ x: Float) -> Float {
        let e = expNegativeMagnitude(x)
        return x * (x.sign == .minus ? e : 1) / (1 + e)
    }

    /// e where x's sign bit is set, 1 elsewhere.
    @_transparent @usableFromInline
    static func sigmoidNumerator(_ x: SIMD16<Float>, _ e: SIMD16<Float>) -> SIMD16<Float> {
        typealias I = SIMD16<Int32>
        let negative = unsafeBitCast(x, to: I.self) &>> 31
        let one = I(repeating: 0x3F80_0000)
        return unsafeBitCast((unsafeBitCast(e, to: I.self) & negative) | (one & ~negative), to: SIMD16<Float>.self)
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
    /// The bit patterns of −lowest and highest.
    @usableFromInline static var negativeLowestBits: Int32 { 0x42AE_AC4F }
    @usableFromInline static var highestBits: Int32 { 0x42B1_7217 }
    @usableFromInline static var highest: Float { 0x1.62e42ep+6 }
}
