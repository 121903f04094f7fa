import SteeringCore

// Parsing and validation of a safetensors header (gemma2.md §3.3; safetensors `README.md` "Format").

/// The validated layout of a safetensors file.
struct SafetensorsLayout {
    /// Every tensor, in data-offset order.
    var tensors: [TensorInfo]
    /// The `__metadata__` map (empty when absent).
    var metadata: [String: String]
    /// The JSON header length N; the data buffer starts at 8 + N.
    var headerLength: Int

    /// The reference reader's limit on N.
    static let maximumHeaderLength = 100_000_000

    /// Parses and fully validates the header of the file whose bytes are `bytes`.
    /// - Throws: ``TensorFormatError`` naming `path` (and the tensor, when one is at fault).
    static func parse(_ bytes: UnsafeRawBufferPointer, path: String) throws -> SafetensorsLayout {
        guard let declared = bytes.readLittleEndian(UInt64.self, at: 0) else {
            throw TensorFormatError(
                path: path,
                "the file is \(bytes.count) bytes, too short for the 8-byte header length; "
                    + "it is not a safetensors file or it was truncated")
        }
        guard declared <= UInt64(maximumHeaderLength) else {
            throw TensorFormatError(
                path: path,
                "the header length \(declared) exceeds the 100,000,000-byte limit; "
                    + "the file is not a safetensors file or is corrupt")
        }
        let headerLength = Int(declared)
        guard let header = bytes.slice(at: 8, length: headerLength) else {
            throw TensorFormatError(
                path: path,
                "the header length \(headerLength) runs past the end of the \(bytes.count)-byte file; "
                    + "the file was truncated")
        }
        guard headerLength > 0, header[0] == UInt8(ascii: "{") else {
            throw TensorFormatError(path: path, "the header does not start with '{'; this is not a safetensors file")
        }
        guard validatedUTF8(header) != nil else {
            throw TensorFormatError(path: path, "the header is not valid UTF-8; the file is corrupt")
        }
        let root: JSONValue
        do {
            root = try JSONScanner.parse(header, refusingRepeatedKeys: true)
        } catch {
            throw TensorFormatError(
                path: path, "the header is not valid JSON (at header byte \(error.offset): \(error.problem))")
        }
        guard let members = root.members else {
            throw TensorFormatError(path: path, "the header is not a JSON object")
        }
        let bufferStart = 8 + headerLength
        let bufferLength = bytes.count - bufferStart
        var metadata: [String: String] = [:]
        var entries: [(name: String, dtype: TensorDType, shape: [Int], begin: Int, end: Int)] = []
        for member in members {
            let name = member.keyText, value = member.value
            if name == "__metadata__" {
                metadata = try parseMetadata(value, path: path)
                continue
            }
            let entry = try parseEntry(name: name, value, bufferLength: bufferLength, path: path)
            entries.append((name, entry.dtype, entry.shape, entry.begin, entry.end))
        }
        entries.sort { ($0.begin, $0.end, $0.name) < ($1.begin, $1.end, $1.name) }
        var covered = 0
        var previous: String?
        for entry in entries {
            if entry.begin < covered {
                let other = previous.map { " and '\($0)'" } ?? ""
                throw TensorFormatError(
                    path: path, tensor: entry.name,
                    "its data_offsets [\(entry.begin), \(entry.end)] overlap those of another tensor\(other); "
                        + "the header is corrupt")
            }
            if entry.begin > covered {
                throw TensorFormatError(
                    path: path, tensor: entry.name,
                    "bytes \(covered)..<\(entry.begin) of the data buffer before this tensor belong to no tensor "
                        + "(a hole); the header is corrupt")
            }
            covered = entry.end
            previous = entry.name
        }
        guard covered == bufferLength else {
            throw TensorFormatError(
                path: path,
                "the tensors cover \(covered) bytes but the data buffer holds \(bufferLength); "
                    + "\(bufferLength - covered) trailing bytes belong to no tensor")
        }
        let tensors = entries.map {
            TensorInfo(
                name: $0.name, dtype: $0.dtype, shape: $0.shape,
                dataRange: (bufferStart + $0.begin)..<(bufferStart + $0.end))
        }
        return SafetensorsLayout(tensors: tensors, metadata: metadata, headerLength: headerLength)
    }

    private static func parseMetadata(_ value: JSONValue, path: String) throws -> [String: String] {
        guard let pairs = value.members else {
            throw TensorFormatError(
                path: path, tensor: "__metadata__", "must be an object of strings, found \(value.kindName)")
        }
        var metadata: [String: String] = [:]
        for pair in pairs {
            let key = pair.keyText, item = pair.value
            guard let text = item.text else {
                throw TensorFormatError(
                    path: path, tensor: "__metadata__",
                    "the value of '\(key)' must be a string, found \(item.kindName)")
            }
            metadata[key] = text
        }
        return metadata
    }

    private static func parseEntry(
        name: String, _ value: JSONValue, bufferLength: Int, path: String
    ) throws -> (dtype: TensorDType, shape: [Int], begin: Int, end: Int) {
        func fail(_ problem: String) -> TensorFormatError { TensorFormatError(path: path, tensor: name, problem) }
        guard let fields = value.members else {
            throw fail("its header entry must be an object with dtype, shape and data_offsets, found \(value.kindName)")
        }
        func field(_ key: String) throws -> JSONValue {
            guard let found = fields.first(where: { $0.key == Array(key.utf8) }) else {
                throw fail("its header entry has no \"\(key)\"")
            }
            return found.value
        }
        guard let dtypeName = try field("dtype").text else { throw fail("\"dtype\" must be a string") }
        guard let dtype = TensorDType(rawValue: dtypeName) else {
            let known = TensorDType.allCases.map(\.rawValue).joined(separator: ", ")
            throw fail("unknown dtype \"\(dtypeName)\"; known: \(known)")
        }
        guard let dimensions = try field("shape").elements else { throw fail("\"shape\" must be an array") }
        var shape: [Int] = []
        for dimension in dimensions {
            guard let size = dimension.exactInteger, size >= 0 else {
                throw fail("\"shape\" entries must be non-negative integers")
            }
            shape.append(size)
        }
        guard let offsets = try field("data_offsets").elements, offsets.count == 2,
            let begin = offsets[0].exactInteger, let end = offsets[1].exactInteger, begin >= 0, end >= 0
        else { throw fail("\"data_offsets\" must be two non-negative integers [begin, end]") }
        guard begin <= end else { throw fail("data_offsets begin \(begin) is after end \(end)") }
        guard end <= bufferLength else {
            throw fail(
                "data_offsets end \(end) is past the end of the \(bufferLength)-byte data buffer; "
                    + "the file was truncated or the header is corrupt")
        }
        guard let elements = checkedProduct(shape), let expected = dtype.byteCount(elements: elements) else {
            throw fail("shape \(shape) of \(dtype.rawValue) is too large (the byte count overflows)")
        }
        guard end - begin == expected else {
            throw fail(
                "shape \(shape) of \(dtype.rawValue) needs \(expected) bytes but data_offsets [\(begin), \(end)] "
                    + "span \(end - begin); the header is corrupt")
        }
        return (dtype, shape, begin, end)
    }
}
