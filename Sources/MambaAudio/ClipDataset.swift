// Labelled audio clips for classification: listed in a manifest (TSV or CSV with `file` and `label` columns) or laid
// out as one folder per class. Either way the result is (path, label) pairs in a fixed order and the label list, so
// that label indices are stable from run to run and between a train and a test split given the same list.

import Foundation

/// One labelled clip.
public struct LabelledClip: Sendable, Equatable, Hashable {
    /// The audio file (relative paths of a manifest resolved against the manifest's folder).
    public var path: String
    /// The class label as written.
    public var label: String
    /// The label's index in the dataset's `labels`.
    public var labelIndex: Int
    /// The manifest line the clip was listed on; nil for a clip found in a class folder.
    public var line: Int?
}

/// A list of labelled audio clips, from a manifest or from class folders.
///
/// **Manifest** (`init(manifest:)`): a text table with a header line. Columns are separated by tabs when the header
/// holds a tab (TSV), else by commas (CSV, with RFC 4180 quoting). The header must name a `file` and a `label`
/// column (any case, any position); other columns are ignored. `file` paths are relative to the manifest's folder
/// unless absolute. Lines may end in LF or CRLF, blank lines are skipped, a UTF-8 byte order mark is ignored. Every
/// listed file must exist. Clips keep the manifest's order.
///
/// **Class folders** (`init(classFolders:)`): each subfolder of the given folder is a class named after it; its audio
/// files (by extension, `audioExtensions`, any case), in nested folders too, are the clips. Hidden files and folders
/// (starting with `.`) are skipped. Classes and files are sorted (by Unicode scalar values, not locale), so the order
/// is the same on every machine.
///
/// `init(path:)` picks: a file is a manifest; a folder with `labels.tsv` (or else `labels.csv`) is read through
/// that manifest (the layout of `datasets/audio/*/`); any other folder is class folders.
///
/// Labels: when `labels` is given, its order defines the label indices and every clip's label must be in it (so a
/// test split uses the train split's indices); otherwise the distinct labels, sorted.
public struct ClipDataset: Sendable, Equatable {
    /// The manifest or folder read.
    public let source: String
    /// The clips, in manifest order or sorted by class and path.
    public let clips: [LabelledClip]
    /// The labels by index.
    public let labels: [String]

    /// File extensions taken as audio in class folders (compared in lower case): formats libsndfile reads.
    public static let audioExtensions: Set<String> = [
        "wav", "wave", "flac", "ogg", "oga", "opus", "mp3", "aif", "aiff", "aifc", "au", "snd", "caf", "w64", "rf64",
    ]

    /// The manifest names `init(path:)` looks for in a folder, in order.
    public static let manifestNames = ["labels.tsv", "labels.csv"]

    /// The number of clips.
    public var count: Int { clips.count }

    /// Clip `index`.
    public subscript(index: Int) -> LabelledClip { clips[index] }

    /// Reads a manifest, class folders, or a folder holding a `labels.tsv` / `labels.csv` manifest.
    ///
    /// - Throws: `ClipDatasetError`, naming the file and line.
    public init(path: String, labels: [String]? = nil) throws(ClipDatasetError) {
        var isFolder: ObjCBool = false
        guard FileManager.default.fileExists(atPath: path, isDirectory: &isFolder) else {
            throw .notFound(path: path)
        }
        if !isFolder.boolValue {
            try self.init(manifest: path, labels: labels)
            return
        }
        for name in Self.manifestNames {
            let candidate = (path as NSString).appendingPathComponent(name)
            if FileManager.default.fileExists(atPath: candidate) {
                try self.init(manifest: candidate, labels: labels)
                return
            }
        }
        try self.init(classFolders: path, labels: labels)
    }

