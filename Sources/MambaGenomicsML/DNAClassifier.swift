// A DNA sequence classifier: character tokens (DNATokenizer, Caduceus / HyenaDNA ids) -> Mamba backbone (optionally
// BiMamba) -> mean pooling over the valid positions -> linear head. A model folder is config.json (the backbone's HF
// config with `head_type: sequence_classification`, `id2label`, `tokenizer: dna-char` and the `dna_classifier`
// settings below) + model.safetensors.
//
// Prediction for one record of n bases (window length W, stride S):
//   windows: n <= W: the whole record (one window of n); else full windows every S bases plus one ending at the
//            record's end (Windows, remainder .shiftToEnd), so every base is seen and no window is padded.
//   strands: the window itself and, with `rcAverage`, its reverse complement (Caduceus-Ph's post-hoc conjoining,
//            Schiff et al. 2024, 4.2: the RC prediction averaged with the forward one).
//   combine: p(record) = Σ_w |w| · p(w) / Σ_w |w| over every (window, strand), p = softmax(logits) (WindowAverager
//            with valid-length weights), so the combined distribution is RC-invariant when rcAverage is on.
// Embeddings are combined the same way from the pooled final hidden states {d_model}.
//
// An ensemble holds several member models of the same labels (e.g. trained with different seeds, `train --ensemble
// K`): p(record) is the mean of the members' p(record), and the embedding is the members' embeddings concatenated
// ({Σ d_model}). Its folder holds each member's folder (member-1, member-2, ...) and a config.json that is the first
// member's with `dna_ensemble: {"members": [folder names]}` and the ensemble's `dna_classifier` settings; it has no
// model.safetensors of its own.
//
// Windows of a batch are padded to the batch's longest (pad id 4); the backbone masks padded positions (the scans
// leave the state untouched, mean pooling divides by the valid length).
import Foundation
import MambaBackbone
import MambaGenomics
import MambaTensor
import MambaTokenizers
import MambaTraining

/// The DNA-specific settings a classifier keeps in config.json (`dna_classifier`).
public struct DNAClassifierSettings: Codable, Sendable, Equatable {
    /// Bases per window (records up to this length are read whole).
    public var windowLength: Int
    /// Bases between the starts of consecutive windows of a longer record.
    public var windowStride: Int
    /// Average each window's prediction with its reverse complement's (prediction and evaluation).
    public var rcAverage: Bool
    /// Training used reverse-complement augmentation (recorded for the reader; prediction does not use it).
    public var rcAugment: Bool

    /// Settings; the stride defaults to half the window.
    public init(windowLength: Int = 1024, windowStride: Int? = nil, rcAverage: Bool = true, rcAugment: Bool = true) {
        self.windowLength = windowLength
        self.windowStride = windowStride ?? max(1, windowLength / 2)
        self.rcAverage = rcAverage
        self.rcAugment = rcAugment
    }

    enum CodingKeys: String, CodingKey {
        case windowLength = "window_length", windowStride = "window_stride", rcAverage = "rc_average"
        case rcAugment = "rc_augment"
    }

    /// Throws `DNAModelError.settings` for a window or stride below 1.
    public func validate() throws {
        guard windowLength >= 1, windowStride >= 1 else {
            throw DNAModelError.settings("window length and stride: expected >= 1, found \(windowLength) and \(windowStride)")
        }
    }

    /// The windows of a record of `n` bases.
    func windows(sequenceLength n: Int, sequence: Int) -> [Window] {
        if n <= windowLength { return [Window(sequence: sequence, start: 0, length: n, validLength: n)] }
        // Windows' initializer only fails for length or hop < 1, which validate() excludes.
        let plan = try! Windows(length: windowLength, hop: windowStride, remainder: .shiftToEnd)
        return plan.windows(sequenceLength: n, sequence: sequence)
    }
}

/// An error of a DNA model: its settings, its folder, or its input.
public enum DNAModelError: Error, Sendable, Equatable, CustomStringConvertible {
    /// Settings out of range.
    case settings(String)
    /// A model folder that is not a DNA classifier (or not this one).
    case model(String)
    /// Input the model cannot read (file and line where known).
    case input(String)

    /// The message.
    public var description: String {
        switch self {
        case .settings(let text): return "settings: \(text)"
        case .model(let text): return text
        case .input(let text): return text
        }
    }
}

