import SteeringCore

/// Reads JSON text into a ``RecipeValue`` without losing the distinction between integers and doubles, so
/// that a recipe read back from a header has the same canonical bytes (and key) as the recipe that was
/// written. The text is read by the one JSON reader (``JSONScanner``), repeated keys refused.
///
/// A number is an integer when it has no fraction or exponent and fits in `Int`; otherwise a finite double.
/// Foundation's decoders cannot be used here: they may read `1.0` back as the integer `1`.
enum CanonicalJSONParser {
    /// Parses one JSON document; whitespace around it is allowed, anything else after it is not.
    static func parse(_ bytes: some Collection<UInt8>) throws(JSONSyntaxError) -> RecipeValue {
        try recipeValue(JSONScanner.parse(bytes, refusingRepeatedKeys: true))
    }

    private static func recipeValue(_ value: JSONValue) throws(JSONSyntaxError) -> RecipeValue {
        switch value {
        case .null: return .null
        case .bool(let flag): return .bool(flag)
        case .string(let bytes): return .string(String(decoding: bytes, as: UTF8.self))
        case .number(let number):
            if let integer = number.integer { return .int(integer) }
            let double = number.double
            guard double.isFinite else {
                throw JSONSyntaxError(offset: 0, problem: "'\(number.literal)' is not a finite number")
            }
            return .double(double)
        case .array(let elements):
            var items: [RecipeValue] = []
            items.reserveCapacity(elements.count)
            for element in elements { items.append(try recipeValue(element)) }
            return .array(items)
        case .object(let members):
            var object: [String: RecipeValue] = [:]
            for member in members { object[member.keyText] = try recipeValue(member.value) }
            return .object(object)
        }
    }
}
