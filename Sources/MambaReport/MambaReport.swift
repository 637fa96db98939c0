// MambaReport: the pictures of a training run, written as SVG 1.1 by a small module of MambaKit's own.
//
// Why SVG written here, rather than a Python plotting script (matplotlib) beside the toolkit: MambaKit must run with
// Swift and three Debian libraries only (no Python, no pip, no network at run time), and `mambakit demo` writes its
// report on any machine that builds the toolkit. SVG is text: this module needs no dependency (not even a font or
// image library), its output is checked by tests (parsed with Foundation's XMLParser, labels and tick values read
// back), and every browser, image viewer and `rsvg-convert` displays it. Dense pictures (spectrograms) are embedded
// as PNG images inside the SVG, encoded here too (stored deflate blocks, CRC-32, Adler-32: no zlib needed).
//
// Charts (each has `svg() -> String` and an atomic `write(to:)`, from `SVGChart`):
//   LineChart             several series against a linear, logarithmic or categorical x axis; loss curves from
//                         metrics.jsonl (`LineChart.lossCurves`), accuracy against sample rate
//   Heatmap               a matrix with row / column labels, a colour bar and optional cell texts
//   ConfusionMatrixChart  counts of true against predicted classes, coloured by the share of each true class
//   WaveformChart         amplitude against seconds (a min/max envelope per pixel column when samples are dense)
//   SpectrogramChart      STFT magnitude in dBFS (Hann window, radix-2 FFT): time in s, frequency in kHz
//   DeltaTraceChart       the Δ a Mamba model chose along a sequence (`MambaModel.deltaTrace`), under the input
//                         (DNA bases or the waveform), optionally with a heatmap of every channel
// Data: `TrainingMetrics` (metrics.jsonl as the Trainer writes it, streamed), `Spectrogram` (STFT in dBFS).
// Every chart has a title and axis titles with units; tick values are round (1, 2 or 5 × 10^k); text is escaped.
import Foundation
import MambaBackbone

/// A chart that renders itself as an SVG 1.1 document.
public protocol SVGChart: Sendable {
    /// The whole SVG document (UTF-8 text, SVG 1.1, width and height in px).
    func svg() -> String
}

extension SVGChart {
    /// Writes `svg()` to `url` atomically (a temporary file in the same folder, then renamed).
    public func write(to url: URL) throws {
        try AtomicFile.write(Data(svg().utf8), to: url)
    }
}

/// Input that a chart or reader cannot use: what was expected, what was found, and where.
public struct ReportError: Error, CustomStringConvertible, Equatable {
    /// The one-line message.
    public var description: String

    /// An error with `description` as its message.
    public init(_ description: String) { self.description = description }
}
