// Errors of the tokenizers: each names the position (index in the input) and what was expected there.

/// An error turning bytes or samples into token ids, or token ids back into bytes or samples.
public enum TokenizerError: Error, Sendable, Equatable, CustomStringConvertible {
    /// A byte that is not a nucleotide code (see `NucleotideAlphabet`) at `index` of the input, with
    /// `DNATokenizer.Options.invalidBytes` set to `.error`.
    case invalidByte(index: Int, byte: UInt8)
    /// A token id outside the vocabulary (`0..<vocabularySize`, or the quantizer's levels) at `index`.
    case tokenOutOfRange(index: Int, token: Int32, vocabularySize: Int)
    /// A special token (`[CLS]`, `[PAD]`, ...) at `index` where only base tokens can be decoded to bytes.
    case specialToken(index: Int, token: Int32, name: String)
    /// A NaN or infinite sample at `index`: it has no quantization level.
    case nonFiniteSample(index: Int, value: Float)
    /// A parameter outside its accepted range (levels, gains); the message says which and why.
    case invalidArgument(String)

    /// The error in words, with the index and what was expected.
    public var description: String {
        switch self {
        case .invalidByte(let index, let byte):
            let shown = byte >= 0x21 && byte < 0x7F ? "'\(Character(Unicode.Scalar(byte)))'" : "byte \(byte)"
            return "at index \(index): \(shown) is not a nucleotide code (expected one of ACGTURYSWKMBDHVN or '-', "
                + "either case)"
        case .tokenOutOfRange(let index, let token, let size):
            return "at index \(index): token id \(token) is outside the vocabulary (expected 0...\(size - 1))"
        case .specialToken(let index, let token, let name):
            return "at index \(index): special token \(name) (id \(token)) has no base to decode to "
                + "(expected a base token A, C, G, T or N; skip special tokens to drop it)"
        case .nonFiniteSample(let index, let value):
            return "at index \(index): sample \(value) is not finite (expected a finite value, nominally in [-1, 1])"
        case .invalidArgument(let message):
            return "invalid argument: \(message)"
        }
    }

    /// Equal cases with equal payloads; two NaN samples count as equal, so tests can name the error they expect.
    public static func == (lhs: TokenizerError, rhs: TokenizerError) -> Bool {
        switch (lhs, rhs) {
        case let (.invalidByte(i, a), .invalidByte(j, b)):
            return i == j && a == b
        case let (.tokenOutOfRange(i, a, n), .tokenOutOfRange(j, b, m)):
            return i == j && a == b && n == m
        case let (.specialToken(i, a, x), .specialToken(j, b, y)):
            return i == j && a == b && x == y
        case let (.nonFiniteSample(i, a), .nonFiniteSample(j, b)):
            return i == j && (a == b || (a.isNaN && b.isNaN))
        case let (.invalidArgument(a), .invalidArgument(b)):
            return a == b
        default:
            return false
        }
    }
}
