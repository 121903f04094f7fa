import SteeringCore

/// Hyper-parameters of ``RidgeEstimator``.
public struct RidgeConfiguration: EstimatorConfiguration {
    /// Candidate penalties λ (on the Gram matrix of unit-length inputs); with one value no
    /// cross-validation runs. Default: one per decade from 10⁻⁴ to 10³.
    public var lambdas: [Double] = [1e-4, 1e-3, 1e-2, 1e-1, 1, 10, 100, 1000]
    /// Cross-validation folds (contiguous blocks of the training rows, in the order given).
    public var folds: Int = 5
    /// Rows per streamed chunk of the single pass over the data.
    public var chunkRows: Int = 1024

    /// The default grid and 5 folds.
    public init() {}

    /// A configuration with the given grid and folds.
    public init(lambdas: [Double], folds: Int = 5, chunkRows: Int = 1024) {
        self.lambdas = lambdas
        self.folds = folds
        self.chunkRows = chunkRows
    }

    /// Reads the options named in ``optionKeys``: `lambdas` (comma-separated), `lambda` (one fixed
    /// value, no cross-validation), `folds`, `chunk-rows`.
    /// - Throws: ``SteeringError/invalidArgument(what:problem:)`` for an unknown key or a bad value.
    public init(options: [String: String]) throws(SteeringError) {
        let reader = try EstimatorOptionReader(
            estimator: RidgeEstimator.registryName, values: options, known: Self.optionKeys)
        if options["lambda"] != nil, options["lambdas"] != nil {
            throw .invalidArgument(
                what: "ridge options 'lambda' and 'lambdas'", problem: "give one fixed λ or a grid, not both")
        }
        lambdas = try reader.doubles("lambdas", lambdas)
        if options["lambda"] != nil { lambdas = [try reader.double("lambda", 0)] }
        folds = try reader.int("folds", folds)
        chunkRows = try reader.int("chunk-rows", chunkRows)
        try validate()
    }

    /// The options ``init(options:)`` understands, with their defaults.
    public static let optionSpecs = [
        PluginOptionSpec(
            "lambdas", default: "1e-4,1e-3,1e-2,1e-1,1,10,100,1000", "candidate penalties, chosen by cross-validation"),
        PluginOptionSpec("lambda", "one fixed penalty instead of the grid (no cross-validation)"),
        PluginOptionSpec("folds", default: "5", "cross-validation folds (contiguous blocks of the training rows)"),
        PluginOptionSpec("chunk-rows", default: "1024", "rows per streamed chunk of the one pass over the data"),
    ]

    /// The option keys ``init(options:)`` understands.
    public static let optionKeys = optionSpecs.map(\.key)

    /// Whether λ is chosen by cross-validation (more than one candidate).
    public var crossValidates: Bool { lambdas.count > 1 }

    /// Checks every range; messages name the option.
    public func validate() throws(SteeringError) {
        guard !lambdas.isEmpty else {
            throw .invalidArgument(what: "ridge option 'lambdas'", problem: "give at least one λ ≥ 0")
        }
        for lambda in lambdas where !(lambda >= 0 && lambda.isFinite) {
            throw .invalidArgument(what: "ridge λ = \(lambda)", problem: "every λ must be finite and ≥ 0")
        }
        guard Set(lambdas).count == lambdas.count else {
            throw .invalidArgument(what: "ridge option 'lambdas' = \(lambdas)", problem: "values must be distinct")
        }
        if crossValidates, folds < 2 {
            throw .invalidArgument(
                what: "ridge option 'folds' = \(folds)", problem: "cross-validation needs at least 2 folds")
        }
        guard chunkRows >= 1 else {
            throw .invalidArgument(what: "ridge option 'chunk-rows' = \(chunkRows)", problem: "must be ≥ 1")
        }
    }

    /// The smallest number of training rows a fit accepts: two per fold (two without cross-validation).
    public var minimumRows: Int { crossValidates ? 2 * folds : 2 }

    /// Every hyper-parameter, as recorded in the estimator artifact's recipe.
    public var parameters: [String: RecipeValue] {
        [
            "lambdas": .array(lambdas.map { .double($0) }), "folds": .int(crossValidates ? folds : 1),
            "chunk-rows": .int(chunkRows), "fold-assignment": "contiguous", "selection": "min-cv-mse",
            "bias": "unpenalised", "input-normalisation": "unit-length",
        ]
    }
}
