import ArgumentParser

/// `steer estimators`: fit, compare, import and benchmark effect estimators.
struct EstimatorsCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "estimators",
        abstract: "Fit, compare, import and benchmark effect estimators (ŷ = x̂·M + b).",
        discussion: """
            Estimators: ridge (closed form, λ by k-fold cross-validation) and linear-adam (the SAE-TS \
            authors' Adam training). Fitted models are `estimator` artifacts in the store; see Docs/Estimators.md.
            """,
        subcommands: [EstimatorsFit.self, EstimatorsCompare.self, EstimatorsImport.self, EstimatorsBench.self])
}
