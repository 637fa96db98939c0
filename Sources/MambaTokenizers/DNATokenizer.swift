// Nucleotides to token ids with the vocabulary of HyenaDNA's CharacterTokenizer (HazyResearch/hyena-dna,
// src/dataloaders/datasets/hg38_char_tokenizer.py) as Caduceus uses it (kuleshov-group/caduceus,
// characters A C G T N), so that embeddings trained there line up id for id:
//
//   [CLS]=0 [SEP]=1 [BOS]=2 [MASK]=3 [PAD]=4 [RESERVED]=5 [UNK]=6 A=7 C=8 G=9 T=10 N=11      (vocabulary size 12)
//
// Deviations from the Python tokenizer, each on purpose:
// - Case-insensitive. HyenaDNA maps every character outside "ACGTN" to [UNK], lower case included; its data loaders
//   upper-case sequences first, which this does in the table. Soft-masked genomes therefore encode as the loaders see
//   them.
// - IUPAC ambiguity codes (R Y S W K M B D H V) become N by default ("some base, not known which"), or [UNK].
// - U becomes T by default, so RNA-alphabet files (SILVA 16S, transcript FASTA) read as the DNA the model saw.
// - '-' (an alignment gap: no base at all) becomes [UNK]; it is not N, which is a base of unknown identity.
// - A byte outside the FASTA nucleotide alphabet is an error by default rather than a silent [UNK].
// One byte gives one token, so token positions are sequence coordinates (windows and intervals stay aligned).

import MambaGenomics

/// Turns nucleotide bytes into token ids and back, with the HyenaDNA / Caduceus character vocabulary.
///
/// ```swift
/// let tokenizer = DNATokenizer()
/// let ids = try tokenizer.encode(Array("ACGTNacgtn".utf8))   // [7, 8, 9, 10, 11, 7, 8, 9, 10, 11]
/// let rc = DNATokenizer.reverseComplement(ids)               // T G C A reversed ...
/// ```
///
/// Encoding is a 256-entry table lookup per byte. The reverse complement of bytes as stored (full IUPAC, case kept)
/// is `NucleotideAlphabet.reverseComplement` in MambaGenomics; the one on token ids is `reverseComplement(_:)` here.
public struct DNATokenizer: Sendable, Equatable {
    // MARK: - Vocabulary

    /// `[CLS]`: classification token (id 0).
    public static let cls: Int32 = 0
    /// `[SEP]`: separator, appended as end of sequence by Caduceus's `add_eos` (id 1).
    public static let sep: Int32 = 1
    /// `[BOS]`: beginning of sequence (id 2).
    public static let bos: Int32 = 2
    /// `[MASK]`: masked-language-model mask (id 3).
    public static let mask: Int32 = 3
    /// `[PAD]`: padding (id 4); `SequenceBatch` pads DNA with it.
    public static let pad: Int32 = 4
    /// `[RESERVED]` (id 5): unused, kept so the ids match.
    public static let reserved: Int32 = 5
    /// `[UNK]`: unknown (id 6).
    public static let unknown: Int32 = 6
    /// Base A (id 7).
    public static let a: Int32 = 7
    /// Base C (id 8).
    public static let c: Int32 = 8
    /// Base G (id 9).
    public static let g: Int32 = 9
    /// Base T (id 10).
    public static let t: Int32 = 10
    /// Base N, any base (id 11).
    public static let n: Int32 = 11

    /// The token strings by id: `vocabulary[id]`.
    public static let vocabulary: [String] = [
        "[CLS]", "[SEP]", "[BOS]", "[MASK]", "[PAD]", "[RESERVED]", "[UNK]", "A", "C", "G", "T", "N",
    ]
    /// The number of token ids, 12.
    public static let vocabularySize = 12

    /// Whether `token` is one of the seven special tokens (ids 0...6).
    public static func isSpecial(_ token: Int32) -> Bool { token >= 0 && token < a }

    // MARK: - Options

    /// What the IUPAC ambiguity codes R Y S W K M B D H V become.
    public enum AmbiguityPolicy: String, Sendable, Equatable, Codable, CaseIterable {
        /// N (id 11): a base of unknown identity. The default.
        case n
        /// [UNK] (id 6).
        case unknown
    }

