// The characters a FASTA sequence line may hold, as 256-entry lookup tables so the reader validates a line with one
// load per byte and no branches on the character itself.
//
// Accepted (the NCBI nucleotide FASTA alphabet, https://www.ncbi.nlm.nih.gov/BLAST/fasta.shtml, either case):
//   A C G T U                 bases (U for RNA)
//   R Y S W K M B D H V N     IUPAC ambiguity codes (Cornish-Bowden 1985)
//   -                         gap of indeterminate length
// Rejected, deliberately:
//   *  a translation stop: it belongs to protein FASTA, and in a DNA file it means the wrong file was given.
//   .  used as "same as reference" or gap by some alignment tools, with meanings that differ between them;
//      a model cannot tell which, so the reader asks for the file to be converted rather than guessing.
//   digits, IUPAC protein-only letters (E F I J L O P Q X Z), everything else.
// Skipped without being data: space, tab, carriage return, vertical tab, form feed (CRLF files, trailing blanks).

/// The byte alphabet accepted in FASTA sequence lines, with lookup tables for validation and case folding.
///
/// Accepted: `ACGTU`, the IUPAC ambiguity codes `RYSWKMBDHVN` in either case, and `-` (gap). `*` (stop) and
/// `.` are rejected: they come from protein files or alignment formats whose meaning differs between tools.
public enum NucleotideAlphabet {
    /// What a byte means on a sequence line.
    public enum ByteClass: UInt8, Sendable {
        /// An accepted nucleotide code or gap: kept as sequence data.
        case residue = 0
        /// Space, tab, CR, VT, FF: not data, skipped.
        case whitespace = 1
        /// A printable character that is not an accepted code (a digit, `*`, `.`, a protein letter, non-ASCII).
        case invalid = 2
        /// A NUL or other control byte: the input is binary, not text.
        case binary = 3
    }

    /// The accepted residues (upper case; the lower-case forms are accepted too).
    public static let residues: [UInt8] = Array("ACGTURYSWKMBDHVN-".utf8)

    /// `classTable[b]` is the `ByteClass.rawValue` of byte `b`.
    public static let classTable: [UInt8] = {
        var table = [UInt8](repeating: ByteClass.invalid.rawValue, count: 256)
        for b in 0..<0x20 { table[b] = ByteClass.binary.rawValue }
        table[0x7F] = ByteClass.binary.rawValue
        for b in [0x20, 0x09, 0x0D, 0x0B, 0x0C] { table[b] = ByteClass.whitespace.rawValue }
        for r in residues {
            table[Int(r)] = ByteClass.residue.rawValue
            table[Int(asciiLowercase(r))] = ByteClass.residue.rawValue
        }
        // '\n' ends lines before classification ever sees it; mark it whitespace so a stray one is harmless.
        table[0x0A] = ByteClass.whitespace.rawValue
        return table
    }()

    /// `uppercaseTable[b]` is `b` with ASCII a-z mapped to A-Z; every other byte maps to itself.
    public static let uppercaseTable: [UInt8] = (0..<256).map { b in
        (0x61...0x7A).contains(b) ? UInt8(b - 0x20) : UInt8(b)
    }

    /// The class of one byte (the plain, table-free definition the tables are tested against).
    public static func classify(_ byte: UInt8) -> ByteClass {
        switch byte {
        case 0x09, 0x0A, 0x0B, 0x0C, 0x0D, 0x20: return .whitespace
        case 0x00..<0x20, 0x7F: return .binary
        default:
            let upper = (0x61...0x7A).contains(byte) ? byte - 0x20 : byte
            return residues.contains(upper) ? .residue : .invalid
        }
    }

    /// Whether every byte of `sequence` is an accepted residue (no whitespace, no other character).
    public static func isValidSequence<S: Sequence>(_ sequence: S) -> Bool where S.Element == UInt8 {
        classTable.withUnsafeBufferPointer { table in
            sequence.allSatisfy { table[Int($0)] == ByteClass.residue.rawValue }
        }
    }

    private static func asciiLowercase(_ b: UInt8) -> UInt8 {
        (0x41...0x5A).contains(b) ? b + 0x20 : b
    }
}
