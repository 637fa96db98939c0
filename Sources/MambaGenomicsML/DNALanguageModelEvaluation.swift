// Bits per base of a next-base DNA model (`mambakit train --task lm`) on a FASTA(.gz) file, streaming: each record
// is cut into consecutive windows of `windowLength` bases (the last one shorter), each window scored from a zero state
// (position t predicts base t + 1, so a window of n bases gives n − 1 predictions), batches of `batchSize` windows.
//   bits per base = Σ −ln p(base) / (predictions · ln 2)
import Foundation
import MambaBackbone
import MambaGenomics
import MambaTokenizers

/// The result of `dnaBitsPerBase`.
public struct DNABitsPerBase: Sendable, Equatable {
    /// Mean cross-entropy in bits per predicted base.
    public var bitsPerBase: Double
    /// Bases predicted.
    public var predictions: Int
    /// Records read.
    public var records: Int
}

/// Bits per base of `model` (a causal LM over the DNA character ids) on every record of `fasta`.
public func dnaBitsPerBase(_ model: MambaModel, fasta: String, windowLength: Int = 1024,
                           batchSize: Int = 16) throws -> DNABitsPerBase {
    guard model.configuration.headType == .causalLM else {
        throw DNAModelError.model("expected a next-base (causal_lm) model, found a \(model.configuration.headType.rawValue) head")
    }
    guard windowLength >= 2, batchSize >= 1 else {
        throw DNAModelError.settings("window length >= 2 and batch >= 1 expected, found \(windowLength) and \(batchSize)")
    }
    let tokenizer = DNATokenizer()
    let reader = try FASTAReader(path: fasta)
    var nats = 0.0, predictions = 0, records = 0
    var pending: [[Int32]] = []
    func flush() throws {
        guard !pending.isEmpty else { return }
        let batch = try MambaBackbone.TokenBatch(sequences: pending, padding: DNATokenizer.pad)
        let result = try model.loss(batch, objective: .nextToken)
        nats += result.loss * Double(result.count)
        predictions += result.count
        pending.removeAll(keepingCapacity: true)
    }
    while let record = try reader.next() {
        records += 1
        let ids: [Int32]
        do { ids = try tokenizer.encode(record.sequence) } catch {
            throw DNAModelError.input("\(fasta):\(record.headerLine): record '\(record.id)': \(error)")
        }
        for start in stride(from: 0, to: ids.count, by: windowLength) where ids.count - start >= 2 {
            pending.append(Array(ids[start..<min(ids.count, start + windowLength)]))
            if pending.count >= batchSize { try flush() }
        }
    }
    try flush()
    guard records > 0 else { throw DNAModelError.input("\(fasta): no FASTA records (expected at least one '>' header)") }
    guard predictions > 0 else { throw DNAModelError.input("\(fasta): no record has two or more bases to score") }
    return DNABitsPerBase(bitsPerBase: nats / Double(predictions) / Foundation.log(2.0), predictions: predictions,
                          records: records)
}
