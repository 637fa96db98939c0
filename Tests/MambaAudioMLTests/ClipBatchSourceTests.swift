import Foundation
import MambaAudio
import MambaAudioML
import MambaTraining
import Testing
import _MambaTestSupport

private func digitClips() throws -> LoadedClips {
    try LoadedClips(ClipDataset(path: datasetsDirectory.appendingPathComponent("audio/digits/test-8000/labels.tsv").path))
}

/// Masks (SpecAugment) stay within their bounds, vary from clip to clip, leave the speed factors as without masks,
/// and a stream restored from its position draws the same batches, masks included.
@Test func clipBatchSourceMasksAreBoundedAndResumable() throws {
    let clips = try digitClips()
    var plain = try ClipBatchSource(clips: clips, batchSize: 8, seed: 3, speedJitter: 0.2)
    var masked = try ClipBatchSource(clips: clips, batchSize: 8, seed: 3, speedJitter: 0.2, frequencyMask: 6,
                                     timeMask: 0.15, channels: 64)
    var widths = Set<Int>()
    for _ in 0..<20 {
        let a = try plain.next(), b = try masked.next()
        #expect(a.masks.isEmpty)
        #expect(a.rates == b.rates && a.labels == b.labels)
        #expect(b.masks.count == b.clips.count)
        for case let mask? in b.masks {
            #expect(mask.channels.lowerBound >= 0 && mask.channels.upperBound <= 64 && mask.channels.count <= 6)
            #expect(mask.length >= 0 && mask.length <= 0.15 && mask.start >= 0 && mask.start + mask.length <= 1)
            widths.insert(mask.channels.count)
        }
    }
    #expect(widths.count > 3)
    let position = masked.position
    let expected = try (0..<5).map { _ in try masked.next() }
    var restored = try ClipBatchSource(clips: clips, batchSize: 8, seed: 3, speedJitter: 0.2, frequencyMask: 6,
                                       timeMask: 0.15, channels: 64)
    try restored.restore(position)
    for batch in expected {
        let again = try restored.next()
        #expect(again.masks == batch.masks && again.rates == batch.rates && again.labels == batch.labels)
    }
}

/// Mask settings out of range are refused with a typed error.
@Test func clipBatchSourceRefusesBadMasks() throws {
    let clips = try digitClips()
    #expect(throws: AudioModelError.self) {
        _ = try ClipBatchSource(clips: clips, batchSize: 4, seed: 1, frequencyMask: 64, channels: 64)
    }
    #expect(throws: AudioModelError.self) {
        _ = try ClipBatchSource(clips: clips, batchSize: 4, seed: 1, timeMask: 1)
    }
    #expect(throws: AudioModelError.self) {
        _ = try ClipBatchSource(clips: clips, batchSize: 4, seed: 1, frequencyMask: -1, channels: 64)
    }
}
