import ArgumentParser
import SteeringCore
import SteeringPlugins

struct PluginsCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "plugins",
        abstract:
            "List the registered model backends, dictionaries, estimators, strategies and judges with their options.",
        discussion: """
            Options are set by name: --estimator-option NAME.KEY=VALUE (estimators fit/compare/bench), \
            --strategy-option NAME.KEY=VALUE (vector make, evaluate). A default of "—" means the option has none \
            (it is required, or its help says what its absence means).
            """)

    @Option(help: "Only this kind: backend, dictionary, estimator, strategy or judge.")
    var kind: String?

    func run() throws {
        let kinds: [PluginKind]
        if let kind {
            guard let only = PluginKind(rawValue: kind) else {
                throw ValidationError(
                    "--kind '\(kind)': use one of \(PluginKind.allCases.map(\.rawValue).joined(separator: ", ")).")
            }
            kinds = [only]
        } else {
            kinds = PluginKind.allCases
        }
        print(try Self.listing(kinds, registry: Steer.registry), terminator: "")
    }

    /// The text `steer plugins` prints for `kinds`.
    static func listing(_ kinds: [PluginKind], registry: PluginRegistry) throws -> String {
        var text = ""
        for kind in kinds {
            text += "\(kind.rawValue) plugins (\(kind.title)):\n"
            for name in registry.names(of: kind) {
                let options = try registry.options(of: kind, named: name)
                text += "  \(name)\(options.isEmpty ? "  (no options)" : "")\n"
                let keyWidth = options.map(\.key.count).max() ?? 0
                let defaultWidth = options.map { ($0.defaultValue ?? "—").count }.max() ?? 0
                for option in options {
                    let key = option.key.padding(toLength: keyWidth, withPad: " ", startingAt: 0)
                    let value = (option.defaultValue ?? "—").padding(
                        toLength: defaultWidth, withPad: " ", startingAt: 0)
                    text += "    \(key)  \(value)  \(option.help)\n"
                }
            }
        }
        return text
    }
}
