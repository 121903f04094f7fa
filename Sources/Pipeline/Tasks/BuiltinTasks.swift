/// A task shipped with the framework: its name and the exact JSON text of its task file.
///
/// Built-in tasks are Swift raw string literals (one file per task in `Builtin/`) rather than bundle
/// resources, so `steer` finds them wherever the executable is copied; see Docs/Tasks.md.
public struct BuiltinTask: Sendable {
    /// The task's `name`.
    public let name: String
    /// The task file, verbatim.
    public let json: String
}

/// The method's nine Gemma-2-2B tasks (arXiv 2411.02193 §5; ids from the authors' configs).
enum BuiltinTasks {
    static let all: [BuiltinTask] = [
        anger, christianEvangelist, conspiracy, french, london, love, praise, wantToDie, wedding,
    ]
}
