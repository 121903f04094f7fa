import SteeringCore
import SteeringNumerics

/// The SAE-TS effect approximator trained exactly as the authors did (method.md §4, `LinearAdapter` in
/// ft_effects/utils.py and `train` in ft_effects/train.py).
///
/// Model `ŷ = x̂·M + b` with `x̂ = x/‖x‖`, `M` `[d_model, d_sae]`, `b` `[d_sae]`. Loss: mean squared error
/// over outputs and batch. Optimiser: PyTorch Adam (bias-corrected), learning rate annealed per epoch as
/// `lr·(1 + cos(π·e/T_max))/2`. Initialisation: `M ~ U(−√(6/d_sae), +√(6/d_sae))` (PyTorch
/// `kaiming_uniform_`, whose fan-in of a `[d_model, d_sae]` tensor is `d_sae`), `b = 0`. Each epoch visits
/// the training rows in a fresh seeded random order, in batches of ``LinearAdamConfiguration/batchSize``.
///
/// One step costs two `[B × d_model] × [d_model × d_sae]` products (forward, and `∇M = x̂ᵀ·∇ŷ`) plus an
/// Adam pass over `M`; the gradient of `M` is produced in row blocks and applied at once, so the full
/// `d_model × d_sae` gradient is never stored.
public struct LinearAdamEstimator: ConfiguredEstimator {
    /// The name this estimator is registered under.
    public static let registryName = "linear-adam"

    /// The hyper-parameters.
    public let configuration: LinearAdamConfiguration

    /// An estimator with `configuration` (the authors' settings by default).
    /// - Throws: ``SteeringError/invalidArgument(what:problem:)`` when a hyper-parameter is out of range.
    public init(configuration: LinearAdamConfiguration = LinearAdamConfiguration()) throws(SteeringError) {
        try configuration.validate()
        self.configuration = configuration
    }

    /// One unit per optimiser step: ``LinearAdamConfiguration/steps(rows:)``.
    public func progressTotal(trainingRows: Int) -> (total: Int, unit: String) {
        (configuration.steps(rows: trainingRows), "steps")
    }

    /// Trains on `rows` of `data`. `progress` advances once per optimiser step
    /// (``LinearAdamConfiguration/steps(rows:)`` in all).
    /// - Throws: ``SteeringError`` for no rows, repeated or out-of-range rows, widths that disagree with the
    ///   data source, non-finite values or an all-zero input; errors of the data source.
    public func fit(_ data: any EffectDataSource, rows: [Int], progress: ProgressReporter?) throws
        -> LinearEffectModel
    {
        try fit(data, rows: rows, initialWeight: nil, batchOrders: nil, progress: progress)
    }

