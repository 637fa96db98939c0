// Finding NaN and infinite samples, which must never pass silently into a model or a file.

/// The index of the first NaN or infinity in `samples`, or nil.
func firstNonFiniteIndex(_ samples: UnsafeBufferPointer<Float>) -> Int? {
    // A Float is non-finite exactly when its 8 exponent bits are all set. The max of the exponent fields is an
    // integer reduction the compiler vectorises; only a block that has one pays for the search.
    let exponentMask: UInt32 = 0x7F80_0000
    var largestExponent: UInt32 = 0
    for x in samples { largestExponent = max(largestExponent, x.bitPattern & exponentMask) }
    guard largestExponent == exponentMask else { return nil }
    return samples.firstIndex { !$0.isFinite }
}
