// Each layer's fast CPU kernel against its plain reference, on awkward sizes (widths not multiples of 16, strided
// rows, chunk row maps).
import Foundation
import MambaBackbone
import MambaTensor
import Testing
import _MambaTestSupport

func randomValues(_ count: Int, seed: UInt64, scale: Float = 1) -> [Float] {
    var generator = Xoshiro256StarStar(seed: seed)
    return (0..<count).map { _ in (generator.nextUniform() * 2 - 1) * scale }
}

struct LayerTests {
    @Test func embeddingLooksUpRowsAndZeroesPadding() {
        let table = randomValues(7 * 19, seed: 1)
        let ids: [Int32] = [3, -1, 0, 6, 6]
        var fast = [Float](repeating: .nan, count: 5 * 19), plain = fast
        Embedding.forward(ids: ids, rows: 5, table: table, dim: 19, out: &fast)
        Embedding.reference(ids: ids, rows: 5, table: table, dim: 19, out: &plain)
        #expect(fast == plain)
        #expect(Array(fast[0..<19]) == Array(table[(3 * 19)..<(4 * 19)]))
        #expect(fast[19..<38].allSatisfy { $0 == 0 })
    }

    @Test func embeddingAccumulateAddsRowsAndLeavesPaddingAlone() {
        let table = randomValues(7 * 37, seed: 1)
        let ids: [Int32] = [3, -1, 0, 6, 6]
        let start = randomValues(5 * 37, seed: 2)
        var fast = start, plain = start
        Embedding.forward(ids: ids, rows: 5, table: table, dim: 37, out: &fast, accumulate: true)
        Embedding.reference(ids: ids, rows: 5, table: table, dim: 37, out: &plain, accumulate: true)
        #expect(fast == plain)
        #expect(Array(fast[37..<74]) == Array(start[37..<74]))
        #expect(fast[0] == start[0] + table[3 * 37])
    }

    @Test(arguments: [1, 2, 3, 6])
    func ngramIdsRollAsTheyAreReadFromScratch(_ order: Int) {
        // Vocabulary 9, alphabet {7, 8, 2, 5}: other ids (and the first k − 1 positions) give the shared row.
        let ngram = NGramEmbedding(NGramEmbeddingConfiguration(order: order, alphabet: [7, 8, 2, 5]), vocabulary: 9)
        #expect(ngram.rows == Int(pow(4.0, Double(order))) + 1)
        var generator = Xoshiro256StarStar(seed: UInt64(order))
        let sequences = 5, length = 40
        var tokens = (0..<(sequences * length)).map { _ -> Int32 in
            let draw = generator.next() % 10
            return draw < 8 ? [7, 8, 2, 5][Int(draw % 4)] : Int32(draw % 9)  // mostly alphabet ids, some others
        }
        for (s, valid) in [17, 40, 0, 3, 25].enumerated() { for t in valid..<length { tokens[s * length + t] = -1 } }
        let fast = ngram.ids(tokens: tokens, sequences: sequences, length: length)
        let plain = ngram.idsReference(tokens: tokens, sequences: sequences, length: length)
        #expect(fast == plain)
        #expect(zip(tokens, fast).allSatisfy { ($0 < 0) == ($1 < 0) }, "padding, and only padding, has no row")
        #expect(Set(fast.filter { $0 >= 0 }).count > 1)
    }

    @Test func ngramIdsReadTheKmerOldestDigitFirst() {
        let ngram = NGramEmbedding(NGramEmbeddingConfiguration(order: 3, alphabet: [7, 8, 9, 10]), vocabulary: 12)
        // A C G T N A C: ACG = 0·16 + 1·4 + 2 = 6, CGT = 27, then N breaks the run for three positions.
        let ids = ngram.ids(tokens: [7, 8, 9, 10, 11, 7, 8, 9, 4], sequences: 1, length: 9)
        #expect(ids == [64, 64, 6, 27, 64, 64, 64, 6, 64])
        #expect(ngram.index(window: [Int32(10), 10, 10]) == 63)
        #expect(ngram.index(window: [Int32(10), 10]) == 64)
    }

