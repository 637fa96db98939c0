// Windows: the named edge cases, then every small (n, length, hop, remainder) against a plain position-by-position
// reference; extraction with padding; averaging window scores per sequence.
import Foundation
import Testing
@testable import MambaTokenizers

/// The plan by brute force: try every start position in order.
func referenceWindows(n: Int, length: Int, hop: Int, remainder: Windows.Remainder) -> [(Int, Int)] {
    var result: [(Int, Int)] = []
    var start = 0
    while start < n {
        if start + length <= n {
            result.append((start, length))
        } else if result.last.map({ $0.0 + $0.1 < n }) ?? true {
            switch remainder {
            case .drop: break
            case .pad: result.append((start, n - start))
            case .shiftToEnd: result.append(n >= length ? (n - length, length) : (0, n))
            }
            break
        } else {
            break
        }
        start += hop
    }
    return result
}

@Suite("Windows")
struct WindowsTests {
    func starts(_ w: Windows, _ n: Int) -> [(Int, Int)] {
        w.windows(sequenceLength: n).map { ($0.start, $0.validLength) }
    }

    @Test("a sequence shorter than the window: none when dropped, one padded window otherwise")
    func shorterThanWindow() throws {
        #expect(starts(try Windows(length: 10, remainder: .drop), 7).isEmpty)
        #expect(starts(try Windows(length: 10, remainder: .pad), 7).elementsEqual([(0, 7)], by: ==))
        #expect(starts(try Windows(length: 10, remainder: .shiftToEnd), 7).elementsEqual([(0, 7)], by: ==))
        for remainder in Windows.Remainder.allCases {
            #expect(try Windows(length: 10, remainder: remainder).count(sequenceLength: 0) == 0)
        }
        let padded = try Windows(length: 10, remainder: .pad).windows(sequenceLength: 7)[0]
        #expect(padded.isPadded && padded.length == 10 && padded.range == 0..<7)
    }

    @Test("an exact multiple of the hop has no remainder in any mode")
    func exactMultiple() throws {
        for remainder in Windows.Remainder.allCases {
            let w = try Windows(length: 4, remainder: remainder)
            #expect(starts(w, 12).elementsEqual([(0, 4), (4, 4), (8, 4)], by: ==), "\(remainder)")
            let overlapping = try Windows(length: 4, hop: 2, remainder: remainder)
            #expect(starts(overlapping, 8).elementsEqual([(0, 4), (2, 4), (4, 4)], by: ==), "\(remainder)")
        }
    }