    /// Trains with an injected initial `M` and batch order (for parity tests against PyTorch).
    ///
    /// - Parameters:
    ///   - initialWeight: `M` before the first step, `[d_model, d_sae]`; `nil` draws it from the seed.
    ///   - batchOrders: For each epoch, a permutation of `0..<rows.count` (positions in `rows`) giving the
    ///     visiting order; `nil` draws them from the seed.
    package func fit(
        _ data: any EffectDataSource, rows: [Int], initialWeight: Matrix?, batchOrders: [[Int]]?,
        progress: ProgressReporter?
    ) throws -> LinearEffectModel {
        try EstimatorInput.validate(rows: rows, of: data, estimator: name, minimum: 1)
        let d = data.inputWidth, s = data.outputWidth
        let config = configuration
        var random = SplitMix64(seed: UInt64(config.seed))
        var weight: [Float]
        if let initialWeight {
            guard initialWeight.rows == d, initialWeight.columns == s else {
                throw SteeringError.shapeMismatch(
                    what: "initial weight", expected: "[\(d), \(s)]", got: "\(initialWeight.shape)")
            }
            weight = initialWeight.values
        } else {
            weight = Self.kaimingUniform(rows: d, columns: s, using: &random)
        }
        if let batchOrders { try Self.checkOrders(batchOrders, epochs: config.epochs, count: rows.count) }

        var bias = [Float](repeating: 0, count: s)
        var state = AdamBuffers(weightCount: d * s, biasCount: s)
        // Gradient blocks of about 16 MiB stay in the last-level cache between the GEMM and the Adam pass.
        let blockRows = max(1, min(d, (1 << 22) / s))
        var gradientBlock = [Float](repeating: 0, count: blockRows * s)
        var biasGradient = [Float](repeating: 0, count: s)
        let threads = max(1, blasThreads)
        var step = 0
        var plateau = PlateauRule(patience: config.patience, tolerance: config.tolerance)
        training: for epoch in 0..<config.epochs {
            var epochLoss = 0.0
            let learningRate = config.learningRate(epoch: epoch)
            let order = batchOrders?[epoch] ?? random.permutation(rows.count)
            var start = 0
            while start < rows.count {
                let end = min(start + config.batchSize, rows.count)
                let batchRows = order[start..<end].map { rows[$0] }
                let (inputs, effects) = try EstimatorInput.readNormalized(data, rows: batchRows)
                step += 1
                let scalars = AdamStepScalars(
                    learningRate: learningRate, beta1: config.beta1, beta2: config.beta2, epsilon: config.epsilon,
                    step: step)
                let (outputGradient, loss) = Self.outputGradient(
                    inputs: inputs, effects: effects, weight: weight, bias: bias)
                epochLoss += loss * Double(end - start)
                Self.columnSums(outputGradient, into: &biasGradient)
                weight.withUnsafeMutableBufferPointer { w in
                    gradientBlock.withUnsafeMutableBufferPointer { block in
                        inputs.values.withUnsafeBufferPointer { x in
                            outputGradient.values.withUnsafeBufferPointer { g in
                                var r0 = 0
                                while r0 < d {
                                    let r1 = min(d, r0 + blockRows)
                                    // ∇M[r0..<r1, :] = x̂[:, r0..<r1]ᵀ · ∇ŷ
                                    sgemm(
                                        .transpose, .none, m: r1 - r0, n: s, k: inputs.rows,
                                        a: x.baseAddress! + r0, lda: d, b: g.baseAddress!, ldb: s,
                                        c: block.baseAddress!, ldc: s)
                                    state.updateWeight(
                                        w.baseAddress! + r0 * s, gradient: block.baseAddress!, offset: r0 * s,
                                        count: (r1 - r0) * s, scalars: scalars, threads: threads)
                                    r0 = r1
                                }
                            }
                        }
                    }
                }
                state.updateBias(&bias, gradient: biasGradient, scalars: scalars)
                progress?.advance()
                if config.maxSteps > 0, step >= config.maxSteps { break training }
                start = end
            }
            if plateau.shouldStop(afterEpochLoss: epochLoss / Double(rows.count)) {
                progress?.finish()
                break training
            }
        }
        return LinearEffectModel(weight: Matrix(rows: d, columns: s, values: weight), bias: bias)
    }

    /// `∇ŷ = (2/(B·d_sae))·((x̂·M + b) − y)`, PyTorch's `mse_loss` backward with mean reduction, and the
    /// batch's loss (mean squared error before the step).
    static func outputGradient(inputs: Matrix, effects: Matrix, weight: [Float], bias: [Float]) -> (Matrix, Double) {
        let b = inputs.rows, d = inputs.columns, s = effects.columns
        var out = Matrix(rows: b, columns: s)
        let norm = Float(2.0 / Double(b * s))
        var squares = 0.0
        out.values.withUnsafeMutableBufferPointer { o in
            inputs.values.withUnsafeBufferPointer { x in
                weight.withUnsafeBufferPointer { w in
                    sgemm(
                        .none, .none, m: b, n: s, k: d, a: x.baseAddress!, lda: d, b: w.baseAddress!, ldb: s,
                        c: o.baseAddress!, ldc: s)
                }
            }
            effects.values.withUnsafeBufferPointer { y in
                bias.withUnsafeBufferPointer { bb in
                    for r in 0..<b {
                        let base = r * s
                        var rowSquares: Float = 0
                        for c in 0..<s {
                            let residual = (o[base + c] + bb[c]) - y[base + c]
                            rowSquares += residual * residual
                            o[base + c] = residual * norm
                        }
                        squares += Double(rowSquares)
                    }
                }
            }
        }
        return (out, squares / Double(b * s))
    }

    /// Column sums of `matrix` into `sums` (`∇b`).
    static func columnSums(_ matrix: Matrix, into sums: inout [Float]) {
        let s = matrix.columns
        sums.withUnsafeMutableBufferPointer { out in
            for c in 0..<s { out[c] = 0 }
            matrix.values.withUnsafeBufferPointer { g in
                for r in 0..<matrix.rows {
                    let base = r * s
                    for c in 0..<s { out[c] += g[base + c] }
                }
            }
        }
    }

