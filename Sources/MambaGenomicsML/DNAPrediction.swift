// Streaming prediction over a FASTA(.gz) file of any size: records are read (FASTAReader), encoded and predicted
// `chunk` records at a time, and each chunk's results are handed on before the next chunk is read, so memory is
// O(chunk · record length), independent of the number of records. Output: TSV lines (id, predicted label, one
// probability per class), or per-record embeddings written as safetensors.
import Foundation
import MambaBackbone
import MambaGenomics
import MambaTokenizers

/// One record's prediction.
public struct DNARecordPrediction: Sendable {
    /// The record's id.
    public var id: String
    /// Probabilities per class (the model's label order).
    public var probabilities: [Double]
    /// The pooled embedding {d_model; an ensemble: Σ d_model}, when asked for.
    public var embedding: [Float]?
    /// The 1-based header line in the file.
    public var line: Int
}

extension DNAClassifier {
    /// Predicts every record of `path` (plain, gzip or BGZF FASTA), `chunk` records at a time, calling `body` with
    /// each chunk's predictions in file order. Returns the number of records and bases read.
    ///
    /// - Throws: FASTAError (file, line) for a malformed file; `DNAModelError.input` (file, line) for an empty
    ///   record or a byte that is not a nucleotide code.
    @discardableResult
    public func predict(fasta path: String, chunk: Int = 1024, embeddings: Bool = false,
                        _ body: ([DNARecordPrediction]) throws -> Void) throws -> (records: Int, bases: Int) {
        let reader = try FASTAReader(path: path)
        var records = 0, bases = 0
        var ids: [String] = [], lines: [Int] = [], tokens: [[Int32]] = []
        func flush() throws {
            guard !tokens.isEmpty else { return }
            let result = try predict(tokens: tokens, embeddings: embeddings)
            try body((0..<tokens.count).map { i in
                DNARecordPrediction(id: ids[i], probabilities: result.probabilities[i],
                                    embedding: result.embeddings?[i], line: lines[i])
            })
            ids.removeAll(keepingCapacity: true)
            lines.removeAll(keepingCapacity: true)
            tokens.removeAll(keepingCapacity: true)
        }
        while let record = try reader.next() {
            guard !record.sequence.isEmpty else {
                throw DNAModelError.input("\(path):\(record.headerLine): record '\(record.id)' has no bases (expected at least one)")
            }
            do {
                tokens.append(try tokenizer.encode(record.sequence))
            } catch {
                throw DNAModelError.input("\(path):\(record.headerLine): record '\(record.id)': \(error)")
            }
            ids.append(record.id)
            lines.append(record.headerLine)
            records += 1
            bases += record.sequence.count
            if tokens.count >= max(1, chunk) { try flush() }
        }
        try flush()
        if records == 0 { throw DNAModelError.input("\(path): no FASTA records (expected at least one '>' header)") }
        return (records, bases)
    }

    /// The TSV header: `id`, `label`, then `p_CLASS` for every class.
    public var predictionHeader: String { (["id", "label"] + labels.map { "p_\($0)" }).joined(separator: "\t") }

    /// One TSV line (no newline) for a prediction: id, the most probable class, the probabilities (6 decimals).
    public func predictionLine(_ prediction: DNARecordPrediction) -> String {
        let p = prediction.probabilities
        let best = p.indices.max(by: { p[$0] < p[$1] }) ?? 0
        return ([prediction.id, labels[best]] + p.map { String(format: "%.6f", $0) }).joined(separator: "\t")
    }

    /// Writes the predictions of every record of `fasta` as TSV to `output` (atomically: a temporary file beside it,
    /// renamed when complete), or to standard output when `output` is nil. Returns the records and bases read.
    @discardableResult
    public func writePredictions(fasta: String, to output: String?, chunk: Int = 1024) throws -> (records: Int, bases: Int) {
        let file = try output.map { try AtomicOutputFile(path: $0) }
        func emit(_ text: String) throws {
            if let file { try file.write(text) } else { FileHandle.standardOutput.write(Data(text.utf8)) }
        }
        do {
            try emit(predictionHeader + "\n")
            let counts = try predict(fasta: fasta, chunk: chunk) { predictions in
                var text = ""
                for prediction in predictions { text += predictionLine(prediction) + "\n" }
                try emit(text)
            }
            try file?.commit()
            return counts
        } catch {
            file?.discard()
            throw error
        }
    }

    /// Writes per-record embeddings of `fasta` to a safetensors file (atomically): `embeddings` {records, d_model}
    /// (pooled final hidden states, combined over windows and strands as predictions are; an ensemble's members'
    /// concatenated, {records, Σ d_model}) and `probabilities`
    /// {records, classes}; the metadata holds `ids` (newline-separated, file order) and `labels`. The output is
    /// O(records · d_model) floats, held until written; reading stays streaming.
    @discardableResult
    public func writeEmbeddings(fasta: String, to output: URL, chunk: Int = 1024) throws -> (records: Int, bases: Int) {
        let d = embeddingWidth, classes = labels.count
        var ids: [String] = [], embeddings: [Float] = [], probabilities: [Float] = []
        let counts = try predict(fasta: fasta, chunk: chunk, embeddings: true) { predictions in
            for prediction in predictions {
                ids.append(prediction.id)
                embeddings += prediction.embedding!
                probabilities += prediction.probabilities.map(Float.init)
            }
        }
        var writer = SafeTensorsWriter(metadata: ["format": "pt", "ids": ids.joined(separator: "\n"),
                                                  "labels": labels.joined(separator: "\n"),
                                                  "model": "mambakit dna classifier, \(members.count == 1 ? "d_model \(d)" : "ensemble of \(members.count), embedding width \(d)")"])
        writer.add("embeddings", shape: [ids.count, d], .float32(embeddings))
        writer.add("probabilities", shape: [ids.count, classes], .float32(probabilities))
        try writer.write(to: output)
        return counts
    }
}