    /// Reads a TSV or CSV manifest with `file` and `label` columns.
    ///
    /// - Throws: `ClipDatasetError`: `.notFound` / `.unreadable` for the manifest; `.noHeader`, `.missingColumn`,
    ///   `.duplicateColumn`, `.wrongFieldCount`, `.emptyField`, `.invalidText` for its contents; `.audioFileNotFound`
    ///   and `.duplicateClip` for the files it lists; `.unknownLabel` for a label outside `labels`; `.noClips` when
    ///   it lists none.
    public init(manifest: String, labels: [String]? = nil) throws(ClipDatasetError) {
        let table = try ManifestTable(path: manifest)
        let fileColumn = try table.column("file")
        let labelColumn = try table.column("label")
        let folder = (manifest as NSString).deletingLastPathComponent
        var rows: [(path: String, label: String, line: Int)] = []
        var firstLine: [String: Int] = [:]
        for row in table.rows {
            let file = row.fields[fileColumn]
            let label = row.fields[labelColumn]
            if file.isEmpty { throw .emptyField(file: manifest, line: row.line, column: "file") }
            if label.isEmpty { throw .emptyField(file: manifest, line: row.line, column: "label") }
            let resolved = file.hasPrefix("/") ? file : (folder.isEmpty ? file : folder + "/" + file)
            let path = (resolved as NSString).standardizingPath
            var isFolder: ObjCBool = false
            guard FileManager.default.fileExists(atPath: path, isDirectory: &isFolder), !isFolder.boolValue else {
                throw .audioFileNotFound(manifest: manifest, line: row.line, path: path)
            }
            if let first = firstLine[path] {
                throw .duplicateClip(manifest: manifest, line: row.line, path: path, firstLine: first)
            }
            firstLine[path] = row.line
            rows.append((path, label, row.line))
        }
        if rows.isEmpty { throw .noClips(source: manifest) }
        let index = try Self.labelIndex(given: labels, found: rows.map { ($0.label, manifest, $0.line) })
        self.source = manifest
        self.labels = index.labels
        self.clips = rows.map { LabelledClip(path: $0.path, label: $0.label, labelIndex: index.map[$0.label]!,
                                             line: $0.line) }
    }

    /// Reads class folders: every subfolder of `classFolders` is a class, its audio files the clips.
    ///
    /// - Throws: `ClipDatasetError`: `.notFound`, `.notAFolder`, `.unreadable`; `.noClasses` when there is no
    ///   subfolder; `.emptyClass` for a subfolder without audio files; `.audioOutsideClassFolders` for an audio file
    ///   directly in `classFolders` (it would have no class); `.unknownLabel` for a folder outside `labels`.
    public init(classFolders: String, labels: [String]? = nil) throws(ClipDatasetError) {
        var isFolder: ObjCBool = false
        guard FileManager.default.fileExists(atPath: classFolders, isDirectory: &isFolder) else {
            throw .notFound(path: classFolders)
        }
        guard isFolder.boolValue else { throw .notAFolder(path: classFolders) }
        var classes: [String] = []
        for name in try Self.visibleEntries(classFolders) {
            let full = (classFolders as NSString).appendingPathComponent(name)
            var entryIsFolder: ObjCBool = false
            _ = FileManager.default.fileExists(atPath: full, isDirectory: &entryIsFolder)
            if entryIsFolder.boolValue {
                classes.append(name)
            } else if Self.isAudio(name) {
                throw .audioOutsideClassFolders(folder: classFolders, file: full)
            }
        }
        if classes.isEmpty { throw .noClasses(folder: classFolders) }
        var found: [(path: String, label: String)] = []
        for label in classes {
            let folder = (classFolders as NSString).appendingPathComponent(label)
            let files = try Self.audioFiles(in: folder, depth: 0)
            if files.isEmpty { throw .emptyClass(folder: folder) }
            found += files.map { ($0, label) }
        }
        let index = try Self.labelIndex(
            given: labels, found: classes.map { ($0, (classFolders as NSString).appendingPathComponent($0), nil) })
        self.source = classFolders
        self.labels = index.labels
        self.clips = found.map { LabelledClip(path: $0.path, label: $0.label, labelIndex: index.map[$0.label]!,
                                              line: nil) }
    }

