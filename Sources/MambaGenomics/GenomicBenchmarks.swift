// Datasets in the interval-list layout of the genomic-benchmarks package (Grešová et al. 2023, BMC Genomic Data;
// github.com/ML-Bioinfo-CEITEC/genomic_benchmarks, folder `datasets/<name>/`):
//
//   <name>/metadata.yaml                 classes -> {type: fa.gz, url: <reference>, extra_processing: ...}, version
//   <name>/{train,test}/<class>.csv.gz   (or .csv) columns id, region, start, end, strand (a leading unnamed pandas
//                                        index column is common and ignored)
//
// Coordinates are 0-based and half-open, as the package slices Python strings (`seq[start:end]`); '-' strand
// intervals are reverse-complemented. Each class names its reference by URL; the package downloads it into
// ~/.genomic_benchmarks/fasta/ under the URL's last path component. Here the reference files are given
// (`References`): one file for all classes, one per class, or a folder holding them under those names. Nothing is
// downloaded. `extra_processing` renames reference records as the package does: ENSEMBL_HUMAN_GENOME and
// ENSEMBL_MOUSE_GENOME prefix "chr" (Ensembl's "1" is the table's "chr1"), ENSEMBL_HUMAN_TRANSCRIPTOME drops the
// ".N" version of ENST ids.
//
// Memory: the interval tables, the extracted sequences, and one reference record (one chromosome: 250 MB for human
// chr1) at a time. Each reference file is read once, in a single pass, and only up to the last record any interval
// needs; the package instead loads the whole genome into a dictionary.

import Foundation

/// Reads a genomic-benchmarks interval dataset and extracts its sequences from the reference FASTA files.
///
/// ```swift
/// let benchmark = try GenomicBenchmarks(folder: "human_nontata_promoters")
/// let splits = try benchmark.load(references: .directory(NSHomeDirectory() + "/.genomic_benchmarks/fasta"))
/// let train = splits["train"]!, test = splits["test"]!          // SequenceDataset, labels = class names
/// ```
public struct GenomicBenchmarks: Sendable {
    /// Where the reference sequences are.
    public enum References: Sendable, Equatable {
        /// One FASTA(.gz) file for every class.
        case file(String)
        /// A FASTA file per class name (every class must have one).
        case byClass([String: String])
        /// A folder holding each class's reference under the last path component of its metadata URL (as the
        /// package's cache, `~/.genomic_benchmarks/fasta/`); needs `metadata.yaml`.
        case directory(String)
    }

    /// How the table's `region` names a reference record's id.
    public enum RegionNaming: String, Sendable, Equatable, Codable, CaseIterable {
        /// The record id as is.
        case asIs
        /// "chr" + the record id (`ENSEMBL_HUMAN_GENOME`, `ENSEMBL_MOUSE_GENOME`).
        case chrPrefix
        /// The record id without a trailing ".N" version (`ENSEMBL_HUMAN_TRANSCRIPTOME`).
        case stripVersion

        /// The region name of a reference record id.
        public func regionName(_ recordID: String) -> String {
            switch self {
            case .asIs:
                return recordID
            case .chrPrefix:
                return "chr" + recordID
            case .stripVersion:
                guard let dot = recordID.lastIndex(of: "."),
                      !recordID[recordID.index(after: dot)...].isEmpty,
                      recordID[recordID.index(after: dot)...].allSatisfy(\.isASCII),
                      recordID[recordID.index(after: dot)...].allSatisfy(\.isNumber)
                else { return recordID }
                return String(recordID[..<dot])
            }
        }
    }

    /// What `metadata.yaml` says about one class.
    public struct ClassMetadata: Sendable, Equatable {
        /// The reference's URL.
        public var url: String?
        /// The reference's type (`fa.gz`).
        public var type: String?
        /// The `extra_processing` key, if any.
        public var extraProcessing: String?
        /// The line of the class's entry in `metadata.yaml`.
        public var line: Int
    }

