import Foundation
import SteeringCore

/// Hyper-parameters of ``LinearAdamEstimator``. The defaults are the SAE-TS authors' training run
/// (method.md §4): Adam with PyTorch defaults at lr 2·10⁻⁴, cosine annealing over 15 epochs stepped once
/// per epoch, batch 64, reshuffled every epoch.
public struct LinearAdamConfiguration: EstimatorConfiguration {
    /// Peak learning rate (epoch 0).
    public var learningRate: Double = 2e-4
    /// Adam's first-moment decay β₁.
    public var beta1: Double = 0.9
    /// Adam's second-moment decay β₂.
    public var beta2: Double = 0.999
    /// Adam's ε, added to the bias-corrected √v.
    public var epsilon: Double = 1e-8
    /// Passes over the training rows.
    public var epochs: Int = 15
    /// Rows per optimiser step; the last batch of an epoch holds the remainder.
    public var batchSize: Int = 64
    /// Cosine period `T_max` in epochs; `nil` means ``epochs`` (the authors' setting).
    public var schedulePeriod: Int?
    /// Seed of the initial weights and of every epoch's batch order.
    public var seed: Int = 0
    /// Stop after this many optimiser steps (`0`: run every epoch). For benchmarks and smoke tests.
    public var maxSteps: Int = 0
    /// Convergence rule (`0`: off, the authors' fixed epochs): stop once `patience` epochs in a row have
    /// not brought the epoch's mean training loss below `(1 − tolerance)` × the best earlier epoch's;
    /// ``epochs`` is then the cap (and the cosine period, unless ``schedulePeriod`` is set).
    public var patience: Int = 0
    /// Relative improvement that counts for ``patience``.
    public var tolerance: Double = 1e-3

    /// The authors' settings.
    public init() {}

    /// Reads the options named in ``optionKeys`` (missing ones keep their defaults).
    /// - Throws: ``SteeringError/invalidArgument(what:problem:)`` for an unknown key or a bad value.
    public init(options: [String: String]) throws(SteeringError) {
        let reader = try EstimatorOptionReader(
            estimator: LinearAdamEstimator.registryName, values: options, known: Self.optionKeys)
        learningRate = try reader.double("learning-rate", learningRate)
        beta1 = try reader.double("beta1", beta1)
        beta2 = try reader.double("beta2", beta2)
        epsilon = try reader.double("epsilon", epsilon)
        epochs = try reader.int("epochs", epochs)
        batchSize = try reader.int("batch-size", batchSize)
        let period = try reader.int("t-max", 0)
        schedulePeriod = period == 0 ? nil : period
        seed = try reader.int("seed", seed)
        maxSteps = try reader.int("max-steps", maxSteps)
        patience = try reader.int("patience", patience)
        tolerance = try reader.double("tolerance", tolerance)
        try validate()
    }

    /// The options ``init(options:)`` understands, with their defaults (the authors' run).
    public static let optionSpecs = [
        PluginOptionSpec("learning-rate", default: "2e-4", "peak learning rate (epoch 0)"),
        PluginOptionSpec("beta1", default: "0.9", "Adam β₁"),
        PluginOptionSpec("beta2", default: "0.999", "Adam β₂"),
        PluginOptionSpec("epsilon", default: "1e-8", "Adam ε"),
        PluginOptionSpec("epochs", default: "15", "passes over the training rows"),
        PluginOptionSpec("batch-size", default: "64", "rows per optimiser step"),
        PluginOptionSpec("t-max", default: "0", "cosine period in epochs (0: equal to epochs)"),
        PluginOptionSpec("seed", default: "0", "seed of the initial M and of every epoch's batch order"),
        PluginOptionSpec("max-steps", default: "0", "stop after this many optimiser steps (0: no limit)"),
        PluginOptionSpec(
            "patience", default: "0",
            "stop after this many epochs without a relative training-loss gain of `tolerance` (0: run every epoch)"),
        PluginOptionSpec("tolerance", default: "1e-3", "relative epoch-loss gain that resets `patience`"),
    ]

    /// The option keys ``init(options:)`` understands.
    public static let optionKeys = optionSpecs.map(\.key)

    /// Checks every range; messages name the option.
    public func validate() throws(SteeringError) {
        func fail(_ key: String, _ value: Any, _ rule: String) -> SteeringError {
            .invalidArgument(what: "linear-adam option '\(key)' = \(value)", problem: rule)
        }
        guard learningRate > 0, learningRate.isFinite else { throw fail("learning-rate", learningRate, "must be > 0") }
        guard beta1 >= 0, beta1 < 1 else { throw fail("beta1", beta1, "must be in [0, 1)") }
        guard beta2 >= 0, beta2 < 1 else { throw fail("beta2", beta2, "must be in [0, 1)") }
        guard epsilon > 0, epsilon.isFinite else { throw fail("epsilon", epsilon, "must be > 0") }
        guard epochs >= 1 else { throw fail("epochs", epochs, "must be ≥ 1") }
        guard batchSize >= 1 else { throw fail("batch-size", batchSize, "must be ≥ 1") }
        if let schedulePeriod, schedulePeriod < 1 { throw fail("t-max", schedulePeriod, "must be ≥ 1") }
        guard seed >= 0 else { throw fail("seed", seed, "must be ≥ 0") }
        guard maxSteps >= 0 else { throw fail("max-steps", maxSteps, "must be ≥ 0 (0 = no limit)") }
        guard patience >= 0 else { throw fail("patience", patience, "must be ≥ 0 (0 = no convergence rule)") }
        guard tolerance >= 0, tolerance < 1 else { throw fail("tolerance", tolerance, "must be in [0, 1)") }
    }

    /// The learning rate of 0-based `epoch`: `lr·(1 + cos(π·epoch/T_max))/2` (PyTorch `CosineAnnealingLR`
    /// with `eta_min = 0`, stepped once per epoch).
    public func learningRate(epoch: Int) -> Double {
        let period = Double(schedulePeriod ?? epochs)
        return learningRate * (1 + cos(Double.pi * Double(epoch) / period)) / 2
    }

    /// Optimiser steps of a full run on `rows` training rows (before ``maxSteps``).
    public func steps(rows: Int) -> Int {
        let perEpoch = (rows + batchSize - 1) / batchSize
        let all = perEpoch * epochs
        return maxSteps > 0 ? min(all, maxSteps) : all
    }

    /// Every hyper-parameter, as recorded in the estimator artifact's recipe. The fixed parts of the
    /// recipe (loss, initialisation, schedule, input normalisation) are spelled out so the recipe alone
    /// says what was computed.
    public var parameters: [String: RecipeValue] {
        var values: [String: RecipeValue] = [
            "learning-rate": .double(learningRate), "beta1": .double(beta1), "beta2": .double(beta2),
            "epsilon": .double(epsilon), "epochs": .int(epochs), "batch-size": .int(batchSize),
            "t-max": .int(schedulePeriod ?? epochs), "seed": .int(seed), "max-steps": .int(maxSteps),
            "loss": "mse-mean", "optimizer": "adam-pytorch", "schedule": "cosine-annealing-per-epoch",
            "init": "kaiming-uniform-fan-in-d-sae", "input-normalisation": "unit-length",
            "shuffle": "splitmix64-fisher-yates-per-epoch",
        ]
        // Recorded only when set, so models fitted before the rule existed keep their keys.
        if patience > 0 {
            values["patience"] = .int(patience)
            values["tolerance"] = .double(tolerance)
            values["stopping"] = "epoch-mean-training-loss-plateau"
        }
        return values
    }
}