/// Class probabilities and pooled embeddings of records.
public struct DNAPredictions: Sendable {
    /// {records, classes} probabilities, row-major.
    public var probabilities: [[Double]]
    /// {records, d_model} mean pooled final hidden states (combined over windows and strands), when asked for.
    public var embeddings: [[Float]]?
}

/// A Mamba classifier of DNA sequences (see the file header).
///
/// ```swift
/// let model = try DNAClassifier.load(from: URL(fileURLWithPath: "species4-model"))
/// let p = try model.predict([Array("ACGTTGCA...".utf8)]).probabilities[0]     // one probability per class
/// ```
public final class DNAClassifier: @unchecked Sendable {
    /// The config.json key of `DNAClassifierSettings`.
    public static let settingsKey = "dna_classifier"
    /// The tokenizer name recorded in config.json.
    public static let tokenizerName = "dna-char"

    /// The config.json key listing an ensemble's member folders.
    public static let ensembleKey = "dna_ensemble"

    /// The backbone and head (an ensemble's first member).
    public var model: MambaModel { members[0] }
    /// Every member: one model, or an ensemble's models (their probabilities are averaged).
    public let members: [MambaModel]
    /// Windows and reverse-complement handling.
    public let settings: DNAClassifierSettings
    /// Windows per forward pass at prediction (memory: about windows · W · d_model · (layers + 6) floats).
    public var predictionBatch = 64
    /// How bases become ids (IUPAC codes -> N; other bytes are an error).
    public let tokenizer = DNATokenizer()

    /// Class names, in index order.
    public var labels: [String] { model.configuration.labels }

    /// A classifier over an existing model (a sequence_classification head over the DNA vocabulary).
    public convenience init(model: MambaModel, settings: DNAClassifierSettings) throws {
        try self.init(members: [model], settings: settings)
    }

    /// An ensemble (or, with one model, a single classifier): every member a sequence_classification model over the
    /// DNA vocabulary with the same labels in the same order.
    public init(members: [MambaModel], settings: DNAClassifierSettings) throws {
        try settings.validate()
        guard let first = members.first else { throw DNAModelError.model("expected at least one member model, found none") }
        for (index, member) in members.enumerated() {
            let c = member.configuration
            guard c.headType == .sequenceClassification, !c.labels.isEmpty, c.vocabSize >= DNATokenizer.vocabularySize else {
                throw DNAModelError.model("\(members.count > 1 ? "member \(index + 1): " : "")expected a sequence_classification model with labels over the \(DNATokenizer.vocabularySize)-token DNA vocabulary, found head \(c.headType.rawValue), \(c.labels.count) labels, vocabulary \(c.vocabSize)")
            }
            guard c.labels == first.configuration.labels else {
                throw DNAModelError.model("member \(index + 1): expected the labels of member 1 (\(first.configuration.labels.joined(separator: ", "))), found \(c.labels.joined(separator: ", "))")
            }
        }
        self.members = members
        self.settings = settings
    }

    /// Whether this classifier averages several members.
    public var isEnsemble: Bool { members.count > 1 }

    /// Values per record embedding: d_model, or the members' d_model summed for an ensemble.
    public var embeddingWidth: Int { members.reduce(0) { $0 + $1.configuration.hiddenSize } }

    /// An ensemble of classifiers (an ensemble given as a member adds its members), predicting with the first one's
    /// settings.
    ///
    /// - Throws: `DNAModelError.model` when the labels, window length, stride or RC averaging differ.
    public static func ensemble(of classifiers: [DNAClassifier]) throws -> DNAClassifier {
        guard let first = classifiers.first else { throw DNAModelError.model("expected at least one classifier, found none") }
        for (index, other) in classifiers.enumerated() {
            let a = first.settings, b = other.settings
            guard a.windowLength == b.windowLength, a.windowStride == b.windowStride, a.rcAverage == b.rcAverage else {
                throw DNAModelError.model("classifier \(index + 1): expected the prediction settings of classifier 1 (\(a.windowLength)-base windows every \(a.windowStride), RC averaging \(a.rcAverage ? "on" : "off")), found \(b.windowLength) every \(b.windowStride), RC averaging \(b.rcAverage ? "on" : "off")")
            }
        }
        return try DNAClassifier(members: classifiers.flatMap(\.members), settings: first.settings)
    }