    @Test(arguments: [1, 16, 20, 37])
    func rmsNormMatchesReferenceThroughARowMap(_ dim: Int) {
        // A (b = 3, l = 5) buffer, chunk of positions 1..<4.
        let input = randomValues(3 * 5 * dim, seed: 2, scale: 3)
        let weight = randomValues(dim, seed: 3)
        let map = RowMap(sequences: 3, rowsPerSequence: 3, sequenceStride: 5, start: 1)
        var fast = [Float](repeating: 0, count: 9 * dim), plain = fast
        var fastRstd = [Float](repeating: 0, count: 9), plainRstd = fastRstd
        RMSNorm.forward(input: input, rows: map, dim: dim, weight: weight, epsilon: 1e-5, output: &fast, rstd: &fastRstd)
        RMSNorm.reference(input: input, rows: map, dim: dim, weight: weight, epsilon: 1e-5, output: &plain, rstd: &plainRstd)
        #expect(relativeError(fast, reference: plain) < 1e-6)
        #expect(relativeError(fastRstd, reference: plainRstd) < 1e-6)
        // Row 4 of the chunk is sequence 1, position 2: buffer row 1·5 + 1 + 1 = 7.
        #expect(map(4) == 7)
    }

    @Test(arguments: [(5, 7, 3, false), (33, 20, 17, true), (1, 37, 5, true), (3, 40, 17, false), (40, 5, 37, true), (9, 16, 48, false)])
    func linearMatchesReference(_ rows: Int, _ inFeatures: Int, _ outFeatures: Int, _ withBias: Bool) {
        // Strided input (extra columns) and output (extra columns), with and without accumulation.
        let inputStride = inFeatures + 3, outputStride = outFeatures + 2
        let input = randomValues(rows * inputStride, seed: 4)
        let weight = randomValues(outFeatures * inFeatures, seed: 5)
        let bias = withBias ? randomValues(outFeatures, seed: 6) : nil
        for accumulate in [false, true] {
            var fast = randomValues(rows * outputStride, seed: 7), plain = fast
            bias.withOptionalPointer { b in
                Linear.forward(input: input, inputStride: inputStride, rows: rows, inFeatures: inFeatures,
                               weight: weight, outFeatures: outFeatures, bias: b, output: &fast,
                               outputStride: outputStride, accumulate: accumulate)
                Linear.reference(input: input, inputStride: inputStride, rows: rows, inFeatures: inFeatures,
                                 weight: weight, outFeatures: outFeatures, bias: b, output: &plain,
                                 outputStride: outputStride, accumulate: accumulate)
            }
            #expect(maxAbsoluteDifference(fast, plain) < 1e-5)
        }
    }

    @Test(arguments: [(1, 16), (3, 40), (4, 37), (5, 48), (2, 7)])
    func causalConvMatchesReference(_ kernel: Int, _ channels: Int) {
        let sequences = 2, length = 6, stride = channels + 5
        let input = randomValues(sequences * length * stride, seed: 8)
        let weight = randomValues(channels * kernel, seed: 9)
        let bias = randomValues(channels, seed: 10)
        let window = randomValues(sequences * (kernel - 1) * channels, seed: 11)
        for useWindow in [false, true] {
            var fast = [Float](repeating: 0, count: sequences * length * channels), plain = fast
            (useWindow ? window : nil).withOptionalPointer { w in
                CausalConv1d.forward(input: input, inputStride: stride, window: w, sequences: sequences,
                                     length: length, channels: channels, kernel: kernel, weight: weight, bias: bias,
                                     silu: true, output: &fast)
                CausalConv1d.reference(input: input, inputStride: stride, window: w, sequences: sequences,
                                       length: length, channels: channels, kernel: kernel, weight: weight, bias: bias,
                                       silu: true, output: &plain)
            }
            #expect(maxAbsoluteDifference(fast, plain) < 1e-5)
        }
    }