    /// The clip's audio mixed to mono, with its sample rate (`AudioBuffer.sampleRate`).
    ///
    /// - Throws: `AudioError` from reading the file.
    public func load(_ index: Int) throws(AudioError) -> AudioBuffer {
        try AudioFileReader(path: clips[index].path).read(channels: .mono)
    }

    /// The clip's header (rate, channels, frames) without decoding its samples, e.g. to sort clips by length.
    ///
    /// - Throws: `AudioError` from opening the file.
    public func info(_ index: Int) throws(AudioError) -> AudioInfo {
        try AudioFileReader(path: clips[index].path).info
    }

    // MARK: - Helpers

    private static func isAudio(_ name: String) -> Bool {
        audioExtensions.contains((name as NSString).pathExtension.lowercased())
    }

    /// Names in `folder` not starting with `.`, sorted by Unicode scalars.
    private static func visibleEntries(_ folder: String) throws(ClipDatasetError) -> [String] {
        let names: [String]
        do {
            names = try FileManager.default.contentsOfDirectory(atPath: folder)
        } catch {
            throw .unreadable(path: folder, reason: error.localizedDescription)
        }
        return names.filter { !$0.hasPrefix(".") }.sorted { $0.unicodeScalars.lexicographicallyPrecedes($1.unicodeScalars) }
    }

    /// The audio files under `folder`, depth first, each folder's entries sorted; at most 32 levels deep (a guard
    /// against symbolic-link cycles).
    private static func audioFiles(in folder: String, depth: Int) throws(ClipDatasetError) -> [String] {
        guard depth < 32 else { return [] }
        var files: [String] = []
        for name in try visibleEntries(folder) {
            let full = (folder as NSString).appendingPathComponent(name)
            var isFolder: ObjCBool = false
            _ = FileManager.default.fileExists(atPath: full, isDirectory: &isFolder)
            if isFolder.boolValue {
                files += try audioFiles(in: full, depth: depth + 1)
            } else if isAudio(name) {
                files.append(full)
            }
        }
        return files
    }

    /// The label list and the index of each label: `given` in its order, or the found labels sorted.
    private static func labelIndex(given: [String]?, found: [(label: String, file: String, line: Int?)])
        throws(ClipDatasetError) -> (labels: [String], map: [String: Int])
    {
        let labels: [String]
        if let given {
            var seen: Set<String> = []
            for label in given where !seen.insert(label).inserted {
                throw .invalidArgument("the label list names '\(label)' twice")
            }
            labels = given
            for entry in found where !seen.contains(entry.label) {
                throw .unknownLabel(file: entry.file, line: entry.line, label: entry.label, known: given)
            }
        } else {
            labels = Set(found.map(\.label)).sorted { $0.unicodeScalars.lexicographicallyPrecedes($1.unicodeScalars) }
        }
        var map: [String: Int] = [:]
        for (i, label) in labels.enumerated() { map[label] = i }
        return (labels, map)
    }
}

/// An error reading a `ClipDataset`, naming the file (and line, for manifests).
public enum ClipDatasetError: Error, Sendable, Equatable, CustomStringConvertible {
    /// Nothing exists at `path`.
    case notFound(path: String)
    /// `path` is a file where a folder of class folders was expected.
    case notAFolder(path: String)
    /// The manifest or a folder cannot be read; `reason` is the system's.
    case unreadable(path: String, reason: String)
    /// The manifest has no header line (it is empty or blank).
    case noHeader(file: String)
    /// The header lacks a required column (`file` or `label`); `found` lists the columns it has.
    case missingColumn(file: String, line: Int, column: String, found: [String])
    /// The header names a column twice.
    case duplicateColumn(file: String, line: Int, column: String)
    /// A row has another number of fields than the header.
    case wrongFieldCount(file: String, line: Int, expected: Int, found: Int)
    /// A row's `file` or `label` is empty.
    case emptyField(file: String, line: Int, column: String)
    /// A line is not valid text (not UTF-8, or a quoted field left open).
    case invalidText(file: String, line: Int, reason: String)
    /// The audio file a manifest row names does not exist (or is a folder); `path` is as resolved.
    case audioFileNotFound(manifest: String, line: Int, path: String)
    /// Two manifest rows name the same file.
    case duplicateClip(manifest: String, line: Int, path: String, firstLine: Int)
    /// A label (or class folder) is not in the label list given; `line` is nil for a class folder.
    case unknownLabel(file: String, line: Int?, label: String, known: [String])
    /// The manifest lists no clips.
    case noClips(source: String)
    /// The folder has no class subfolders.
    case noClasses(folder: String)
    /// A class folder holds no audio file (see `ClipDataset.audioExtensions`).
    case emptyClass(folder: String)
    /// An audio file lies directly in the folder of class folders, so it has no class.
    case audioOutsideClassFolders(folder: String, file: String)
    /// An argument is invalid (a label list naming a label twice).
    case invalidArgument(String)

