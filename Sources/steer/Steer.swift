import ArgumentParser
import SteeringNumerics

@main
struct Steer: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "steer",
        abstract: "Measure, estimate, build, apply and store SAE-targeted steering vectors.",
        discussion: """
            Models are Hugging Face Gemma-2 checkpoint directories; dictionaries are Gemma Scope params.npz \
            files or SAELens directories. Every expensive result is stored in a content-addressed LMDB store \
            (--store, default $STEER_STORE or ~/.steer/store).
            """,
        subcommands: [
            Tokenize.self, Forward.self, Generate.self, Features.self, SAECommand.self, EffectsCommand.self,
            EstimatorsCommand.self, VectorCommand.self, TasksCommand.self, Evaluate.self, Demo.self, Store.self,
            Bench.self, Serve.self, Activations.self, PluginsCommand.self,
        ])

    /// Checks `STEER_KERNEL_LEVEL` before any command runs: a value that names no level stops here
    /// with an error naming it (the kernels alone would ignore it).
    static func main() async {
        do {
            _ = try Kernels.environmentLevel()
        } catch {
            exit(withError: error)
        }
        await main(nil)
    }
}
