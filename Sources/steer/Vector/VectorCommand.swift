import ArgumentParser

/// `steer vector`: work with steering vectors (export first; making and inspecting them come later).
struct VectorCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "vector",
        abstract: "Export steering vectors for other tools (llama.cpp, numpy, safetensors, JSON).",
        discussion: """
            A VECTOR is a vector artifact in the store (alias, key or unique key prefix) or a .npy file. \
            See Docs/Interop.md for the llama.cpp layer convention.
            """,
        subcommands: [VectorExport.self])
}