    /// The error in words, starting with `file:line:` where there is one.
    public var description: String {
        switch self {
        case .notFound(let path):
            return "\(path): no such file or folder"
        case .notAFolder(let path):
            return "\(path): expected a folder with one subfolder per class, found a file"
        case .unreadable(let path, let reason):
            return "\(path): cannot read: \(reason)"
        case .noHeader(let file):
            return "\(file): manifest is empty (expected a header line with 'file' and 'label' columns)"
        case .missingColumn(let file, let line, let column, let found):
            return "\(file):\(line): no '\(column)' column in the header (found: \(found.joined(separator: ", ")))"
        case .duplicateColumn(let file, let line, let column):
            return "\(file):\(line): column '\(column)' appears twice in the header"
        case .wrongFieldCount(let file, let line, let expected, let found):
            return "\(file):\(line): expected \(expected) fields as in the header, found \(found)"
        case .emptyField(let file, let line, let column):
            return "\(file):\(line): empty \(column)"
        case .invalidText(let file, let line, let reason):
            return "\(file):\(line): \(reason)"
        case .audioFileNotFound(let manifest, let line, let path):
            return "\(manifest):\(line): audio file \(path) does not exist"
        case .duplicateClip(let manifest, let line, let path, let firstLine):
            return "\(manifest):\(line): \(path) is already listed on line \(firstLine)"
        case .unknownLabel(let file, let line, let label, let known):
            let place = line.map { "\(file):\($0)" } ?? file
            return "\(place): label '\(label)' is not one of the \(known.count) labels given "
                + "(\(known.prefix(20).joined(separator: ", "))\(known.count > 20 ? ", ..." : ""))"
        case .noClips(let source):
            return "\(source): lists no clips (expected at least one row after the header)"
        case .noClasses(let folder):
            return "\(folder): no class subfolders (expected one subfolder of audio files per class, "
                + "or a labels.tsv / labels.csv manifest)"
        case .emptyClass(let folder):
            return "\(folder): class folder holds no audio file (extensions: "
                + "\(ClipDataset.audioExtensions.sorted().joined(separator: ", ")))"
        case .audioOutsideClassFolders(let folder, let file):
            return "\(file): audio file directly in \(folder), outside any class folder (so it has no label)"
        case .invalidArgument(let message):
            return "invalid argument: \(message)"
        }
    }
}

// MARK: - Manifest tables

/// A TSV or CSV table with a header line, read whole (manifests are small), with the line number of every row.
struct ManifestTable {
    let path: String
    let header: [String]
    let headerLine: Int
    let rows: [(line: Int, fields: [String])]