    /// One interval of a table.
    public struct Interval: Sendable, Equatable {
        /// The table's `id`.
        public var id: String
        /// The reference record (after `RegionNaming`).
        public var region: String
        /// 0-based start, inclusive.
        public var start: Int
        /// 0-based end, exclusive.
        public var end: Int
        /// True for '-': the sequence is reverse-complemented.
        public var reverse: Bool
        /// The class (the table's file name without `.csv` / `.csv.gz`).
        public var className: String
        /// The table file.
        public var file: String
        /// The row's line in `file`.
        public var line: Int

        /// An interval (as a table row gives it).
        public init(id: String, region: String, start: Int, end: Int, reverse: Bool, className: String,
                    file: String, line: Int) {
            self.id = id
            self.region = region
            self.start = start
            self.end = end
            self.reverse = reverse
            self.className = className
            self.file = file
            self.line = line
        }
    }

    /// The dataset folder.
    public let folder: String
    /// Class name -> metadata, when `metadata.yaml` exists.
    public let metadata: [String: ClassMetadata]?
    /// The `version` in `metadata.yaml`, when given.
    public let version: Int?
    /// The splits found (subfolders with class tables), sorted.
    public let splits: [String]
    /// All class names of all splits, sorted: the label list.
    public let classes: [String]
    /// split -> class -> table file.
    private let tables: [String: [String: String]]

    /// Reads the folder's layout and `metadata.yaml` (if present); the tables are read by `intervals` and `load`.
    ///
    /// - Throws: `GenomicBenchmarksError`: `.notFound` for a missing folder; `.noTables` when no subfolder holds
    ///   class tables; `.ambiguousTable` when a class has both `.csv` and `.csv.gz`; `.invalidMetadata` and
    ///   `.unknownExtraProcessing` (file and line) for a `metadata.yaml` this reader cannot use.
    public init(folder: String) throws(GenomicBenchmarksError) {
        var isFolder: ObjCBool = false
        guard FileManager.default.fileExists(atPath: folder, isDirectory: &isFolder), isFolder.boolValue else {
            throw .notFound(path: folder)
        }
        self.folder = folder
        let metadataPath = (folder as NSString).appendingPathComponent("metadata.yaml")
        if FileManager.default.fileExists(atPath: metadataPath) {
            let parsed = try Self.readMetadata(metadataPath)
            metadata = parsed.classes
            version = parsed.version
        } else {
            metadata = nil
            version = nil
        }
        func list(_ path: String) throws(GenomicBenchmarksError) -> [String] {
            do { return try FileManager.default.contentsOfDirectory(atPath: path) } catch {
                throw .unreadable(file: path, reason: error.localizedDescription)
            }
        }
        var tables: [String: [String: String]] = [:]
        for split in try list(folder) where !split.hasPrefix(".") {
            let splitFolder = (folder as NSString).appendingPathComponent(split)
            var isDir: ObjCBool = false
            guard FileManager.default.fileExists(atPath: splitFolder, isDirectory: &isDir), isDir.boolValue else {
                continue
            }
            var found: [String: String] = [:]
            for name in try list(splitFolder) {
                let className: String
                if name.hasSuffix(".csv.gz") {
                    className = String(name.dropLast(7))
                } else if name.hasSuffix(".csv") {
                    className = String(name.dropLast(4))
                } else {
                    continue
                }
                if className.isEmpty || className.hasPrefix(".") { continue }
                if found[className] != nil { throw .ambiguousTable(folder: splitFolder, className: className) }
                found[className] = (splitFolder as NSString).appendingPathComponent(name)
            }
            if !found.isEmpty { tables[split] = found }
        }
        if tables.isEmpty { throw .noTables(folder: folder) }
        self.tables = tables
        self.splits = tables.keys.sorted()
        self.classes = Set(tables.values.flatMap(\.keys)).sorted {
            $0.unicodeScalars.lexicographicallyPrecedes($1.unicodeScalars)
        }
    }