    @Test("hop longer than the window skips elements; the remainder starts where the next window would")
    func hopLongerThanWindow() throws {
        #expect(starts(try Windows(length: 3, hop: 5, remainder: .drop), 12).elementsEqual([(0, 3), (5, 3)], by: ==))
        #expect(starts(try Windows(length: 3, hop: 5, remainder: .pad), 12)
            .elementsEqual([(0, 3), (5, 3), (10, 2)], by: ==))
        #expect(starts(try Windows(length: 3, hop: 5, remainder: .shiftToEnd), 12)
            .elementsEqual([(0, 3), (5, 3), (9, 3)], by: ==))
        // n = 10: the next start (10) is the end, so there is no remainder even though 3, 4, 8, 9 are skipped.
        #expect(starts(try Windows(length: 3, hop: 5, remainder: .pad), 10).elementsEqual([(0, 3), (5, 3)], by: ==))
    }

    @Test("every small case agrees with the brute-force reference, and direct indexing with the list")
    func exhaustiveSmall() throws {
        for remainder in Windows.Remainder.allCases {
            for length in 1...7 {
                for hop in 1...9 {
                    let w = try Windows(length: length, hop: hop, remainder: remainder)
                    for n in 0...40 {
                        let got = w.windows(sequenceLength: n, sequence: 3)
                        let expected = referenceWindows(n: n, length: length, hop: hop, remainder: remainder)
                        #expect(got.map { ($0.start, $0.validLength) }.elementsEqual(expected, by: ==),
                                "n \(n) length \(length) hop \(hop) \(remainder)")
                        #expect(got.allSatisfy { $0.sequence == 3 && $0.length == length && $0.end <= n })
                        #expect(w.count(sequenceLength: n) == got.count)
                        // Starts never decrease (the audio stream relies on it).
                        #expect(zip(got, got.dropFirst()).allSatisfy { $0.start < $1.start })
                        if hop <= length && remainder != .drop {
                            var covered = [Bool](repeating: false, count: n)
                            for window in got { for i in window.range { covered[i] = true } }
                            #expect(covered.allSatisfy { $0 }, "n \(n) length \(length) hop \(hop)")
                        }
                    }
                }
            }
        }
    }

    @Test("windows of several sequences keep their sequence index; extract pads at the end")
    func originsAndExtraction() throws {
        let w = try Windows(length: 3, remainder: .pad)
        let all = w.windows(lengths: [4, 0, 3])
        #expect(all.map(\.sequence) == [0, 0, 2])
        #expect(all.map(\.start) == [0, 3, 0])
        let sequence: [Int32] = [7, 8, 9, 10]
        #expect(try w.extract(all[1], from: sequence, padding: 4) == [10, 4, 4])
        #expect(try w.extract(all[0], from: sequence[...], padding: 4) == [7, 8, 9])
        #expect(throws: BatchingError.self) { try w.extract(all[1], from: [Int32](), padding: 4) }
        #expect(throws: BatchingError.self) { try Windows(length: 0, remainder: .drop) }
        // A saved plan is checked on decoding as on construction.
        let saved = try JSONEncoder().encode(try Windows(length: 5, hop: 2, remainder: .shiftToEnd))
        #expect(try JSONDecoder().decode(Windows.self, from: saved) == (try Windows(length: 5, hop: 2,
                                                                                 remainder: .shiftToEnd)))
        let corrupt = Data(#"{"length": 5, "hop": 0, "remainder": "pad"}"#.utf8)
        #expect(throws: DecodingError.self) { try JSONDecoder().decode(Windows.self, from: corrupt) }
        #expect(throws: BatchingError.self) { try Windows(length: 3, hop: 0, remainder: .drop) }
    }

    @Test("window scores average per sequence, weighted by real length or equally")
    func averaging() throws {
        let windows = [Window(sequence: 0, start: 0, length: 4, validLength: 4),
                       Window(sequence: 0, start: 4, length: 4, validLength: 1),
                       Window(sequence: 2, start: 0, length: 4, validLength: 2)]
        let scores: [[Float]] = [[1, 0], [0, 1], [0.25, 0.75]]
        var weighted = try WindowAverager(sequenceCount: 3, width: 2)
        var uniform = try WindowAverager(sequenceCount: 3, width: 2, weighting: .uniform)
        for (window, s) in zip(windows, scores) {
            try weighted.add(s, for: window)
            try uniform.add(s, for: window)
        }
        #expect(weighted.mean(sequence: 0) == [0.8, 0.2])
        #expect(uniform.mean(sequence: 0) == [0.5, 0.5])
        #expect(weighted.mean(sequence: 1) == nil)
        #expect(weighted.mean(sequence: 2) == [0.25, 0.75])
        #expect(throws: BatchingError.self) { try weighted.add([1], for: windows[0]) }
        #expect(throws: BatchingError.self) {
            try weighted.add([1, 2], for: Window(sequence: 3, start: 0, length: 1, validLength: 1))
        }
    }
}

@Suite("Sequence batches")
struct SequenceBatchTests {
    @Test("pads at the end to the longest row and records lengths and mask")
    func padding() throws {
        let batch = try TokenBatch(sequences: [[7, 8, 9], [10], []], padding: DNATokenizer.pad)
        #expect(batch.values == [7, 8, 9, 10, 4, 4, 4, 4, 4])
        #expect(batch.lengths == [3, 1, 0] && batch.length == 3 && batch.batchSize == 3)
        #expect(batch.sequence(1) == [10] && batch.row(1) == [10, 4, 4])
        #expect(batch.mask == [1, 1, 1, 1, 0, 0, 0, 0, 0])
    }

    @Test("a fixed length and a length multiple; too long is an error naming the row")
    func fixedLength() throws {
        let samples: [[Float]] = [[0.5, -0.5], [0.25]]
        let fixed = try SampleBatch(sequences: samples, padding: 0, length: 4)
        #expect(fixed.values == [0.5, -0.5, 0, 0, 0.25, 0, 0, 0] && fixed.length == 4)
        let rounded = try SampleBatch(sequences: samples, padding: 0, lengthMultiple: 8)
        #expect(rounded.length == 8 && rounded.values.count == 16 && rounded.lengths == [2, 1])
        #expect(throws: BatchingError.sequenceTooLong(row: 0, length: 2, limit: 1)) {
            try SampleBatch(sequences: samples, padding: 0, length: 1)
        }
        #expect(throws: BatchingError.emptyBatch) { try SampleBatch(sequences: [[Float]](), padding: 0) }
        #expect(throws: BatchingError.self) { try SampleBatch(sequences: samples, padding: 0, lengthMultiple: 0) }
    }
}