    /// The initial `M` this estimator draws for `seed` (row-major `[rows, columns]`).
    package static func kaimingUniform(rows: Int, columns: Int, seed: Int) -> [Float] {
        var random = SplitMix64(seed: UInt64(seed))
        return kaimingUniform(rows: rows, columns: columns, using: &random)
    }

    /// `U(−√(6/columns), +√(6/columns))`, PyTorch `kaiming_uniform_` (a = 0) on a `[rows, columns]` tensor.
    static func kaimingUniform(rows: Int, columns: Int, using random: inout SplitMix64) -> [Float] {
        let bound = Float((6.0 / Double(columns)).squareRoot())
        var values = [Float](repeating: 0, count: rows * columns)
        for i in values.indices { values[i] = (2 * random.unitFloat() - 1) * bound }
        return values
    }

    /// Throws unless there is one permutation of `0..<count` per epoch.
    static func checkOrders(_ orders: [[Int]], epochs: Int, count: Int) throws(SteeringError) {
        guard orders.count >= epochs else {
            throw .invalidArgument(
                what: "batch orders", problem: "\(orders.count) given for \(epochs) epochs; give one per epoch")
        }
        for (epoch, order) in orders.prefix(epochs).enumerated() where order.sorted() != Array(0..<count) {
            throw .invalidArgument(
                what: "batch order of epoch \(epoch)", problem: "it must be a permutation of 0..<\(count)")
        }
    }
}

/// The convergence rule of ``LinearAdamConfiguration/patience``: counts the epochs since the loss last
/// fell below `(1 − tolerance)` × the best loss so far.
struct PlateauRule {
    let patience: Int
    let tolerance: Double
    private var best = Double.infinity
    private var epochsWithoutGain = 0

    init(patience: Int, tolerance: Double) {
        self.patience = patience
        self.tolerance = tolerance
    }

    /// Records an epoch's mean loss; true when the run should stop (never with `patience` 0).
    mutating func shouldStop(afterEpochLoss loss: Double) -> Bool {
        guard patience > 0 else { return false }
        if best == .infinity || loss < best * (1 - tolerance) {
            best = loss
            epochsWithoutGain = 0
        } else {
            epochsWithoutGain += 1
        }
        return epochsWithoutGain >= patience
    }
}

/// Adam's moment estimates for `M` and `b`.
struct AdamBuffers {
    var weightFirst: [Float]
    var weightSecond: [Float]
    var biasFirst: [Float]
    var biasSecond: [Float]

    init(weightCount: Int, biasCount: Int) {
        weightFirst = [Float](repeating: 0, count: weightCount)
        weightSecond = weightFirst
        biasFirst = [Float](repeating: 0, count: biasCount)
        biasSecond = biasFirst
    }

    /// Applies one Adam step to `count` weights starting at flat index `offset`.
    mutating func updateWeight(
        _ parameters: UnsafeMutablePointer<Float>, gradient: UnsafePointer<Float>, offset: Int, count: Int,
        scalars: AdamStepScalars, threads: Int
    ) {
        weightFirst.withUnsafeMutableBufferPointer { m in
            weightSecond.withUnsafeMutableBufferPointer { v in
                AdamKernel.update(
                    parameters: parameters, gradients: gradient, firstMoments: m.baseAddress! + offset,
                    secondMoments: v.baseAddress! + offset, count: count, scalars: scalars, threads: threads)
            }
        }
    }

    /// Applies one Adam step to the bias.
    mutating func updateBias(_ bias: inout [Float], gradient: [Float], scalars: AdamStepScalars) {
        bias.withUnsafeMutableBufferPointer { p in
            gradient.withUnsafeBufferPointer { g in
                biasFirst.withUnsafeMutableBufferPointer { m in
                    biasSecond.withUnsafeMutableBufferPointer { v in
                        AdamKernel.update(
                            parameters: p.baseAddress!, gradients: g.baseAddress!, firstMoments: m.baseAddress!,
                            secondMoments: v.baseAddress!, count: p.count, scalars: scalars, threads: 1)
                    }
                }
            }
        }
    }
}