    /// The intervals of `split`, class by class (sorted), each in table order.
    ///
    /// - Throws: `GenomicBenchmarksError.noSplit` for a split without tables; table errors with file and line.
    public func intervals(split: String) throws(GenomicBenchmarksError) -> [Interval] {
        guard let splitTables = tables[split] else { throw .noSplit(folder: folder, split: split, found: splits) }
        var result: [Interval] = []
        for className in classes {
            guard let path = splitTables[className] else { continue }
            result += try Self.readTable(path, className: className)
        }
        return result
    }

    /// Reads the tables of `splits` and extracts every interval's sequence from the references, one pass over each
    /// reference file for all splits together.
    ///
    /// - Parameters:
    ///   - wanted: the splits to read (e.g. `["train"]`); nil reads every split of the folder.
    ///   - references: where each class's reference FASTA is found.
    ///   - regionNaming: overrides the naming `metadata.yaml`'s `extra_processing` implies (as is without it).
    ///   - labelSet: the label order; default the sorted class names of all splits.
    ///   - options: how reference FASTA files are read (e.g. `uppercase` to drop soft-masking).
    /// - Returns: split -> dataset; each sequence's `label` is its class, `file` and `line` its table row.
    /// - Throws: `GenomicBenchmarksError`: table errors; `.noReference` / `.referenceNotFound` when a class has no
    ///   usable reference; `.reference` for a FASTA error in a reference; `.regionNotFound` and
    ///   `.intervalOutOfBounds` naming the table file and line of the interval.
    public func load(splits wanted: [String]? = nil, references: References, regionNaming: RegionNaming? = nil,
                     labelSet: [String]? = nil, options: FASTAReader.Options = FASTAReader.Options())
        throws(GenomicBenchmarksError) -> [String: SequenceDataset]
    {
        let splitNames = wanted ?? splits
        var intervals: [String: [Interval]] = [:]
        for split in splitNames { intervals[split] = try self.intervals(split: split) }

        // Group the intervals by (reference file, naming): each group is served by one pass over the file.
        struct Source: Hashable { var path: String; var naming: RegionNaming }
        var groups: [Source: [(split: String, index: Int)]] = [:]
        var sourceOrder: [Source] = []
        for split in splitNames {
            for (i, interval) in intervals[split]!.enumerated() {
                let source = Source(path: try referencePath(for: interval.className, references),
                                    naming: try naming(for: interval.className, override: regionNaming))
                if groups[source] == nil { sourceOrder.append(source) }
                groups[source, default: []].append((split, i))
            }
        }

        var sequences: [String: [[UInt8]?]] = [:]
        for split in splitNames { sequences[split] = Array(repeating: nil, count: intervals[split]!.count) }
        for source in sourceOrder {
            var pending: [String: [(split: String, index: Int)]] = [:]
            for item in groups[source]! { pending[intervals[item.split]![item.index].region, default: []].append(item) }
            let reader: FASTAReader
            do { reader = try FASTAReader(path: source.path, options: options) } catch { throw .reference(error) }
            while !pending.isEmpty {
                let next: FASTARecord?
                do { next = try reader.next() } catch { throw .reference(error) }
                guard let record = next else { break }
                let region = source.naming.regionName(record.id)
                guard let wanted = pending.removeValue(forKey: region) else { continue }
                for item in wanted {
                    let interval = intervals[item.split]![item.index]
                    guard interval.end <= record.sequence.count else {
                        throw .intervalOutOfBounds(file: interval.file, line: interval.line, region: region,
                                                   start: interval.start, end: interval.end,
                                                   regionLength: record.sequence.count, reference: source.path)
                    }
                    var piece = Array(record.sequence[interval.start..<interval.end])
                    if interval.reverse { NucleotideAlphabet.reverseComplementInPlace(&piece) }
                    sequences[item.split]![item.index] = piece
                }
            }
            if let missing = pending.values.flatMap({ $0 }).map({ intervals[$0.split]![$0.index] })
                .min(by: { ($0.file, $0.line) < ($1.file, $1.line) })
            {
                throw .regionNotFound(file: missing.file, line: missing.line, region: missing.region,
                                      reference: source.path)
            }
        }

        var result: [String: SequenceDataset] = [:]
        for split in splitNames {
            let records = zip(intervals[split]!, sequences[split]!).map { interval, sequence in
                LabelledSequence(id: interval.id, sequence: sequence!, label: interval.className, file: interval.file,
                                 line: interval.line)
            }
            do {
                result[split] = try SequenceDataset(source: (folder as NSString).appendingPathComponent(split),
                                                    records: records, labelSet: labelSet ?? classes)
            } catch {
                if case .unknownLabel(let file, let line, let label, let known) = error {
                    throw .unknownLabel(file: file, line: line, label: label, known: known)
                }
                throw .invalidArgument(error.description)
            }
        }
        return result
    }

