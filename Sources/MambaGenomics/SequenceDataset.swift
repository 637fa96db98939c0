// Labelled DNA sequences for classification: the records of a FASTA(.gz) file with their class from a `label=` token
// in each header or from an id -> label manifest, held in memory (classification sets are thousands of short
// records; stream long genomes with FASTAReader and cut them with MambaTokenizers' Windows instead).

/// One sequence of a dataset, with its class and where it came from.
public struct LabelledSequence: Sendable, Equatable {
    /// The record's id (FASTA header up to the first whitespace, or a benchmark table's `id`).
    public var id: String
    /// The bases, one byte each, as read.
    public var sequence: [UInt8]
    /// The class label; nil in an unlabelled dataset.
    public var label: String?
    /// The label's index in the dataset's `labels`; nil in an unlabelled dataset.
    public var labelIndex: Int?
    /// The file it was read from (FASTA, or a benchmark's interval table).
    public var file: String
    /// The 1-based line in `file`: the header line, or the table row.
    public var line: Int

    /// A sequence; `labelIndex` is set by the dataset that holds it.
    public init(id: String, sequence: [UInt8], label: String?, labelIndex: Int? = nil, file: String = "",
                line: Int = 0) {
        self.id = id
        self.sequence = sequence
        self.label = label
        self.labelIndex = labelIndex
        self.file = file
        self.line = line
    }
}

/// Labelled (or unlabelled) DNA sequences with a fixed label list.
///
/// ```swift
/// let train = try SequenceDataset(fasta: "datasets/dna/species4/train.fa.gz")            // label= in headers
/// let test = try SequenceDataset(fasta: "datasets/dna/species4/test.fa.gz", labelSet: train.labels)
/// ```
///
/// Labels: with `labelSet`, its order gives the label indices and every label must be in it (so a test split shares
/// the train split's indices even when it lacks a class); otherwise the distinct labels, sorted by Unicode scalars.
public struct SequenceDataset: Sendable, Equatable {
    /// Where the labels come from.
    public enum LabelSource: Sendable, Equatable {
        /// A `label=VALUE` token in every header (`FASTARecord.label`); a record without one is an error.
        case headers
        /// A TSV/CSV table with `id` and `label` columns (`LabelManifest`). Every record must have a row and every
        /// row a record; ids must be unique in the FASTA file. A `label=` in a header must agree with the table.
        case manifest(path: String)
        /// No labels (for language-model pretraining): `labels` is empty and every `label` nil.
        case none
    }

    /// The FASTA file, or the benchmark folder, the sequences came from.
    public let source: String
    /// The sequences in file order.
    public let records: [LabelledSequence]
    /// The labels by index (empty when unlabelled).
    public let labels: [String]

    /// The number of sequences.
    public var count: Int { records.count }
    /// Sequence `index`.
    public subscript(index: Int) -> LabelledSequence { records[index] }
    /// The length of each sequence (for `Windows.windows(lengths:)`).
    public var lengths: [Int] { records.map(\.sequence.count) }

    /// Reads every record of `fasta` (plain, gzip or BGZF) with its label.
    ///
    /// - Throws: `SequenceDatasetError`: `.fasta` and `.manifest` wrap the readers' errors (file, line);
    ///   `.missingLabel`, `.notInManifest`, `.notInFASTA`, `.duplicateID`, `.conflictingLabel`, `.unknownLabel`
    ///   name the record's file and header line (or the manifest's line); `.noRecords` for a file without records.
    public init(fasta: String, labels source: LabelSource = .headers, labelSet: [String]? = nil,
                options: FASTAReader.Options = FASTAReader.Options()) throws(SequenceDatasetError) {
        var records: [LabelledSequence] = []
        var manifest: LabelManifest?
        if case .manifest(let path) = source {
            do { manifest = try LabelManifest(path: path) } catch { throw .manifest(error) }
        }
        var firstLine: [String: Int] = [:]
        let reader: FASTAReader
        do { reader = try FASTAReader(path: fasta, options: options) } catch { throw .fasta(error) }
        while true {
            let next: FASTARecord?
            do { next = try reader.next() } catch { throw .fasta(error) }
            guard let record = next else { break }
            var label: String?
            switch source {
            case .none:
                label = nil
            case .headers:
                guard let found = record.label else {
                    throw .missingLabel(file: fasta, line: record.headerLine, id: record.id)
                }
                label = found
            case .manifest(let path):
                if let first = firstLine[record.id] {
                    throw .duplicateID(file: fasta, line: record.headerLine, id: record.id, firstLine: first)
                }
                firstLine[record.id] = record.headerLine
                guard let listed = manifest![record.id] else {
                    throw .notInManifest(file: fasta, line: record.headerLine, id: record.id, manifest: path)
                }
                if let inHeader = record.label, inHeader != listed {
                    throw .conflictingLabel(file: fasta, line: record.headerLine, id: record.id, header: inHeader,
                                            manifest: listed, manifestFile: path,
                                            manifestLine: manifest!.lines[record.id]!)
                }
                label = listed
            }
            records.append(LabelledSequence(id: record.id, sequence: record.sequence, label: label, file: fasta,
                                            line: record.headerLine))
        }
        if let manifest, case .manifest(let path) = source {
            for id in manifest.ids where firstLine[id] == nil {
                throw .notInFASTA(manifest: path, line: manifest.lines[id]!, id: id, fasta: fasta)
            }
        }
        if records.isEmpty { throw .noRecords(file: fasta) }
        try self.init(source: fasta, records: records, labelSet: labelSet)
    }

