/// Options handed to a plugin's creator: a primary path and free-form key/value settings.
public struct PluginOptions: Sendable, Hashable {
    /// A file or directory (checkpoint, SAE, estimator file), when the plugin loads one.
    public var path: String?
    /// Plugin-specific settings (e.g. `layer=12`, `lambda=0.5`).
    public var values: [String: String]

    public init(path: String? = nil, values: [String: String] = [:]) {
        self.path = path
        self.values = values
    }

    /// The required path, or an error naming the plugin.
    public func requirePath(for plugin: String) throws(SteeringError) -> String {
        guard let path, !path.isEmpty else {
            throw .invalidArgument(what: "options for '\(plugin)'", problem: "a path is required")
        }
        return path
    }
}

/// The kinds of plugin the registry holds.
public enum PluginKind: String, Sendable, CaseIterable {
    case backend, dictionary, estimator, strategy, judge

    /// How messages and listings name the kind.
    public var title: String {
        switch self {
        case .backend: "model backend"
        case .dictionary: "feature dictionary"
        case .estimator: "estimator"
        case .strategy: "strategy"
        case .judge: "judge"
        }
    }
}

/// A setting a plugin declares when it registers: `steer plugins` lists it with its default, and the
/// CLI sets it by name (`--estimator-option linear-adam.epochs=30`) without knowing the plugin.
public struct PluginOptionSpec: Sendable, Hashable {
    /// The option's key.
    public let key: String
    /// The value used when the option is not given, as text; `nil` when there is none (the option is
    /// required, or its absence means something the help says).
    public let defaultValue: String?
    /// One line saying what it does.
    public let help: String

    public init(_ key: String, default defaultValue: String? = nil, _ help: String) {
        self.key = key
        self.defaultValue = defaultValue
        self.help = help
    }
}

/// The table of every plugin, keyed by stable names. Immutable after construction; built once in
/// the composition root (`SteeringPlugins`).
public struct PluginRegistry: Sendable {
    public typealias BackendCreator = @Sendable (PluginOptions) throws -> any ModelBackend
    public typealias DictionaryCreator = @Sendable (PluginOptions) throws -> any FeatureDictionary
    public typealias EstimatorCreator = @Sendable (PluginOptions) throws -> any EffectEstimator
    public typealias StrategyCreator = @Sendable (PluginOptions) throws -> any SteeringStrategy
    public typealias JudgeCreator = @Sendable (PluginOptions, JudgeContext) throws -> any Judge

    private var backends: [String: BackendCreator] = [:]
    /// Model architecture (`model_type` of config.json, `general.architecture` of GGUF) → backend name.
    private var architectures: [String: String] = [:]
    private var dictionaries: [String: DictionaryCreator] = [:]
    private var estimators: [String: EstimatorCreator] = [:]
    private var strategies: [String: StrategyCreator] = [:]
    private var judges: [String: JudgeCreator] = [:]
    /// The options each plugin declared, by kind and name.
    private var declared: [PluginKind: [String: [PluginOptionSpec]]] = [:]

    public init() {}

    /// Registers a model backend, and the model architectures it runs (`model_type` values of a
    /// Hugging Face config.json, `general.architecture` values of a GGUF file) so that a checkpoint
    /// finds its backend by itself. Registering a name or an architecture twice is a programming error.
    public mutating func register(
        backend name: String, architectures handled: [String] = [], options: [PluginOptionSpec] = [],
        _ create: @escaping BackendCreator
    ) {
        precondition(backends[name] == nil, "backend '\(name)' registered twice")
        backends[name] = create
        declare(.backend, name, options)
        for architecture in handled {
            precondition(architectures[architecture] == nil, "architecture '\(architecture)' registered twice")
            architectures[architecture] = name
        }
    }

    /// The backend registered for a model architecture.
    /// - Throws: ``SteeringError/unknownPlugin(kind:name:available:)`` listing the architectures that
    ///   have a backend.
    public func backendName(forArchitecture architecture: String) throws(SteeringError) -> String {
        guard let name = architectures[architecture] else {
            throw .unknownPlugin(
                kind: "model architecture (no backend runs it; pass --backend to force one)", name: architecture,
                available: architectures.keys.sorted())
        }
        return name
    }

    /// Registers a feature dictionary loader and the options it declares.
    public mutating func register(
        dictionary name: String, options: [PluginOptionSpec] = [], _ create: @escaping DictionaryCreator
    ) {
        precondition(dictionaries[name] == nil, "dictionary '\(name)' registered twice")
        dictionaries[name] = create
        declare(.dictionary, name, options)
    }

    /// Registers an effect estimator and the options it declares.
    public mutating func register(
        estimator name: String, options: [PluginOptionSpec] = [], _ create: @escaping EstimatorCreator
    ) {
        precondition(estimators[name] == nil, "estimator '\(name)' registered twice")
        estimators[name] = create
        declare(.estimator, name, options)
    }

