import Foundation
import Testing
@testable import MambaTensor

@Suite struct VectorMathTests {
    /// Evenly spaced Floats from `low` to `high` (inclusive), `count` of them, in SIMD16 groups.
    static func sweep(_ low: Double, _ high: Double, count: Int) -> [SIMD16<Float>] {
        precondition(count % 16 == 0)
        return (0..<(count / 16)).map { group in
            var lanes = SIMD16<Float>()
            for lane in 0..<16 {
                lanes[lane] = Float(low + (high - low) * Double(group * 16 + lane) / Double(count - 1))
            }
            return lanes
        }
    }

    /// The largest relative error of `vector` (and of `scalar`, which must agree bitwise) against `exact`
    /// over `points`.
    static func maximumRelativeError(
        _ points: [SIMD16<Float>], vector: (SIMD16<Float>) -> SIMD16<Float>, scalar: (Float) -> Float,
        exact: (Double) -> Double
    ) -> (error: Double, at: Float, scalarMismatches: Int) {
        var worst = 0.0, worstAt: Float = 0, mismatches = 0
        for group in points {
            let result = vector(group)
            for lane in 0..<16 {
                let expected = exact(Double(group[lane]))
                let error = abs(Double(result[lane]) - expected) / abs(expected)
                if error > worst { worst = error; worstAt = group[lane] }
                if scalar(group[lane]).bitPattern != result[lane].bitPattern { mismatches += 1 }
            }
        }
        return (worst, worstAt, mismatches)
    }

    // 2²⁰ points over the whole normal range: about 6 per ulp-sized step of r = x − n·ln 2 at every n,
    // plus every Float in [0.5, 0.5 + 2⁻¹⁰] (all reduced arguments near one end of the interval).
    @Test func expRelativeErrorOverDenseSweep() {
        let lowest = Double(-0x1.5d589ep+6 as Float), highest = Double(0x1.62e42ep+6 as Float)
        var points = Self.sweep(lowest, highest, count: 1 << 20)
        let start = (0.5 as Float).bitPattern
        for group in 0..<(1 << 13) / 16 {
            var lanes = SIMD16<Float>()
            for lane in 0..<16 { lanes[lane] = Float(bitPattern: start + UInt32(group * 16 + lane)) }
            points.append(lanes)
        }
        let (error, at, mismatches) = Self.maximumRelativeError(
            points, vector: VectorMath.exp, scalar: VectorMath.exp, exact: Foundation.exp)
        #expect(error < VectorMath.expMaximumRelativeError, "worst at x = \(at)")
        #expect(mismatches == 0)
        // A bound that is far too loose would hide a worse polynomial: the measured error is about 1-2 ulp.
        #expect(error > 1e-8)
    }

    @Test func expEdgeCases() {
        let inputs: [Float] = [0, -0.0, 1, -1, -87.3365, -87.34, -88, -100, -1e30, -.infinity, 88.72, 88.73, 100,
                               1e30, .infinity, .nan, .leastNonzeroMagnitude, -.leastNonzeroMagnitude]
        for x in inputs {
            let scalar = VectorMath.exp(x)
            let vector = VectorMath.exp(SIMD16<Float>(repeating: x))[7]
            if x.isNaN {
                #expect(scalar.isNaN && vector.isNaN)
                continue
            }
            #expect(scalar.bitPattern == vector.bitPattern, "x = \(x)")
            let expected = Foundation.exp(Double(x))
            if expected < Double(Float.leastNormalMagnitude) {
                // Flushed to zero below the normal range: absolute error < FLT_MIN, never negative, never NaN.
                #expect(scalar == 0, "x = \(x)")
            } else if expected > Double(Float.greatestFiniteMagnitude) {
                #expect(scalar == .infinity, "x = \(x)")
            } else {
                #expect(abs(Double(scalar) - expected) / expected < VectorMath.expMaximumRelativeError, "x = \(x)")
            }
        }
        #expect(VectorMath.exp(0) == 1)
    }

