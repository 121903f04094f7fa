// A pickle interpreter for exactly what `torch.save` writes for state dicts and dicts, lists and tuples of
// tensors (pickle protocol 2, plus the protocol-4 framing opcodes). It never imports or calls anything:
// the only globals it accepts are the ones ``PickleGlobal`` lists, and "calling" one (REDUCE) builds a
// plain value in Swift. Any other global stops the load with an error naming it. Every read is bounds-
// checked, so a damaged or hostile pickle yields an error, never a crash.

/// Interprets one pickle stream into a ``PickleValue``.
struct RestrictedUnpickler {
    private let bytes: UnsafeRawBufferPointer
    private let path: String
    private let member: String
    private var position = 0
    private var stack: [PickleValue] = []
    private var marks: [Int] = []
    private var memo: [Int: PickleValue] = [:]

    /// The most nested MARKs accepted; torch's pickles nest a handful deep.
    private static let maximumMarkDepth = 10_000

    /// Prepares to read the pickle in `bytes`, the archive member `member` of the file at `path`.
    init(_ bytes: UnsafeRawBufferPointer, path: String, member: String) {
        self.bytes = bytes
        self.path = path
        self.member = member
    }

    /// Runs the pickle to its STOP opcode and returns the value it leaves.
    /// - Throws: ``TensorFormatError`` naming the file and member for a refused global, an opcode torch does
    ///   not write, a value of the wrong kind, or a pickle that ends early.
    static func load(_ bytes: UnsafeRawBufferPointer, path: String, member: String) throws -> PickleValue {
        var unpickler = RestrictedUnpickler(bytes, path: path, member: member)
        return try unpickler.run()
    }

    private func fail(_ problem: String, at offset: Int? = nil) -> TensorFormatError {
        TensorFormatError(path: path, tensor: member, "at pickle byte \(offset ?? position): \(problem)")
    }

    // MARK: Reading operands

    private mutating func readByte() throws -> UInt8 {
        guard position < bytes.count else { throw fail("the pickle ends early; the checkpoint is truncated") }
        defer { position += 1 }
        return bytes[position]
    }

    private mutating func read<T: FixedWidthInteger>(_ type: T.Type) throws -> T {
        guard let value = bytes.readLittleEndian(type, at: position) else {
            throw fail("the pickle ends inside an operand; the checkpoint is truncated")
        }
        position += MemoryLayout<T>.size
        return value
    }

    private mutating func readSlice(_ length: Int) throws -> UnsafeRawBufferPointer {
        guard let slice = bytes.slice(at: position, length: length) else {
            throw fail("an operand of \(length) bytes runs past the end of the \(bytes.count)-byte pickle")
        }
        position += length
        return slice
    }

    private mutating func readUTF8(_ length: Int) throws -> String {
        let start = position
        let slice = try readSlice(length)
        guard let text = validatedUTF8(slice) else { throw fail("a string is not valid UTF-8", at: start) }
        return text
    }

    /// A newline-terminated ASCII line (the operands of GLOBAL).
    private mutating func readLine() throws -> String {
        let start = position
        var line: [UInt8] = []
        while true {
            let byte = try readByte()
            if byte == 0x0A { break }
            guard byte >= 0x20, byte < 0x7F, line.count < 1024 else {
                throw fail("a GLOBAL operand is not a short line of printable ASCII", at: start)
            }
            line.append(byte)
        }
        return String(decoding: line, as: UTF8.self)
    }

    /// A little-endian two's-complement integer of `length` bytes (LONG1/LONG4), at most 8 bytes.
    private mutating func readLong(_ length: Int) throws -> Int64 {
        let start = position
        guard length <= 8 else {
            throw fail("an integer of \(length) bytes does not fit in 64 bits; no checkpoint needs one", at: start)
        }
        let slice = try readSlice(length)
        guard length > 0 else { return 0 }
        var value: UInt64 = 0
        for (index, byte) in slice.enumerated() { value |= UInt64(byte) << (8 * UInt64(index)) }
        if length < 8, slice[length - 1] & 0x80 != 0 { value |= ~UInt64(0) << (8 * UInt64(length)) }
        return Int64(bitPattern: value)
    }

    // MARK: The stack

    private mutating func pop() throws -> PickleValue {
        guard let value = stack.popLast(), stack.count >= (marks.last ?? 0) else {
            throw fail("an opcode needs a value but the stack is empty; the pickle is malformed")
        }
        return value
    }

    private var top: PickleValue? { stack.count > (marks.last ?? 0) ? stack.last : nil }

