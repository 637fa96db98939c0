// Cross-entropy of logits against integer targets, fused with its gradient: torch.nn.functional.cross_entropy
// (log_softmax then nll_loss, ignore_index for negative targets); the caller divides by the number of predictions.
// Per row r with target c* (m = max_c x_c, subtracted for stability):
//   loss_r = log Σ_c exp(x_c − m) + m − x_c*
//   dx_c   = scale · (softmax(x)_c − [c == c*])      (scale = lossScale / count: the mean's factor)
// Rows whose target is negative are ignored: no loss, zero gradient.
import Foundation
import MambaTensor

/// Softmax cross-entropy over the rows of a logits matrix.
public enum CrossEntropy {
    /// Sums over the scored rows.
    public struct Result: Sendable, Equatable {
        /// Σ loss_r over the scored rows (natural log).
        public var lossSum: Double
        /// The number of scored rows (target >= 0).
        public var count: Int
        /// Scored rows whose first largest logit is the target's.
        public var correct: Int

        /// A result.
        public init(lossSum: Double = 0, count: Int = 0, correct: Int = 0) {
            self.lossSum = lossSum
            self.count = count
            self.correct = correct
        }
    }

    /// Fast path. logits: (rows, classes), row stride `stride` (>= classes); targets: (rows), each < classes (a
    /// class index) or negative (ignored). With `gradient`, each row of `logits` is overwritten with
    /// scale · (softmax − one-hot) (zeros for ignored rows). Rows in parallel, 16-lane max / exp / sums; the per-row
    /// losses are added in row order in Double (bitwise reproducible at any thread count).
    public static func forward(logits: UnsafeMutablePointer<Float>, rows: Int, classes: Int, stride: Int,
                               targets: UnsafePointer<Int32>, scale: Float, gradient: Bool) -> Result {
        guard rows > 0 else { return Result() }
        let losses = UnsafeMutablePointer<Double>.allocate(capacity: rows)
        let hits = UnsafeMutablePointer<Int32>.allocate(capacity: rows)
        defer { losses.deallocate(); hits.deallocate() }
        let logitsPointer = SendablePointer(logits), targetsPointer = SendablePointer(targets)
        let lossesPointer = SendablePointer(losses), hitsPointer = SendablePointer(hits)
        parallelRanges(rows, minimum: max(1, 8192 / max(classes, 1))) { range in
            for r in range {
                let x = logitsPointer.pointer + r * stride
                let target = Int(targetsPointer.pointer[r])
                guard target >= 0 else {
                    lossesPointer.pointer[r] = 0
                    hitsPointer.pointer[r] = 0
                    if gradient { x.update(repeating: 0, count: classes) }
                    continue
                }
                // The first largest logit (argmax) and the maximum.
                var best = 0
                for c in 1..<max(classes, 1) where x[c] > x[best] { best = c }
                let m = x[best], targetLogit = x[target]
                // Σ exp(x − m), the exponentials kept in the row when the gradient is wanted.
                let m16 = SIMD16<Float>(repeating: m)
                var sum16 = SIMD16<Float>()
                var c = 0
                while c + 16 <= classes {
                    let e = VectorMath.exp(load16(x + c) - m16)
                    sum16 += e
                    if gradient { store16(e, x + c) }
                    c += 16
                }
                var sum = sum16.sum()
                while c < classes {
                    let e = VectorMath.exp(x[c] - m)
                    sum += e
                    if gradient { x[c] = e }
                    c += 1
                }
                lossesPointer.pointer[r] = Foundation.log(Double(sum)) + Double(m) - Double(targetLogit)
                hitsPointer.pointer[r] = best == target ? 1 : 0
                if gradient {
                    let factor = scale / sum
                    let factor16 = SIMD16<Float>(repeating: factor)
                    c = 0
                    while c + 16 <= classes { store16(load16(x + c) * factor16, x + c); c += 16 }
                    while c < classes { x[c] *= factor; c += 1 }
                    x[target] -= scale
                }
            }
        }
        var result = Result()
        for r in 0..<rows where targets[r] >= 0 {
            result.lossSum += losses[r]
            result.count += 1
            result.correct += Int(hits[r])
        }
        return result
    }

    /// The oracle of `forward`: Double arithmetic with libm exp and log, one row at a time.
    public static func reference(logits: UnsafeMutablePointer<Float>, rows: Int, classes: Int, stride: Int,
                                 targets: UnsafePointer<Int32>, scale: Float, gradient: Bool) -> Result {
        var result = Result()
        for r in 0..<rows {
            let x = logits + r * stride
            let target = Int(targets[r])
            guard target >= 0 else {
                if gradient { x.update(repeating: 0, count: classes) }
                continue
            }
            var best = 0
            for c in 0..<classes where x[c] > x[best] { best = c }
            let m = Double(x[best])
            let sum = (0..<classes).reduce(0.0) { $0 + Foundation.exp(Double(x[$1]) - m) }
            result.lossSum += Foundation.log(sum) + m - Double(x[target])
            result.count += 1
            result.correct += best == target ? 1 : 0
            if gradient {
                for c in 0..<classes {
                    let p = Foundation.exp(Double(x[c]) - m) / sum
                    x[c] = Float(Double(scale) * (p - (c == target ? 1 : 0)))
                }
            }
        }
        return result
    }
}