    init(path: String) throws(ClipDatasetError) {
        self.path = path
        var isFolder: ObjCBool = false
        guard FileManager.default.fileExists(atPath: path, isDirectory: &isFolder) else {
            throw .notFound(path: path)
        }
        if isFolder.boolValue { throw .unreadable(path: path, reason: "it is a folder, not a manifest file") }
        guard let data = FileManager.default.contents(atPath: path) else {
            throw .unreadable(path: path, reason: "permission denied or I/O error")
        }
        var bytes = [UInt8](data)
        if bytes.starts(with: [0xEF, 0xBB, 0xBF]) { bytes.removeFirst(3) }
        var header: [String]?
        var headerLine = 0
        var delimiter = UInt8(ascii: ",")
        var rows: [(line: Int, fields: [String])] = []
        var lineNumber = 0
        for var line in bytes.split(separator: 0x0A, omittingEmptySubsequences: false) {
            lineNumber += 1
            if line.last == 0x0D { line = line.dropLast() }
            if line.allSatisfy({ $0 == 0x20 || $0 == 0x09 }) { continue }
            guard let text = String(validating: line, as: UTF8.self) else {
                throw .invalidText(file: path, line: lineNumber, reason: "not valid UTF-8")
            }
            if header == nil {
                if line.contains(0x09) { delimiter = 0x09 }
                let names = try Self.fields(text, delimiter: delimiter, path: path, line: lineNumber)
                header = names.map { $0.lowercased() }
                headerLine = lineNumber
                continue
            }
            let fields = try Self.fields(text, delimiter: delimiter, path: path, line: lineNumber)
            guard fields.count == header!.count else {
                throw .wrongFieldCount(file: path, line: lineNumber, expected: header!.count, found: fields.count)
            }
            rows.append((lineNumber, fields))
        }
        guard let header else { throw .noHeader(file: path) }
        self.header = header
        self.headerLine = headerLine
        self.rows = rows
    }

    /// The index of the column named `name` (lower case); it must appear exactly once.
    func column(_ name: String) throws(ClipDatasetError) -> Int {
        let matches = header.indices.filter { header[$0] == name }
        guard let first = matches.first else {
            throw .missingColumn(file: path, line: headerLine, column: name, found: header)
        }
        if matches.count > 1 { throw .duplicateColumn(file: path, line: headerLine, column: name) }
        return first
    }

    /// One line split into fields, each trimmed of spaces and tabs; CSV fields may be quoted (`"a,b"`, `""`).
    static func fields(_ line: String, delimiter: UInt8, path: String, line lineNumber: Int)
        throws(ClipDatasetError) -> [String]
    {
        var fields: [String] = []
        var field: [UInt8] = []
        var quoted = false
        var wasQuoted = false
        let bytes = Array(line.utf8)
        var i = 0
        func finish() {
            var lo = 0, hi = field.count
            if !wasQuoted {
                while lo < hi && (field[lo] == 0x20 || field[lo] == 0x09) { lo += 1 }
                while hi > lo && (field[hi - 1] == 0x20 || field[hi - 1] == 0x09) { hi -= 1 }
            }
            fields.append(String(decoding: field[lo..<hi], as: UTF8.self))
            field.removeAll(keepingCapacity: true)
            wasQuoted = false
        }
        while i < bytes.count {
            let b = bytes[i]
            if quoted {
                if b == 0x22 {
                    if i + 1 < bytes.count && bytes[i + 1] == 0x22 {
                        field.append(0x22)
                        i += 1
                    } else {
                        quoted = false
                    }
                } else {
                    field.append(b)
                }
            } else if b == delimiter {
                finish()
            } else if b == 0x22 && delimiter != 0x09 && field.allSatisfy({ $0 == 0x20 }) && !wasQuoted {
                field.removeAll()
                quoted = true
                wasQuoted = true
            } else if wasQuoted && (b == 0x20 || b == 0x09) {
                // Spaces between a closing quote and the delimiter are not part of the field.
            } else if wasQuoted {
                throw .invalidText(file: path, line: lineNumber,
                                   reason: "text after the closing quote of field \(fields.count + 1)")
            } else {
                field.append(b)
            }
            i += 1
        }
        if quoted {
            throw .invalidText(file: path, line: lineNumber, reason: "a quoted field is not closed on this line")
        }
        finish()
        return fields
    }
}