    // MARK: - References

    private func referencePath(for className: String, _ references: References) throws(GenomicBenchmarksError)
        -> String
    {
        let path: String
        switch references {
        case .file(let file):
            path = file
        case .byClass(let files):
            guard let file = files[className] else {
                throw .noReference(className: className, reason: "the reference list has no entry for it "
                    + "(it has: \(files.keys.sorted().joined(separator: ", ")))")
            }
            path = file
        case .directory(let directory):
            guard let entry = metadata?[className] else {
                throw .noReference(className: className, reason: metadata == nil
                    ? "a reference folder needs metadata.yaml to name each class's file; give the files instead"
                    : "metadata.yaml has no entry for this class")
            }
            guard let url = entry.url, let name = url.split(separator: "/").last.map(String.init), !name.isEmpty else {
                throw .noReference(className: className, reason: "metadata.yaml (line \(entry.line)) gives no url")
            }
            path = (directory as NSString).appendingPathComponent(name)
        }
        guard FileManager.default.fileExists(atPath: path) else {
            throw .referenceNotFound(path: path, className: className)
        }
        return path
    }

    private func naming(for className: String, override: RegionNaming?) throws(GenomicBenchmarksError)
        -> RegionNaming
    {
        if let override { return override }
        guard let extra = metadata?[className]?.extraProcessing else { return .asIs }
        // Checked when metadata.yaml was read, so every value here is known.
        return Self.extraProcessingNaming[extra] ?? .asIs
    }

    /// The genomic-benchmarks `extra_processing` keys and the renaming each implies.
    static let extraProcessingNaming: [String: RegionNaming] = [
        "ENSEMBL_HUMAN_GENOME": .chrPrefix,
        "ENSEMBL_MOUSE_GENOME": .chrPrefix,
        "ENSEMBL_HUMAN_TRANSCRIPTOME": .stripVersion,
    ]

    // MARK: - Tables

