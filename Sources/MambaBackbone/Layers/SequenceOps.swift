// Row-wise helpers of the model's data flow: the residual add, gathering and scattering chunk rows, reversing the
// valid part of each sequence (BiMamba), zeroing padded positions, and pooling for a classification head.
// Layouts: (b, l, dim) row-major buffers; `lengths` (b) valid lengths, padding only at the end of a sequence.
import Foundation
import MambaTensor

/// Row operations over (b, l, dim) buffers.
public enum SequenceOps {
    /// destination[rows(r)] += source[r] (+ bias): the residual add of a block's output.
    public static func addRows(_ source: UnsafePointer<Float>, bias: UnsafePointer<Float>?, into destination: UnsafeMutablePointer<Float>,
                               rows: RowMap, dim: Int) {
        let source = SendablePointer(source), destination = SendablePointer(destination), bias = bias.map { SendablePointer($0) }
        parallelRanges(rows.rows, minimum: max(1, 16_384 / max(dim, 1))) { range in
            for r in range {
                let x = source.pointer + r * dim
                let y = destination.pointer + rows(r) * dim
                if let b = bias?.pointer {
                    var j = 0
                    while j + 16 <= dim { store16(load16(y + j) + load16(x + j) + load16(b + j), y + j); j += 16 }
                    while j < dim { y[j] += x[j] + b[j]; j += 1 }
                } else {
                    addInPlace(y, x, count: dim)
                }
            }
        }
    }

    /// destination[r] = source[rows(r)] (gather) or destination[rows(r)] = source[r] (scatter).
    public static func copyRows(_ source: UnsafePointer<Float>, into destination: UnsafeMutablePointer<Float>,
                                rows: RowMap, dim: Int, scatter: Bool) {
        for r in 0..<rows.rows {
            let from = scatter ? r : rows(r), to = scatter ? rows(r) : r
            (destination + to * dim).update(from: source + from * dim, count: dim)
        }
    }

    /// Columns [start, start + count) of a (rows, stride) matrix, copied to a contiguous (rows, count) matrix.
    public static func copyColumns(_ source: UnsafePointer<Float>, stride: Int, start: Int, count: Int, rows: Int,
                                   into destination: UnsafeMutablePointer<Float>) {
        for r in 0..<rows { (destination + r * count).update(from: source + r * stride + start, count: count) }
    }

    /// In place, for each sequence i: rows [0, lengths[i]) reversed; rows at or past lengths[i] zeroed when
    /// `zeroPadding`. Applying it twice restores the valid rows.
    public static func reverseValid(_ buffer: UnsafeMutablePointer<Float>, sequences: Int, length: Int, dim: Int,
                                    lengths: UnsafePointer<Int32>, zeroPadding: Bool) {
        let buffer = SendablePointer(buffer), lengths = SendablePointer(lengths)
        Parallel.forEach(sequences) { i in
            let base = buffer.pointer + i * length * dim
            let valid = Int(lengths.pointer[i])
            for t in 0..<valid / 2 {
                swapRows(base + t * dim, base + (valid - 1 - t) * dim, dim)
            }
            if zeroPadding && valid < length { (base + valid * dim).update(repeating: 0, count: (length - valid) * dim) }
        }
    }

    private static func swapRows(_ a: UnsafeMutablePointer<Float>, _ b: UnsafeMutablePointer<Float>, _ dim: Int) {
        for j in 0..<dim { let value = a[j]; a[j] = b[j]; b[j] = value }
    }

    /// Zeroes rows at or past each sequence's length.
    public static func zeroPadding(_ buffer: UnsafeMutablePointer<Float>, sequences: Int, length: Int, dim: Int,
                                   lengths: UnsafePointer<Int32>) {
        for i in 0..<sequences {
            let valid = Int(lengths[i])
            if valid < length { (buffer + (i * length + valid) * dim).update(repeating: 0, count: (length - valid) * dim) }
        }
    }