    /// The configuration of a fresh classifier.
    public static func configuration(labels: [String], dModel: Int, layers: Int, dState: Int = 16, expand: Int = 2,
                                     bidirectional: Bool, mixer: MixerKind = .s6, pooling: ClassifierPooling = .mean,
                                     convKernel: Int = 4, kmerEmbedding: Int = 0,
                                     settings: DNAClassifierSettings) throws -> MambaConfiguration {
        var c = MambaConfiguration(vocabSize: DNATokenizer.vocabularySize, hiddenSize: dModel, stateSize: dState,
                                   numHiddenLayers: layers, expand: expand, convKernel: convKernel)
        if kmerEmbedding > 0 { c.ngramEmbedding = kmerEmbeddingConfiguration(order: kmerEmbedding) }
        c.layerMixers = Array(repeating: mixer, count: layers)
        c.headType = .sequenceClassification
        c.classifierPooling = pooling
        c.labels = labels
        c.bidirectional = bidirectional
        c.padTokenID = Int(DNATokenizer.pad)
        c.bosTokenID = nil
        c.eosTokenID = nil
        c.tokenizer = tokenizerName
        c.extraKeys[settingsKey] = try JSONDecoder().decode(JSONValue.self, from: JSONEncoder().encode(settings))
        try c.validate()
        return c
    }

    /// The n-gram embedding over DNA k-mers: the alphabet A, C, G, T (ids 7-10); k-mers holding N or another token
    /// share one row.
    public static func kmerEmbeddingConfiguration(order: Int) -> NGramEmbeddingConfiguration {
        NGramEmbeddingConfiguration(order: order, alphabet: [DNATokenizer.a, DNATokenizer.c, DNATokenizer.g, DNATokenizer.t].map { Int($0) })
    }

    /// A freshly initialised classifier.
    public convenience init(labels: [String], dModel: Int, layers: Int, dState: Int = 16, expand: Int = 2,
                            bidirectional: Bool, mixer: MixerKind = .s6, pooling: ClassifierPooling = .mean,
                            convKernel: Int = 4, kmerEmbedding: Int = 0, settings: DNAClassifierSettings,
                            seed: UInt64) throws {
        let c = try Self.configuration(labels: labels, dModel: dModel, layers: layers, dState: dState, expand: expand,
                                       bidirectional: bidirectional, mixer: mixer, pooling: pooling,
                                       convKernel: convKernel, kmerEmbedding: kmerEmbedding, settings: settings)
        try self.init(model: MambaModel(configuration: c, seed: seed), settings: settings)
    }

    /// Whether the folder's config.json describes a DNA classifier (tokenizer dna-char, classification head).
    public static func isClassifier(_ configuration: MambaConfiguration) -> Bool {
        configuration.tokenizer == tokenizerName && configuration.headType == .sequenceClassification
    }

    /// The same model with other prediction settings (e.g. RC averaging switched off for a comparison).
    public func with(settings: DNAClassifierSettings) throws -> DNAClassifier {
        try DNAClassifier(members: members, settings: settings)
    }

    /// The folder name of an ensemble's member `index` (0-based): member-1, member-2, ...
    public static func memberFolderName(_ index: Int) -> String { "member-\(index + 1)" }

