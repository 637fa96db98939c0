// The n-gram (k-mer) embedding: a second table indexed by the k tokens ending at each position, added to the token
// embedding (config `ngram_embedding`, MambaKit's own):
//
//   H[0][t] = E[id_t] + G[g_t]
//   g_t = Σ_{j=0}^{k-1} a(id_{t-j}) · A^j        when t >= k − 1 and each of those k tokens is in the alphabet
//       = A^k                                    otherwise (the shared row: the first k − 1 positions, k-mers with a
//                                                token outside the alphabet, e.g. DNA's N)
//   padding positions: −1 (no row, zero contribution, no gradient)
//
// a(id) is the token's index in the alphabet, so the k-mer reads as a base-A number whose most significant digit is
// the oldest token. It is causal (position t sees tokens t − k + 1 ... t), so a next-token model can use it, and a
// recurrent step needs only the last k − 1 tokens (`index(window:)`).
//
// Why: k-mer tokenization (DNABERT, the Nucleotide Transformer) hands the model each position's k-mer identity
// directly; mean-pooled over a window, this table alone is a linear model of k-mer counts, the classic baseline,
// and the Mamba layers learn on top of it. The backward is the token embedding's (`Embedding.backward` on the g ids).
import Foundation

/// The k-mer ids of a batch (see the file header).
public struct NGramEmbedding: Sendable {
    /// k.
    public let order: Int
    /// A: the alphabet's size.
    public let alphabetSize: Int
    /// Rows of the table: A^k + 1.
    public let rows: Int
    /// The shared row's index, A^k.
    public var sharedRow: Int { rows - 1 }
    /// digit[id]: the token's index in the alphabet, or −1.
    private let digits: [Int32]

    /// The embedding of a validated configuration (`MambaConfiguration.validate()` checks the alphabet and sizes).
    public init(_ configuration: NGramEmbeddingConfiguration, vocabulary: Int) {
        order = configuration.order
        alphabetSize = configuration.alphabet.count
        rows = configuration.rows ?? 1
        var digits = [Int32](repeating: -1, count: vocabulary)
        for (index, id) in configuration.alphabet.enumerated() where (0..<vocabulary).contains(id) {
            digits[id] = Int32(index)
        }
        self.digits = digits
    }

    /// The alphabet index of a token id (−1 outside the alphabet or the vocabulary).
    @inline(__always)
    func digit(_ id: Int32) -> Int32 { id >= 0 && Int(id) < digits.count ? digits[Int(id)] : -1 }

    /// Fast path: the k-mer id of every position of `sequences` × `length` ids (row-major; −1 marks padding, which
    /// must follow a sequence's valid positions), one rolling pass per sequence.
    public func ids(tokens: [Int32], sequences: Int, length: Int) -> [Int32] {
        precondition(tokens.count == sequences * length, "expected \(sequences * length) ids, found \(tokens.count)")
        var out = [Int32](repeating: -1, count: tokens.count)
        let top = rows - 1  // A^k, also the modulus of the rolling value
        let shared = Int32(top)
        for s in 0..<sequences {
            var value = 0, run = 0
            for t in 0..<length {
                let id = tokens[s * length + t]
                if id < 0 { continue }
                let a = digit(id)
                if a < 0 {
                    run = 0
                    value = 0
                } else {
                    value = (value * alphabetSize + Int(a)) % top
                    run += 1
                }
                out[s * length + t] = run >= order ? Int32(value) : shared
            }
        }
        return out
    }

    /// The oracle of `ids`: each position's k-mer read from scratch.
    public func idsReference(tokens: [Int32], sequences: Int, length: Int) -> [Int32] {
        var out = [Int32](repeating: -1, count: tokens.count)
        for s in 0..<sequences {
            for t in 0..<length where tokens[s * length + t] >= 0 {
                out[s * length + t] = Int32(index(window: t + 1 >= order
                    ? Array(tokens[(s * length + t + 1 - order)...(s * length + t)]) : []))
            }
        }
        return out
    }

    /// The row of the k-mer `window` (the last k tokens, oldest first): the shared row when it holds fewer than k
    /// tokens or one outside the alphabet.
    public func index<C: Collection>(window: C) -> Int where C.Element == Int32 {
        guard window.count == order else { return sharedRow }
        var value = 0
        for id in window {
            let a = digit(id)
            if a < 0 { return sharedRow }
            value = value * alphabetSize + Int(a)
        }
        return value
    }
}
