import Testing
@testable import MambaTensor

@Suite struct TensorTests {
    @Test func zerosAreAlignedAndZero() {
        let tensor = Tensor(zeros: [3, 5, 7])
        #expect(tensor.count == 105)
        #expect(tensor.rank == 3)
        #expect(tensor.strides == [35, 7, 1])
        #expect(Int(bitPattern: tensor.pointer) % TensorStorage.alignment == 0)
        #expect(tensor.array.allSatisfy { $0 == 0 })
    }

    @Test func viewsAndReshapesShareStorage() {
        let tensor = Tensor(shape: [2, 3], values: [1, 2, 3, 4, 5, 6])
        let row = tensor.view(offset: 3, shape: [3])
        #expect(row.array == [4, 5, 6])
        row.pointer[1] = 50
        #expect(tensor.array == [1, 2, 3, 4, 50, 6])
        let flat = tensor.reshaped([6])
        #expect(flat.shape == [6])
        flat.pointer[0] = 10
        #expect(tensor.array[0] == 10)
        let nested = row.view(offset: 1, shape: [2])
        #expect(nested.offset == 4)
        #expect(nested.array == [50, 6])
    }

    @Test func copyIsIndependent() {
        let tensor = Tensor(shape: [4], repeating: 2)
        let copy = tensor.copy()
        copy.fill(7)
        #expect(tensor.array == [2, 2, 2, 2])
        #expect(copy.array == [7, 7, 7, 7])
    }

    @Test func emptyAndScalarShapes() {
        let empty = Tensor(zeros: [0, 4])
        #expect(empty.count == 0)
        #expect(empty.array.isEmpty)
        let scalar = Tensor(shape: [], values: [3])
        #expect(scalar.count == 1)
        #expect(scalar.array == [3])
    }
}
