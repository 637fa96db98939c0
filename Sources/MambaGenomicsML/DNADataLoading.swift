// Labelled DNA from any of the accepted layouts, behind one call: a FASTA(.gz) file with `label=` in its headers, a
// FASTA(.gz) file with an id -> label manifest (TSV/CSV), or a Genomic Benchmarks folder ({train,test}/<class>.csv.gz
// intervals + the reference FASTA files they name).
import Foundation
import MambaGenomics

/// Where labelled DNA records come from.
public struct DNADataSource: Sendable, Equatable {
    /// A FASTA(.gz) file, or a Genomic Benchmarks folder.
    public var path: String
    /// An id -> label manifest for a FASTA file (default: `label=` tokens in the headers).
    public var manifest: String?
    /// A Genomic Benchmarks folder's references: one FASTA file for every class, or a folder holding them under the
    /// names of their metadata URLs.
    public var reference: String?
    /// The Genomic Benchmarks split to read (`train`, `test`).
    public var split: String

    /// A source.
    public init(path: String, manifest: String? = nil, reference: String? = nil, split: String = "train") {
        self.path = path
        self.manifest = manifest
        self.reference = reference
        self.split = split
    }

    /// Whether `path` is a Genomic Benchmarks folder (a folder with `train/` or `test/` holding .csv(.gz) tables).
    public static func isGenomicBenchmarksFolder(_ path: String) -> Bool {
        var isFolder: ObjCBool = false
        guard FileManager.default.fileExists(atPath: path, isDirectory: &isFolder), isFolder.boolValue else { return false }
        for split in ["train", "test"] {
            let folder = (path as NSString).appendingPathComponent(split)
            let names = (try? FileManager.default.contentsOfDirectory(atPath: folder)) ?? []
            if names.contains(where: { $0.hasSuffix(".csv") || $0.hasSuffix(".csv.gz") }) { return true }
        }
        return FileManager.default.fileExists(atPath: (path as NSString).appendingPathComponent("metadata.yaml"))
    }

    /// Reads the records, with labels indexed by `labelSet` when given (a test split in a model's label order).
    public func load(labelSet: [String]? = nil) throws -> SequenceDataset {
        if Self.isGenomicBenchmarksFolder(path) {
            guard manifest == nil else {
                throw DNAModelError.input("\(path): a Genomic Benchmarks folder takes its labels from its class tables, not from a manifest")
            }
            let benchmark = try GenomicBenchmarks(folder: path)
            guard benchmark.splits.contains(split) else {
                throw DNAModelError.input("\(path): expected a split '\(split)', found \(benchmark.splits.joined(separator: ", "))")
            }
            let references: GenomicBenchmarks.References
            if let reference {
                var isFolder: ObjCBool = false
                guard FileManager.default.fileExists(atPath: reference, isDirectory: &isFolder) else {
                    throw DNAModelError.input("\(reference): reference not found (expected a FASTA(.gz) file or a folder of them)")
                }
                references = isFolder.boolValue ? .directory(reference) : .file(reference)
            } else {
                references = .directory(NSHomeDirectory() + "/.genomic_benchmarks/fasta")
            }
            guard let dataset = try benchmark.load(splits: [split], references: references,
                                                   labelSet: labelSet ?? benchmark.classes)[split] else {
                throw DNAModelError.input("\(path): split '\(split)' gave no records")
            }
            return dataset
        }
        var isFolder: ObjCBool = false
        if FileManager.default.fileExists(atPath: path, isDirectory: &isFolder), isFolder.boolValue {
            throw DNAModelError.input("\(path): expected a FASTA(.gz) file or a Genomic Benchmarks folder ({train,test}/<class>.csv.gz), found a folder without them")
        }
        return try SequenceDataset(fasta: path, labels: manifest.map { .manifest(path: $0) } ?? .headers,
                                   labelSet: labelSet)
    }
}