    /// The values pushed since the last MARK, removing them and the mark.
    private mutating func popToMark() throws -> [PickleValue] {
        guard let mark = marks.popLast(), mark <= stack.count else {
            throw fail("an opcode needs a MARK but there is none; the pickle is malformed")
        }
        let items = Array(stack[mark...])
        stack.removeSubrange(mark...)
        return items
    }

    private mutating func memoize(_ index: Int) throws {
        guard let value = top else { throw fail("a memo store with an empty stack; the pickle is malformed") }
        memo[index] = value
    }

    private func recall(_ index: Int) throws -> PickleValue {
        guard let value = memo[index] else {
            throw fail("memo entry \(index) is fetched before it was stored; the pickle is malformed")
        }
        return value
    }

    private func dictKey(_ value: PickleValue) throws -> PickleDict.Key {
        switch value {
        case .string(let text): return .string(text)
        case .int(let number): return .int(number)
        case .bool(let flag): return .bool(flag)
        case .none: return .none
        default: throw fail("a dict key is \(value.kindName); only str, int, bool and None keys are supported")
        }
    }

    private mutating func setItems(_ items: [PickleValue]) throws {
        guard items.count % 2 == 0 else { throw fail("SETITEMS with an odd number of values; malformed") }
        guard case .dict(let dict) = try pop() else {
            throw fail("SETITEM(S) on something that is not a dict; the pickle is malformed")
        }
        var index = 0
        while index < items.count {
            dict.set(try dictKey(items[index]), items[index + 1])
            index += 2
        }
        stack.append(.dict(dict))
    }

    private mutating func append(_ items: [PickleValue]) throws {
        guard case .list(let list) = try pop() else {
            throw fail("APPEND(S) on something that is not a list; the pickle is malformed")
        }
        list.items += items
        stack.append(.list(list))
    }

    // MARK: Globals and calls

    private func global(module: String, name: String, at offset: Int) throws -> PickleValue {
        guard let global = PickleGlobal.resolve(module: module, name: name) else {
            if module == "torch", name.hasSuffix("Storage") {
                let known = PickleGlobal.storageTypes.keys.sorted().joined(separator: ", ")
                throw fail("storage type torch.\(name) is not supported; supported: \(known)", at: offset)
            }
            throw fail(
                "the pickle references the global \(module).\(name), which a tensor checkpoint does not need; "
                    + "loading arbitrary pickles is refused for safety (only collections.OrderedDict, "
                    + "torch._utils._rebuild_tensor_v2/_rebuild_parameter and torch.*Storage are accepted). "
                    + "Nothing was executed", at: offset)
        }
        return .global(global)
    }

    private func integer(_ value: PickleValue, _ what: String) throws -> Int {
        guard case .int(let number) = value, let result = Int(exactly: number) else {
            throw fail("\(what) is \(value.kindName), not an int")
        }
        return result
    }

    private func integers(_ value: PickleValue, _ what: String) throws -> [Int] {
        guard case .tuple(let items) = value else { throw fail("\(what) is \(value.kindName), not a tuple") }
        return try items.map { try integer($0, "an element of \(what)") }
    }

    private func call(_ callable: PickleValue, _ arguments: PickleValue, at offset: Int) throws -> PickleValue {
        guard case .global(let global) = callable else {
            throw fail("REDUCE calls \(callable.kindName), which is not callable here", at: offset)
        }
        guard case .tuple(let args) = arguments else {
            throw fail("REDUCE arguments are \(arguments.kindName), not a tuple", at: offset)
        }
        switch global {
        case .orderedDict:
            let dict = PickleDict()
            if let pairs = args.first {
                guard args.count == 1, case .list(let list) = pairs else {
                    throw fail("OrderedDict is called with arguments other than () or one list of pairs", at: offset)
                }
                for pair in list.items {
                    guard case .tuple(let kv) = pair, kv.count == 2 else {
                        throw fail("OrderedDict's list holds \(pair.kindName), not (key, value) pairs", at: offset)
                    }
                    dict.set(try dictKey(kv[0]), kv[1])
                }
            }
            return .dict(dict)
        case .rebuildTensorV2:
            guard args.count == 6 || args.count == 7 else {
                throw fail("_rebuild_tensor_v2 takes 6 or 7 arguments, got \(args.count)", at: offset)
            }
            guard case .storage(let storage) = args[0] else {
                throw fail("_rebuild_tensor_v2's storage is \(args[0].kindName), not a storage", at: offset)
            }
            let tensor = PickleTensor(
                storage: storage, storageOffset: try integer(args[1], "the storage offset"),
                shape: try integers(args[2], "the size"), strides: try integers(args[3], "the stride"))
            guard tensor.shape.count == tensor.strides.count else {
                throw fail(
                    "the size has \(tensor.shape.count) dimensions but the stride \(tensor.strides.count)", at: offset)
            }
            return .tensor(tensor)
        case .rebuildParameter, .rebuildParameterWithState:
            let expected = global == .rebuildParameter ? 3 : 4
            guard args.count == expected, case .tensor = args[0] else {
                throw fail(
                    "\(global.qualifiedName) takes a tensor and \(expected - 1) more arguments, got "
                        + "\(args.map(\.kindName))", at: offset)
            }
            return args[0]
        case .storageType:
            throw fail("\(global.qualifiedName) is called; storages only appear in persistent ids", at: offset)
        }
    }