    /// Reads one class table: header with id, region, start, end, strand (other columns ignored).
    static func readTable(_ path: String, className: String) throws(GenomicBenchmarksError) -> [Interval] {
        let bytes = try readAll(path)
        var intervals: [Interval] = []
        var columns: (id: Int, region: Int, start: Int, end: Int, strand: Int, count: Int)?
        var lineNumber = 0
        var start = bytes.starts(with: [0xEF, 0xBB, 0xBF]) ? 3 : 0
        while start < bytes.count {
            lineNumber += 1
            var stop = bytes[start...].firstIndex(of: 0x0A) ?? bytes.count
            let next = stop + 1
            if stop > start && bytes[stop - 1] == 0x0D { stop -= 1 }
            defer { start = next }
            let line = bytes[start..<stop]
            if line.allSatisfy({ $0 == 0x20 || $0 == 0x09 }) { continue }
            guard let text = String(validating: line, as: UTF8.self) else {
                throw .invalidText(file: path, line: lineNumber, reason: "not valid UTF-8")
            }
            let fields: [String]
            do {
                fields = try LabelManifest.fields(text, delimiter: UInt8(ascii: ","), path: path, line: lineNumber)
            } catch {
                if case .invalidText(_, _, let reason) = error {
                    throw .invalidText(file: path, line: lineNumber, reason: reason)
                }
                throw .invalidText(file: path, line: lineNumber, reason: error.description)
            }
            guard let layout = columns else {
                let names = fields.map { $0.lowercased() }
                func find(_ name: String) throws(GenomicBenchmarksError) -> Int {
                    let at = names.indices.filter { names[$0] == name }
                    guard let first = at.first else {
                        throw .missingColumn(file: path, line: lineNumber, column: name, found: names)
                    }
                    if at.count > 1 { throw .duplicateColumn(file: path, line: lineNumber, column: name) }
                    return first
                }
                columns = (try find("id"), try find("region"), try find("start"), try find("end"),
                           try find("strand"), names.count)
                continue
            }
            guard fields.count == layout.count else {
                throw .wrongFieldCount(file: path, line: lineNumber, expected: layout.count, found: fields.count)
            }
            func integer(_ column: Int, _ name: String) throws(GenomicBenchmarksError) -> Int {
                guard let value = Int(fields[column]), value >= 0 else {
                    throw .invalidField(file: path, line: lineNumber, column: name, value: fields[column],
                                        expected: "a whole number, 0 or more")
                }
                return value
            }
            let id = fields[layout.id]
            let region = fields[layout.region]
            if id.isEmpty {
                throw .invalidField(file: path, line: lineNumber, column: "id", value: "", expected: "an id")
            }
            if region.isEmpty {
                throw .invalidField(file: path, line: lineNumber, column: "region", value: "",
                                    expected: "a reference record name")
            }
            let startValue = try integer(layout.start, "start")
            let endValue = try integer(layout.end, "end")
            guard startValue < endValue else {
                throw .invalidField(file: path, line: lineNumber, column: "end", value: fields[layout.end],
                                    expected: "more than start (\(startValue)): intervals are 0-based, end exclusive")
            }
            let strand = fields[layout.strand]
            guard strand == "+" || strand == "-" else {
                throw .invalidField(file: path, line: lineNumber, column: "strand", value: strand,
                                    expected: "'+' or '-'")
            }
            intervals.append(Interval(id: id, region: region, start: startValue, end: endValue, reverse: strand == "-",
                                      className: className, file: path, line: lineNumber))
        }
        if columns == nil { throw .noHeader(file: path) }
        return intervals
    }

    /// The decoded bytes of a (possibly gzip-compressed) file.
    static func readAll(_ path: String) throws(GenomicBenchmarksError) -> [UInt8] {
        do {
            let input = try DecodedInput(path: path, blockSize: 64 * 1024)
            var bytes: [UInt8] = []
            var chunk = [UInt8](repeating: 0, count: 64 * 1024)
            while true {
                let n = try chunk.withUnsafeMutableBufferPointer { b throws(FASTAError) in try input.nextBytes(into: b) }
                if n == 0 { return bytes }
                bytes.append(contentsOf: chunk[0..<n])
            }
        } catch {
            throw .unreadable(file: path, reason: error.description)
        }
    }

    // MARK: - metadata.yaml