    @Test func expNegativeMagnitudeIsExpOfMinusAbsolute() {
        let lowest = Double(-0x1.5d589ep+6 as Float)
        let negativeSide = Self.sweep(lowest, 0, count: 1 << 18)
        let (error, at, mismatches) = Self.maximumRelativeError(
            negativeSide, vector: VectorMath.expNegativeMagnitude, scalar: VectorMath.expNegativeMagnitude,
            exact: Foundation.exp)
        #expect(error < VectorMath.expMaximumRelativeError, "worst at x = \(at)")
        #expect(mismatches == 0)
        // Positive arguments mirror; beyond the normal range, infinities and NaN give 0; never above 1.
        let inputs: [Float] = [3, 87, 87.34, 100, 1e30, .infinity, -.infinity, -1e30, .nan, -.nan, 0, -0.0]
        for x in inputs {
            let scalar = VectorMath.expNegativeMagnitude(x)
            let vector = VectorMath.expNegativeMagnitude(SIMD16<Float>(repeating: x))[3]
            #expect(scalar.bitPattern == vector.bitPattern, "x = \(x)")
            #expect(scalar >= 0 && scalar <= 1, "x = \(x)")
            if x.isNaN || abs(x) > 87.34 {
                #expect(scalar == 0, "x = \(x)")
            } else {
                #expect(scalar == VectorMath.exp(-abs(x)), "x = \(x)")
            }
        }
    }

    @Test func softplusIsIdentityAboveThreshold() {
        // Not a special case in the code: above 20 the correction is under half an ulp of x.
        let points = Self.sweep(Double(VectorMath.softplusThreshold), 1e6, count: 1 << 14)
        var failures = 0
        for group in points {
            let result = VectorMath.softplus(group)
            for lane in 0..<16 where result[lane] != group[lane] || VectorMath.softplus(group[lane]) != group[lane] {
                failures += 1
            }
        }
        #expect(failures == 0)
        #expect(VectorMath.softplus(Float.infinity) == .infinity)
    }

    @Test func softplusAgainstDouble() {
        // Down to -87 the result e^x is a normal Float; above the threshold softplus is x itself.
        let points = Self.sweep(-87, 30, count: 1 << 18)
        let (error, at, mismatches) = Self.maximumRelativeError(
            points, vector: VectorMath.softplus, scalar: VectorMath.softplus,
            exact: { $0 > 20 ? $0 : Foundation.log1p(Foundation.exp($0)) })
        #expect(error < VectorMath.activationMaximumRelativeError, "worst at x = \(at)")
        #expect(mismatches == 0)
        #expect(VectorMath.softplus(20.5) == 20.5)
        #expect(VectorMath.softplus(-1000) == 0)
        #expect(VectorMath.softplus(SIMD16<Float>(repeating: -.infinity))[0] == 0)
    }

    @Test func sigmoidAndSiluAgainstDouble() {
        let points = Self.sweep(-87, 87, count: 1 << 18)
        let sigmoid = Self.maximumRelativeError(
            points, vector: VectorMath.sigmoid, scalar: VectorMath.sigmoid,
            exact: { 1 / (1 + Foundation.exp(-$0)) })
        #expect(sigmoid.error < VectorMath.activationMaximumRelativeError, "worst at x = \(sigmoid.at)")
        #expect(sigmoid.scalarMismatches == 0)
        // Skip x = 0 exactly, where silu is 0 and a relative error is undefined (the sweep does not hit it).
        let silu = Self.maximumRelativeError(
            points, vector: VectorMath.silu, scalar: VectorMath.silu,
            exact: { $0 / (1 + Foundation.exp(-$0)) })
        #expect(silu.error < VectorMath.activationMaximumRelativeError, "worst at x = \(silu.at)")
        #expect(silu.scalarMismatches == 0)
        // Far tails: finite, correct limits, no NaN from exp overflowing.
        #expect(VectorMath.sigmoid(-200) == 0)
        #expect(VectorMath.sigmoid(200) == 1)
        #expect(VectorMath.silu(-200) == 0)
        #expect(VectorMath.silu(200) == 200)
    }

    @Test func bufferVersionsMatchElementwise() {
        var generator = Xoshiro256StarStar(seed: 11)
        let count = 37  // two SIMD16 groups and a tail of 5
        let input = (0..<count).map { _ in generator.nextUniform() * 40 - 20 }
        typealias Buffer = (UnsafePointer<Float>, UnsafeMutablePointer<Float>, Int) -> Void
        let functions: [(Buffer, (Float) -> Float)] = [
            ({ VectorMath.exp($0, into: $1, count: $2) }, { VectorMath.exp($0) }),
            ({ VectorMath.softplus($0, into: $1, count: $2) }, { VectorMath.softplus($0) }),
            ({ VectorMath.sigmoid($0, into: $1, count: $2) }, { VectorMath.sigmoid($0) }),
            ({ VectorMath.silu($0, into: $1, count: $2) }, { VectorMath.silu($0) }),
        ]
        for (buffer, scalar) in functions {
            var output = [Float](repeating: .nan, count: count)
            buffer(input, &output, count)
            #expect(output == input.map(scalar))
            // In place.
            var inPlace = input
            inPlace.withUnsafeMutableBufferPointer { buffer($0.baseAddress!, $0.baseAddress!, count) }
            #expect(inPlace == output)
        }
    }
}
