// DNA tokens: the vocabulary id for id, every byte under every option against an independent mapping, decoding,
// and reverse complements on tokens and on bytes.
import MambaGenomics
import Testing
@testable import MambaTokenizers

/// The mapping written out by hand from the documented rules, with Characters rather than the tokenizer's switch.
func referenceToken(_ byte: UInt8, _ options: DNATokenizer.Options) -> Int32? {
    let c = Character(Unicode.Scalar(byte)).uppercased()
    let ids: [String: Int32] = ["A": 7, "C": 8, "G": 9, "T": 10, "N": 11]
    if let id = ids[c] { return id }
    if c == "U" { return options.uracil == .thymine ? 10 : 6 }
    if "RYSWKMBDHV".contains(c) && c.count == 1 { return options.ambiguity == .n ? 11 : 6 }
    if c == "-" { return 6 }
    return options.invalidBytes == .unknown ? 6 : nil
}

@Suite("DNA tokenizer")
struct DNATokenizerTests {
    @Test("ids match the HyenaDNA / Caduceus character vocabulary")
    func vocabulary() {
        let expected = ["[CLS]": 0, "[SEP]": 1, "[BOS]": 2, "[MASK]": 3, "[PAD]": 4, "[RESERVED]": 5, "[UNK]": 6,
                        "A": 7, "C": 8, "G": 9, "T": 10, "N": 11]
        #expect(DNATokenizer.vocabularySize == 12)
        for (name, id) in expected { #expect(DNATokenizer.vocabulary[id] == name) }
        let constants: [Int32] = [DNATokenizer.cls, DNATokenizer.sep, DNATokenizer.bos, DNATokenizer.mask,
                                  DNATokenizer.pad, DNATokenizer.reserved, DNATokenizer.unknown, DNATokenizer.a,
                                  DNATokenizer.c, DNATokenizer.g, DNATokenizer.t, DNATokenizer.n]
        #expect(constants == Array(0..<12))
        #expect((0..<12).map { DNATokenizer.isSpecial(Int32($0)) } == (0..<12).map { $0 < 7 })
    }

    @Test("every byte under every option agrees with the hand-written mapping")
    func everyByte() throws {
        for ambiguity in DNATokenizer.AmbiguityPolicy.allCases {
            for uracil in DNATokenizer.UracilPolicy.allCases {
                for invalid in DNATokenizer.InvalidBytePolicy.allCases {
                    let options = DNATokenizer.Options(ambiguity: ambiguity, uracil: uracil, invalidBytes: invalid)
                    let tokenizer = DNATokenizer(options: options)
                    for b in 0...255 {
                        let byte = UInt8(b)
                        let expected = referenceToken(byte, options)
                        #expect(DNATokenizer.token(forByte: byte, options: options) == expected, "byte \(b)")
                        if let expected {
                            #expect(try tokenizer.encode([byte]) == [expected], "byte \(b)")
                        } else {
                            #expect(throws: TokenizerError.invalidByte(index: 0, byte: byte)) {
                                try tokenizer.encode([byte])
                            }
                        }
                    }
                }
            }
        }
    }

    @Test("case-insensitive, with the documented defaults for IUPAC, U and gaps")
    func defaults() throws {
        let tokenizer = DNATokenizer()
        #expect(try tokenizer.encode("ACGTNacgtn") == [7, 8, 9, 10, 11, 7, 8, 9, 10, 11])
        #expect(try tokenizer.encode("RYSWKMBDHVryswkmbdhv") == Array(repeating: 11, count: 20))
        #expect(try tokenizer.encode("Uu-") == [10, 10, 6])
        #expect(try tokenizer.encode("") == [])
        let strict = DNATokenizer(options: .init(ambiguity: .unknown, uracil: .unknown))
        #expect(try strict.encode("RnUt") == [6, 11, 6, 10])
    }