    @Test func convolutionOverChunksWithTheWindowEqualsOnePass() {
        let channels = 21, kernel = 4, length = 11
        let input = randomValues(length * channels, seed: 12)
        let weight = randomValues(channels * kernel, seed: 13)
        var whole = [Float](repeating: 0, count: length * channels)
        CausalConv1d.reference(input: input, inputStride: channels, window: nil, sequences: 1, length: length,
                               channels: channels, kernel: kernel, weight: weight, bias: nil, silu: false, output: &whole)
        var window = [Float](repeating: 0, count: (kernel - 1) * channels)
        var pieces: [Float] = []
        for (start, count) in [(0, 2), (2, 1), (3, 5), (8, 3)] {
            let chunk = Array(input[(start * channels)..<((start + count) * channels)])
            var out = [Float](repeating: 0, count: count * channels)
            CausalConv1d.forward(input: chunk, inputStride: channels, window: window, sequences: 1, length: count,
                                 channels: channels, kernel: kernel, weight: weight, bias: nil, silu: false, output: &out)
            CausalConv1d.updateWindow(input: chunk, inputStride: channels, window: &window, valid: [Int32(count)],
                                      sequences: 1, length: count, channels: channels, kernel: kernel)
            pieces += out
        }
        #expect(maxAbsoluteDifference(pieces, whole) < 1e-5)
        // The window now holds the last k − 1 inputs.
        #expect(window == Array(input[((length - 3) * channels)...]))
    }

    @Test func windowUpdateStopsAtEachSequencesValidLength() {
        // Two sequences, chunk of 4 positions, valid 1 and 0; one channel; k − 1 = 3.
        let input: [Float] = [10, 11, 12, 13, 20, 21, 22, 23]
        var window: [Float] = [1, 2, 3, 4, 5, 6]
        CausalConv1d.updateWindow(input: input, inputStride: 1, window: &window, valid: [1, 0], sequences: 2,
                                  length: 4, channels: 1, kernel: 4)
        #expect(window == [2, 3, 10, 4, 5, 6])
    }

    @Test func reverseValidAndPooling() {
        var buffer: [Float] = [1, 2, 3, 4, 5, 6, 7, 8]  // b = 2, l = 4, dim = 1
        SequenceOps.reverseValid(&buffer, sequences: 2, length: 4, dim: 1, lengths: [3, 4], zeroPadding: true)
        #expect(buffer == [3, 2, 1, 0, 8, 7, 6, 5])
        var pooled = [Float](repeating: .nan, count: 2)
        SequenceOps.pool([1, 2, 3, 100, 4, 5, 6, 7], sequences: 2, length: 4, dim: 1, lengths: [3, 2],
                         pooling: .mean, into: &pooled)
        #expect(pooled == [2, 4.5])
        SequenceOps.pool([1, 2, 3, 100, 4, 5, 6, 7], sequences: 2, length: 4, dim: 1, lengths: [3, 2],
                         pooling: .last, into: &pooled)
        #expect(pooled == [3, 5])
        SequenceOps.pool([1, 9, 3, 100, 4, -5, 6, 7], sequences: 2, length: 4, dim: 1, lengths: [3, 2],
                         pooling: .max, into: &pooled)
        #expect(pooled == [9, 4])
    }
}

extension Optional where Wrapped == [Float] {
    /// Runs `body` with a pointer to the array's elements, or nil.
    func withOptionalPointer<R>(_ body: (UnsafePointer<Float>?) -> R) -> R {
        switch self {
        case .some(let array): return array.withUnsafeBufferPointer { body($0.baseAddress) }
        case .none: return body(nil)
        }
    }
}
