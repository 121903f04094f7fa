import ArtifactStore
import Foundation
import SteeringCore

/// Text and JSON rendering shared by the `steer store` subcommands.
enum StoreOutput {
    /// Prints rows as a left-aligned table with a header line; the last column is not padded.
    static func printTable(_ header: [String], _ rows: [[String]]) {
        let all = [header] + rows
        let widths = header.indices.map { column in all.map { $0[column].count }.max() ?? 0 }
        for row in all {
            let cells = row.enumerated().map { index, cell in
                index == row.count - 1 ? cell : cell.padding(toLength: widths[index], withPad: " ", startingAt: 0)
            }
            let line = cells.joined(separator: "  ")
            print(line.hasSuffix(" ") ? String(line.reversed().drop { $0 == " " }.reversed()) : line)
        }
    }

    /// Prints an `Encodable` value as pretty JSON with sorted keys.
    static func printJSON(_ value: some Encodable) throws {
        let encoder = JSONEncoder()
        encoder.outputFormatting = [.prettyPrinted, .sortedKeys, .withoutEscapingSlashes]
        print(String(decoding: try encoder.encode(value), as: UTF8.self))
    }

    /// `1.5 KiB`, `12.0 MiB`: sizes in binary units.
    static func bytes(_ count: Int) -> String {
        let units = ["B", "KiB", "MiB", "GiB", "TiB"]
        var value = Double(count)
        var unit = 0
        while value >= 1024, unit < units.count - 1 {
            value /= 1024
            unit += 1
        }
        return unit == 0 ? "\(count) B" : String(format: "%.1f", value) + " " + units[unit]
    }

    /// `[2304, 16384]`.
    static func shape(_ shape: [Int]) -> String { "[" + shape.map(String.init).joined(separator: ", ") + "]" }

    /// Indented JSON of a recipe value that keeps doubles as written (`1.0` stays `1.0`).
    static func prettyJSON(_ value: RecipeValue, indent: String = "") -> String {
        let inner = indent + "  "
        switch value {
        case .object(let fields) where !fields.isEmpty:
            let lines = fields.keys.sorted().map { key in
                inner + RecipeValue.string(key).canonicalJSON + ": " + prettyJSON(fields[key]!, indent: inner)
            }
            return "{\n" + lines.joined(separator: ",\n") + "\n" + indent + "}"
        case .array(let items) where !items.isEmpty && items.contains(where: Self.isContainer):
            let lines = items.map { inner + prettyJSON($0, indent: inner) }
            return "[\n" + lines.joined(separator: ",\n") + "\n" + indent + "]"
        default:
            return value.canonicalJSON
        }
    }

    private static func isContainer(_ value: RecipeValue) -> Bool {
        switch value {
        case .object, .array: true
        default: false
        }
    }

    /// One artifact as scripts see it in `--json` output.
    struct ArtifactSummary: Encodable {
        var key: String
        var kind: String
        var dtype: String
        var shape: [Int]
        var payloadSize: Int
        var payloadDigest: String
        var algorithm: String
        var version: Int
        var createdAt: String
        var aliases: [String]

        init(key: ContentDigest, header: ArtifactHeader, aliases: [String]) {
            self.key = key.hex
            self.kind = header.kind.rawValue
            self.dtype = header.dtype.rawValue
            self.shape = header.shape
            self.payloadSize = header.payloadSize
            self.payloadDigest = header.payloadDigest.hex
            self.algorithm = header.recipe.algorithm
            self.version = header.recipe.version
            self.createdAt = header.createdAt
            self.aliases = aliases
        }
    }
}
