// libFuzzer harness: config.json (transformers' MambaConfig keys and MambaKit's own), read and validated as
// `MambaModel.load` does. A configuration that validates must give a parameter layout whose size matches the
// parameter count (without allocating it), and must survive a write and read back unchanged.
import Foundation
import MambaBackbone

@_cdecl("LLVMFuzzerTestOneInput")
public func fuzzConfig(_ data: UnsafePointer<UInt8>, _ size: Int) -> Int32 {
    let path = writeScratch(UnsafeRawBufferPointer(start: data, count: size))
    let configuration: MambaConfiguration
    do {
        configuration = try MambaConfiguration.load(from: URL(fileURLWithPath: path))
    } catch {
        require(error is ConfigurationError, "untyped error \(error)")
        return 0
    }
    let count = ParameterLayout.parameterCount(configuration)
    require(count != nil && count! <= MambaConfiguration.Limits.maxParameters, "validated config with \(String(describing: count)) parameters")
    // Building the layout allocates only its entry table (one per tensor), never the parameters.
    let layout = ParameterLayout(configuration)
    // Entries are padded to 16 floats each.
    require(layout.totalCount >= count! && layout.totalCount <= count! + 16 * layout.entries.count,
            "layout holds \(layout.totalCount) floats, parameterCount says \(count!)")
    let copy = scratchPath + ".out.json"
    do {
        try configuration.write(to: URL(fileURLWithPath: copy))
        let again = try MambaConfiguration.load(from: URL(fileURLWithPath: copy))
        require(again == configuration, "write + load changed the configuration")
    } catch {
        fatalError("a validated configuration failed to round-trip: \(error)")
    }
    return 0
}