    /// A dataset of sequences made elsewhere (e.g. `GenomicBenchmarks`); label indices are assigned here.
    ///
    /// - Throws: `SequenceDatasetError.unknownLabel` for a label outside `labelSet`; `.invalidArgument` when some
    ///   records have labels and others not, or `labelSet` names a label twice.
    public init(source: String, records: [LabelledSequence], labelSet: [String]? = nil)
        throws(SequenceDatasetError)
    {
        let labelled = records.filter { $0.label != nil }.count
        guard labelled == 0 || labelled == records.count else {
            throw .invalidArgument("\(labelled) of \(records.count) sequences have labels: all or none must")
        }
        var labels: [String]
        if let labelSet {
            var seen: Set<String> = []
            for label in labelSet where !seen.insert(label).inserted {
                throw .invalidArgument("the label set names '\(label)' twice")
            }
            labels = labelSet
        } else {
            labels = Set(records.compactMap(\.label)).sorted {
                $0.unicodeScalars.lexicographicallyPrecedes($1.unicodeScalars)
            }
        }
        var index: [String: Int] = [:]
        for (i, label) in labels.enumerated() { index[label] = i }
        var indexed = records
        for k in indexed.indices {
            guard let label = indexed[k].label else { continue }
            guard let i = index[label] else {
                throw .unknownLabel(file: indexed[k].file, line: indexed[k].line, label: label, known: labels)
            }
            indexed[k].labelIndex = i
        }
        if labelled == 0 && labelSet == nil { labels = [] }
        self.source = source
        self.records = indexed
        self.labels = labels
    }
}

/// An error building a `SequenceDataset`, naming the file and line.
public enum SequenceDatasetError: Error, Sendable, Equatable, CustomStringConvertible {
    /// Reading the FASTA file failed (its own error, with file and line).
    case fasta(FASTAError)
    /// Reading the label manifest failed (its own error, with file and line).
    case manifest(LabelManifestError)
    /// A header has no `label=` token (labels from headers).
    case missingLabel(file: String, line: Int, id: String)
    /// A record's id has no row in the manifest.
    case notInManifest(file: String, line: Int, id: String, manifest: String)
    /// A manifest row names an id that no record has.
    case notInFASTA(manifest: String, line: Int, id: String, fasta: String)
    /// Two records share an id, so a manifest row cannot say which it labels.
    case duplicateID(file: String, line: Int, id: String, firstLine: Int)
    /// A header's `label=` differs from the manifest's label for the same id.
    case conflictingLabel(file: String, line: Int, id: String, header: String, manifest: String,
                          manifestFile: String, manifestLine: Int)
    /// A label is not in the label set given.
    case unknownLabel(file: String, line: Int, label: String, known: [String])
    /// The FASTA file holds no records.
    case noRecords(file: String)
    /// An argument is invalid; the message says which.
    case invalidArgument(String)

    /// The error in words, starting with `file:line:` where there is one.
    public var description: String {
        switch self {
        case .fasta(let error):
            return error.description
        case .manifest(let error):
            return error.description
        case .missingLabel(let file, let line, let id):
            return "\(file):\(line): record '\(id)' has no 'label=' token in its header "
                + "(expected '>ID ... label=CLASS', or give a label manifest)"
        case .notInManifest(let file, let line, let id, let manifest):
            return "\(file):\(line): record '\(id)' has no row in the label manifest \(manifest)"
        case .notInFASTA(let manifest, let line, let id, let fasta):
            return "\(manifest):\(line): id '\(id)' is not a record of \(fasta)"
        case .duplicateID(let file, let line, let id, let firstLine):
            return "\(file):\(line): id '\(id)' already used by the record on line \(firstLine) "
                + "(ids must be unique for a label manifest to apply)"
        case .conflictingLabel(let file, let line, let id, let header, let manifest, let manifestFile,
                               let manifestLine):
            return "\(file):\(line): record '\(id)' says label=\(header), but \(manifestFile):\(manifestLine) "
                + "says \(manifest)"
        case .unknownLabel(let file, let line, let label, let known):
            return "\(file):\(line): label '\(label)' is not one of the \(known.count) labels given "
                + "(\(known.prefix(20).joined(separator: ", "))\(known.count > 20 ? ", ..." : ""))"
        case .noRecords(let file):
            return "\(file): no FASTA records (expected at least one '>' header)"
        case .invalidArgument(let message):
            return "invalid argument: \(message)"
        }
    }
}
