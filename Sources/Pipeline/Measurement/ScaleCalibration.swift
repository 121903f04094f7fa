import SteeringCore

/// The loss the calibrated scale must reach.
public enum CalibrationTarget: Sendable, Hashable, Codable {
    /// An absolute mean cross-entropy (the method's code: 4.0 for Gemma-2-2B, 3.5 for 9B).
    case absolute(Double)
    /// The unsteered loss plus a margin (the paper: +0.5 nats).
    case aboveBaseline(Double)

    var recipeValue: RecipeValue {
        switch self {
        case .absolute(let loss): return ["absolute": .double(loss)]
        case .aboveBaseline(let delta): return ["aboveBaseline": .double(delta)]
        }
    }
}

/// The scale grid and target of the per-vector calibration (method.md §2.2).
public struct CalibrationSettings: Sendable, Hashable, Codable {
    /// Scales tried in order (default 0, 20, …, 200).
    public var grid: [Float]
    public var target: CalibrationTarget

    public init(
        grid: [Float] = stride(from: 0, through: 200, by: 20).map { Float($0) },
        target: CalibrationTarget = .aboveBaseline(0.5)
    ) {
        self.grid = grid
        self.target = target
    }

    var recipeValue: RecipeValue {
        ["grid": .array(grid.map { .double(Double($0)) }), "target": target.recipeValue]
    }
}

/// The outcome of calibrating one vector.
public struct CalibrationResult: Sendable, Hashable, Codable {
    /// The interpolated scale α*.
    public var scale: Float
    /// The loss the scale was chosen to reach.
    public var targetLoss: Double
    /// Scales evaluated, in order, and their mean losses.
    public var scales: [Float]
    public var losses: [Double]
    /// True when the target was never exceeded and α* was extrapolated from the last two points.
    public var extrapolated: Bool
}

/// Finds where a loss curve walked along a grid crosses a target.
public enum ScaleCalibration {
    /// Walks `grid` in order, calling `loss` at each scale, and stops at the first scale whose loss
    /// exceeds the target; the answer is the linear interpolation between that point and the one
    /// before (or the extrapolation from the last two if the target is never exceeded).
    /// - Throws: when the curve gives no usable crossing (e.g. a flat curve never reaches the target).
    public static func calibrate(
        settings: CalibrationSettings, loss: (Float) throws -> Double
    ) throws -> CalibrationResult {
        let grid = settings.grid
        guard grid.count >= 2, zip(grid, grid.dropFirst()).allSatisfy({ $0 < $1 }) else {
            throw PipelineError.invalidInput(
                what: "calibration grid", problem: "needs at least two increasing scales, got \(grid)")
        }
        var scales = [Float](), losses = [Double]()
        var target: Double?
        for scale in grid {
            let value = try loss(scale)
            guard value.isFinite else {
                throw PipelineError.invalidInput(what: "calibration loss at scale \(scale)", problem: "is not finite")
            }
            scales.append(scale)
            losses.append(value)
            if target == nil {
                switch settings.target {
                case .absolute(let absolute): target = absolute
                case .aboveBaseline(let delta): target = value + delta
                }
            }
            if value > target!, scales.count >= 2 {
                let alpha = interpolate(scales: scales, losses: losses, target: target!)
                return CalibrationResult(
                    scale: alpha, targetLoss: target!, scales: scales, losses: losses, extrapolated: false)
            }
            if value > target!, scales.count == 1 {
                // Already above the target unsteered: the smallest scale is the answer.
                return CalibrationResult(
                    scale: scale, targetLoss: target!, scales: scales, losses: losses, extrapolated: false)
            }
        }
        let n = losses.count
        guard losses[n - 1] > losses[n - 2] else {
            throw PipelineError.invalidInput(
                what: "scale calibration",
                problem: "the loss never reached \(target!) on the grid and does not rise at its end "
                    + "(\(losses[n - 2]) → \(losses[n - 1])); is the vector zero? pass a fixed --scale instead")
        }
        let alpha = interpolate(scales: scales, losses: losses, target: target!)
        return CalibrationResult(scale: alpha, targetLoss: target!, scales: scales, losses: losses, extrapolated: true)
    }

    /// α* = α₁ + (L_target − L₁)·(α₂ − α₁)/(L₂ − L₁) on the last two points.
    static func interpolate(scales: [Float], losses: [Double], target: Double) -> Float {
        let n = scales.count
        let (a1, a2) = (Double(scales[n - 2]), Double(scales[n - 1]))
        let (l1, l2) = (losses[n - 2], losses[n - 1])
        return Float(a1 + (target - l1) * (a2 - a1) / (l2 - l1))
    }
}
