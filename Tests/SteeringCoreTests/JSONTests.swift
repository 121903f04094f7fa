import Foundation
import SteeringCore
import Testing

@Suite("The one JSON string writer")
struct JSONStringTests {
    @Test("short escapes for quote, backslash, \\n \\r \\t; \\u00xx for every other control character")
    func escapes() {
        #expect(JSONString.quoted("a\"b\\c") == #""a\"b\\c""#)
        #expect(JSONString.quoted("\n\r\t") == #""\n\r\t""#)
        #expect(JSONString.quoted("\u{08}\u{0C}\u{00}\u{1F}") == #""\u0008\u000c\u0000\u001f""#)
        #expect(JSONString.quoted("é→😀 \u{7F}") == "\"é→😀 \u{7F}\"")
    }

    @Test("Foundation's JSON parser reads back every string it writes")
    func roundTrip() throws {
        var generator = SplitMix64(seed: 11)
        for _ in 0..<200 {
            let scalars = (0..<Int.random(in: 0...12, using: &generator)).map { _ -> Character in
                let pick = Int.random(in: 0..<4, using: &generator)
                let value: UInt32 =
                    pick == 0
                    ? UInt32.random(in: 0..<0x20, using: &generator)
                    : pick == 1
                        ? UInt32.random(in: 0x20..<0x80, using: &generator)
                        : pick == 2 ? UInt32.random(in: 0xA0..<0xD800, using: &generator) : 0x1F600
                return Character(Unicode.Scalar(value)!)
            }
            let text = String(scalars)
            let data = Data(JSONString.quoted(text).utf8)
            let back = try JSONSerialization.jsonObject(with: data, options: [.fragmentsAllowed]) as? String
            #expect(back == text)
        }
    }

    @Test("a recipe's canonical JSON quotes its strings with it")
    func recipeUsesIt() {
        let value = RecipeValue.object(["k\u{08}": .string("v\u{0C}\"")])
        #expect(value.canonicalJSON == "{" + JSONString.quoted("k\u{08}") + ":" + JSONString.quoted("v\u{0C}\"") + "}")
    }
}

@Suite("The one JSON reader")
struct JSONScannerTests {
    @Test("numbers keep their literal: integers, fractions, exponents, beyond Int")
    func numbers() throws {
        let value = try JSONScanner.parse(Array(#"[1, -0, 1.0, 2e3, 12345678901234567890, 3.5]"#.utf8))
        let items = try #require(value.elements)
        #expect(items.map(\.exactInteger) == [1, 0, nil, nil, nil, nil])
        #expect(items.map(\.integer) == [1, 0, 1, 2000, nil, nil])
        #expect(items[4].double == 12345678901234567890.0 && items[5].double == 3.5)
        if case .number(let number) = items[2] {
            #expect(number.literal == "1.0")
        } else {
            Issue.record("not a number")
        }
    }

    @Test("strings are bytes with escapes resolved; objects keep their order")
    func stringsAndObjects() throws {
        let value = try JSONScanner.parse(Array(#"{"b": "x\u00e9\ud83d\ude00\n", "a": [true, null]}"#.utf8))
        #expect(value.members?.map(\.keyText) == ["b", "a"])
        #expect(value["b"]?.text == "xé😀\n")
        #expect(value["a"]?.elements == [.bool(true), .null])
    }

    @Test("repeated keys: refused by default, the last one kept when asked")
    func repeatedKeys() throws {
        let text = Array(#"{"k": 1, "k": 2}"#.utf8)
        #expect(throws: JSONSyntaxError.self) { try JSONScanner.parse(text) }
        let kept = try JSONScanner.parse(text, refusingRepeatedKeys: false)
        #expect(kept["k"]?.exactInteger == 2 && kept.members?.count == 2)
    }

    @Test(
        "malformed text is refused with the byte offset",
        arguments: [
            ("", 0), ("[1,]", 3), ("{\"a\" 1}", 5), ("01", 1), ("1.", 2), ("\"\\ud800\"", 7), ("\"a\u{01}\"", 2),
            ("[1] x", 4), ("tru", 0), ("\"\\q\"", 2),
        ])
    func malformed(text: String, offset: Int) {
        do {
            _ = try JSONScanner.parse(Array(text.utf8))
            Issue.record("accepted \(text.debugDescription)")
        } catch {
            #expect(error.offset == offset, "\(text.debugDescription): \(error)")
        }
    }

    @Test("readInteger: the whole Int range, fractions and overflow refused")
    func integers() throws {
        func read(_ text: String) throws(JSONSyntaxError) -> Int {
            let result: Result<Int, JSONSyntaxError> = Array(text.utf8).withUnsafeBytes { raw in
                var scanner = JSONScanner(bytes: raw)
                do throws(JSONSyntaxError) { return .success(try scanner.readInteger()) } catch {
                    return .failure(error)
                }
            }
            return try result.get()
        }
        #expect(try read(" 0") == 0)
        #expect(try read("-17") == -17)
        #expect(try read("9223372036854775807") == Int.max)
        #expect(try read("-9223372036854775808") == Int.min)
        for bad in ["9223372036854775808", "-9223372036854775809", "1.5", "2e3", "x", "-"] {
            #expect(throws: JSONSyntaxError.self, "\(bad)") { _ = try read(bad) }
        }
    }

    @Test("nesting deeper than the limit is refused, not a crash")
    func nesting() {
        let deep = Array((String(repeating: "[", count: 100_000)).utf8)
        #expect(throws: JSONSyntaxError.self) { try JSONScanner.parse(deep) }
    }

    @Test("streaming: a large object is walked member by member")
    func streaming() throws {
        let text = Array(#"{"vocab": {"a": 0, "b": 1}, "skip": [1, {"x": [2]}], "tail": 7}"#.utf8)
        try text.withUnsafeBytes { raw in
            var scanner = JSONScanner(bytes: raw)
            try scanner.beginObject()
            var key: [UInt8] = [], first = true
            var seen: [String] = []
            var ids: [Int] = []
            while try scanner.nextKey(into: &key, first: &first) {
                seen.append(String(decoding: key, as: UTF8.self))
                switch seen.last {
                case "vocab":
                    try scanner.beginObject()
                    var token: [UInt8] = [], firstToken = true
                    while try scanner.nextKey(into: &token, first: &firstToken) {
                        ids.append(try scanner.readInteger())
                    }
                case "tail": ids.append(try scanner.readInteger())
                default: try scanner.skipValue()
                }
            }
            try scanner.expectEnd()
            #expect(seen == ["vocab", "skip", "tail"] && ids == [0, 1, 7])
        }
    }
}