    /// Reads the subset of YAML that metadata.yaml files use: nested block mappings of `key: value` lines, with
    /// plain or quoted scalars and `#` comments. Anything else (lists, flow collections, multi-line scalars) is an
    /// error naming the line.
    static func readMetadata(_ path: String) throws(GenomicBenchmarksError)
        -> (classes: [String: ClassMetadata], version: Int?)
    {
        let root = try YAMLSubset.parse(readAll(path), path: path)
        var version: Int?
        if let entry = root.first(where: { $0.key == "version" }) {
            guard case .scalar(let text) = entry.value, let v = Int(text) else {
                throw .invalidMetadata(file: path, line: entry.line, reason: "version must be a whole number")
            }
            version = v
        }
        guard let classesEntry = root.first(where: { $0.key == "classes" }) else {
            throw .invalidMetadata(file: path, line: 1, reason: "no 'classes' mapping")
        }
        guard case .mapping(let classEntries) = classesEntry.value else {
            throw .invalidMetadata(file: path, line: classesEntry.line,
                                   reason: "'classes' must map each class name to its reference")
        }
        var classes: [String: ClassMetadata] = [:]
        for entry in classEntries {
            guard case .mapping(let fields) = entry.value else {
                throw .invalidMetadata(file: path, line: entry.line,
                                       reason: "class '\(entry.key)' must map type, url and extra_processing")
            }
            var info = ClassMetadata(url: nil, type: nil, extraProcessing: nil, line: entry.line)
            for field in fields {
                guard case .scalar(let value) = field.value else {
                    throw .invalidMetadata(file: path, line: field.line, reason: "'\(field.key)' must be a value")
                }
                switch field.key {
                case "url": info.url = value
                case "type": info.type = value
                case "extra_processing":
                    guard extraProcessingNaming[value] != nil else {
                        throw .unknownExtraProcessing(file: path, line: field.line, value: value,
                                                      known: extraProcessingNaming.keys.sorted())
                    }
                    info.extraProcessing = value
                default: break
                }
            }
            classes[entry.key] = info
        }
        return (classes, version)
    }
}

/// A parsed line-oriented YAML mapping (the subset in genomic-benchmarks metadata files).
enum YAMLSubset {
    /// A value: a scalar or a nested mapping.
    indirect enum Value: Equatable { case scalar(String), mapping([Entry]) }
    /// One `key: value` with its line.
    struct Entry: Equatable { var key: String; var line: Int; var value: Value }

    static func parse(_ bytes: [UInt8], path: String) throws(GenomicBenchmarksError) -> [Entry] {
        guard let text = String(validating: bytes, as: UTF8.self) else {
            throw .invalidMetadata(file: path, line: 1, reason: "not valid UTF-8")
        }
        var lines: [(indent: Int, key: String, value: String, line: Int)] = []
        for (k, raw) in text.split(separator: "\n", omittingEmptySubsequences: false).enumerated() {
            let lineNumber = k + 1
            var line = Substring(raw)
            if line.hasSuffix("\r") { line = line.dropLast() }
            line = stripComment(line)
            if line.allSatisfy({ $0 == " " }) { continue }
            if line.hasPrefix("---") && lineNumber == 1 { continue }
            let indent = line.prefix(while: { $0 == " " }).count
            let body = line.dropFirst(indent)
            if body.first == "\t" || line.prefix(indent + 1).contains("\t") {
                throw .invalidMetadata(file: path, line: lineNumber, reason: "tabs cannot indent YAML")
            }
            if body.hasPrefix("- ") || body == "-" || body.hasPrefix("[") || body.hasPrefix("{") {
                throw .invalidMetadata(file: path, line: lineNumber,
                                       reason: "lists and flow collections are not supported here")
            }
            guard let colon = keyColon(body) else {
                throw .invalidMetadata(file: path, line: lineNumber, reason: "expected 'key: value'")
            }
            let key = unquote(body[..<colon].trimmingCharacters(in: .whitespaces))
            let value = body[body.index(after: colon)...].trimmingCharacters(in: .whitespaces)
            if value.hasPrefix("|") || value.hasPrefix(">") || value.hasPrefix("[") || value.hasPrefix("{")
                || value.hasPrefix("&") || value.hasPrefix("*") {
                throw .invalidMetadata(file: path, line: lineNumber,
                                       reason: "block scalars, flow collections and anchors are not supported here")
            }
            lines.append((indent, key, value, lineNumber))
        }
        var position = 0
        let entries = try mapping(lines, &position, indent: lines.first?.indent ?? 0, path: path)
        if position < lines.count {
            throw .invalidMetadata(file: path, line: lines[position].line, reason: "unexpected indentation")
        }
        return entries
    }

