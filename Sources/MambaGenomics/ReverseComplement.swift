// The reverse complement of a nucleotide sequence as stored (bytes, either case, with IUPAC ambiguity codes).
// The token-level reverse complement for models is `DNATokenizer.reverseComplement` in MambaTokenizers.
//
// Complements (IUPAC-IUB, Cornish-Bowden 1985, table 1): each code stands for a set of bases and its complement
// for the set of their complements.
//   A <-> T    C <-> G    U -> A
//   R (A/G) <-> Y (C/T)   K (G/T) <-> M (A/C)   B (not A) <-> V (not T)   D (not C) <-> H (not G)
//   S (C/G), W (A/T), N (any) and '-' (gap) are their own complements.
// Case is kept (soft-masking survives). U has no partner of its own: its complement is A, whose complement is T,
// so reverse-complementing RNA twice gives the same sequence with T in place of U (as Biopython's DNA complement).

extension NucleotideAlphabet {
    /// `complementTable[b]` is the IUPAC complement of byte `b`, in the same case; bytes that are not nucleotide
    /// codes map to themselves.
    public static let complementTable: [UInt8] = {
        var table = (0..<256).map { UInt8($0) }
        let pairs: [(UInt8, UInt8)] = [
            (0x41, 0x54), (0x54, 0x41), (0x43, 0x47), (0x47, 0x43), (0x55, 0x41),  // A T C G U
            (0x52, 0x59), (0x59, 0x52), (0x4B, 0x4D), (0x4D, 0x4B),  // R Y K M
            (0x42, 0x56), (0x56, 0x42), (0x44, 0x48), (0x48, 0x44),  // B V D H
        ]
        for (code, complement) in pairs {
            table[Int(code)] = complement
            table[Int(code) + 0x20] = complement + 0x20  // the lower-case pair
        }
        return table
    }()

    /// The reverse complement of `sequence`: reversed, each code replaced by its complement (see `complementTable`).
    public static func reverseComplement<C: BidirectionalCollection>(_ sequence: C) -> [UInt8]
    where C.Element == UInt8 {
        complementTable.withUnsafeBufferPointer { table in
            sequence.reversed().map { table[Int($0)] }
        }
    }

    /// Reverse-complements `sequence` in place.
    public static func reverseComplementInPlace(_ sequence: inout [UInt8]) {
        complementTable.withUnsafeBufferPointer { table in
            sequence.withUnsafeMutableBufferPointer { s in
                var i = 0
                var j = s.count - 1
                while i < j {
                    let left = s[i]
                    s[i] = table[Int(s[j])]
                    s[j] = table[Int(left)]
                    i += 1
                    j -= 1
                }
                if i == j { s[i] = table[Int(s[i])] }
            }
        }
    }
}