    /// What U (uracil, RNA) becomes.
    public enum UracilPolicy: String, Sendable, Equatable, Codable, CaseIterable {
        /// T (id 10): read RNA as the DNA it was transcribed from. The default.
        case thymine
        /// [UNK] (id 6).
        case unknown
    }

    /// What a byte outside the FASTA nucleotide alphabet (`ACGTURYSWKMBDHVN-`, either case) does.
    public enum InvalidBytePolicy: String, Sendable, Equatable, Codable, CaseIterable {
        /// `encode` throws `TokenizerError.invalidByte` with the index of the first one. The default.
        case error
        /// It becomes [UNK] (id 6), as HyenaDNA's tokenizer does.
        case unknown
    }

    /// How bytes map to tokens.
    public struct Options: Sendable, Equatable, Codable {
        /// IUPAC ambiguity codes: N (default) or [UNK].
        public var ambiguity: AmbiguityPolicy
        /// U: T (default) or [UNK].
        public var uracil: UracilPolicy
        /// Bytes outside the alphabet: an error (default) or [UNK].
        public var invalidBytes: InvalidBytePolicy

        /// Options; the defaults read any file `FASTAReader` accepts.
        public init(ambiguity: AmbiguityPolicy = .n, uracil: UracilPolicy = .thymine,
                    invalidBytes: InvalidBytePolicy = .error) {
            self.ambiguity = ambiguity
            self.uracil = uracil
            self.invalidBytes = invalidBytes
        }
    }

    /// The options in use.
    public let options: Options
    /// `table[b]` is the token of byte `b`, or -1 for a byte that is an error under `options`.
    private let table: [Int32]

    /// A tokenizer with `options`.
    public init(options: Options = Options()) {
        self.options = options
        self.table = (0..<256).map { Self.token(forByte: UInt8($0), options: options) ?? -1 }
    }

    /// The token of one byte under `options`, or nil when the byte is an error: the plain definition the lookup
    /// table is built from.
    public static func token(forByte byte: UInt8, options: Options = Options()) -> Int32? {
        let upper = (0x61...0x7A).contains(byte) ? byte - 0x20 : byte
        switch upper {
        case UInt8(ascii: "A"): return a
        case UInt8(ascii: "C"): return c
        case UInt8(ascii: "G"): return g
        case UInt8(ascii: "T"): return t
        case UInt8(ascii: "N"): return n
        case UInt8(ascii: "U"): return options.uracil == .thymine ? t : unknown
        case UInt8(ascii: "R"), UInt8(ascii: "Y"), UInt8(ascii: "S"), UInt8(ascii: "W"), UInt8(ascii: "K"),
             UInt8(ascii: "M"), UInt8(ascii: "B"), UInt8(ascii: "D"), UInt8(ascii: "H"), UInt8(ascii: "V"):
            return options.ambiguity == .n ? n : unknown
        case UInt8(ascii: "-"): return unknown
        default: return options.invalidBytes == .unknown ? unknown : nil
        }
    }

    // MARK: - Encoding

    /// The token ids of `bytes`, one per byte.
    ///
    /// - Throws: `TokenizerError.invalidByte` for the first byte outside the alphabet (with `invalidBytes: .error`).
    public func encode<C: Collection>(_ bytes: C) throws(TokenizerError) -> [Int32] where C.Element == UInt8 {
        let result = bytes.withContiguousStorageIfAvailable(encodeContiguous)
            ?? Array(bytes).withUnsafeBufferPointer(encodeContiguous)
        return try result.get()
    }

    private func encodeContiguous(_ source: UnsafeBufferPointer<UInt8>) -> Result<[Int32], TokenizerError> {
        var failure: TokenizerError?
        let tokens = [Int32](unsafeUninitializedCapacity: source.count) { out, written in
            failure = encode(source, into: out)
            written = source.count
        }
        if let failure { return .failure(failure) }
        return .success(tokens)
    }

    /// The token ids of a string's UTF-8 bytes (for tests and short literals).
    public func encode(_ text: String) throws(TokenizerError) -> [Int32] { try encode(Array(text.utf8)) }

