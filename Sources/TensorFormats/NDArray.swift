/// An n-dimensional numpy array: its element type, shape and raw bytes (little-endian, C order).
public struct NDArray: Sendable, Equatable {
    /// The element type.
    public var dtype: NPYDType
    /// The shape, outermost dimension first; `[]` for a 0-d (scalar) array.
    public var shape: [Int]
    /// The elements' bytes, little-endian, row-major (C order).
    public var data: [UInt8]

    /// How ``floats(void2As:)`` treats `|V2` (2-byte void) arrays.
    public enum Void2Interpretation: Sendable {
        /// Refuse: the bytes could be anything.
        case refuse
        /// Read them as bfloat16, the way ml_dtypes saves bfloat16 arrays.
        case bfloat16
    }

    /// A float32 array. `floats.count` must equal the product of `shape` (a programming error otherwise).
    public init(floats: [Float], shape: [Int]) {
        Self.requireCount(floats.count, shape)
        self.init(unchecked: .f32, shape, ElementConversion.encode(floats, as: UInt32.self) { $0.bitPattern })
    }

    /// A float64 array. `doubles.count` must equal the product of `shape`.
    public init(doubles: [Double], shape: [Int]) {
        Self.requireCount(doubles.count, shape)
        self.init(unchecked: .f64, shape, ElementConversion.encode(doubles, as: UInt64.self) { $0.bitPattern })
    }

    /// An int32 array. `int32s.count` must equal the product of `shape`.
    public init(int32s: [Int32], shape: [Int]) {
        Self.requireCount(int32s.count, shape)
        self.init(unchecked: .i32, shape, ElementConversion.encode(int32s, as: Int32.self) { $0 })
    }

    /// An int64 array. `int64s.count` must equal the product of `shape`.
    public init(int64s: [Int64], shape: [Int]) {
        Self.requireCount(int64s.count, shape)
        self.init(unchecked: .i64, shape, ElementConversion.encode(int64s, as: Int64.self) { $0 })
    }

    /// Float values stored as `dtype`: `.f32`, `.f16`, `.f64`, or `.void2` holding bfloat16 (narrowing
    /// rounds to nearest even).
    /// - Throws: ``TensorFormatError`` for a count/shape mismatch or an integer `dtype`.
    public init(floats: [Float], shape: [Int], dtype: NPYDType) throws {
        guard checkedProduct(shape) == floats.count else {
            throw TensorFormatError(path: "NDArray", "shape \(shape) does not hold \(floats.count) values")
        }
        let bytes: [UInt8]
        switch dtype {
        case .f32: bytes = ElementConversion.encode(floats, as: UInt32.self) { $0.bitPattern }
        case .f16: bytes = ElementConversion.encode(floats, as: UInt16.self, ElementConversion.float16FromFloat)
        case .f64: bytes = ElementConversion.encode(floats, as: UInt64.self) { Double($0).bitPattern }
        case .void2: bytes = ElementConversion.encode(floats, as: UInt16.self, ElementConversion.bfloat16FromFloat)
        default:
            throw TensorFormatError(path: "NDArray", "floats cannot be stored as \(dtype.rawValue)")
        }
        self.init(unchecked: dtype, shape, bytes)
    }

    /// An array from raw little-endian C-order bytes.
    /// - Throws: ``TensorFormatError`` when a dimension is negative or `data.count` is not
    ///   product(shape) × item size.
    public init(dtype: NPYDType, shape: [Int], data: [UInt8]) throws {
        guard let count = checkedProduct(shape),
            case (let bytes, false) = count.multipliedReportingOverflow(by: dtype.itemSize),
            bytes == data.count
        else {
            throw TensorFormatError(
                path: "NDArray", "shape \(shape) of \(dtype.rawValue) does not match \(data.count) data bytes")
        }
        self.init(unchecked: dtype, shape, data)
    }

    private init(unchecked dtype: NPYDType, _ shape: [Int], _ data: [UInt8]) {
        self.dtype = dtype
        self.shape = shape
        self.data = data
    }

    private static func requireCount(_ count: Int, _ shape: [Int]) {
        precondition(checkedProduct(shape) == count, "NDArray: shape \(shape) does not hold \(count) values")
    }

