import ArgumentParser
import Foundation

struct Tokenize: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        abstract: "Print the token ids of a text as a JSON array.")

    @OptionGroup var model: ModelOptions

    @Option(help: "Text to tokenize.")
    var text: String

    @Flag(help: "Do not prepend the BOS token.")
    var noBos = false

    func run() async throws {
        let backend = try model.load()
        let ids = backend.encode(text, addBOS: !noBos)
        print("[" + ids.map(String.init).joined(separator: ",") + "]")
    }
}
