/// Where one tensor lives in a safetensors file, as its header describes it (after validation).
public struct TensorInfo: Sendable, Equatable {
    /// The tensor's name in the header.
    public let name: String
    /// The element type.
    public let dtype: TensorDType
    /// The shape, outermost dimension first (row-major); `[]` for a scalar.
    public let shape: [Int]
    /// The absolute byte range of the data within the file (header included in the offsets).
    public let dataRange: Range<Int>

    /// Creates a description; ``SafetensorsFile`` makes these from validated headers.
    public init(name: String, dtype: TensorDType, shape: [Int], dataRange: Range<Int>) {
        self.name = name
        self.dtype = dtype
        self.shape = shape
        self.dataRange = dataRange
    }

    /// The number of elements: the product of `shape` (1 for a scalar); `Int.max` if that overflows.
    public var elementCount: Int { checkedProduct(shape) ?? Int.max }

    /// The number of data bytes.
    public var byteCount: Int { dataRange.count }
}

/// The product of `values`, or nil if any is negative or the product overflows.
func checkedProduct(_ values: [Int]) -> Int? {
    var product = 1
    for value in values {
        guard value >= 0 else { return nil }
        let (next, overflow) = product.multipliedReportingOverflow(by: value)
        if overflow { return nil }
        product = next
    }
    return product
}
