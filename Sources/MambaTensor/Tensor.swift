// Flat Float32 buffers with shapes. A Tensor is a window (offset, shape) onto a reference-counted storage, so views and
// reshapes share memory; the kernels take raw pointers from `pointer`.

/// A 64-byte-aligned buffer of `count` Float32 values, zero-initialised, freed when the last reference goes.
///
/// 64 bytes is one cache line and one AVX-512 register, so SIMD16 loads from the start never split a line.
public final class TensorStorage: @unchecked Sendable {
    /// The alignment of `base` in bytes.
    public static let alignment = 64

    /// The number of Float32 values.
    public let count: Int

    /// The first value; valid while this object is alive.
    public let base: UnsafeMutablePointer<Float>

    /// Allocates `count` zeros (`count` may be 0: a 64-byte block is still allocated so `base` is never null).
    public init(count: Int) {
        precondition(count >= 0, "TensorStorage: negative count \(count)")
        self.count = count
        let raw = UnsafeMutableRawPointer.allocate(
            byteCount: max(count, 16) * MemoryLayout<Float>.stride, alignment: Self.alignment)
        raw.initializeMemory(as: Float.self, repeating: 0, count: max(count, 16))
        base = raw.assumingMemoryBound(to: Float.self)
    }

    deinit { UnsafeMutableRawPointer(base).deallocate() }
}

/// A shaped, row-major view of Float32 values in a `TensorStorage`.
///
/// Reference semantics: copies of a `Tensor` (and its views) share the storage; writing through `pointer` is seen by
/// all of them. `copy()` makes an independent tensor.
public struct Tensor: @unchecked Sendable {
    /// The buffer this tensor is a window onto.
    public let storage: TensorStorage
    /// Index of this tensor's first value in `storage`.
    public let offset: Int
    /// The dimensions, outermost first (row-major).
    public let shape: [Int]
    /// The number of values, the product of `shape` (1 for a scalar, shape []).
    public let count: Int

    /// A new tensor of zeros.
    public init(zeros shape: [Int]) {
        let count = Tensor.elementCount(shape)
        self.init(storage: TensorStorage(count: count), offset: 0, shape: shape, count: count)
    }

    /// A new tensor holding `values` (row-major); `values.count` must equal the product of `shape`.
    public init(shape: [Int], values: [Float]) {
        let count = Tensor.elementCount(shape)
        precondition(values.count == count, "Tensor(shape: \(shape)) needs \(count) values, got \(values.count)")
        self.init(zeros: shape)
        values.withUnsafeBufferPointer { source in
            if let s = source.baseAddress { pointer.update(from: s, count: count) }
        }
    }

    /// A new tensor with every value equal to `value`.
    public init(shape: [Int], repeating value: Float) {
        self.init(zeros: shape)
        pointer.update(repeating: value, count: count)
    }

    private init(storage: TensorStorage, offset: Int, shape: [Int], count: Int) {
        self.storage = storage
        self.offset = offset
        self.shape = shape
        self.count = count
    }

    /// The first value. Valid while this tensor (or another reference to its storage) is alive: keep it alive with
    /// `withExtendedLifetime(tensor) { ... }` around raw-pointer work when the tensor is not used afterwards.
    public var pointer: UnsafeMutablePointer<Float> { storage.base + offset }

    /// The number of dimensions.
    public var rank: Int { shape.count }

    /// Row-major strides in elements (the last is 1).
    public var strides: [Int] {
        var strides = [Int](repeating: 1, count: shape.count)
        var running = 1
        for axis in shape.indices.reversed() {
            strides[axis] = running
            running *= shape[axis]
        }
        return strides
    }

    /// A contiguous sub-view sharing storage: `shape`'s values starting `offset` values after this tensor's first.
    /// The view must lie inside this tensor.
    public func view(offset: Int, shape: [Int]) -> Tensor {
        let viewCount = Tensor.elementCount(shape)
        precondition(offset >= 0 && offset + viewCount <= count,
                     "Tensor.view: \(viewCount) values at offset \(offset) exceed the \(count) values of shape \(self.shape)")
        return Tensor(storage: storage, offset: self.offset + offset, shape: shape, count: viewCount)
    }

    /// The same values under another shape with the same element count (shares storage).
    public func reshaped(_ newShape: [Int]) -> Tensor {
        let newCount = Tensor.elementCount(newShape)
        precondition(newCount == count, "Tensor.reshaped: \(shape) (\(count) values) cannot become \(newShape) (\(newCount))")
        return Tensor(storage: storage, offset: offset, shape: newShape, count: count)
    }

    /// An independent copy with its own storage.
    public func copy() -> Tensor {
        let result = Tensor(zeros: shape)
        result.pointer.update(from: pointer, count: count)
        return result
    }

    /// Sets every value to `value`.
    public func fill(_ value: Float) {
        pointer.update(repeating: value, count: count)
    }

    /// The values, row-major, copied into an array.
    public var array: [Float] {
        Array(UnsafeBufferPointer(start: pointer, count: count))
    }

    /// The product of the dimensions; every dimension must be >= 0.
    public static func elementCount(_ shape: [Int]) -> Int {
        var product = 1
        for dimension in shape {
            precondition(dimension >= 0, "Tensor: negative dimension in shape \(shape)")
            product *= dimension
        }
        return product
    }
}