    /// Loads a folder written by `save(to:)` (a single classifier or an ensemble).
    public static func load(from directory: URL) throws -> DNAClassifier {
        let configURL = directory.appendingPathComponent("config.json")
        let configuration = try MambaConfiguration.load(from: configURL)
        guard isClassifier(configuration), let json = configuration.extraKeys[settingsKey] else {
            throw DNAModelError.model("\(configURL.path): expected a DNA classifier (tokenizer \"\(tokenizerName)\", head_type sequence_classification, \(settingsKey) settings), found tokenizer \(configuration.tokenizer ?? "none"), head \(configuration.headType.rawValue)")
        }
        let settings: DNAClassifierSettings
        do {
            settings = try JSONDecoder().decode(DNAClassifierSettings.self, from: JSONEncoder().encode(json))
        } catch {
            throw DNAModelError.model("\(configURL.path): \(settingsKey): \(error)")
        }
        guard let ensemble = configuration.extraKeys[ensembleKey] else {
            return try DNAClassifier(model: MambaModel.load(from: directory), settings: settings)
        }
        guard case .object(let object) = ensemble, case .array(let list)? = object["members"], !list.isEmpty else {
            throw DNAModelError.model("\(configURL.path): \(ensembleKey): expected {\"members\": [member folder names]}, found \(ensemble)")
        }
        let names = try list.map { item -> String in
            guard case .string(let name) = item, !name.isEmpty, name != ".", name != "..", !name.contains("/") else {
                throw DNAModelError.model("\(configURL.path): \(ensembleKey).members: expected folder names inside the model folder, found \(item)")
            }
            return name
        }
        let models = try names.map { name -> MambaModel in
            let folder = directory.appendingPathComponent(name)
            let member = try MambaModel.load(from: folder)
            let memberConfiguration = member.configuration
            guard isClassifier(memberConfiguration), memberConfiguration.extraKeys[ensembleKey] == nil else {
                throw DNAModelError.model("\(folder.path)/config.json: expected a DNA classifier member, found tokenizer \(memberConfiguration.tokenizer ?? "none"), head \(memberConfiguration.headType.rawValue)\(memberConfiguration.extraKeys[ensembleKey] == nil ? "" : ", itself an ensemble")")
            }
            return member
        }
        do {
            return try DNAClassifier(members: models, settings: settings)
        } catch let error as DNAModelError {
            throw DNAModelError.model("\(directory.path): \(error.description)")
        }
    }

    /// Writes config.json and model.safetensors (atomically, each). An ensemble writes each member's folder
    /// (member-1, ...), then its own config.json (so a folder interrupted while saving never reads as the new ensemble),
    /// then removes a model.safetensors left there by an earlier single model.
    public func save(to directory: URL) throws {
        guard isEnsemble else { return try model.save(to: directory) }
        try FileManager.default.createDirectory(at: directory, withIntermediateDirectories: true)
        let names = members.indices.map(Self.memberFolderName)
        for (member, name) in zip(members, names) { try member.save(to: directory.appendingPathComponent(name)) }
        var root = model.configuration
        root.extraKeys[Self.settingsKey] = try JSONDecoder().decode(JSONValue.self, from: JSONEncoder().encode(settings))
        root.extraKeys[Self.ensembleKey] = .object(["members": .array(names.map { .string($0) })])
        try root.write(to: directory.appendingPathComponent("config.json"))
        let stale = directory.appendingPathComponent("model.safetensors")
        if FileManager.default.fileExists(atPath: stale.path) { try FileManager.default.removeItem(at: stale) }
    }

    // MARK: - Initialisation from a pre-trained backbone

    /// Copies every backbone parameter (`backbone.*`: embeddings, layers, final norm) from a model folder of the same
    /// backbone shape, e.g. a next-base language model from `mambakit train --task lm`; the head keeps its
    /// initialisation. Returns the number of tensors copied.
    ///
    /// - Throws: `DNAModelError.model` when a backbone tensor is missing or has another size.
    @discardableResult
    public func initializeBackbone(from directory: URL) throws -> Int {
        let file = try SafeTensorsFile(contentsOf: directory.appendingPathComponent("model.safetensors"))
        var copied = 0
        try withExtendedLifetime(model.parameters) {
            for entry in model.layout.entries where entry.name.hasPrefix("backbone.") {
                guard let info = file.tensors[entry.name] else {
                    throw DNAModelError.model("\(directory.path)/model.safetensors: expected tensor \(entry.name) of the classifier's backbone, found none (another architecture?)")
                }
                guard info.count == entry.count else {
                    throw DNAModelError.model("\(directory.path)/model.safetensors: \(entry.name) has \(info.count) values, the classifier's backbone needs \(entry.count) (shape \(entry.shape))")
                }
                try file.readFloats(entry.name, into: model.parameters.pointer + entry.offset, count: entry.count)
                copied += 1
            }
        }
        return copied
    }

    // MARK: - Prediction

    /// Token ids of a record's bases (IUPAC codes become N).
    public func encode(_ bases: [UInt8], id: String = "") throws -> [Int32] {
        do {
            return try tokenizer.encode(bases)
        } catch {
            throw DNAModelError.input("record '\(id)': \(error)")
        }
    }