    @Test("an invalid byte is reported at its index; with .unknown it becomes [UNK]")
    func invalidBytes() throws {
        let tokenizer = DNATokenizer()
        #expect(throws: TokenizerError.invalidByte(index: 5, byte: UInt8(ascii: "*"))) {
            try tokenizer.encode("ACGTA*CC*")
        }
        #expect(throws: TokenizerError.invalidByte(index: 0, byte: 0)) { try tokenizer.encode([0, 65]) }
        let lenient = DNATokenizer(options: .init(invalidBytes: .unknown))
        #expect(try lenient.encode("AC*x9") == [7, 8, 6, 6, 6])
        let error = TokenizerError.invalidByte(index: 5, byte: UInt8(ascii: "*"))
        #expect(error.description.contains("index 5") && error.description.contains("'*'"))
    }

    @Test("the table loop equals the per-byte definition on long random input, contiguous or not")
    func fastPathAgreesWithDefinition() throws {
        var rng = SplitMix(seed: 42)
        let alphabet = Array("ACGTNacgtnRYKMSWBDHVUu-".utf8)
        let bytes = (0..<100_003).map { _ in alphabet[Int(rng.next() % UInt64(alphabet.count))] }
        let tokenizer = DNATokenizer()
        let expected = bytes.map { DNATokenizer.token(forByte: $0)! }
        #expect(try tokenizer.encode(bytes) == expected)
        #expect(try tokenizer.encode(bytes[17..<5000]) == Array(expected[17..<5000]))
        #expect(try tokenizer.encode(bytes.lazy.map { $0 }) == expected)  // not contiguous: the copying path
        var withBad = bytes
        withBad[77_777] = UInt8(ascii: "X")
        withBad[88_888] = UInt8(ascii: "Z")
        #expect(throws: TokenizerError.invalidByte(index: 77_777, byte: UInt8(ascii: "X"))) {
            try tokenizer.encode(withBad)
        }
    }

    @Test("decoding gives the bases back, and special tokens are an error unless skipped")
    func decoding() throws {
        let tokenizer = DNATokenizer()
        let ids = try tokenizer.encode("acgtNGCA")
        #expect(try tokenizer.decode(ids) == Array("ACGTNGCA".utf8))
        let framed: [Int32] = [0] + ids + [1, 4, 4]
        #expect(throws: TokenizerError.specialToken(index: 0, token: 0, name: "[CLS]")) {
            try tokenizer.decode(framed)
        }
        #expect(try tokenizer.decode(framed, skippingSpecialTokens: true) == Array("ACGTNGCA".utf8))
        #expect(throws: TokenizerError.tokenOutOfRange(index: 2, token: 12, vocabularySize: 12)) {
            try tokenizer.decode([7, 7, 12], skippingSpecialTokens: true)
        }
        #expect(throws: TokenizerError.tokenOutOfRange(index: 0, token: -1, vocabularySize: 12)) {
            try tokenizer.decode([-1])
        }
        #expect(try tokenizer.text(framed) == "[CLS]ACGTNGCA[SEP][PAD][PAD]")
    }

    @Test("reverse complement of tokens: A<->T, C<->G, N and specials kept; twice is identity")
    func tokenReverseComplement() throws {
        let tokenizer = DNATokenizer()
        let ids = try tokenizer.encode("AACGTN")
        #expect(DNATokenizer.reverseComplement(ids) == (try tokenizer.encode("NACGTT")))
        #expect(DNATokenizer.reverseComplement([0, 7, 4, 9, 6]) == [6, 8, 4, 10, 0])
        #expect(DNATokenizer.reverseComplement([Int32]()) == [])
        var rng = SplitMix(seed: 9)
        for length in [0, 1, 2, 3, 64, 1001] {
            // Ids outside the vocabulary too: they must survive unchanged.
            let random = (0..<length).map { _ in Int32(Int(rng.next() % 16) - 2) }
            let once = DNATokenizer.reverseComplement(random)
            #expect(DNATokenizer.reverseComplement(once) == random)
            var inPlace = random
            DNATokenizer.reverseComplementInPlace(&inPlace)
            #expect(inPlace == once)
        }
    }

    @Test("in-place reverse complement of a range leaves the padding after it alone")
    func tokenReverseComplementRange() {
        var row: [Int32] = [7, 7, 8, 9, 4, 4]
        DNATokenizer.reverseComplementInPlace(&row, range: 0..<4)
        #expect(row == [8, 9, 10, 10, 4, 4])
        var odd: [Int32] = [7, 8, 9]
        DNATokenizer.reverseComplementInPlace(&odd, range: 1..<2)
        #expect(odd == [7, 9, 9])
    }

    @Test("byte reverse complement: full IUPAC, case kept, twice identity except U")
    func byteReverseComplement() throws {
        let forward = Array("ACGTRYSWKMBDHVN-acgtryswkmbdhvn".utf8)
        #expect(NucleotideAlphabet.reverseComplement(forward) == Array("nbdhvkmwsryacgt-NBDHVKMWSRYACGT".utf8))
        #expect(NucleotideAlphabet.reverseComplement(NucleotideAlphabet.reverseComplement(forward)) == forward)
        #expect(NucleotideAlphabet.reverseComplement(Array("AUGu".utf8)) == Array("aCAT".utf8))
        var inPlace = forward
        NucleotideAlphabet.reverseComplementInPlace(&inPlace)
        #expect(inPlace == NucleotideAlphabet.reverseComplement(forward))
        var empty: [UInt8] = []
        NucleotideAlphabet.reverseComplementInPlace(&empty)
        #expect(empty.isEmpty)
        // Every complement pair is mutual for the codes that have one, and bytes outside the alphabet stay.
        for b in 0...255 {
            let c = NucleotideAlphabet.complementTable[b]
            if b != Int(UInt8(ascii: "U")) && b != Int(UInt8(ascii: "u")) {
                #expect(NucleotideAlphabet.complementTable[Int(c)] == UInt8(b), "byte \(b)")
            }
            if NucleotideAlphabet.classify(UInt8(b)) != .residue { #expect(c == UInt8(b)) }
        }
    }

    @Test("tokenizing the byte reverse complement equals reverse-complementing the tokens")
    func bytesAndTokensAgree() throws {
        var rng = SplitMix(seed: 3)
        let alphabet = Array("ACGTNRYSWKMBDHVacgtn".utf8)
        let bytes = (0..<5000).map { _ in alphabet[Int(rng.next() % UInt64(alphabet.count))] }
        let tokenizer = DNATokenizer()
        #expect(try tokenizer.encode(NucleotideAlphabet.reverseComplement(bytes))
            == DNATokenizer.reverseComplement(try tokenizer.encode(bytes)))
    }
}

/// SplitMix64 for test inputs (independent of the module's generator).
struct SplitMix {
    var state: UInt64
    init(seed: UInt64) { state = seed }
    mutating func next() -> UInt64 {
        state &+= 0x9E37_79B9_7F4A_7C15
        var z = state
        z = (z ^ (z >> 30)) &* 0xBF58_476D_1CE4_E5B9
        z = (z ^ (z >> 27)) &* 0x94D0_49BB_1331_11EB
        return z ^ (z >> 31)
    }
    /// A uniform Float in [0, 1).
    mutating func uniform() -> Float { Float(next() >> 40) * 0x1p-24 }
}