    /// `('storage', <storage class>, key, location, numel)` → a storage reference.
    private func persistentStorage(_ pid: PickleValue, at offset: Int) throws -> PickleValue {
        guard case .tuple(let fields) = pid, fields.count == 5, case .string("storage") = fields[0] else {
            throw fail(
                "a persistent id is \(pid.kindName), not ('storage', type, key, location, numel)", at: offset)
        }
        guard case .global(.storageType(let dtype, _)) = fields[1] else {
            throw fail("a persistent id's storage type is \(fields[1].kindName)", at: offset)
        }
        guard case .string(let key) = fields[2], !key.isEmpty, !key.contains("/"), key != "..", key != "." else {
            throw fail("a persistent id's record key is not a plain name", at: offset)
        }
        let location: String
        if case .string(let text) = fields[3] { location = text } else { location = "?" }
        let count = try integer(fields[4], "a persistent id's element count")
        guard count >= 0 else { throw fail("a persistent id's element count is negative (\(count))", at: offset) }
        return .storage(PickleStorage(dtype: dtype, key: key, location: location, elementCount: count))
    }

    // MARK: The interpreter

    private mutating func run() throws -> PickleValue {
        while true {
            let offset = position
            let opcode = try readByte()
            switch opcode {
            case 0x80:  // PROTO
                let version = try readByte()
                guard version <= 5 else { throw fail("pickle protocol \(version) is unknown", at: offset) }
            case 0x95:  // FRAME: a length prefix only; the frame's opcodes follow inline
                _ = try read(UInt64.self)
            case UInt8(ascii: "."):  // STOP
                guard marks.isEmpty, stack.count == 1, let result = stack.first else {
                    throw fail("STOP leaves \(stack.count) values and \(marks.count) marks; malformed", at: offset)
                }
                return result
            case UInt8(ascii: "("):  // MARK
                guard marks.count < Self.maximumMarkDepth else { throw fail("MARKs nest too deeply", at: offset) }
                marks.append(stack.count)
            case UInt8(ascii: "0"):  // POP
                _ = try pop()
            case UInt8(ascii: "1"):  // POP_MARK
                _ = try popToMark()
            case UInt8(ascii: "2"):  // DUP
                guard let value = top else { throw fail("DUP with an empty stack", at: offset) }
                stack.append(value)
            case UInt8(ascii: "N"): stack.append(.none)
            case 0x88: stack.append(.bool(true))  // NEWTRUE
            case 0x89: stack.append(.bool(false))  // NEWFALSE
            case UInt8(ascii: "J"): stack.append(.int(Int64(try read(Int32.self))))  // BININT
            case UInt8(ascii: "K"): stack.append(.int(Int64(try readByte())))  // BININT1
            case UInt8(ascii: "M"): stack.append(.int(Int64(try read(UInt16.self))))  // BININT2
            case 0x8A: stack.append(.int(try readLong(Int(try readByte()))))  // LONG1
            case 0x8B: stack.append(.int(try readLong(Int(try read(UInt32.self)))))  // LONG4
            case UInt8(ascii: "G"):  // BINFLOAT: big-endian IEEE double
                let bits = try read(UInt64.self)
                stack.append(.float(Double(bitPattern: UInt64(bigEndian: bits))))
            case UInt8(ascii: "X"): stack.append(.string(try readUTF8(Int(try read(UInt32.self)))))  // BINUNICODE
            case 0x8C: stack.append(.string(try readUTF8(Int(try readByte()))))  // SHORT_BINUNICODE
            case 0x8D:  // BINUNICODE8
                guard let length = Int(exactly: try read(UInt64.self)) else { throw fail("string too long") }
                stack.append(.string(try readUTF8(length)))
            case UInt8(ascii: "U"): stack.append(.string(latin1String(try readSlice(Int(try readByte())))))
            case UInt8(ascii: "T"): stack.append(.string(latin1String(try readSlice(Int(try read(UInt32.self))))))
            case UInt8(ascii: "C"): stack.append(.bytes(Array(try readSlice(Int(try readByte())))))  // SHORT_BINBYTES
            case UInt8(ascii: "B"): stack.append(.bytes(Array(try readSlice(Int(try read(UInt32.self))))))
            case UInt8(ascii: ")"): stack.append(.tuple([]))  // EMPTY_TUPLE
            case UInt8(ascii: "t"): stack.append(.tuple(try popToMark()))  // TUPLE
            case 0x85: stack.append(.tuple([try pop()]))  // TUPLE1
            case 0x86:  // TUPLE2
                let second = try pop()
                stack.append(.tuple([try pop(), second]))
            case 0x87:  // TUPLE3
                let third = try pop()
                let second = try pop()
                stack.append(.tuple([try pop(), second, third]))
            case UInt8(ascii: "]"): stack.append(.list(PickleList()))  // EMPTY_LIST
            case UInt8(ascii: "l"):  // LIST
                let list = PickleList()
                list.items = try popToMark()
                stack.append(.list(list))
            case UInt8(ascii: "a"): try append([try pop()])  // APPEND
            case UInt8(ascii: "e"): try append(try popToMark())  // APPENDS
            case UInt8(ascii: "}"): stack.append(.dict(PickleDict()))  // EMPTY_DICT
            case UInt8(ascii: "d"):  // DICT
                let items = try popToMark()
                stack.append(.dict(PickleDict()))
                try setItems(items)
            case UInt8(ascii: "s"):  // SETITEM
                let value = try pop()
                let key = try pop()
                try setItems([key, value])
            case UInt8(ascii: "u"): try setItems(try popToMark())  // SETITEMS
            case UInt8(ascii: "q"): try memoize(Int(try readByte()))  // BINPUT
            case UInt8(ascii: "r"): try memoize(Int(try read(UInt32.self)))  // LONG_BINPUT
            case 0x94: try memoize(memo.count)  // MEMOIZE
            case UInt8(ascii: "h"): stack.append(try recall(Int(try readByte())))  // BINGET
            case UInt8(ascii: "j"): stack.append(try recall(Int(try read(UInt32.self))))  // LONG_BINGET
            case UInt8(ascii: "c"):  // GLOBAL
                let module = try readLine()
                let name = try readLine()
                stack.append(try global(module: module, name: name, at: offset))
            case 0x93:  // STACK_GLOBAL
                let name = try pop()
                let module = try pop()
                guard case .string(let moduleText) = module, case .string(let nameText) = name else {
                    throw fail("STACK_GLOBAL needs two strings, got \(module.kindName), \(name.kindName)", at: offset)
                }
                stack.append(try global(module: moduleText, name: nameText, at: offset))
            case UInt8(ascii: "R"):  // REDUCE
                let arguments = try pop()
                let callable = try pop()
                stack.append(try call(callable, arguments, at: offset))
            case 0x81:  // NEWOBJ: only OrderedDict, with no arguments
                let arguments = try pop()
                let cls = try pop()
                guard case .global(.orderedDict) = cls, case .tuple(let args) = arguments, args.isEmpty else {
                    throw fail("NEWOBJ builds \(cls.kindName); only an empty OrderedDict is accepted", at: offset)
                }
                stack.append(.dict(PickleDict()))
            case UInt8(ascii: "Q"):  // BINPERSID
                stack.append(try persistentStorage(try pop(), at: offset))
            case UInt8(ascii: "b"):  // BUILD: attribute state; accepted (and dropped) only on dicts and tensors
                let state = try pop()
                guard let target = top else { throw fail("BUILD with nothing to build", at: offset) }
                switch (target, state) {
                case (.dict, .dict), (.dict, .tuple), (.tensor, .dict), (.tensor, .tuple), (_, .none): break
                default:
                    throw fail("BUILD sets \(state.kindName) on \(target.kindName); not accepted", at: offset)
                }
            default:
                let printable = opcode >= 0x21 && opcode < 0x7F ? " ('\(Character(Unicode.Scalar(opcode)))')" : ""
                let hex = String(opcode, radix: 16)
                throw fail(
                    "opcode 0x\(hex.count < 2 ? "0" + hex : hex)\(printable) is not one torch.save writes for "
                        + "tensors; the file is not a checkpoint this reader supports", at: offset)
            }
        }
    }
}