    /// Probabilities (and, with `embeddings`, pooled embeddings) of already-encoded records, windows and strands
    /// combined as in the file header (an ensemble: the members' probabilities averaged, their embeddings
    /// concatenated). Records must not be empty.
    public func predict(tokens records: [[Int32]], embeddings wantEmbeddings: Bool = false) throws -> DNAPredictions {
        var items: [(window: Window, reverse: Bool)] = []
        for (index, record) in records.enumerated() {
            guard !record.isEmpty else { throw DNAModelError.input("record \(index): expected at least one base, found none") }
            for window in settings.windows(sequenceLength: record.count, sequence: index) {
                items.append((window, false))
                if settings.rcAverage { items.append((window, true)) }
            }
        }
        if members.count == 1 {
            return try predict(member: model, records: records, items: items, embeddings: wantEmbeddings)
        }
        let classes = labels.count, share = 1 / Double(members.count)
        var probabilities = [[Double]](repeating: [Double](repeating: 0, count: classes), count: records.count)
        var embeddings: [[Float]]? = wantEmbeddings ? Array(repeating: [], count: records.count) : nil
        for member in members {
            let part = try predict(member: member, records: records, items: items, embeddings: wantEmbeddings)
            for i in records.indices {
                for j in 0..<classes { probabilities[i][j] += share * part.probabilities[i][j] }
                if let vector = part.embeddings?[i] { embeddings![i] += vector }
            }
        }
        return DNAPredictions(probabilities: probabilities, embeddings: embeddings)
    }

    /// One member's predictions of `records` from their (window, strand) items.
    private func predict(member model: MambaModel, records: [[Int32]], items: [(window: Window, reverse: Bool)],
                         embeddings wantEmbeddings: Bool) throws -> DNAPredictions {
        let classes = labels.count, d = model.configuration.hiddenSize
        var probabilityAverager = try WindowAverager(sequenceCount: records.count, width: classes)
        var embeddingAverager = try WindowAverager(sequenceCount: records.count, width: wantEmbeddings ? d : 1)
        // Longest first within the whole request, so that batches hold windows of similar length (less padding).
        let order = items.indices.sorted { items[$0].window.validLength > items[$1].window.validLength }
        for start in stride(from: 0, to: order.count, by: max(1, predictionBatch)) {
            let part = order[start..<min(order.count, start + max(1, predictionBatch))]
            var sequences: [[Int32]] = []
            sequences.reserveCapacity(part.count)
            for k in part {
                let (window, reverse) = items[k]
                var ids = Array(records[window.sequence][window.range])
                if reverse { DNATokenizer.reverseComplementInPlace(&ids) }
                sequences.append(ids)
            }
            let batch = try MambaBackbone.TokenBatch(sequences: sequences, padding: DNATokenizer.pad)
            let output = try model.forward(batch)
            let logits = output.logits
            try withExtendedLifetime(logits) {
                for (row, k) in part.enumerated() {
                    let base = logits.pointer + row * classes
                    var top = -Float.infinity
                    for j in 0..<classes { top = max(top, base[j]) }
                    var exps = [Float](repeating: 0, count: classes)
                    var total: Float = 0
                    for j in 0..<classes {
                        exps[j] = Foundation.exp(base[j] - top)
                        total += exps[j]
                    }
                    try probabilityAverager.add(exps.map { $0 / total }, for: items[k].window)
                }
            }
            if wantEmbeddings, let pooled = output.pooled {
                try withExtendedLifetime(pooled) {
                    for (row, k) in part.enumerated() {
                        try embeddingAverager.add(UnsafeBufferPointer(start: pooled.pointer + row * d, count: d),
                                                  for: items[k].window)
                    }
                }
            }
        }
        let probabilities = (0..<records.count).map { probabilityAverager.mean(sequence: $0)!.map(Double.init) }
        let embeddings = wantEmbeddings ? (0..<records.count).map { embeddingAverager.mean(sequence: $0)! } : nil
        return DNAPredictions(probabilities: probabilities, embeddings: embeddings)
    }

    /// Probabilities of records given as bases.
    public func predict(_ records: [[UInt8]], embeddings: Bool = false) throws -> DNAPredictions {
        try predict(tokens: records.enumerated().map { try encode($0.element, id: "#\($0.offset)") }, embeddings: embeddings)
    }
}
