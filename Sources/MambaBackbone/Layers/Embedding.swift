// Token embedding: a row lookup. nn.Embedding in transformers' MambaModel (`backbone.embeddings`).
// Backward: dTable[id] += dOut[row] for each row whose id >= 0; the forward saves nothing but the ids.
import Foundation
import MambaTensor

/// out[row] = table[ids[row]]; rows whose id is negative (padding) get zeros.
public enum Embedding {
    /// Fast path: parallel row copies. ids: (rows), table: (vocabulary, dim), out: (rows, dim).
    /// Ids must be < vocabulary (the model checks them before calling). With `accumulate`, out[row] += table[id]
    /// instead (rows with a negative id are left as they are).
    public static func forward(ids: UnsafePointer<Int32>, rows: Int, table: UnsafePointer<Float>, dim: Int,
                               out: UnsafeMutablePointer<Float>, accumulate: Bool = false) {
        let ids = SendablePointer(ids), table = SendablePointer(table), out = SendablePointer(out)
        parallelRanges(rows, minimum: max(1, 16_384 / max(dim, 1))) { range in
            for row in range {
                let id = Int(ids.pointer[row])
                let destination = out.pointer + row * dim
                if id < 0 {
                    if !accumulate { destination.initialize(repeating: 0, count: dim) }
                } else if accumulate {
                    addInPlace(destination, table.pointer + id * dim, count: dim)
                } else {
                    destination.update(from: table.pointer + id * dim, count: dim)
                }
            }
        }
    }

    /// The oracle: one element at a time.
    public static func reference(ids: UnsafePointer<Int32>, rows: Int, table: UnsafePointer<Float>, dim: Int,
                                 out: UnsafeMutablePointer<Float>, accumulate: Bool = false) {
        for row in 0..<rows {
            for j in 0..<dim {
                let value: Float = ids[row] < 0 ? 0 : table[Int(ids[row]) * dim + j]
                out[row * dim + j] = accumulate ? out[row * dim + j] + value : value
            }
        }
    }

    // MARK: - Backward

    /// dTable[ids[row]] += dOut[row] for every row whose id is >= 0 (padding rows add nothing).
    /// ids: (rows), dOut: (rows, dim), dTable: (vocabulary, dim), ACCUMULATED.
    /// Tasks own blocks of 64 columns of the table and walk the rows in order, so each element's sum is taken in row
    /// order whatever the thread count: repeated ids never race and the result is bitwise reproducible.
    public static func backward(ids: UnsafePointer<Int32>, rows: Int, dOut: UnsafePointer<Float>, dim: Int,
                                dTable: UnsafeMutablePointer<Float>) {
        let ids = SendablePointer(ids), dOut = SendablePointer(dOut), dTable = SendablePointer(dTable)
        let columnsPerTask = 64
        Parallel.forEach((dim + columnsPerTask - 1) / columnsPerTask) { task in
            let first = task * columnsPerTask, last = min(dim, first + columnsPerTask)
            for row in 0..<rows {
                let id = Int(ids.pointer[row])
                guard id >= 0 else { continue }
                addInPlace(dTable.pointer + id * dim + first, dOut.pointer + row * dim + first, count: last - first)
            }
        }
    }

    /// The oracle of `backward`: one element at a time, Double sums per table element in row order.
    public static func backwardReference(ids: UnsafePointer<Int32>, rows: Int, dOut: UnsafePointer<Float>, dim: Int,
                                         dTable: UnsafeMutablePointer<Float>) {
        var sums: [Int: [Double]] = [:]
        for row in 0..<rows where ids[row] >= 0 {
            let id = Int(ids[row])
            var sum = sums[id] ?? (0..<dim).map { Double(dTable[id * dim + $0]) }
            for j in 0..<dim { sum[j] += Double(dOut[row * dim + j]) }
            sums[id] = sum
        }
        for (id, sum) in sums { for j in 0..<dim { dTable[id * dim + j] = Float(sum[j]) } }
    }
}