    /// Registers a steering strategy and the options its ``SteeringStrategy/makeVector(_:)`` reads
    /// from ``StrategyInputs/options``.
    public mutating func register(
        strategy name: String, options: [PluginOptionSpec] = [], _ create: @escaping StrategyCreator
    ) {
        precondition(strategies[name] == nil, "strategy '\(name)' registered twice")
        strategies[name] = create
        declare(.strategy, name, options)
    }

    /// Registers a judge and the options it declares.
    public mutating func register(
        judge name: String, options: [PluginOptionSpec] = [], _ create: @escaping JudgeCreator
    ) {
        precondition(judges[name] == nil, "judge '\(name)' registered twice")
        judges[name] = create
        declare(.judge, name, options)
    }

    private mutating func declare(_ kind: PluginKind, _ name: String, _ options: [PluginOptionSpec]) {
        precondition(Set(options.map(\.key)).count == options.count, "\(kind.title) '\(name)' declares a key twice")
        declared[kind, default: [:]][name] = options
    }

    /// Sorted names of the registered plugins of `kind`.
    public func names(of kind: PluginKind) -> [String] {
        switch kind {
        case .backend: backendNames
        case .dictionary: dictionaryNames
        case .estimator: estimatorNames
        case .strategy: strategyNames
        case .judge: judgeNames
        }
    }

    /// The options the plugin `name` of `kind` declared, in its order.
    /// - Throws: ``SteeringError/unknownPlugin(kind:name:available:)`` listing the registered names.
    public func options(of kind: PluginKind, named name: String) throws(SteeringError) -> [PluginOptionSpec] {
        guard let options = declared[kind]?[name] else {
            throw .unknownPlugin(kind: kind.title, name: name, available: names(of: kind))
        }
        return options
    }

    /// Checks `keys` against the options the plugin declared.
    /// - Throws: ``SteeringError/invalidArgument(what:problem:)`` naming the first undeclared key and
    ///   listing the declared ones, or ``SteeringError/unknownPlugin(kind:name:available:)``.
    public func checkOptionKeys(_ keys: some Sequence<String>, of kind: PluginKind, named name: String)
        throws(SteeringError)
    {
        let declared = try options(of: kind, named: name).map(\.key)
        for key in keys where !declared.contains(key) {
            throw .invalidArgument(
                what: "\(kind.title) '\(name)' option '\(key)'",
                problem: declared.isEmpty
                    ? "it takes no options" : "unknown; its options are \(declared.joined(separator: ", "))")
        }
    }

    /// Sorted names of the registered backends, dictionaries, estimators, strategies and judges.
    public var backendNames: [String] { backends.keys.sorted() }
    public var dictionaryNames: [String] { dictionaries.keys.sorted() }
    public var estimatorNames: [String] { estimators.keys.sorted() }
    public var strategyNames: [String] { strategies.keys.sorted() }
    public var judgeNames: [String] { judges.keys.sorted() }

    /// Creates the backend registered as `name`.
    /// - Throws: ``SteeringError/unknownPlugin(kind:name:available:)`` listing the registered names.
    public func backend(_ name: String, _ options: PluginOptions = PluginOptions()) throws -> any ModelBackend {
        try Self.lookup(backends, kind: "model backend", name: name)(options)
    }

    /// Creates the dictionary registered as `name`.
    public func dictionary(_ name: String, _ options: PluginOptions = PluginOptions()) throws -> any FeatureDictionary {
        try Self.lookup(dictionaries, kind: "feature dictionary", name: name)(options)
    }

    /// Creates the estimator registered as `name`.
    public func estimator(_ name: String, _ options: PluginOptions = PluginOptions()) throws -> any EffectEstimator {
        try Self.lookup(estimators, kind: "estimator", name: name)(options)
    }

    /// Creates the strategy registered as `name`.
    public func strategy(_ name: String, _ options: PluginOptions = PluginOptions()) throws -> any SteeringStrategy {
        try Self.lookup(strategies, kind: "strategy", name: name)(options)
    }

    /// Creates the judge registered as `name`, with what the caller already holds in `context` (this
    /// registry loads anything else the judge needs by name).
    public func judge(
        _ name: String, _ options: PluginOptions = PluginOptions(), context: JudgeContext = JudgeContext()
    ) throws -> any Judge {
        var context = context
        if context.registry == nil { context.registry = self }
        return try Self.lookup(judges, kind: "judge", name: name)(options, context)
    }

    private static func lookup<C>(_ table: [String: C], kind: String, name: String) throws(SteeringError) -> C {
        guard let creator = table[name] else {
            throw .unknownPlugin(kind: kind, name: name, available: table.keys.sorted())
        }
        return creator
    }
}
