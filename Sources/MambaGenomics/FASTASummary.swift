// A streaming summary of a FASTA file for `mambakit inspect`: counts, length statistics, base composition and
// labels, accumulated one record at a time so the file never has to be held in memory.

/// Counts of bases in sequences, case-insensitive (`a` and `A` both count as A).
public struct BaseComposition: Sendable, Equatable, Hashable {
    /// A or a.
    public var a = 0
    /// C or c.
    public var c = 0
    /// G or g.
    public var g = 0
    /// T or t.
    public var t = 0
    /// N or n.
    public var n = 0
    /// Everything else: U, the other IUPAC ambiguity codes, gaps.
    public var other = 0
    /// Lower-case letters among all of the above (soft-masked bases in genome assemblies).
    public var lowercase = 0

    /// An empty count.
    public init() {}

    /// All bases counted.
    public var total: Int { a + c + g + t + n + other }

    /// (G + C) / (A + C + G + T), or nil when there are none of these.
    public var gcFraction: Double? {
        let acgt = a + c + g + t
        return acgt == 0 ? nil : Double(g + c) / Double(acgt)
    }

    /// Adds the bases of `sequence`: a byte histogram, summed into the categories.
    public mutating func add(_ sequence: UnsafeBufferPointer<UInt8>) {
        // Short sequences: one switch per byte costs less than clearing and folding the histogram.
        if sequence.count < 1024 {
            for byte in sequence { add(byte: byte) }
            return
        }
        // Four interleaved histograms, so runs of the same base do not wait on one counter's previous store.
        withUnsafeTemporaryAllocation(of: Int.self, capacity: 4 * 256) { histogram in
            let h = histogram.baseAddress!
            h.initialize(repeating: 0, count: 4 * 256)
            let bytes = sequence.baseAddress!
            let count = sequence.count
            var i = 0
            while i + 4 <= count {
                h[Int(bytes[i])] += 1
                h[256 + Int(bytes[i + 1])] += 1
                h[512 + Int(bytes[i + 2])] += 1
                h[768 + Int(bytes[i + 3])] += 1
                i += 4
            }
            while i < count {
                h[Int(bytes[i])] += 1
                i += 1
            }
            for byte in 0..<256 {
                let k = h[byte] + h[256 + byte] + h[512 + byte] + h[768 + byte]
                if k > 0 { add(byte: UInt8(byte), count: k) }
            }
        }
    }

    /// Adds `count` occurrences of one byte (the plain definition the histogram path is tested against).
    public mutating func add(byte: UInt8, count: Int = 1) {
        switch byte {
        case UInt8(ascii: "A"), UInt8(ascii: "a"): a += count
        case UInt8(ascii: "C"), UInt8(ascii: "c"): c += count
        case UInt8(ascii: "G"), UInt8(ascii: "g"): g += count
        case UInt8(ascii: "T"), UInt8(ascii: "t"): t += count
        case UInt8(ascii: "N"), UInt8(ascii: "n"): n += count
        default: other += count
        }
        if (UInt8(ascii: "a")...UInt8(ascii: "z")).contains(byte) { lowercase += count }
    }
}

/// A summary of FASTA records, built by adding them one by one: record count, total bases, min / median / max
/// length, base composition and label counts. Memory grows with the number of distinct lengths and labels only.
///
/// ```swift
/// var summary = FASTASummary()
/// let reader = try FASTAReader(path: path)
/// while let record = try reader.next() { summary.add(record) }
/// for problem in summary.problems { print("warning:", problem) }
/// ```
public struct FASTASummary: Sendable, Equatable {
    /// Records added.
    public private(set) var records = 0
    /// Bases in all records.
    public private(set) var totalBases = 0
    /// How many records have each length (exact, so the median is exact).
    public private(set) var lengthCounts: [Int: Int] = [:]
    /// Base counts over all records.
    public private(set) var composition = BaseComposition()
    /// Records per label.
    public private(set) var labelCounts: [String: Int] = [:]
    /// Records added without a label.
    public private(set) var unlabelledRecords = 0
    /// Records with an empty sequence.
    public private(set) var emptyRecords = 0

    /// An empty summary.
    public init() {}

    /// Adds a record, with the label of its header (`record.label`).
    public mutating func add(_ record: FASTARecord) {
        add(record, label: record.label)
    }

    /// Adds a record with the given label (e.g. from a `LabelManifest`), or as unlabelled when `label` is nil.
    public mutating func add(_ record: FASTARecord, label: String?) {
        records += 1
        let length = record.sequence.count
        totalBases += length
        lengthCounts[length, default: 0] += 1
        if length == 0 { emptyRecords += 1 }
        record.sequence.withUnsafeBufferPointer { composition.add($0) }
        if let label {
            labelCounts[label, default: 0] += 1
        } else {
            unlabelledRecords += 1
        }
    }

    /// The shortest length, or nil when no record was added.
    public var minLength: Int? { lengthCounts.keys.min() }
    /// The longest length, or nil when no record was added.
    public var maxLength: Int? { lengthCounts.keys.max() }
    /// The mean length, or nil when no record was added.
    public var meanLength: Double? { records == 0 ? nil : Double(totalBases) / Double(records) }

    /// The median length: the middle length for an odd count, the mean of the two middle lengths for an even count;
    /// nil when no record was added.
    public var medianLength: Double? {
        guard records > 0 else { return nil }
        // 0-based ranks of the two middle values (the same rank when the count is odd).
        let lowRank = (records - 1) / 2
        let highRank = records / 2
        var seen = 0
        var low: Int?
        for length in lengthCounts.keys.sorted() {
            seen += lengthCounts[length]!
            if low == nil && seen > lowRank { low = length }
            if seen > highRank { return (Double(low!) + Double(length)) / 2 }
        }
        return nil
    }

    /// What makes the file doubtful as training data.
    public enum Problem: Sendable, Equatable, Hashable, CustomStringConvertible {
        /// The file holds no records (empty, or only blank and comment lines).
        case noRecords
        /// Some records have an empty sequence.
        case emptySequences(count: Int)
        /// Some records have a label and others do not.
        case partlyLabelled(labelled: Int, unlabelled: Int)

        /// The problem in words.
        public var description: String {
            switch self {
            case .noRecords:
                return "no records (the file is empty or holds only blank and comment lines)"
            case .emptySequences(let count):
                return "\(count) record\(count == 1 ? "" : "s") with an empty sequence"
            case .partlyLabelled(let labelled, let unlabelled):
                return "\(unlabelled) record\(unlabelled == 1 ? "" : "s") without a label among \(labelled) labelled"
            }
        }
    }

    /// The problems found so far, in a fixed order; empty when the data looks usable.
    public var problems: [Problem] {
        var found: [Problem] = []
        if records == 0 { found.append(.noRecords) }
        if emptyRecords > 0 { found.append(.emptySequences(count: emptyRecords)) }
        let labelled = records - unlabelledRecords
        if labelled > 0 && unlabelledRecords > 0 {
            found.append(.partlyLabelled(labelled: labelled, unlabelled: unlabelledRecords))
        }
        return found
    }
}