    /// Writes the token of each byte of `source` to `destination` (at least as long), the fast path under `encode`.
    /// Returns nil on success, or the error for the first invalid byte (`destination` then holds garbage).
    public func encode(_ source: UnsafeBufferPointer<UInt8>, into destination: UnsafeMutableBufferPointer<Int32>)
        -> TokenizerError?
    {
        precondition(destination.count >= source.count, "destination holds \(destination.count) < \(source.count)")
        guard let input = source.baseAddress, let output = destination.baseAddress else { return nil }
        // Invalid bytes map to -1; OR-ing every token keeps the sign bit if any was, so the loop has no branch on
        // the data and the error is located afterwards.
        let bad: Int32 = table.withUnsafeBufferPointer { t in
            var flags: Int32 = 0
            for i in 0..<source.count {
                let token = t[Int(input[i])]
                output[i] = token
                flags |= token
            }
            return flags
        }
        guard bad < 0 else { return nil }
        let index = (0..<source.count).first { table[Int(input[$0])] < 0 }!
        return .invalidByte(index: index, byte: input[index])
    }

    // MARK: - Decoding

    /// The bytes (`A C G T N`) of base tokens.
    ///
    /// - Parameters:
    ///   - tokens: token ids.
    ///   - skippingSpecialTokens: drop special tokens (ids 0...6: padding, [CLS], [UNK], ...) instead of failing on
    ///     them.
    /// - Throws: `TokenizerError.tokenOutOfRange` for an id outside 0...11; `.specialToken` for a special token
    ///   unless skipped.
    public func decode<C: Collection>(_ tokens: C, skippingSpecialTokens: Bool = false) throws(TokenizerError)
        -> [UInt8] where C.Element == Int32
    {
        var bytes: [UInt8] = []
        bytes.reserveCapacity(tokens.count)
        for (index, token) in tokens.enumerated() {
            guard token >= 0 && Int(token) < Self.vocabularySize else {
                throw .tokenOutOfRange(index: index, token: token, vocabularySize: Self.vocabularySize)
            }
            if token < Self.a {
                if skippingSpecialTokens { continue }
                throw .specialToken(index: index, token: token, name: Self.vocabulary[Int(token)])
            }
            bytes.append(Self.baseBytes[Int(token - Self.a)])
        }
        return bytes
    }

    /// The tokens as text, special tokens written as their names (`[CLS]ACGT[SEP]`), for display.
    ///
    /// - Throws: `TokenizerError.tokenOutOfRange` for an id outside 0...11.
    public func text<C: Collection>(_ tokens: C) throws(TokenizerError) -> String where C.Element == Int32 {
        var result = ""
        for (index, token) in tokens.enumerated() {
            guard token >= 0 && Int(token) < Self.vocabularySize else {
                throw .tokenOutOfRange(index: index, token: token, vocabularySize: Self.vocabularySize)
            }
            result += Self.vocabulary[Int(token)]
        }
        return result
    }

    private static let baseBytes: [UInt8] = Array("ACGTN".utf8)

    // MARK: - Reverse complement

    /// The complement of one token id: A <-> T, C <-> G; N, special tokens and ids outside the vocabulary unchanged.
    @inlinable
    public static func complement(_ token: Int32) -> Int32 {
        // a + t = c + g = 17: the four bases complement by subtraction.
        (token >= a && token <= t) ? (a + t) - token : token
    }

    /// The reverse complement of a token sequence (as Caduceus's RC augmentation and RC-equivariant layers use it).
    /// Ids outside the vocabulary are kept as they are. Applying it twice gives `tokens` back.
    public static func reverseComplement<C: BidirectionalCollection>(_ tokens: C) -> [Int32]
    where C.Element == Int32 {
        tokens.reversed().map(complement)
    }

    /// Reverse-complements `tokens[range]` in place, leaving the rest (e.g. end padding of a batch row) where it is.
    public static func reverseComplementInPlace(_ tokens: inout [Int32], range: Range<Int>? = nil) {
        let r = range ?? tokens.indices
        precondition(r.lowerBound >= 0 && r.upperBound <= tokens.count, "range \(r) outside 0..<\(tokens.count)")
        var i = r.lowerBound
        var j = r.upperBound - 1
        while i < j {
            let left = tokens[i]
            tokens[i] = complement(tokens[j])
            tokens[j] = complement(left)
            i += 1
            j -= 1
        }
        if i == j { tokens[i] = complement(tokens[i]) }
    }
}
