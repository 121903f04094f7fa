import ArgumentParser
public import SteeringCore
import SteeringNumerics
import SteeringPlugins

/// The `steer` command line as a library: the `steer` executable runs ``start()``; a tool that ships its own
/// plugins runs the same commands with its registry (``start(registry:)``, or ``run(_:registry:)`` in-process).
public struct Steer: AsyncParsableCommand {
    public static let configuration = CommandConfiguration(
        commandName: "steer",
        abstract: "Measure, estimate, build, apply and store SAE-targeted steering vectors.",
        discussion: """
            Models are Hugging Face Gemma-2 or Gemma-3 checkpoint directories or GGUF files (the backend \
            follows the checkpoint; --backend overrides it); dictionaries are Gemma Scope params.npz files, \
            Gemma Scope 2 params.safetensors + config.json directories or SAELens directories. Every \
            expensive result is stored in a content-addressed LMDB store (--store, default $STEER_STORE or \
            ~/.steer/store).
            """,
        subcommands: [
            Tokenize.self, Forward.self, Generate.self, Features.self, SAECommand.self, EffectsCommand.self,
            EstimatorsCommand.self, VectorCommand.self, TasksCommand.self, Evaluate.self, Demo.self, Store.self,
            Serve.self, Activations.self, PluginsCommand.self,
        ])

    /// Checks `STEER_KERNEL_LEVEL` before any command runs: a value that names no level stops here
    /// with an error naming it (the kernels alone would ignore it).
    /// The `steer` process: checks `STEER_KERNEL_LEVEL`, runs the command line, exits like a command-line tool.
    public static func start() async {
        do {
            _ = try Kernels.environmentLevel()
        } catch {
            exit(withError: error)
        }
        do {
            try await parseAndRun(nil)
        } catch {
            exit(withError: error)
        }
    }

    /// Parses `arguments` (nil: the process's) and runs the command, awaiting asynchronous ones.
    static func parseAndRun(_ arguments: [String]?) async throws {
        var command = try parseAsRoot(arguments)
        if var asynchronous = command as? any AsyncParsableCommand {
            try await asynchronous.run()
        } else {
            try command.run()
        }
    }

    /// The registry every command resolves plugins through: the standard plugins unless an embedding
    /// tool runs the commands with its own.
    @TaskLocal public static var registry: PluginRegistry = .standard

    /// `steer` with `registry` instead of the standard plugins (exits like `steer`).
    public static func start(registry: PluginRegistry) async {
        await $registry.withValue(registry) { await start() }
    }

    /// Parses `arguments` (without the program name) and runs the command in this process with
    /// `registry`, throwing instead of exiting; help and usage errors are thrown as ArgumentParser's errors.
    public static func run(_ arguments: [String], registry: PluginRegistry) async throws {
        try await $registry.withValue(registry) { try await parseAndRun(arguments) }
    }

    public init() {}
}
