// Token embedding: a row lookup. nn.Embedding in transformers' MambaModel (`backbone.embeddings`).
// Backward (next issue): dTable[id] += dOut[row] for each row whose id >= 0; the forward saves nothing but the ids.
import Foundation
import MambaTensor

/// out[row] = table[ids[row]]; rows whose id is negative (padding) get zeros.
public enum Embedding {
    /// Fast path: parallel row copies. ids: (rows), table: (vocabulary, dim), out: (rows, dim).
    /// Ids must be < vocabulary (the model checks them before calling).
    public static func forward(ids: UnsafePointer<Int32>, rows: Int, table: UnsafePointer<Float>, dim: Int,
                               out: UnsafeMutablePointer<Float>) {
        let ids = SendablePointer(ids), table = SendablePointer(table), out = SendablePointer(out)
        parallelRanges(rows, minimum: max(1, 16_384 / max(dim, 1))) { range in
            for row in range {
                let id = Int(ids.pointer[row])
                let destination = out.pointer + row * dim
                if id < 0 {
                    destination.initialize(repeating: 0, count: dim)
                } else {
                    destination.update(from: table.pointer + id * dim, count: dim)
                }
            }
        }
    }

    /// The oracle: one element at a time.
    public static func reference(ids: UnsafePointer<Int32>, rows: Int, table: UnsafePointer<Float>, dim: Int,
                                 out: UnsafeMutablePointer<Float>) {
        for row in 0..<rows {
            for j in 0..<dim {
                out[row * dim + j] = ids[row] < 0 ? 0 : table[Int(ids[row]) * dim + j]
            }
        }
    }
}