    /// pooled[i] = the mean of rows [0, lengths[i]) of sequence i (`.mean`), their elementwise maximum (`.max`), or
    /// its row lengths[i] − 1 (`.last`); zeros for an empty sequence. input: (b, l, dim), pooled: (b, dim).
    public static func pool(_ input: UnsafePointer<Float>, sequences: Int, length: Int, dim: Int,
                            lengths: UnsafePointer<Int32>, pooling: ClassifierPooling,
                            into pooled: UnsafeMutablePointer<Float>) {
        for i in 0..<sequences {
            let valid = Int(lengths[i])
            let out = pooled + i * dim
            out.update(repeating: 0, count: dim)
            guard valid > 0 else { continue }
            switch pooling {
            case .last:
                out.update(from: input + (i * length + valid - 1) * dim, count: dim)
            case .max:
                out.update(from: input + i * length * dim, count: dim)
                for t in 1..<valid {
                    let row = input + (i * length + t) * dim
                    for j in 0..<dim where row[j] > out[j] { out[j] = row[j] }
                }
            case .mean:
                // Double sums: the mean of up to millions of rows stays exact to float precision.
                var sums = [Double](repeating: 0, count: dim)
                for t in 0..<valid {
                    let row = input + (i * length + t) * dim
                    for j in 0..<dim { sums[j] += Double(row[j]) }
                }
                for j in 0..<dim { out[j] = Float(sums[j] / Double(valid)) }
            }
        }
    }

    // MARK: - Backward
    // addRows' backward is the identity on the destination's gradient plus a gather; copyRows' is the opposite copy;
    // reverseValid with zeroPadding is its own adjoint (a permutation of the valid rows, zeros elsewhere), so the
    // model reuses those forward kernels. Only pooling and the column copy need their own.

    /// The adjoint of `copyColumns`: columns [start, start + count) of the (rows, stride) matrix `destination` ←
    /// the contiguous (rows, count) matrix `source` (other columns untouched).
    public static func scatterColumns(_ source: UnsafePointer<Float>, count: Int, rows: Int,
                                      into destination: UnsafeMutablePointer<Float>, stride: Int, start: Int) {
        for r in 0..<rows { (destination + r * stride + start).update(from: source + r * count, count: count) }
    }

    /// The gradient of `pool`: dInput (b, l, dim) ← zeros, then for each sequence i with lengths[i] > 0:
    /// `.mean`: dInput[i, t] = dPooled[i] / lengths[i] for t < lengths[i]; `.last`: dInput[i, lengths[i] − 1] =
    /// dPooled[i]; `.max`: dInput[i, t, j] = dPooled[i, j] at the first t < lengths[i] where input[i, t, j] is the
    /// maximum (`input` is the forward pass's input; the other poolings do not read it). dPooled: (b, dim).
    public static func poolBackward(_ dPooled: UnsafePointer<Float>, input: UnsafePointer<Float>, sequences: Int,
                                    length: Int, dim: Int, lengths: UnsafePointer<Int32>, pooling: ClassifierPooling,
                                    into dInput: UnsafeMutablePointer<Float>) {
        dInput.update(repeating: 0, count: sequences * length * dim)
        for i in 0..<sequences {
            let valid = Int(lengths[i])
            guard valid > 0 else { continue }
            let gradient = dPooled + i * dim
            switch pooling {
            case .last:
                (dInput + (i * length + valid - 1) * dim).update(from: gradient, count: dim)
            case .max:
                for j in 0..<dim {
                    var best = 0, value = input[i * length * dim + j]
                    for t in 1..<valid where input[(i * length + t) * dim + j] > value {
                        best = t
                        value = input[(i * length + t) * dim + j]
                    }
                    dInput[(i * length + best) * dim + j] = gradient[j]
                }
            case .mean:
                let scale = 1 / Float(valid)
                for t in 0..<valid {
                    let row = dInput + (i * length + t) * dim
                    for j in 0..<dim { row[j] = gradient[j] * scale }
                }
            }
        }
    }
}