    private static func mapping(_ lines: [(indent: Int, key: String, value: String, line: Int)],
                                _ position: inout Int, indent: Int, path: String)
        throws(GenomicBenchmarksError) -> [Entry]
    {
        var entries: [Entry] = []
        while position < lines.count {
            let current = lines[position]
            if current.indent < indent { break }
            if current.indent > indent {
                throw .invalidMetadata(file: path, line: current.line, reason: "unexpected indentation")
            }
            if entries.contains(where: { $0.key == current.key }) {
                throw .invalidMetadata(file: path, line: current.line, reason: "key '\(current.key)' repeated")
            }
            position += 1
            if current.value.isEmpty {
                if position < lines.count && lines[position].indent > indent {
                    let children = try mapping(lines, &position, indent: lines[position].indent, path: path)
                    entries.append(Entry(key: current.key, line: current.line, value: .mapping(children)))
                } else {
                    entries.append(Entry(key: current.key, line: current.line, value: .scalar("")))
                }
            } else {
                entries.append(Entry(key: current.key, line: current.line, value: .scalar(unquote(current.value))))
            }
        }
        return entries
    }

    /// The colon that ends the key: the first `:` followed by a space or the line's end, outside quotes.
    private static func keyColon(_ body: Substring) -> Substring.Index? {
        var quote: Character?
        var i = body.startIndex
        while i < body.endIndex {
            let c = body[i]
            if let q = quote {
                if c == q { quote = nil }
            } else if c == "\"" || c == "'" {
                quote = c
            } else if c == ":" {
                let after = body.index(after: i)
                if after == body.endIndex || body[after] == " " { return i }
            }
            i = body.index(after: i)
        }
        return nil
    }

    /// The line without a `#` comment (a `#` at the start or after a space, outside quotes).
    private static func stripComment(_ line: Substring) -> Substring {
        var quote: Character?
        var previous: Character = " "
        for i in line.indices {
            let c = line[i]
            if let q = quote {
                if c == q { quote = nil }
            } else if c == "\"" || c == "'" {
                quote = c
            } else if c == "#" && previous == " " {
                return line[..<i]
            }
            previous = c
        }
        return line
    }

    private static func unquote(_ s: String) -> String {
        if s.count >= 2, let first = s.first, first == s.last, first == "\"" || first == "'" {
            return String(s.dropFirst().dropLast())
        }
        return s
    }
}

