// libFuzzer harness: the safetensors reader, then the checkpoint loader (names and shapes against a model layout).
//
// Every tensor the header accepts is read (floats or integers), so a header that passes the checks with offsets that
// do not fit the file shows up as a failed read or a sanitizer report. Then the tensors are matched against the layout
// of a tiny model (the configuration of Tests/Fixtures/tiny-tied is not needed: any small one exercises the matching),
// as `MambaModel.load` does. libFuzzer's -malloc_limit_mb catches any large allocation a hostile header provokes.
import Foundation
import MambaBackbone

private let layout: ParameterLayout = {
    var configuration = MambaConfiguration(vocabSize: 8, hiddenSize: 4, stateSize: 2, numHiddenLayers: 1)
    configuration.layerMixers = nil
    return ParameterLayout(configuration)
}()

@_cdecl("LLVMFuzzerTestOneInput")
public func fuzzSafeTensors(_ data: UnsafePointer<UInt8>, _ size: Int) -> Int32 {
    let path = writeScratch(UnsafeRawBufferPointer(start: data, count: size))
    let file: SafeTensorsFile
    do {
        file = try SafeTensorsFile(contentsOf: URL(fileURLWithPath: path))
    } catch {
        require(error is SafeTensorsError, "untyped error \(error)")
        return 0
    }
    for name in file.names {
        let info = file.tensors[name]!
        require(info.byteRange.upperBound <= size - file.dataStart, "\(name): range \(info.byteRange) past the file")
        do {
            if info.dtype.isFloatingPoint {
                let values = try file.floats(name)
                require(values.count == info.count, "\(name): \(values.count) values for shape \(info.shape)")
            } else {
                let values = try file.integers(name)
                require(values.count == info.count, "\(name): \(values.count) values for shape \(info.shape)")
            }
        } catch {
            fatalError("\(name): the header was accepted but the read failed: \(error)")
        }
    }
    let parameters = UnsafeMutablePointer<Float>.allocate(capacity: layout.totalCount)
    defer { parameters.deallocate() }
    parameters.initialize(repeating: 0, count: layout.totalCount)
    do {
        try MambaModel.readParameters(from: file, layout: layout, into: parameters)
    } catch {
        require(!"\(error)".isEmpty, "empty error message")
    }
    return 0
}