    /// The number of elements: the product of `shape` (1 for a 0-d array); `Int.max` if that overflows.
    public var elementCount: Int { checkedProduct(shape) ?? Int.max }

    /// A label for messages.
    private var label: String { "array (\(dtype.rawValue), shape \(shape))" }

    /// Checks that `data` holds exactly the elements `shape` promises and returns their count.
    private func checkedCount() throws -> Int {
        guard let count = checkedProduct(shape),
            case (let bytes, false) = count.multipliedReportingOverflow(by: dtype.itemSize),
            bytes == data.count
        else {
            throw TensorFormatError(path: label, "holds \(data.count) data bytes, which does not match its shape")
        }
        return count
    }

    /// The values as `Float` (from f32, f16 or f64; `|V2` as bfloat16 only if `treatVoid2AsBFloat16`).
    /// - Throws: ``TensorFormatError`` for integer or (unless asked) void arrays.
    public func floats(treatVoid2AsBFloat16: Bool = false) throws -> [Float] {
        try floats(void2As: treatVoid2AsBFloat16 ? .bfloat16 : .refuse)
    }

    /// The values as `Float`, with an explicit choice for `|V2` arrays.
    public func floats(void2As interpretation: Void2Interpretation) throws -> [Float] {
        let count = try checkedCount()
        return try data.withUnsafeBytes { raw in
            switch dtype {
            case .f32: return ElementConversion.float32s(raw, count: count)
            case .f16:
                return ElementConversion.decode(raw, count: count, as: UInt16.self, ElementConversion.floatFromFloat16)
            case .f64:
                return ElementConversion.decode(raw, count: count, as: UInt64.self) { Float(Double(bitPattern: $0)) }
            case .void2:
                guard interpretation == .bfloat16 else {
                    throw TensorFormatError(
                        path: label,
                        "holds opaque 2-byte void elements (how ml_dtypes saves bfloat16); if it is bfloat16, "
                            + "read it with floats(treatVoid2AsBFloat16: true)")
                }
                return ElementConversion.decode(raw, count: count, as: UInt16.self, ElementConversion.floatFromBFloat16)
            default:
                throw TensorFormatError(path: label, "holds integers; read it with int32s() or int64s()")
            }
        }
    }

    /// The values as `Double` (from f64, f32 or f16).
    public func doubles() throws -> [Double] {
        let count = try checkedCount()
        if dtype == .f64 {
            return data.withUnsafeBytes { raw in
                ElementConversion.decode(raw, count: count, as: UInt64.self) { Double(bitPattern: $0) }
            }
        }
        guard dtype.isFloat else {
            throw TensorFormatError(path: label, "does not hold floats; only f64, f32 and f16 convert to Double")
        }
        return try floats().map(Double.init)
    }

    /// The values as `Int64`, from any integer or boolean type (u64 values must fit).
    /// - Throws: ``TensorFormatError`` for float or void arrays, or a u64 value above `Int64.max`.
    public func int64s() throws -> [Int64] {
        let count = try checkedCount()
        guard let elementType = dtype.integerTensorDType else {
            throw TensorFormatError(path: label, "does not hold integers; read it with floats()")
        }
        return try data.withUnsafeBytes { raw in
            try TensorDecoding.int64s(raw, dtype: elementType, count: count) { TensorFormatError(path: label, $0) }
        }
    }

    /// The values as `Int32`, from any integer or boolean type whose values fit.
    /// - Throws: ``TensorFormatError`` for float or void arrays, or a value outside `Int32`.
    public func int32s() throws -> [Int32] {
        if dtype == .i32 {
            let count = try checkedCount()
            return data.withUnsafeBytes { raw in ElementConversion.decode(raw, count: count, as: Int32.self) { $0 } }
        }
        let wide = try int64s()
        var result: [Int32] = []
        result.reserveCapacity(wide.count)
        for (index, value) in wide.enumerated() {
            guard let narrow = Int32(exactly: value) else {
                throw TensorFormatError(path: label, "element \(index) = \(value) does not fit in Int32; use int64s()")
            }
            result.append(narrow)
        }
        return result
    }
}
