/// One tensor of a PyTorch checkpoint: a strided view of a storage record, as `_rebuild_tensor_v2` describes
/// it, validated against the record when the checkpoint was opened.
public struct PyTorchTensorInfo: Sendable, Equatable {
    /// The flattened name (see ``PyTorchCheckpoint/tensorNames``).
    public let name: String
    /// The element type, from the storage class (`torch.FloatStorage` → F32, …).
    public let dtype: TensorDType
    /// The shape, outermost dimension first; `[]` for a 0-d tensor.
    public let shape: [Int]
    /// The step between neighbours along each dimension, in elements (0 for an expanded dimension).
    public let strides: [Int]
    /// The index of the first element within the storage, in elements.
    public let storageOffset: Int
    /// The storage record's key (the member `<prefix>/data/<key>`); tensors viewing one storage share it.
    public let storageKey: String
    /// The number of elements the storage holds.
    public let storageElementCount: Int

    /// The number of elements: the product of `shape` (1 for a 0-d tensor).
    public var elementCount: Int { checkedProduct(shape) ?? Int.max }

    /// Whether the elements lie in the storage in row-major order without gaps, so they can be read in place.
    public var isContiguous: Bool { Self.isContiguous(shape: shape, strides: strides) }

    static func isContiguous(shape: [Int], strides: [Int]) -> Bool {
        var expected = 1
        for axis in shape.indices.reversed() where shape[axis] != 1 {
            guard strides[axis] == expected else { return false }
            expected *= shape[axis]
        }
        return true
    }

    /// Validates a rebuilt tensor against its storage record: non-negative sizes, strides and offset; the
    /// storage's bytes within the record; every element of the view within the storage.
    static func validated(
        name: String, tensor: PickleTensor, record: ZipMember?, recordName: String, path: String
    ) throws -> PyTorchTensorInfo {
        func fail(_ problem: String) -> TensorFormatError { TensorFormatError(path: path, tensor: name, problem) }
        let storage = tensor.storage
        guard let record else {
            throw fail(
                "its storage record '\(recordName)' is missing from the archive; the checkpoint is incomplete "
                    + "or was edited")
        }
        guard let storageBytes = storage.dtype.byteCount(elements: storage.elementCount),
            storageBytes <= record.uncompressedSize
        else {
            throw fail(
                "its storage holds \(storage.elementCount) \(storage.dtype.rawValue) elements but the record "
                    + "'\(recordName)' has only \(record.uncompressedSize) bytes; the checkpoint is truncated or "
                    + "corrupt")
        }
        guard tensor.storageOffset >= 0, tensor.shape.allSatisfy({ $0 >= 0 }), tensor.strides.allSatisfy({ $0 >= 0 })
        else {
            throw fail(
                "offset \(tensor.storageOffset), size \(tensor.shape) or stride \(tensor.strides) is negative")
        }
        guard let count = checkedProduct(tensor.shape) else { throw fail("size \(tensor.shape) overflows") }
        if count > 0 {
            var last = tensor.storageOffset
            for (size, stride) in zip(tensor.shape, tensor.strides) {
                let (step, overflow) = (size - 1).multipliedReportingOverflow(by: stride)
                let (next, overflow2) = last.addingReportingOverflow(step)
                guard !overflow, !overflow2 else { throw fail("size \(tensor.shape) × stride overflows") }
                last = next
            }
            guard last < storage.elementCount else {
                throw fail(
                    "its view (offset \(tensor.storageOffset), size \(tensor.shape), stride \(tensor.strides)) "
                        + "reaches element \(last) of a storage of \(storage.elementCount) elements; the "
                        + "checkpoint is corrupt")
            }
        }
        return PyTorchTensorInfo(
            name: name, dtype: storage.dtype, shape: tensor.shape, strides: tensor.strides,
            storageOffset: tensor.storageOffset, storageKey: storage.key, storageElementCount: storage.elementCount)
    }
}

/// Copies strided views into row-major (C order) bytes.
enum StridedCopy {
    /// The `shape`/`strides` view starting at element `offset` of `storage`, as contiguous bytes in C order,
    /// each element byte-reversed when `swapBytes`. The view must already be checked to lie in `storage`.
    static func gather(
        _ storage: UnsafeRawBufferPointer, offset: Int, shape: [Int], strides: [Int], itemSize: Int, swapBytes: Bool
    ) -> [UInt8] {
        let count = checkedProduct(shape) ?? 0
        guard count > 0, let source = storage.baseAddress else { return [] }
        var result = [UInt8](repeating: 0, count: count * itemSize)
        result.withUnsafeMutableBytes { target in
            guard let destination = target.baseAddress else { return }
            let rank = shape.count
            // Copy whole rows when the innermost dimension is dense.
            let runLength = rank > 0 && strides[rank - 1] == 1 ? shape[rank - 1] : 1
            let outerRank = runLength > 1 ? rank - 1 : rank
            let runBytes = runLength * itemSize
            var index = [Int](repeating: 0, count: max(outerRank, 0))
            var element = offset
            var written = 0
            while written < count * itemSize {
                (destination + written).copyMemory(from: source + element * itemSize, byteCount: runBytes)
                written += runBytes
                var axis = outerRank - 1
                while axis >= 0 {
                    index[axis] += 1
                    element += strides[axis]
                    if index[axis] < shape[axis] { break }
                    element -= strides[axis] * shape[axis]
                    index[axis] = 0
                    axis -= 1
                }
            }
            if swapBytes, itemSize > 1 {
                var start = 0
                while start < target.count {
                    var low = start
                    var high = start + itemSize - 1
                    while low < high {
                        target.swapAt(low, high)
                        low += 1
                        high -= 1
                    }
                    start += itemSize
                }
            }
        }
        return result
    }
}
