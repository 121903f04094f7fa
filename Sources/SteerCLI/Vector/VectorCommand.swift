import ArgumentParser

/// `steer vector`: build, inspect and export steering vectors.
struct VectorCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "vector", abstract: "Build, inspect and export steering vectors.",
        discussion: """
            Export takes a vector artifact in the store (alias, key or unique key prefix) or a .npy file and \
            writes it for other tools (llama.cpp GGUF, numpy, safetensors, JSON). See Docs/Interop.md for the \
            llama.cpp layer convention.
            """,
        subcommands: [VectorMake.self, VectorInspect.self, VectorExport.self])
}