/// An error reading a genomic-benchmarks dataset, naming the file and line.
public enum GenomicBenchmarksError: Error, Sendable, Equatable, CustomStringConvertible {
    /// The dataset folder does not exist.
    case notFound(path: String)
    /// No subfolder of the dataset holds `<class>.csv` or `<class>.csv.gz` tables.
    case noTables(folder: String)
    /// The requested split has no tables; `found` lists the splits that do.
    case noSplit(folder: String, split: String, found: [String])
    /// A class has both a `.csv` and a `.csv.gz` table in one split.
    case ambiguousTable(folder: String, className: String)
    /// A table or metadata file cannot be read or decompressed.
    case unreadable(file: String, reason: String)
    /// A table has no header line.
    case noHeader(file: String)
    /// A table's header lacks a required column; `found` lists its columns.
    case missingColumn(file: String, line: Int, column: String, found: [String])
    /// A table's header names a column twice.
    case duplicateColumn(file: String, line: Int, column: String)
    /// A row has another number of fields than the header.
    case wrongFieldCount(file: String, line: Int, expected: Int, found: Int)
    /// A field has a value that cannot be used: `expected` says what would be.
    case invalidField(file: String, line: Int, column: String, value: String, expected: String)
    /// A line is not valid text.
    case invalidText(file: String, line: Int, reason: String)
    /// `metadata.yaml` cannot be used; `reason` says why.
    case invalidMetadata(file: String, line: Int, reason: String)
    /// `metadata.yaml` names an `extra_processing` this reader does not know.
    case unknownExtraProcessing(file: String, line: Int, value: String, known: [String])
    /// A class has no reference file; `reason` says why.
    case noReference(className: String, reason: String)
    /// The reference file for a class does not exist.
    case referenceNotFound(path: String, className: String)
    /// Reading a reference FASTA failed (its own error, with file and line).
    case reference(FASTAError)
    /// No record of the reference is the interval's region.
    case regionNotFound(file: String, line: Int, region: String, reference: String)
    /// The interval ends past the end of its region.
    case intervalOutOfBounds(file: String, line: Int, region: String, start: Int, end: Int, regionLength: Int,
                             reference: String)
    /// A class is not in the label set given.
    case unknownLabel(file: String, line: Int, label: String, known: [String])
    /// An argument is invalid; the message says which.
    case invalidArgument(String)

    /// The error in words, starting with `file:line:` where there is one.
    public var description: String {
        switch self {
        case .notFound(let path):
            return "\(path): no such dataset folder"
        case .noTables(let folder):
            return "\(folder): no split folder with class tables (expected train/<class>.csv.gz and test/...)"
        case .noSplit(let folder, let split, let found):
            return "\(folder): no split '\(split)' (found: \(found.joined(separator: ", ")))"
        case .ambiguousTable(let folder, let className):
            return "\(folder): class '\(className)' has both \(className).csv and \(className).csv.gz"
        case .unreadable(let file, let reason):
            return "\(file): cannot read: \(reason)"
        case .noHeader(let file):
            return "\(file): empty table (expected a header with id, region, start, end, strand)"
        case .missingColumn(let file, let line, let column, let found):
            return "\(file):\(line): no '\(column)' column in the header (found: \(found.joined(separator: ", ")))"
        case .duplicateColumn(let file, let line, let column):
            return "\(file):\(line): column '\(column)' appears twice in the header"
        case .wrongFieldCount(let file, let line, let expected, let found):
            return "\(file):\(line): expected \(expected) fields as in the header, found \(found)"
        case .invalidField(let file, let line, let column, let value, let expected):
            return "\(file):\(line): \(column) '\(value)': expected \(expected)"
        case .invalidText(let file, let line, let reason):
            return "\(file):\(line): \(reason)"
        case .invalidMetadata(let file, let line, let reason):
            return "\(file):\(line): \(reason)"
        case .unknownExtraProcessing(let file, let line, let value, let known):
            return "\(file):\(line): unknown extra_processing '\(value)' (known: \(known.joined(separator: ", ")))"
        case .noReference(let className, let reason):
            return "no reference for class '\(className)': \(reason)"
        case .referenceNotFound(let path, let className):
            return "\(path): reference for class '\(className)' does not exist"
        case .reference(let error):
            return error.description
        case .regionNotFound(let file, let line, let region, let reference):
            return "\(file):\(line): region '\(region)' is not a record of \(reference)"
        case .intervalOutOfBounds(let file, let line, let region, let start, let end, let length, let reference):
            return "\(file):\(line): interval \(start)..<\(end) runs past the end of '\(region)' "
                + "(\(length) bases in \(reference))"
        case .unknownLabel(let file, let line, let label, let known):
            return "\(file):\(line): class '\(label)' is not one of the labels given (\(known.joined(separator: ", ")))"
        case .invalidArgument(let message):
            return "invalid argument: \(message)"
        }
    }
}
